#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build the sidecar; with --test what the
# test suite needs (nginx and openssl for the TLS and proxy tests, redis-server for the fleet
# store's tests, which start their own servers, and the official OpenAI/Anthropic/Google SDKs for
# the end-to-end tests), with --bench what the benchmarks need, with --litellm the benchmarks' peer
# gateway. Debian packages go to the system; Python packages only into the project's virtual
# environments (.venv/, .venv-litellm/: scripts/lib/venv.sh), never into the system Python.
# Safe to run repeatedly: it only installs what is missing. With CI=true the virtual environments
# are made from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/apt.sh
source scripts/lib/venv.sh

if ! command -v swift >/dev/null 2>&1; then
    echo "bootstrap: Swift 6.1 or later is required (https://www.swift.org/install/linux/)" >&2
    exit 1
fi

# libcurl with OpenSSL and nghttp2 (HTTP/2 to providers), and libyaml (the configuration parser):
# the sidecar's only system dependencies.
apt_install libcurl4-openssl-dev libnghttp2-dev libssl-dev libyaml-dev ca-certificates

for option in "$@"; do
    case "$option" in
    --test)
        # redis-server: the Swift and end-to-end tests of the fleet store (store:) start their own
        # Redis servers on free loopback ports (where systemd runs, Debian's package also starts a
        # service on 127.0.0.1:6379, which the tests leave alone). Only the tests need it: the
        # sidecar runs without Redis.
        apt_install nginx openssl redis-server
        make_venv .venv Tests/e2e/requirements.txt
        ;;
    --bench)
        # redis-server: --store (the fleet store on loopback); strace and a C compiler: the structural
        # figures (syscalls per request; the malloc interposer Benchmarks/malloc_count.c).
        apt_install nginx wrk redis-server strace gcc libc6-dev
        make_venv .venv Tests/e2e/requirements.txt
        ;;
    --litellm) make_venv .venv-litellm Benchmarks/requirements-litellm.txt ;;
    *)
        echo "usage: $0 [--test] [--bench] [--litellm]" >&2
        exit 2
        ;;
    esac
done
