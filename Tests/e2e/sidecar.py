"""Runs the built llm-sidecar binary for the end-to-end tests.

`SidecarProcess` writes a configuration (providers pointing at the emulator), starts
`llm-sidecar serve` on a free port, waits until `/healthz` answers, and reads the usage lines
it writes to a file. The binary is $SIDECAR_BIN, else .build/debug/llm-sidecar.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import openai

REPOSITORY = Path(__file__).resolve().parents[2]
CLIENT_KEY = "sk-SENTINEL-client-key-that-must-not-be-forwarded"
# Client tokens the tests use, searched for in every output at the end of the session.
CLIENT_SENTINELS = [CLIENT_KEY]
# Every error body a client of a SidecarProcess received (status ≥ 400), for the same search.
ERROR_BODIES: list[str] = []


def _keep_error_body(response: httpx.Response) -> None:
    if response.status_code >= 400:
        response.read()
        ERROR_BODIES.append(response.text)


def binary() -> Path:
    path = Path(os.environ.get("SIDECAR_BIN", REPOSITORY / ".build/debug/llm-sidecar"))
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: build it with `swift build` or set SIDECAR_BIN")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configuration(emulator: Any, extra_models: str = "") -> str:
    """A configuration routing models to the emulator's flavours (see the model table below);
    `extra_models` adds YAML lines under `models:`."""
    return f"""
providers:
  openai:
    dialect: openai
    base_url: {emulator.base_url("openai")}
    api_key_env: E2E_OPENAI_KEY
  deepseek:
    dialect: deepseek
    base_url: {emulator.base_url("deepseek")}
    api_key_env: E2E_DEEPSEEK_KEY
  dashscope:
    dialect: dashscope
    base_url: {emulator.base_url("dashscope")}
    api_key_env: E2E_DASHSCOPE_KEY
  anthropic:
    dialect: anthropic
    base_url: {emulator.base_url("anthropic")}
    api_key_env: E2E_ANTHROPIC_KEY
  gemini:
    dialect: gemini
    base_url: {emulator.base_url("gemini")}
    api_key_env: E2E_GEMINI_KEY
  dashscope-native:
    dialect: dashscope-native
    base_url: {emulator.base_url("dashscope-native")}
    api_key_env: E2E_DASHSCOPE_KEY
  custom:
    dialect: openai-compatible
    base_url: {emulator.base_url("custom")}
  demo:
    dialect: demo
    word_delay: 1ms
models:
  gpt-4o-mini:
    provider: openai
    upstream_model: gpt-4o-mini-2024-07-18
    price: {{ input: 0.15, cached_input: 0.075, output: 0.60, currency: USD }}
  o4-mini:
    provider: openai
    price: {{ input: 1.1, cached_input: 0.275, output: 4.4 }}
  deepseek-chat:
    provider: deepseek
    price: {{ input: 0.28, cached_input: 0.028, output: 0.42 }}
  deepseek-reasoner:
    provider: deepseek
    price: {{ input: 0.28, cached_input: 0.028, output: 0.42 }}
  qwen-plus:
    provider: dashscope
    price: {{ input: 0.8, output: 2.0, currency: CNY }}
  local-llama:
    provider: custom
  claude-test:
    provider: anthropic
    upstream_model: claude-sonnet-4-20250514
    max_output_tokens: 2048
    price: {{ input: 3, cached_input: 0.3, cache_write: 3.75, output: 15 }}
  gemini-test:
    provider: gemini
    upstream_model: gemini-2.5-flash
    price: {{ input: 0.3, cached_input: 0.03, output: 2.5 }}
  qwen-native:
    provider: dashscope-native
    upstream_model: qwen-plus
    price: {{ input: 0.8, output: 2.0, currency: CNY }}
  gemini-embedding-001:
    provider: gemini
  text-embedding-v4:
    provider: dashscope-native
  demo:
    provider: demo
  "text-embedding-*":
    provider: openai
    price: {{ input: 0.02, output: 0 }}
{extra_models}passthrough:
  provider: openai
# Fast retries; breakers that never open, so one test's faults cannot leak into the next
# (test_sidecar_resilience.py tests breakers with a process of its own per test).
resilience:
  retries: {{ backoff: 5ms, max_backoff: 20ms, max_wait: 1s }}
  breaker: {{ consecutive_failures: 100000, minimum_calls: 100000 }}
