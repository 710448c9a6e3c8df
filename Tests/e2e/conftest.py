"""Shared pytest fixtures for the end-to-end tests.

`emulator` (session scope) runs `python3 -m emulator --port 0` from this
directory, waits for its `EMULATOR_PORT=<port>` line and yields an
`Emulator` helper (base URL and default key per flavour, plus the control
API). Every test that uses it starts from a clean emulator: the autouse
`_clean_emulator` fixture calls POST /_emulator/reset before the test, which
empties the behaviour queues and the request log and restores the keys.
The process is terminated at the end of the session.
"""

from __future__ import annotations

import contextlib
import json
import select
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

E2E_DIR = Path(__file__).resolve().parent
STARTUP_TIMEOUT_S = 30


class Emulator:
    """Client of a running emulator process."""

    BASE_PATHS = {
        "openai": "/openai/v1",
        "deepseek": "/deepseek",
        "dashscope": "/dashscope/compatible-mode/v1",
        "dashscope-native": "/dashscope",
        "anthropic": "/anthropic",
        "gemini": "/gemini",
        "custom": "/custom/v1",
    }
    # Sentinel keys: the emulator is started with them and the sidecar gets them, and at the
    # end of the session every log, usage and audit line, error body and /metrics scrape is
    # searched for them (see `_no_secret_leaks`).
    KEYS = {
        "openai": "sk-SENTINEL-openai-9d2f6c1a4b7e8053",
        "deepseek": "sk-SENTINEL-deepseek-51be07c94d2a63f8",
        "dashscope": "sk-SENTINEL-dashscope-a70c3e915fd2b864",
        "anthropic": "sk-ant-SENTINEL-anthropic-2b8e61d0c97f4a35",
        "gemini": "AIzaSENTINEL-gemini-6f04d9b2e18c7a53",
        "custom": "no-key-needed",
    }

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def base_url(self, flavour: str) -> str:
        """The provider base_url to configure (flavour as above; "dashscope-native" for the native API)."""
        return self.url + self.BASE_PATHS[flavour]

    def key(self, flavour: str) -> str:
        """The default API key the emulator expects for a flavour."""
        return self.KEYS[flavour.removesuffix("-native")]

    def behaviours(self, flavour: str, behaviours: list[dict[str, Any]]) -> None:
        """Queue behaviours (see README) for the next requests of a flavour."""
        self._call("POST", "/_emulator/behaviours", {"flavour": flavour, "behaviours": behaviours})

    def cycle(self, flavour: str, behaviours: list[dict[str, Any]]) -> None:
        """Answer a flavour's requests with these behaviours in turn, forever (when its queue is
        empty); [] ends the cycle."""
        self._call("POST", "/_emulator/cycle", {"flavour": flavour, "behaviours": behaviours})

    def requests(self, flavour: str | None = None) -> list[dict[str, Any]]:
        """Requests recorded since the last reset, oldest first."""
        query = f"?flavour={flavour}" if flavour else ""
        return self._call("GET", "/_emulator/requests" + query)

    def open_gate(self, gate: str) -> bool:
        """Open a stream `gate` (a behaviour); whether a stream was waiting at it."""
        return self._call("POST", "/_emulator/gate", {"gate": gate})["waiting"]

    def set_key(self, flavour: str, key: str | None) -> None:
        """Change the expected key (None accepts any key) until the next reset."""
        self._call("POST", "/_emulator/keys", {"flavour": flavour, "key": key})

    def reset(self) -> None:
        self._call("POST", "/_emulator/reset", {})

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


@contextlib.contextmanager
def launch_emulator(*options: str) -> Iterator[Emulator]:
    """Runs `python3 -m emulator --port 0 OPTIONS...` with the sentinel keys until the block ends."""
    keys = [f"--key={flavour}={key}" for flavour, key in Emulator.KEYS.items() if flavour != "custom"]
    process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", "0", *keys, *options], cwd=E2E_DIR,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], STARTUP_TIMEOUT_S)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("EMULATOR_PORT="):
            raise RuntimeError(f"emulator did not start (exit code {process.poll()}, first line {line!r})")
        yield Emulator(int(line.strip().split("=", 1)[1]))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


SENTINELS = [key for flavour, key in Emulator.KEYS.items() if flavour != "custom"]


def pytest_configure(config: pytest.Config) -> None:
    # test_soak.py: part of the normal run, bounded (SIDECAR_SOAK_SECONDS, default 60 s);
    # `-m "not soak"` leaves it out while iterating.
    config.addinivalue_line("markers", "soak: bounded load test of memory, descriptors and usage lines")


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with launch_emulator() as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def _no_secret_leaks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole session: no sentinel key or client token in any file the sidecars wrote
    (stderr logs, usage and audit lines, /metrics scrapes saved at stop) or any error body a
    client received."""
    import sidecar

    yield
    leaks = []
    secrets = SENTINELS + sidecar.CLIENT_SENTINELS
    for path in tmp_path_factory.getbasetemp().rglob("*"):
        if path.is_file() and path.suffix in {".jsonl", ".stderr", ".txt"}:
            text = path.read_text(errors="replace")
            leaks += [f"{path}: {secret[:18]}…" for secret in secrets if secret in text]
    for body in sidecar.ERROR_BODIES:
        leaks += [f"error body: {secret[:18]}…" for secret in secrets if secret in body]
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)


@pytest.fixture(autouse=True)
def _clean_emulator(request: pytest.FixtureRequest) -> None:
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


@pytest.fixture(scope="session")
def sidecar(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator["SidecarProcess"]:
    """One llm-sidecar process for the session, its providers pointing at the emulator
    (models: see `sidecar.configuration`); usage lines go to a file read by `usage_for`."""
    from sidecar import SidecarProcess, configuration, provider_keys

    process = SidecarProcess(tmp_path_factory.mktemp("sidecar"), configuration(emulator), provider_keys(emulator))
    yield process
    process.stop()


@pytest.fixture
def launch(emulator: Emulator, tmp_path: Path) -> Iterator[Any]:
    """Starts sidecars whose `server:` section is `server` (YAML lines, indented by two); each is
    stopped when the test ends."""
    from sidecar import SidecarProcess, configuration, provider_keys

    started: list[SidecarProcess] = []

    def start(server: str) -> SidecarProcess:
        config = configuration(emulator) + "\nserver:\n" + server
        process = SidecarProcess(tmp_path / f"sidecar{len(started)}", config, provider_keys(emulator))
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
