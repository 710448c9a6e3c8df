"""What deploy/README.md promises of deploy/fleet/docker-compose.yml: two sidecar replicas sharing
one password-protected Redis, so that one budget holds for both.

The file is checked as written, and its Redis command is run with the real redis-server (installed
by scripts/check-deploy.sh) over a password file written here; with a sidecar build, two sidecars
with deploy/fleet/sidecar.yaml share that Redis, as the two replicas do.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from test_manifests import sidecar_binary

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "deploy" / "fleet"
REDIS_IMAGE = "docker.io/library/redis:"
PASSWORD = "0123456789abcdef0123456789abcdef"  # what `openssl rand -hex 16` prints, in form


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((FLEET / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((FLEET / "sidecar.yaml").read_text())


def services_running(compose: dict, image: str) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if s["image"].startswith(image)}


def test_every_service_is_locked_down(compose):
    for name, service in compose["services"].items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert service["security_opt"] == ["no-new-privileges:true"], name


def test_only_metrics_ports_are_published_and_on_loopback(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:") and port.endswith(":9464"), f"{name}: {port}"
    (redis,) = services_running(compose, REDIS_IMAGE).values()
    assert "ports" not in redis, "Redis is reached by the sidecars on the Compose network only"


def test_two_replicas_share_the_redis_service(compose, config):
    sidecars = services_running(compose, "llm-sidecar:")
    assert len(sidecars) == 2
    (redis_name,) = services_running(compose, REDIS_IMAGE)
    url = urlsplit(config["store"]["url"])
    assert (url.scheme, url.hostname, url.port, url.password) == ("redis", redis_name, 6379, None)
    for name, sidecar in sidecars.items():
        assert sidecar["volumes"] == ["./sidecar.yaml:/etc/llm-sidecar/sidecar.yaml:ro"], name
        assert sidecar["command"] == ["serve", "--config", "/etc/llm-sidecar/sidecar.yaml"], name
        assert sidecar["depends_on"] == {redis_name: {"condition": "service_healthy"}}, name
    assert config["quotas"]["global"]["cost_per_day"] == {"USD": 0.10}
    assert config["listen"] == "127.0.0.1:8080" and config["metrics"]["listen"] == "0.0.0.0:9464"


def test_the_password_is_one_secret_file_for_redis_and_the_sidecars(compose, config):
    secrets = compose["secrets"]
    (secret,) = secrets
    assert (FLEET / secrets[secret]["file"]).resolve() == ROOT / "deploy" / "secrets" / "redis-password"
    assert "secrets/" in (ROOT / "deploy" / ".gitignore").read_text().splitlines(), "never committed"
    assert config["store"]["password_file"] == f"/run/secrets/{secret}"
    assert "password_env" not in config["store"]
    for name, service in compose["services"].items():
        if not service["image"].startswith("curlimages/"):
            assert service["secrets"] == [secret], name
        assert "--requirepass" not in json.dumps(service), f"{name}: a password in argv shows in ps"


def test_each_app_joins_its_own_sidecar(compose):
    sidecars = set(services_running(compose, "llm-sidecar:"))
    apps = services_running(compose, "curlimages/curl:")
    joined = [app["network_mode"].removeprefix("service:") for app in apps.values()]
    assert sorted(joined) == sorted(sidecars)
    for name, app in apps.items():
        sidecar = app["network_mode"].removeprefix("service:")
        assert app["depends_on"] == {sidecar: {"condition": "service_healthy"}}, name
        assert app["environment"]["OPENAI_BASE_URL"] == "http://127.0.0.1:8080/v1", name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def compose_shell(text: str, secrets: Path) -> str:
    """A command of the Compose file for the host's sh: `$$` unescaped, /run/secrets moved."""
    return text.replace("$$", "$").replace("/run/secrets/", f"{secrets}/")


def redis_command(compose: dict, secrets: Path, port: int) -> list[str]:
    (redis,) = services_running(compose, REDIS_IMAGE).values()
    sh, flag, script = redis["command"]
    assert (sh, flag) == ("sh", "-c") and "exec redis-server - " in script
    script = script.replace("exec redis-server - ", f"exec redis-server - --port {port} --bind 127.0.0.1 ")
    return [sh, flag, compose_shell(script, secrets)]


