"""Adversarial input to `/v1/responses` (issue 15): huge and deep `input`, CR/LF where a value
could reach a header (metadata, previous_response_id, a task type), path tricks in the stored
response id that would reach another provider path with the provider key injected, and bursts
that must not grow the response store past its bound. Raw sockets where an HTTP client would
normalise what is sent; the passthrough provider is a canary that records every raw target."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sidecar import CLIENT_KEY, SidecarProcess, configuration, provider_keys
from test_adversarial_edge import Canary, Connection, edge_configuration, error_of

INJECTION = "a\r\nX-Injected: yes\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\nINJECTED!"
AUTH = {"Authorization": f"Bearer {CLIENT_KEY}"}
STORE_ENTRIES = 1_000  # the response store's default bound on entries


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


@pytest.fixture(scope="module")
def edge(emulator: Any, canary: Canary, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SidecarProcess]:
    process = SidecarProcess(tmp_path_factory.mktemp("responses-edge"), edge_configuration(emulator, canary),
                             provider_keys(emulator))
    yield process
    process.stop()


def create(sidecar: SidecarProcess, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(sidecar.base_url + "/v1/responses", content=content, timeout=60,
                      headers={**AUTH, "Content-Type": "application/json", **(headers or {})})


def healthy(sidecar: SidecarProcess) -> bool:
    return httpx.get(sidecar.base_url + "/healthz", timeout=5).status_code == 200


def rss_bytes(sidecar: SidecarProcess) -> int:
    for line in Path(f"/proc/{sidecar.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


# MARK: Size and depth


def test_twenty_thousand_input_items_are_translated_and_counted(edge, emulator):
    items = [{"role": "user", "content": "w"} for _ in range(20_000)]
    answer = create(edge, {"model": "deepseek-chat", "input": items})

    assert answer.status_code == 200, answer.text[:500]
    assert answer.json()["usage"]["input_tokens"] == 20_000
    assert len(emulator.requests("deepseek")[-1]["body"]["messages"]) == 20_000


def test_a_body_over_the_request_limit_is_413_in_openais_shape(edge, emulator):
    answer = create(edge, {"model": "deepseek-chat", "input": "w " * (5 * 1024 * 1024)})  # 10 MiB > 8 MiB

    assert answer.status_code == 413
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    assert emulator.requests() == [] and healthy(edge)


@pytest.mark.parametrize("where", ["input", "metadata", "tools", "text"])
def test_deeply_nested_json_is_a_400_not_a_crash(edge, emulator, where):
    depth = 100_000
    nested = b"[" * depth + b"]" * depth
    body = b'{"model":"deepseek-chat","input":"hi","' + where.encode() + b'":' + nested + b"}"
    if where == "input":
        body = b'{"model":"deepseek-chat","input":' + nested + b"}"
    answer = create(edge, body)

    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert emulator.requests() == [] and healthy(edge)


@pytest.mark.parametrize("bad", [{"input": 42}, {"input": {"role": "user"}}, {"input": [42]},
                                 {"input": [{"type": "no_such_item"}]}, {"model": 7, "input": "x"},
                                 {"input": [{"role": "user", "content": [{"type": "input_image"}]}]}])
def test_malformed_input_is_a_400_naming_the_field(edge, emulator, bad):
    body = {"model": "deepseek-chat", **bad}
    answer = create(edge, body)

    assert answer.status_code == 400, answer.text[:300]
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] and error["param"].split("[")[0].split(".")[0] in body
    assert emulator.requests() == []


# MARK: CR/LF where a value could become a header


def test_crlf_in_metadata_values_is_echoed_as_data_never_as_a_header(edge, emulator):
    rid = "resp-adv-meta"
    connection = Connection(edge.port)
    try:
        status, headers, body, _ = connection.exchange("POST", "/v1/responses", {
            "model": "gemini-test", "input": "hi", "metadata": {"note": INJECTION}}, {"X-Request-Id": rid})
        assert "x-injected" not in headers
        assert status == 200 and json.loads(body)["metadata"] == {"note": INJECTION}
        status, headers, _, _ = connection.exchange("GET", "/v1/models")  # the connection is still in step
        assert status == 200 and "x-injected" not in headers
    finally:
        connection.close()
    sent = emulator.requests("gemini")[-1]
    assert "x-injected" not in sent["headers"]
    edge.usage_for(rid)  # the usage file still parses line by line


@pytest.mark.parametrize("model", ["deepseek-chat", "f-native"])
def test_crlf_in_previous_response_id_is_a_400(edge, emulator, canary, model):
    connection = Connection(edge.port)
    try:
        status, headers, body, _ = connection.exchange("POST", "/v1/responses", {
            "model": model, "input": "hi", "previous_response_id": "resp_" + INJECTION})
    finally:
        connection.close()

    assert status in (400, 404) and "x-injected" not in headers
    assert error_of(body)["param"] == "previous_response_id"
    assert not any("X-Injected" in json.dumps(r["headers"]) for r in emulator.requests())


@pytest.mark.parametrize("task", [INJECTION, "a\u2028b", "t" * 60_000])
def test_an_unusable_metadata_task_type_is_400(edge, emulator, task):
    connection = Connection(edge.port)
    try:
        status, headers, body, _ = connection.exchange("POST", "/v1/responses", {
            "model": "auto", "input": "hi", "metadata": {"task_type": task}})
    finally:
        connection.close()

    assert status == 400 and "x-injected" not in headers
    param = error_of(body)["param"]  # metadata.task_type (or task_type), or metadata for OpenAI's size limit
    assert param.startswith("metadata") or param == "task_type"
    assert emulator.requests() == []


# MARK: Path tricks in a stored response id


def clean(target: str) -> bool:
    """A target a provider resolves exactly as sent: under /v1/, no dot segments (plain or
    percent-encoded), no CR, LF or NUL."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(target).path)
    segments = path.split("/")
    return (path.startswith("/v1/") and ".." not in segments and "." not in segments
            and not any(character in path for character in "\r\n\x00"))


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("target", [
    "/v1/responses/../../etc/passwd", "/v1/responses/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/v1/responses/resp_1/../../../admin", "/v1/responses/..%2F..%2F..%2Fadmin",
    "/v1/responses/.%2e/.%2e/.%2e/admin", "/v1/responses/resp_1%00", "/v1/responses/resp_1%0d%0aX-Injected:%20yes",
])
def test_a_response_id_that_leaves_v1_is_refused_before_any_provider_sees_it(edge, canary, method, target):
    canary.targets.clear()
    connection = Connection(edge.port)
    try:
        status, headers, body, _ = connection.exchange(method, target)
        assert status in (400, 404) and "x-injected" not in headers
        assert error_of(body)["type"] == "invalid_request_error"
        status, _, _, _ = connection.exchange("GET", "/v1/files?limit=1")  # the connection still works
        assert status == 200
    finally:
        connection.close()
    assert canary.targets == ["/v1/files?limit=1"]


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("target", [
    "/v1/responses/../models", "/v1/responses/..%2Fmodels", "/v1/responses/%2e%2e/%2e%2e/v1/files",
    "/v1/responses/%2E%2E", "/v1/responses/resp_1/../../files", "/v1/responses/resp_1%2F..%2F..%2Ffiles",
    "/v1/responses/resp_1/input_items/..%2F..%2F..%2Ffiles", "/v1/responses/.%2e/files",
])
def test_a_response_id_with_dot_segments_reaches_a_provider_only_as_a_clean_path(edge, canary, method, target):
    """Inside /v1 a dot segment may resolve (the request is then the one its resolved path names,
    under that path's policy), but a provider never receives a path it would resolve differently."""
    canary.targets.clear()
    connection = Connection(edge.port)
    try:
        status, headers, body, _ = connection.exchange(method, target)
        assert status < 500 and "x-injected" not in headers
    finally:
        connection.close()
    assert all(clean(forwarded) for forwarded in canary.targets), canary.targets


