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
    KEYS = {
        "openai": "test-openai-key",
        "deepseek": "test-deepseek-key",
        "dashscope": "test-dashscope-key",
        "anthropic": "test-anthropic-key",
        "gemini": "test-gemini-key",
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
    """Runs `python3 -m emulator --port 0 OPTIONS...` until the block ends."""
    process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", "0", *options], cwd=E2E_DIR,
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


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with launch_emulator() as running:
        yield running


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