def redis_call(port: int, *commands: bytes) -> bytes:
    """Sends inline commands and returns what the server answered until it closed (QUIT last)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"".join(command + b"\r\n" for command in commands) + b"QUIT\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        return answer


@pytest.fixture
def redis(compose, tmp_path):
    """The Compose file's Redis command, run on a free loopback port; yields (port, process)."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "redis-password").write_text(PASSWORD)
    port = free_port()
    process = subprocess.Popen(
        redis_command(compose, secrets, port), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):  # up to 5 s
            try:
                if b"NOAUTH" in redis_call(port, b"PING"):
                    break
            except OSError:
                pass
            time.sleep(0.05)
        yield port, process, secrets
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_redis_requires_the_secret_and_keeps_it_out_of_argv(compose, redis):
    port, process, secrets = redis
    assert b"NOAUTH" in redis_call(port, b"PING")
    assert b"+PONG" in redis_call(port, b"AUTH " + PASSWORD.encode(), b"PING")
    assert b"WRONGPASS" in redis_call(port, b"AUTH wrong-password")
    assert PASSWORD not in Path(f"/proc/{process.pid}/cmdline").read_text(), "visible in ps"
    (service,) = services_running(compose, REDIS_IMAGE).values()
    kind, check = service["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    check = compose_shell(check, secrets).replace("redis-cli ", f"redis-cli -p {port} ")
    assert subprocess.run(["sh", "-c", check]).returncode == 0
    (secrets / "redis-password").write_text("wrong-password")
    assert subprocess.run(["sh", "-c", check]).returncode != 0, "the health check must need the password"


def serve(binary: Path, text: str, directory: Path, replica: str) -> tuple[subprocess.Popen, int, Path]:
    """Starts a sidecar with a copy of deploy/fleet/sidecar.yaml on free ports, labelled as
    docker-compose.yml labels the replica; waits for /healthz."""
    port = free_port()
    text = text.replace("listen: 127.0.0.1:8080", f"listen: 127.0.0.1:{port}")
    text = text.replace("listen: 0.0.0.0:9464", f"listen: 127.0.0.1:{free_port()}")
    directory.mkdir()
    (directory / "sidecar.yaml").write_text(text)
    usage = directory / "usage.jsonl"
    with usage.open("w") as out, (directory / "stderr.log").open("w") as err:
        process = subprocess.Popen(
            [str(binary), "serve", "--config", str(directory / "sidecar.yaml")],
            stdout=out,
            stderr=err,
            env={**{k: v for k, v in os.environ.items() if k != "SIDECAR_CONFIG"}, "REPLICA": replica},
        )
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process, port, usage
        except OSError:
            assert process.poll() is None, (directory / "stderr.log").read_text()
            time.sleep(0.05)
    process.terminate()
    raise AssertionError("the sidecar did not answer /healthz within 10 s")


def ask_demo(port: int) -> int:
    body = json.dumps({"model": "demo", "messages": [{"role": "user", "content": "Hello from the example app"}]})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions", body.encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def admitted_until_refused(ports: list[int]) -> int:
    """Asks the replicas in turn until each has answered 429; returns how many were answered."""
    answered = 0
    refused: set[int] = set()
    for attempt in range(200):
        port = ports[attempt % len(ports)]
        status = ask_demo(port)
        if status == 200:
            answered += 1
        else:
            assert status == 429, status
            refused.add(port)
            if refused == set(ports):
                return answered
    raise AssertionError("the budget never ran out")


@pytest.mark.skipif(sidecar_binary() is None, reason="no llm-sidecar build in .build (and no SIDECAR_BIN)")
def test_the_budget_holds_for_both_replicas_together(redis, tmp_path):
    """Two sidecars sharing the Redis answer as many requests as one alone: the budget is the
    fleet's, not one per replica (which would admit about twice as many)."""
    port, _, secrets = redis
    binary = sidecar_binary()
    text = (FLEET / "sidecar.yaml").read_text()
    alone = text[: text.index("\nstore:")] + text[text.index("\n# One JSON line per request") :]
    process, api, _ = serve(binary, alone, tmp_path / "alone", "alone")
    try:
        single = admitted_until_refused([api])
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert single >= 5

    fleet = compose_shell(text, secrets).replace("redis://redis:6379/", f"redis://127.0.0.1:{port}/")
    replicas = [serve(binary, fleet, tmp_path / f"replica-{n}", str(n)) for n in (1, 2)]
    try:
        together = admitted_until_refused([api for _, api, _ in replicas])
    finally:
        for process, _, _ in replicas:
            process.terminate()
            process.wait(timeout=60)
    assert abs(together - single) <= 1, f"two replicas answered {together}, one alone {single}"
    lines = [json.loads(line) for _, _, usage in replicas for line in usage.read_text().splitlines()]
    spent = sum(line["cost"] for line in lines if line.get("kind") == "usage" and line.get("cost"))
    assert spent <= 0.10 + 1e-9, f"the fleet spent USD {spent} of a USD 0.10 budget"
    served = {line.get("replica") for line in lines if line.get("kind") == "usage" and line["http.response.status_code"] == 200}
    assert served == {"1", "2"}, "both replicas answered"