def test_an_ordinary_unknown_id_reaches_the_passthrough_provider_escaped(edge, canary):
    canary.targets.clear()
    answer = httpx.get(edge.base_url + "/v1/responses/resp_unknown-1_x", headers=AUTH, timeout=10)

    assert answer.status_code == 200  # the canary's {}
    assert canary.targets == ["/v1/responses/resp_unknown-1_x"]


# MARK: The bounded store (responses.store: max_entries 1,000, max_bytes 64 MiB, ttl 1 h by default)


def store_sidecar(emulator: Any, directory: Path, store: str = "", **environment: str) -> SidecarProcess:
    """A sidecar whose `responses.store` section is `store` (YAML lines indented by four), or the
    defaults, with `environment` added to its own."""
    text = configuration(emulator) + ("\nresponses:\n  store:\n" + store if store else "")
    return SidecarProcess(directory, text, provider_keys(emulator) | environment)


@pytest.fixture
def bounded(emulator: Any, tmp_path: Path) -> Iterator[SidecarProcess]:
    process = store_sidecar(emulator, tmp_path / "bounded")
    yield process
    process.stop()


def burst(sidecar: SidecarProcess, count: int, size: int) -> list[str]:
    """`count` stored demo responses, each with about `size` bytes of input (echoed in the output)."""
    ids = []
    with httpx.Client(timeout=60, headers=AUTH) as http:
        for n in range(count):
            answer = http.post(sidecar.base_url + "/v1/responses",
                               json={"model": "demo", "input": f"burst {n} " + "x" * size})
            assert answer.status_code == 200, answer.text[:300]
            ids.append(answer.json()["id"])
    return ids


