"""A real `redis-server` (Debian's package; scripts/test.sh installs it) on a free loopback port
with a temporary directory and no persistence, for the fleet-store tests, and a minimal RESP
client to look at what the sidecars wrote."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from sidecar import free_port


class RedisServer:
    def __init__(self, directory: Path, password: str | None = None) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is missing: scripts/test.sh installs it (apt-get install redis-server)")
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Starts (again, on the same port, empty) and waits until PING answers."""
        arguments = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", str(self.directory)]
        if self.password:
            arguments += ["--requirepass", self.password]
        self.process = subprocess.Popen(arguments, stdout=(self.directory / "redis.log").open("a"), stderr=subprocess.STDOUT)
        wait_for_pong(self.command, self.directory / "redis.log")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(10)

    def pause(self) -> None:
        """SIGSTOP: connections stay open and nothing answers — the store is slow, not gone."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def command(self, *arguments: str) -> object:
        """One command over a fresh connection; the decoded reply (bulk strings as bytes)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
            stream = connection.makefile("rb")
            if self.password:
                connection.sendall(_encode(("AUTH", self.password)))
                _read(stream)
            connection.sendall(_encode(arguments))
            return _read(stream)


def wait_for_pong(command: Callable[..., object], log: Path, seconds: float = 10) -> None:
    """Waits until `command("PING")` answers PONG; fails with the end of the server's `log`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if command("PING") in ("PONG", b"PONG", b"+PONG"):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)


def _encode(arguments: tuple[str, ...]) -> bytes:
    parts = [f"*{len(arguments)}\r\n".encode()]
    for argument in arguments:
        data = argument.encode()
        parts.append(f"${len(data)}\r\n".encode() + data + b"\r\n")
    return b"".join(parts)


def _read(stream) -> object:  # type: ignore[no-untyped-def]
    line = stream.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        length = int(rest)
        return None if length < 0 else stream.read(length + 2)[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read(stream) for _ in range(count)]
    raise RuntimeError(f"unexpected reply {line!r}")