"""


class SidecarProcess:
    def __init__(self, directory: Path, config_text: str, environment: dict[str, str],
                 listen_host: str | None = "127.0.0.1", port: int | None = None) -> None:
        """`listen_host` None: no --listen, the configuration (or SIDECAR_LISTEN) sets the
        address, which must use `port`; tests still connect to 127.0.0.1."""
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.usage_path = directory / "usage.jsonl"
        self.stderr_path = directory / "sidecar.stderr"
        self.config_path = directory / "sidecar.yaml"
        self.config_path.write_text(self._complete(config_text))
        self.versions = 0
        listen = ["--listen", f"{listen_host}:{self.port}"] if listen_host else []
        self.process = subprocess.Popen(
            [str(binary()), "serve", "--config", str(self.config_path), *listen],
            stdout=subprocess.DEVNULL, stderr=self.stderr_path.open("w"), env=dict(os.environ, **environment))
        self._wait_until_healthy()

    def _complete(self, config_text: str) -> str:
        return config_text + f"\nusage:\n  sink: {self.usage_path}\nlog:\n  level: debug\n"

    def replace_config(self, config_text: str) -> None:
        """Publish a new configuration the way Kubernetes updates a mounted ConfigMap: a new
        timestamped directory, then an atomic rename of the `..data` symlink, which
        `sidecar.yaml -> ..data/sidecar.yaml` resolves through."""
        self.versions += 1
        version = self.directory / f"..v{self.versions}"
        version.mkdir()
        (version / "sidecar.yaml").write_text(self._complete(config_text))
        staging = self.directory / "..data_tmp"
        staging.symlink_to(version.name)
        staging.rename(self.directory / "..data")
        if not self.config_path.is_symlink():
            link = self.directory / "sidecar.yaml.tmp"
            link.symlink_to("..data/sidecar.yaml")
            link.rename(self.config_path)

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **options: Any) -> openai.OpenAI:
        """The official SDK pointed at the sidecar, retries off so faults surface as they are."""
        options.setdefault("max_retries", 0)
        options.setdefault("api_key", CLIENT_KEY)
        http = httpx.Client(timeout=options.get("timeout", 600), event_hooks={"response": [_keep_error_body]})
        return openai.OpenAI(base_url=self.base_url + "/v1", http_client=http, **options)

    def _lines(self) -> list[dict[str, Any]]:
        if not self.usage_path.exists():
            return []
        # Only whole lines: a reader can see the sidecar's write(2) of a batch half done.
        text = self.usage_path.read_text()
        return [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines() if line]

    def usage_lines(self) -> list[dict[str, Any]]:
        """The usage lines written so far (audit lines share the file; they are left out)."""
        return [line for line in self._lines() if line["kind"] == "usage"]

    def audit_lines(self) -> list[dict[str, Any]]:
        return [line for line in self._lines() if line["kind"] == "audit"]

    def wait_for_usage_lines(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        """The usage lines once there are at least `count` (lines are written in 20 ms batches)."""
        deadline = time.monotonic() + timeout
        while len(lines := self.usage_lines()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return lines

    def usage_for(self, request_id: str, timeout: float = 5) -> dict[str, Any]:
        """The one usage line of a request (waits for it; fails on zero or several)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.usage_lines() if line["request_id"] == request_id]
            if lines or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        time.sleep(0.05)  # a duplicate would have been written by now
        lines = [line for line in self.usage_lines() if line["request_id"] == request_id]
        assert len(lines) == 1, f"expected exactly one usage line for {request_id}, got {len(lines)}"
        return lines[0]

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read() or b"null")

    def stop(self) -> int:
        """SIGTERM and wait; the last /metrics scrape is kept beside the logs for the leak scan."""
        if self.process.poll() is None:
            try:
                with urllib.request.urlopen(self.base_url + "/metrics", timeout=5) as response:
                    (self.directory / "metrics.txt").write_bytes(response.read())
            except OSError:
                pass
        self.process.terminate()
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llm-sidecar exited with {self.process.returncode}: {self.stderr_path.read_text()}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("llm-sidecar did not become healthy: " + self.stderr_path.read_text())


def provider_keys(emulator: Any) -> dict[str, str]:
    return {"E2E_OPENAI_KEY": emulator.key("openai"), "E2E_DEEPSEEK_KEY": emulator.key("deepseek"),
            "E2E_DASHSCOPE_KEY": emulator.key("dashscope"), "E2E_ANTHROPIC_KEY": emulator.key("anthropic"),
            "E2E_GEMINI_KEY": emulator.key("gemini")}
