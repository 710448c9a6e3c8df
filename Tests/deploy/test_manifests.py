"""The properties k8s/README.md promises, checked on the rendered manifests.

Run by scripts/check-deploy.sh, or alone: .venv-deploy/bin/python -m pytest Tests/deploy
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from render import render

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "k8s" / "base"
PLAIN = ROOT / "k8s" / "overlays" / "plain-sidecar"
FLEET = ROOT / "k8s" / "overlays" / "fleet-store"
SIDECAR = "llm-sidecar"
KEYS_DIRECTORY = "/var/run/secrets/llm-sidecar"
# The keys of `store:` the sidecar reads (StoreSettings.keys), of which the example sets all but
# password_env: its password is a file.
STORE_KEYS = {"url", "username", "password_file", "connect_timeout", "timeout", "key_prefix", "on_store_failure", "reservation_ttl"}
ADMIN_PORT = 9464


def by_kind(objects: list[dict], kind: str) -> dict:
    (found,) = [obj for obj in objects if obj["kind"] == kind]
    return found


def pod_spec(objects: list[dict]) -> dict:
    return by_kind(objects, "Deployment")["spec"]["template"]["spec"]


def container(containers: list[dict], name: str) -> dict:
    (found,) = [c for c in containers if c["name"] == name]
    return found


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration)
    assert match, f"unexpected duration {duration!r}"
    return float(match[1]) * {"ms": 0.001, "s": 1, "m": 60}[match[2]]


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return render(BASE)


@pytest.fixture(scope="module")
def plain() -> list[dict]:
    return render(PLAIN)


@pytest.fixture(scope="module")
def fleet() -> list[dict]:
    return render(FLEET)


def sidecar_config(objects: list[dict]) -> dict:
    data = by_kind(objects, "ConfigMap")["data"]
    assert set(data) == {"sidecar.yaml"}
    return yaml.safe_load(data["sidecar.yaml"])


@pytest.fixture(scope="module")
def config(base) -> dict:
    return sidecar_config(base)


@pytest.fixture(scope="module")
def fleet_config(fleet) -> dict:
    return sidecar_config(fleet)


def test_base_renders_the_expected_objects(base):
    assert sorted((obj["kind"], obj["metadata"]["name"]) for obj in base) == [
        ("ConfigMap", "llm-sidecar-config"),
        ("Deployment", "example-app"),
        ("ServiceAccount", "example-app"),
    ]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) is not installed")
@pytest.mark.parametrize("directory", [BASE, PLAIN, FLEET], ids=["base", "plain-sidecar", "fleet-store"])
def test_renderer_agrees_with_kustomize(directory):
    output = subprocess.run(["kubectl", "kustomize", str(directory)], check=True, capture_output=True, text=True).stdout
    expected = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(output) if o}
    actual = {(o["kind"], o["metadata"]["name"]): o for o in render(directory)}
    assert actual == expected


def test_sidecar_is_a_native_sidecar(base):
    spec = pod_spec(base)
    sidecar = container(spec["initContainers"], SIDECAR)
    assert sidecar["restartPolicy"] == "Always"
    assert SIDECAR not in [c["name"] for c in spec["containers"]]


def test_app_talks_to_the_sidecar_on_loopback(base, config):
    app = container(pod_spec(base)["containers"], "app")
    env = {e["name"]: e.get("value") for e in app["env"]}
    assert env["OPENAI_BASE_URL"] == "http://127.0.0.1:8080/v1"
    assert config["listen"] == "127.0.0.1:8080"
    assert "volumeMounts" not in app, "the app must not see the keys or the configuration"


def test_probes_use_the_admin_listener(base, config):
    sidecar = container(pod_spec(base)["initContainers"], SIDECAR)
    expected = {"startupProbe": "/readyz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    for probe, path in expected.items():
        assert sidecar[probe]["httpGet"] == {"path": path, "port": ADMIN_PORT}, probe
    assert {"name": "metrics", "containerPort": ADMIN_PORT} in sidecar["ports"]
    assert config["metrics"]["listen"] == f"0.0.0.0:{ADMIN_PORT}"


def test_prometheus_annotations(base):
    annotations = by_kind(base, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(ADMIN_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"


@pytest.mark.parametrize("overlay", ["base", "plain", "fleet"])
def test_security_context_is_restrictive(overlay, request):
    spec = pod_spec(request.getfixturevalue(overlay))
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 65532
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    for c in spec.get("initContainers", []) + spec["containers"]:
        context = c["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] == 65532, c["name"]
        assert context["readOnlyRootFilesystem"] is True, c["name"]
        assert context["allowPrivilegeEscalation"] is False, c["name"]
        assert context["capabilities"] == {"drop": ["ALL"]}, c["name"]
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, c["name"]


def test_service_account_has_no_token(base):
    account = by_kind(base, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert pod_spec(base)["serviceAccountName"] == account["metadata"]["name"]


def test_resources_are_set(base):
    spec = pod_spec(base)
    sidecar = container(spec["initContainers"], SIDECAR)
    assert sidecar["resources"] == {"requests": {"cpu": "50m", "memory": "48Mi"}, "limits": {"memory": "256Mi"}}
    for c in spec["containers"]:
        assert {"cpu", "memory"} <= set(c["resources"]["requests"]), c["name"]
        assert "memory" in c["resources"]["limits"], c["name"]


def test_downward_api_feeds_the_usage_labels(base, config):
    deployment = by_kind(base, "Deployment")
    sidecar = container(pod_spec(base)["initContainers"], SIDECAR)
    fields = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in sidecar["env"] if "valueFrom" in e}
    assert fields == {
        "POD_NAME": "metadata.name",
        "POD_NAMESPACE": "metadata.namespace",
        "APP_NAME": "metadata.labels['app']",
    }
    assert "app" in deployment["spec"]["template"]["metadata"]["labels"]
    assert config["usage"]["sink"] == "stdout"
    assert config["usage"]["labels"] == {
        "k8s.pod.name": "${POD_NAME:-}",
        "k8s.namespace.name": "${POD_NAMESPACE:-}",
        "app": "${APP_NAME:-}",
    }


def test_config_map_holds_no_secrets(base, config):
    text = by_kind(base, "ConfigMap")["data"]["sidecar.yaml"]
    assert not re.search(r"\bsk-[A-Za-z0-9]|AIza[0-9A-Za-z_-]{10}|Bearer\s", text)
    for name, provider in config["providers"].items():
        assert "api_key" not in provider and "api_key_env" not in provider, name
        if provider["dialect"] != "demo":
            assert provider["api_key_file"] == f"{KEYS_DIRECTORY}/{name}", name


def test_no_provider_key_in_the_deployment_files():
    # OpenAI (sk-, sk-proj-), DeepSeek and DashScope (sk-), Anthropic (sk-ant-), Google (AIza).
    key = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}|\bAIza[0-9A-Za-z_-]{30,}")
    files = [ROOT / "Dockerfile", *(ROOT / "k8s").rglob("*"), *(ROOT / "deploy").rglob("*")]
    for path in files:
        if path.is_file() and "secrets" not in path.relative_to(ROOT).parts:
            assert not key.search(path.read_text()), f"{path} contains what looks like a provider key"


def test_keys_are_mounted_where_the_config_reads_them(base, config):
    spec = pod_spec(base)
    sidecar = container(spec["initContainers"], SIDECAR)
    mounts = {m["name"]: m for m in sidecar["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    keys = mounts["provider-keys"]
    assert keys["mountPath"] == KEYS_DIRECTORY and keys["readOnly"] is True and "subPath" not in keys
    secret = volumes["provider-keys"]["secret"]
    assert secret["secretName"] == "llm-sidecar-keys"
    assert secret["defaultMode"] == 0o440
    files = {p["api_key_file"] for p in config["providers"].values() if "api_key_file" in p}
    assert files and all(os.path.dirname(f) == KEYS_DIRECTORY for f in files)


def test_config_map_is_mounted_where_serve_reads_it(base):
    spec = pod_spec(base)
    sidecar = container(spec["initContainers"], SIDECAR)
    config_path = sidecar["args"][sidecar["args"].index("--config") + 1]
    mount = {m["name"]: m for m in sidecar["volumeMounts"]}["config"]
    # A directory mount (not subPath), so that the kubelet refreshes it and the sidecar reloads.
    assert mount["mountPath"] == os.path.dirname(config_path) and "subPath" not in mount
    assert {v["name"]: v for v in spec["volumes"]}["config"]["configMap"]["name"] == "llm-sidecar-config"
    assert os.path.basename(config_path) in by_kind(base, "ConfigMap")["data"]


def test_grace_period_covers_the_sidecar_shutdown(base, config):
    server = config["server"]
    budget = seconds(server["shutdown_delay"]) + seconds(server["drain_timeout"])
    grace = pod_spec(base)["terminationGracePeriodSeconds"]
    assert grace == 40 and grace > budget


def test_plain_sidecar_overlay_uses_an_ordinary_container(plain, config):
    spec = pod_spec(plain)
    assert spec.get("initContainers", []) == []
    sidecar = spec["containers"][0]
    assert sidecar["name"] == SIDECAR and "restartPolicy" not in sidecar
    assert sidecar["lifecycle"]["postStart"]["exec"]["command"][0] == "bash"
    sleep = sidecar["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep"
    server = config["server"]
    needed = float(sleep[1]) + seconds(server["shutdown_delay"]) + seconds(server["drain_timeout"])
    assert spec["terminationGracePeriodSeconds"] > needed
    # Everything else about the sidecar is the base's.
    base_sidecar = container(pod_spec(render(BASE))["initContainers"], SIDECAR)
    moved = {k: v for k, v in sidecar.items() if k != "lifecycle"}
    assert moved == {k: v for k, v in base_sidecar.items() if k != "restartPolicy"}


def test_fleet_store_overlay_renders_the_base_objects(base, fleet):
    assert sorted((o["kind"], o["metadata"]["name"]) for o in fleet) == sorted((o["kind"], o["metadata"]["name"]) for o in base)


def test_fleet_store_config_is_the_base_config_with_a_store_and_a_budget(config, fleet_config):
    """The overlay's sidecar.yaml replaces the base's whole (a ConfigMap holds it as one string):
    it must not drift from the base apart from what it adds."""
    assert "store" not in config and "quotas" not in config, "the base stays in process"
    assert {k: v for k, v in fleet_config.items() if k not in ("store", "quotas")} == config
    assert fleet_config["quotas"]["global"]["cost_per_day"], "a fleet-wide budget is the point of the store"


def test_fleet_store_points_at_a_redis_service(fleet_config):
    store = fleet_config["store"]
    assert set(store) == STORE_KEYS
    url = urlsplit(store["url"])
    assert url.scheme == "redis", "the example reaches Redis by plain TCP on the pod network"
    assert url.password is None and url.username is None, "the password comes from the Secret, the user from username"
    assert url.hostname.endswith(".svc.cluster.local") and url.port == 6379 and url.path == "/0"
    assert store["on_store_failure"] == "local"
    assert seconds(store["timeout"]) <= seconds(store["connect_timeout"]) <= 1
    assert store["key_prefix"].startswith("llm-sidecar:") and " " not in store["key_prefix"]


def test_fleet_store_password_is_a_secret_file_of_the_sidecar_alone(fleet, fleet_config):
    spec = pod_spec(fleet)
    sidecar = container(spec["initContainers"], SIDECAR)
    directory, name = os.path.split(fleet_config["store"]["password_file"])
    (mount,) = [m for m in sidecar["volumeMounts"] if m["mountPath"] == directory]
    assert mount["readOnly"] is True and "subPath" not in mount, "a directory mount is refreshed on rotation"
    secret = {v["name"]: v for v in spec["volumes"]}[mount["name"]]["secret"]
    assert secret["secretName"] == "llm-sidecar-redis"
    assert secret["defaultMode"] == 0o440
    assert secret["optional"] is False, "without its password the sidecar refuses the configuration"
    assert "items" not in secret and name == "password"
    for c in spec["containers"]:
        assert "volumeMounts" not in c, f"{c['name']} must not see the Redis password"
    assert not any("REDIS" in e["name"] for e in sidecar["env"]), "the password is a file, not an environment variable"


def test_fleet_store_deployment_is_the_base_one_with_the_password_and_replicas(base, fleet):
    deployment = copy.deepcopy(by_kind(fleet, "Deployment"))
    assert deployment["spec"]["replicas"] > 1
    spec = deployment["spec"]["template"]["spec"]
    redis_volumes = [v for v in spec["volumes"] if v.get("secret", {}).get("secretName") == "llm-sidecar-redis"]
    assert len(redis_volumes) == 1
    spec["volumes"].remove(redis_volumes[0])
    sidecar = container(spec["initContainers"], SIDECAR)
    sidecar["volumeMounts"] = [m for m in sidecar["volumeMounts"] if m["name"] != redis_volumes[0]["name"]]
    deployment["spec"]["replicas"] = by_kind(base, "Deployment")["spec"]["replicas"]
    assert deployment == by_kind(base, "Deployment")


def sidecar_binary() -> Path | None:
    """$SIDECAR_BIN, else the newest of the debug and release builds."""
    if os.environ.get("SIDECAR_BIN"):
        return Path(os.environ["SIDECAR_BIN"])
    builds = [ROOT / ".build" / kind / "llm-sidecar" for kind in ("debug", "release")]
    builds = [b for b in builds if b.exists()]
    return max(builds, key=lambda b: b.stat().st_mtime) if builds else None


@pytest.mark.skipif(sidecar_binary() is None, reason="no llm-sidecar build in .build (and no SIDECAR_BIN)")
@pytest.mark.parametrize(
    "path",
    [BASE / "sidecar.yaml", FLEET / "sidecar.yaml", ROOT / "deploy" / "fleet" / "sidecar.yaml"],
    ids=["base", "fleet-store", "compose-fleet"],
)
def test_sidecar_accepts_the_shipped_config(path, tmp_path):
    """check-config refuses a store whose password file is missing, so a configuration with one
    is checked as a copy that reads a password written here."""
    text = path.read_text()
    password_file = (yaml.safe_load(text).get("store") or {}).get("password_file")
    if password_file:
        (tmp_path / "password").write_text("not-a-real-password")
        text = text.replace(password_file, str(tmp_path / "password"))
        path = tmp_path / "sidecar.yaml"
        path.write_text(text)
    binary = sidecar_binary()
    result = subprocess.run(
        [str(binary), "check-config", str(path)],
        capture_output=True,
        text=True,
        env={key: value for key, value in os.environ.items() if key != "SIDECAR_CONFIG"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output


def test_dockerfile_names_its_base_images_in_full():
    """podman and buildah refuse short names (`debian:bookworm-slim`) without a registry alias."""
    stages: set[str] = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        match = re.match(r"FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if not match:
            continue
        image, alias = match.groups()
        if image not in stages:
            registry = image.split("/", 1)[0]
            assert "/" in image and "." in registry, f"FROM {image}: name the registry, e.g. docker.io/library/{image}"
        if alias:
            stages.add(alias)


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_every_dependency_is_pinned_at_an_exact_version():
    """The image (and every other build) resolves exactly what the tests ran against: each
    `.package` in Package.swift is `exact:`, and the packages they depend on are listed too."""
    dependencies = re.findall(r'\.package\(\s*url:\s*"([^"]+)"\s*,\s*([a-zA-Z]+):\s*"([^"]+)"', (ROOT / "Package.swift").read_text())
    assert dependencies, "no .package(url:, …) found in Package.swift"
    for url, kind, pinned in dependencies:
        assert kind == "exact", f"{url}: {kind}: {pinned} floats; pin it with exact:"
        version(pinned)
    names = {url.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1] for url, _, _ in dependencies}
    transitive = {"swift-atomics", "swift-collections", "swift-system", "swift-async-algorithms"}
    assert transitive <= names, f"not pinned: {sorted(transitive - names)}"
