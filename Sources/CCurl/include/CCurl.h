//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

/// Typed, non-variadic wrappers over libcurl's variadic `curl_easy_setopt`,
/// `curl_multi_setopt` and `curl_easy_getinfo`, which Swift cannot call directly.
/// Every wrapper returns libcurl's own result code.

typedef size_t (*ccurl_data_callback)(char *buffer, size_t size, size_t count, void *userdata);

CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode ccurl_easy_setopt_data_callback(CURL *handle, CURLoption option, ccurl_data_callback callback);

CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode ccurl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);

CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);

/// libcurl's socket interface: `CURLMOPT_SOCKETFUNCTION`/`TIMERFUNCTION` with their data on the
/// multi handle, `CURLOPT_OPENSOCKETFUNCTION`/`CLOSESOCKETFUNCTION` with theirs on an easy handle.
CURLMcode ccurl_multi_setopt_socket_callbacks(CURLM *multi, void *clientp, curl_socket_callback socket, curl_multi_timer_callback timer);
CURLcode ccurl_easy_setopt_socket_callbacks(CURL *handle, void *clientp, curl_opensocket_callback open, curl_closesocket_callback close);

/// The engine's `epoll` set, without the packed `struct epoll_event` Swift imports awkwardly.
/// `ccurl_poller_wait` fills `fds` and `events` with up to `capacity` ready descriptors and
/// returns their count (0 on timeout or `EINTR`, -1 on another error).
int ccurl_poller_create(void);
/// `eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)`.
int ccurl_eventfd_create(void);
int ccurl_poller_control(int poller, int operation, int fd, uint32_t events);
int ccurl_poller_wait(int poller, int *fds, uint32_t *events, int capacity, int timeout_ms);

/// `curl_global_init(CURL_GLOBAL_ALL)`; call once per process before any other libcurl function.
CURLcode ccurl_global_init_all(void);

/// `CURLMsg.data` is a union; Swift imports it awkwardly, so these read its members.
CURLcode ccurl_message_result(const CURLMsg *message);

/// Macros that Swift cannot import.
extern const size_t ccurl_writefunc_pause;
extern const int ccurl_pause_continue;
extern const curl_socket_t ccurl_socket_timeout;
extern const int ccurl_epoll_add, ccurl_epoll_modify, ccurl_epoll_delete;
extern const uint32_t ccurl_epoll_in, ccurl_epoll_out, ccurl_epoll_error_or_hangup;

#endif