def test_beyond_the_entry_bound_the_oldest_are_evicted(bounded, emulator):
    ids = burst(bounded, STORE_ENTRIES + 5, 10)

    with httpx.Client(timeout=10, headers=AUTH) as http:
        for kept in (ids[5], ids[STORE_ENTRIES // 2], ids[-1]):
            assert http.get(bounded.base_url + f"/v1/responses/{kept}").status_code == 200
        for evicted in ids[:5]:
            assert http.get(bounded.base_url + f"/v1/responses/{evicted}").status_code == 404  # the provider's 404
        continued = http.post(bounded.base_url + "/v1/responses", json={
            "model": "demo", "input": "go on", "previous_response_id": ids[0]})
    assert continued.status_code == 400 and continued.json()["error"]["code"] == "previous_response_not_found"
    assert [request["path"] for request in emulator.requests()] == [f"/openai/v1/responses/{i}" for i in ids[:5]]


@pytest.mark.soak
def test_a_burst_of_large_responses_keeps_memory_flat(emulator, tmp_path):
    # Each response stores ≈ 256 KiB (128 KiB in, echoed out): 32 of them fill an 8 MiB store, and
    # each burst of 150 would add ≈ 37 MiB if nothing were evicted, 110 MiB over the three measured.
    # What the allocator keeps is noise beside that. On the 2-core VM RSS after each burst went
    # 50 → 63 → 66 → 67 MiB, and 78 → 119 → 158 → 197 MiB with a 1 GiB bound; a CI machine with more
    # cores grew 16 MiB over two bursts (glibc gives each contending thread an arena; two arenas
    # make runs alike across machines).
    process = store_sidecar(emulator, tmp_path / "bytes", "    max_bytes: 8MiB\n", MALLOC_ARENA_MAX="2")
    try:
        burst(process, 150, 128 * 1024)
        resident = [rss_bytes(process)]
        for _ in range(3):
            ids = burst(process, 150, 128 * 1024)
            resident.append(rss_bytes(process))
        with httpx.Client(timeout=10, headers=AUTH) as http:
            newest = http.get(process.base_url + f"/v1/responses/{ids[-1]}").status_code
            oldest = http.get(process.base_url + f"/v1/responses/{ids[0]}").status_code
    finally:
        process.stop()

    mebibytes = [size >> 20 for size in resident]
    assert resident[-1] - resident[0] < 32 * 1024 * 1024, f"RSS after each burst (MiB): {mebibytes}"
    assert (newest, oldest) == (200, 404)


def test_a_response_larger_than_the_byte_bound_is_not_kept(emulator, tmp_path):
    process = store_sidecar(emulator, tmp_path / "tiny", "    max_bytes: 4KiB\n")
    try:
        [small] = burst(process, 1, 10)
        [large] = burst(process, 1, 8 * 1024)
        with httpx.Client(timeout=10, headers=AUTH) as http:
            statuses = [http.get(process.base_url + f"/v1/responses/{i}").status_code for i in (small, large)]
    finally:
        process.stop()
    assert statuses == [200, 404]


def test_stored_responses_expire_after_the_ttl(emulator, tmp_path):
    process = store_sidecar(emulator, tmp_path / "ttl", "    ttl: 1s\n")  # the smallest ttl allowed
    try:
        [kept] = burst(process, 1, 10)
        with httpx.Client(timeout=10, headers=AUTH) as http:
            assert http.get(process.base_url + f"/v1/responses/{kept}").status_code == 200
            time.sleep(2.5)  # the configured ttl is 1 s
            assert http.get(process.base_url + f"/v1/responses/{kept}").status_code == 404
            continued = http.post(process.base_url + "/v1/responses", json={
                "model": "demo", "input": "go on", "previous_response_id": kept})
    finally:
        process.stop()
    assert continued.status_code == 400 and continued.json()["error"]["param"] == "previous_response_id"
