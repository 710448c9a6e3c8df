#!/usr/bin/env python3
"""Side-by-side proxy benchmark: a direct call vs nginx vs llm-sidecar (vs LiteLLM).

One run starts a fast local upstream (nginx answering a fixed chat completion), nginx as a
plain reverse proxy in front of it (the floor any proxy is measured against), the sidecar
(release build) in front of it, and optionally LiteLLM from PyPI (its own virtual environment
.venv-litellm/, so that its pins never meet the test SDKs' in .venv/); then drives each with wrk
(POST /v1/chat/completions, one wrk thread) at 1, 16 and 64 connections and reports:

  * latency p50/p99 and the latency each proxy *adds* over the direct call,
  * the same through the sidecar's Anthropic and Gemini dialects (the upstream answers their
    native JSON), so the difference to the OpenAI passthrough is the translation's cost,
  * requests per second and CPU time per 1,000 requests of the proxy process,
  * RSS idle, peak under load, and after load,
  * start-up time: exec to the first proxied chat completion answered,
  * per request, over a fixed request count (Benchmarks/structural.py), for the direct call, nginx
    and the sidecar: syscalls by name (strace -c -f), context switches, heap allocations (the
    malloc interposer Benchmarks/malloc_count.c, in separate instances) and CPU time.

Results print as a table and are written as JSON to bench-results/<UTC timestamp>.json
(see Benchmarks/README.md). Usage:

    scripts/bench.sh [--duration 5] [--connections 1,16,64] [--litellm] [--structural-requests 20000 | --no-structural]
"""

from __future__ import annotations

import argparse
import resource
import datetime
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import streaming
import structural

ROOT = Path(__file__).resolve().parent.parent
# The peer gateway's command, in the virtual environment scripts/bootstrap.sh --litellm makes.
LITELLM = ROOT / ".venv-litellm/bin/litellm"
# Every target gets the same bearer token; LiteLLM refuses to start without a strong master key.
API_KEY = "sk-bench-" + secrets.token_hex(24)
COMPLETION = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "bench-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18},
}, separators=(",", ":"))
# The same answer in the native formats of the translating dialects measured.
ANTHROPIC_MESSAGE = json.dumps({
    "id": "msg_bench", "type": "message", "role": "assistant", "model": "bench-claude",
    "content": [{"type": "text", "text": "Hello! How can I help you today?"}],
    "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 9, "output_tokens": 9},
}, separators=(",", ":"))
GEMINI_ANSWER = json.dumps({
    "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello! How can I help you today?"}]},
                    "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 9, "totalTokenCount": 18},
    "modelVersion": "bench-gemini", "responseId": "bench",
}, separators=(",", ":"))
# Sidecar model name → the dialect it is served through (the providers in `start_sidecar`).
TRANSLATED_MODELS = {"anthropic": "bench-claude", "gemini": "bench-gemini"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chat_body(model: str) -> str:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": "Say hello"}]})


def post_chat(port: int, model: str = "bench-model", timeout: float = 2) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=chat_body(model).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_serving(port: int, deadline_s: float, model: str = "bench-model") -> float:
    """Seconds until a chat completion through `port` succeeds."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if post_chat(port, model, timeout=1):
            return time.monotonic() - start
        time.sleep(0.002)
    raise RuntimeError(f"nothing served on port {port} after {deadline_s}s")


def process_tree(pid: int) -> list[int]:
    pids = [pid]
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for text in child.read_text().split():
            pids += process_tree(int(text))
    return pids


def rss_mb(pid: int) -> float:
    total = 0
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return total / 1024


def cpu_seconds(pid: int) -> float:
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


class Target:
    def __init__(self, name: str, port: int, process: subprocess.Popen | None, model: str = "bench-model"):
        self.name, self.port, self.process, self.model = name, port, process, model
        self.stream_port: int | None = None
        self.stream_process: subprocess.Popen | None = None
        self.connections: list[int] | None = None  # None: every --connections count
        self.duration: int | None = None  # None: --duration

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


def start_nginx(directory: Path, name: str, server_blocks: list[str], extra_http: str = "",
                environment: dict[str, str] | None = None) -> subprocess.Popen:
    config = directory / f"{name}.conf"
    config.write_text(f"""
worker_processes 1;
daemon off;
master_process off;
error_log {directory}/{name}.error.log warn;
pid {directory}/{name}.pid;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    client_body_temp_path {directory}/{name}.body;
    proxy_temp_path {directory}/{name}.proxy;
    keepalive_requests 1000000;
    {extra_http}
    {"".join(f"server {{ {block} }}" for block in server_blocks)}
}}
""")
    return subprocess.Popen(["nginx", "-c", str(config), "-p", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, **(environment or {})))


def start_upstream(directory: Path, name: str = "upstream", environment: dict[str, str] | None = None) -> Target:
    port = free_port()
    answers = {"/anthropic/": ANTHROPIC_MESSAGE, "/gemini/": GEMINI_ANSWER, "/": COMPLETION}
    locations = ""
    for path, body in answers.items():
        quoted = body.replace("'", "\\'")
        locations += f"location {path} {{ default_type application/json; return 200 '{quoted}'; }} "
    process = start_nginx(directory, name, [f"listen 127.0.0.1:{port}; {locations}"], environment=environment)
    wait_until_serving(port, 10)
    return Target("direct", port, process)


def start_nginx_proxy(directory: Path, upstream: int, stream_upstream: int, name: str = "proxy",
                      environment: dict[str, str] | None = None) -> Target:
    port = free_port()
    stream_port = free_port()
    location = 'location / {{ proxy_pass http://{0}; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }}'
    process = start_nginx(
        directory, name,
        [f"listen 127.0.0.1:{port}; " + location.format("backend"), f"listen 127.0.0.1:{stream_port}; " + location.format("streams")],
        extra_http=f"upstream backend {{ server 127.0.0.1:{upstream}; keepalive 128; }} "
                   f"upstream streams {{ server 127.0.0.1:{stream_upstream}; keepalive 128; }}", environment=environment)
    wait_until_serving(port, 10)
    target = Target("nginx", port, process)
    target.stream_port = stream_port
    return target


def start_stream_upstream() -> Target:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(ROOT / "Benchmarks/stream_upstream.py"), "--port", str(port)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    target = Target("direct", port, None)
    target.stream_port = port
    target.stream_process = process
    return target


def start_sidecar(directory: Path, upstream: int, stream_upstream: int, binary: Path, threads: int | None,
                  max_streams: int, name: str = "sidecar", extra: str = "",
                  environment: dict[str, str] | None = None) -> tuple[Target, float]:
    """`max_streams` is raised above the largest idle-stream count: the default (2,000) answers
    the streams beyond it with 503, which is the point of the cap but not what is measured here;
    `max_connections` (default 4,096, at least `max_streams`) with it. `extra` is appended to the
    configuration (YAML sections); `environment` is added to the process's."""
    port = free_port()
    directory = directory / name
    directory.mkdir(exist_ok=True)
    config = directory / "sidecar.yaml"
    config.write_text(f"""
listen: 127.0.0.1:{port}
providers:
  bench:
    dialect: openai-compatible
    base_url: http://127.0.0.1:{upstream}/v1
  streams:
    dialect: openai-compatible
    base_url: http://127.0.0.1:{stream_upstream}/v1
  anthropic:
    dialect: anthropic
    base_url: http://127.0.0.1:{upstream}/anthropic
    api_key_env: BENCH_API_KEY
  gemini:
    dialect: gemini
    base_url: http://127.0.0.1:{upstream}/gemini
    api_key_env: BENCH_API_KEY
models:
  "*":
    provider: bench
    price: {{ input: 0.28, output: 0.42 }}
  cadence:
    provider: streams
  idle:
    provider: streams
  {TRANSLATED_MODELS["anthropic"]}:
    provider: anthropic
    price: {{ input: 0.28, output: 0.42 }}
  {TRANSLATED_MODELS["gemini"]}:
    provider: gemini
    price: {{ input: 0.28, output: 0.42 }}
usage:
  sink: {directory}/usage.jsonl
log:
  level: warning
server:
  max_streams: {max_streams}
  max_connections: {max_streams + 100}
""" + (f"  event_loop_threads: {threads}\n" if threads else "") + extra)
    process = subprocess.Popen([str(binary), "serve", "--config", str(config)], stderr=subprocess.DEVNULL,
                               env=dict(os.environ, BENCH_API_KEY="bench", **(environment or {})))
    startup = wait_until_serving(port, 10)
    target = Target(name, port, process)
    target.stream_port = port if name == "sidecar" else None
    return target, startup


# Quotas that never refuse, so every request reserves and settles: in the process, or on Redis.
QUOTAS = "quotas:\n  global:\n    requests_per_minute: 100000000\n    cost_per_day: { USD: 1000000 }\n"


def start_redis(directory: Path) -> tuple[subprocess.Popen, int]:
    """A redis-server on a free loopback port, no persistence (scripts/bootstrap.sh --bench installs it)."""
    if not shutil.which("redis-server"):
        sys.exit("redis-server is missing: run scripts/bootstrap.sh --bench")
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
            return process, port
        time.sleep(0.05)
    sys.exit("redis-server did not start")


def store_targets(directory: Path, upstream: int, stream_upstream: int, binary: Path, threads: int | None,
                  redis_port: int) -> list[Target]:
    """The sidecar with quotas kept in the process, and with quotas kept on Redis (`store:`)."""
    quota, _ = start_sidecar(directory, upstream, stream_upstream, binary, threads, 100, "sidecar-quota", QUOTAS)
    store, _ = start_sidecar(directory, upstream, stream_upstream, binary, threads, 100, "sidecar-store",
                             QUOTAS + f"store:\n  url: redis://127.0.0.1:{redis_port}/0\n")
    return [quota, store]


def redis_counts(port: int) -> dict[str, int]:
    """Calls per command (INFO commandstats) and the socket reads the server processed (INFO stats:
    one per batch of pipelined commands it received, so about one per round trip)."""
    def info(section: str) -> str:
        return subprocess.run(["redis-cli", "-p", str(port), "info", section], capture_output=True, text=True, check=True).stdout
    counts = {match.group(1): int(match.group(2)) for match in re.finditer(r"^cmdstat_(\w+):calls=(\d+)", info("commandstats"), re.M)}
    counts["reads"] = int(re.search(r"^total_reads_processed:(\d+)", info("stats"), re.M).group(1))
    return counts


def translating_targets(sidecar: Target) -> list[Target]:
    """The sidecar process again, asked for models it serves through translating dialects."""
    targets = []
    for dialect, model in TRANSLATED_MODELS.items():
        wait_until_serving(sidecar.port, 10, model)
        targets.append(Target(f"sidecar-{dialect}", sidecar.port, sidecar.process, model))
    return targets


def start_litellm(directory: Path, upstream: int, connections: list[int], duration: int) -> tuple[Target, float]:
    """LiteLLM's proxy calling the same upstream as an OpenAI-compatible provider, with no
    database and nothing fetched from the network (the cost map is the bundled copy)."""
    if not LITELLM.exists():
        sys.exit(f"{LITELLM} is missing: run scripts/bootstrap.sh --litellm")
    port = free_port()
    config = directory / "litellm.yaml"
    config.write_text(f"""
model_list:
  - model_name: bench-model
    litellm_params: {{ model: openai/bench-model, api_base: "http://127.0.0.1:{upstream}/v1", api_key: bench }}
litellm_settings: {{ telemetry: false }}
general_settings: {{ master_key: {API_KEY} }}
""")
    environment = dict(os.environ, LITELLM_LOG="ERROR", LITELLM_TELEMETRY="False", LITELLM_LOCAL_MODEL_COST_MAP="True")
    process = subprocess.Popen([str(LITELLM), "--config", str(config), "--port", str(port), "--num_workers", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    startup = wait_until_serving(port, 180)
    target = Target("litellm", port, process)
    # About 50 requests/s whatever the load, so short runs at few connections say all there is.
    target.connections = [count for count in connections if count <= 16]
    target.duration = duration
    return target, startup


def write_wrk_script(directory: Path, model: str) -> Path:
    script = directory / f"post-{model}.lua"
    script.write_text(f"""
wrk.method = "POST"
wrk.body = [[{chat_body(model)}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {API_KEY}"
""")
    return script


def to_microseconds(text: str) -> float:
    """wrk's durations: 812.00us, 1.20ms, 2.01s, 1.00m."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}[unit]


def run_wrk(target: Target, connections: int, duration: int, script: Path) -> dict:
    samples: list[float] = []
    stop = threading.Event()

    def sample_rss() -> None:
        while not stop.is_set() and target.pid:
            samples.append(rss_mb(target.pid))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample_rss)
    sampler.start()
    cpu_before = cpu_seconds(target.pid) if target.pid else 0
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{target.port}/v1/chat/completions"],
        capture_output=True, text=True, check=True).stdout
    cpu_used = (cpu_seconds(target.pid) - cpu_before) if target.pid else 0
    stop.set()
    sampler.join()
    if "Latency Distribution" not in output:
        raise RuntimeError(f"wrk against {target.name} failed:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:  # error answers are cheap, so they would flatter the figures
        print(f"warning: {target.name} answered {errors.group(1)} of {requests} requests with an error", file=sys.stderr)
    return {
        "connections": connections,
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_us": to_microseconds(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),
        "p99_us": to_microseconds(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        "requests": requests,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "cpu_ms_per_1000_requests": round(cpu_used * 1000 / max(requests, 1) * 1000, 2) if target.pid else None,
        "peak_rss_mb": round(max(samples), 1) if samples else None,
    }


def start_counted_twins(directory: Path, library: Path, upstream: int, stream_upstream: int, binary: Path,
                        threads: int | None) -> dict[str, tuple[Target, Path]]:
    """The targets whose structural figures are measured (Benchmarks/structural.py: syscalls, context
    switches, allocations and CPU per request over a fixed request count), each mapped to a second
    instance with the malloc interposer preloaded and the file it counts into, so that the timed
    targets never carry the interposer. Started with the others, so that a twin runs the same
    binary as its target even when it is rebuilt during the run."""
    def environment(name: str) -> tuple[dict[str, str], Path]:
        counter = directory / f"{name}.allocations"
        return structural.interposer_environment(library, counter), counter

    twins = {}
    variables, counter = environment("direct")
    twins["direct"] = (start_upstream(directory, "upstream-counted", variables), counter)
    variables, counter = environment("nginx")
    twins["nginx"] = (start_nginx_proxy(directory, upstream, stream_upstream, "proxy-counted", variables), counter)
    variables, counter = environment("sidecar")
    sidecar, _ = start_sidecar(directory, upstream, stream_upstream, binary, threads, 100, "sidecar-counted", environment=variables)
    twins["sidecar"] = (sidecar, counter)
    return twins


def measure_structure(directory: Path, targets: list[Target], twins: dict[str, tuple[Target, Path]],
                      arguments: argparse.Namespace, results: dict) -> None:
    """Adds `structural` to the results of each structural target."""
    for target in (target for target in targets if target.name in twins):
        twin, counter = twins[target.name]
        results["targets"][target.name]["structural"] = structural.measure(
            target.port, process_tree(target.pid), twin.port, counter, write_wrk_script(directory, target.model),
            arguments.structural_requests, arguments.structural_connections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--connections", default="1,16,64", help="comma-separated connection counts")
    parser.add_argument("--litellm", action="store_true", help="also measure LiteLLM (from .venv-litellm/: scripts/bootstrap.sh --litellm)")
    parser.add_argument("--litellm-duration", type=int, default=3, help="seconds per wrk run against LiteLLM (default 3)")
    parser.add_argument("--binary", type=Path, default=ROOT / ".build/release/llm-sidecar")
    parser.add_argument("--threads", type=int, help="the sidecar's server.event_loop_threads (default: its configuration default)")
    parser.add_argument("--idle-streams", default="1000,5000", help="counts of concurrent idle streams to hold open (empty: skip)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--store", action="store_true",
                        help="also measure the sidecar with quotas in the process and on a local redis-server (store:)")
    parser.add_argument("--structural-requests", type=int, default=20000,
                        help="requests per fixed-count run of the structural figures (syscalls, context switches, allocations; default 20000)")
    parser.add_argument("--structural-connections", type=int, default=16, help="connections of those runs (default 16)")
    parser.add_argument("--no-structural", dest="structural", action="store_false", help="skip the structural figures")
    arguments = parser.parse_args()
    connection_counts = [int(text) for text in arguments.connections.split(",")]
    for tool in ("nginx", "wrk") + (("strace", "cc", "stdbuf") if arguments.structural else ()):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/bootstrap.sh --bench")

    results: dict = {"started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(), "cores": os.cpu_count(),
                     "duration_s": arguments.duration, "targets": {}}
    counts = [int(text) for text in arguments.idle_streams.split(",") if text]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of streams need file descriptors
    with tempfile.TemporaryDirectory(prefix="sidecar-bench-") as temporary:
        directory = Path(temporary)
        upstream = start_upstream(directory)
        stream_upstream = start_stream_upstream()
        upstream.stream_port, upstream.stream_process = stream_upstream.stream_port, stream_upstream.stream_process
        targets = [upstream, start_nginx_proxy(directory, upstream.port, stream_upstream.port)]
        sidecar, startup = start_sidecar(directory, upstream.port, stream_upstream.port, arguments.binary, arguments.threads,
                                         max_streams=max(counts, default=0) + 100)
        targets.append(sidecar)
        targets += translating_targets(sidecar)
        twins = {}
        if arguments.structural:
            twins = start_counted_twins(directory, structural.compile_interposer(directory), upstream.port, stream_upstream.port,
                                        arguments.binary, arguments.threads)
        results["sidecar_startup_ms"] = round(startup * 1000, 1)
        redis = None
        if arguments.store:
            redis, redis_port = start_redis(directory)
            targets += store_targets(directory, upstream.port, stream_upstream.port, arguments.binary, arguments.threads, redis_port)
        if arguments.litellm:
            litellm, litellm_startup = start_litellm(directory, upstream.port, connection_counts, arguments.litellm_duration)
            targets.append(litellm)
            results["litellm_startup_ms"] = round(litellm_startup * 1000, 1)
        try:
            for target in targets:
                time.sleep(0.5)
                script = write_wrk_script(directory, target.model)
                entry = {"idle_rss_mb": round(rss_mb(target.pid), 1) if target.pid else None, "runs": []}
                warmed = 0
                for connections in target.connections or connection_counts:
                    warm = subprocess.run(["wrk", "-t1", "-c4", "-d1s", "-s", str(script), f"http://127.0.0.1:{target.port}/v1/chat/completions"],
                                          capture_output=True, check=True, text=True)  # warm-up
                    warmed += int(re.search(r"(\d+) requests in", warm.stdout).group(1))
                    entry["runs"].append(run_wrk(target, connections, target.duration or arguments.duration, script))
                time.sleep(2)
                entry["after_load_rss_mb"] = round(rss_mb(target.pid), 1) if target.pid else None
                if target.stream_port:
                    entry["streaming"] = streaming.measure_cadence(target.stream_port)
                if target.name == "sidecar-store" and redis:
                    # Every request reaching the store is counted: the warm-up runs too.
                    requests = sum(run["requests"] for run in entry["runs"]) + warmed
                    tallies = redis_counts(redis_port)
                    entry["redis_per_request"] = {name: round(calls / max(requests, 1), 3) for name, calls in tallies.items()}
                results["targets"][target.name] = entry
            for target in (t for t in targets if t.name in ("nginx", "sidecar")):
                results["targets"][target.name]["idle_streams"] = [
                    streaming.measure_idle_streams(target.stream_port, count, lambda: rss_mb(target.pid)) for count in counts]
            measure_structure(directory, targets, twins, arguments, results)
        finally:
            for target in targets + [twin for twin, _ in twins.values()]:
                for process in (target.process, target.stream_process):
                    if process:
                        process.terminate()
                        process.wait(timeout=10)
            if redis:
                redis.terminate()
                redis.wait(timeout=10)
    add_ratios(results)
    add_translation_costs(results)
    add_litellm_comparison(results)
    add_streaming_ratios(results)
    print_table(results)
    arguments.output.mkdir(exist_ok=True)
    path = arguments.output / (results["started_at"].replace(":", "").split(".")[0] + ".json")
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults written to {path}")
    return 0


def add_ratios(results: dict) -> None:
    """Added latency over the direct call, and each proxy's figures as ratios to nginx's."""
    direct = {run["connections"]: run for run in results["targets"]["direct"]["runs"]}
    nginx = {run["connections"]: run for run in results["targets"]["nginx"]["runs"]}
    for entry in results["targets"].values():
        for run in entry["runs"]:
            base, floor = direct[run["connections"]], nginx[run["connections"]]
            run["added_p50_us"] = round(run["p50_us"] - base["p50_us"], 1)
            run["added_p99_us"] = round(run["p99_us"] - base["p99_us"], 1)
            nginx_added = floor["p50_us"] - base["p50_us"]
            run["added_p50_vs_nginx"] = round(run["added_p50_us"] / nginx_added, 2) if nginx_added > 0 else None
            run["throughput_vs_nginx"] = round(run["requests_per_second"] / floor["requests_per_second"], 3)
            run["throughput_vs_direct"] = round(run["requests_per_second"] / base["requests_per_second"], 3)


def add_translation_costs(results: dict) -> None:
    """What translating to another dialect costs over the sidecar's OpenAI passthrough."""
    passthrough = {run["connections"]: run for run in results["targets"]["sidecar"]["runs"]}
    for dialect in TRANSLATED_MODELS:
        for run in results["targets"][f"sidecar-{dialect}"]["runs"]:
            base = passthrough[run["connections"]]
            run["translation_p50_us"] = round(run["p50_us"] - base["p50_us"], 1)
            run["throughput_vs_passthrough"] = round(run["requests_per_second"] / base["requests_per_second"], 3)
            run["cpu_ms_per_1000_vs_passthrough"] = round(run["cpu_ms_per_1000_requests"] - base["cpu_ms_per_1000_requests"], 2)


def add_litellm_comparison(results: dict) -> None:
    """The sidecar's throughput and added latency as multiples of LiteLLM's."""
    if "litellm" not in results["targets"]:
        return
    sidecar = {run["connections"]: run for run in results["targets"]["sidecar"]["runs"]}
    results["sidecar_vs_litellm"] = [{
        "connections": run["connections"],
        "throughput_multiple": round(sidecar[run["connections"]]["requests_per_second"] / run["requests_per_second"], 1),
        "litellm_added_p50_multiple": round(run["added_p50_us"] / sidecar[run["connections"]]["added_p50_us"], 1),
    } for run in results["targets"]["litellm"]["runs"] if sidecar.get(run["connections"], {}).get("added_p50_us", 0) > 0]


def add_streaming_ratios(results: dict) -> None:
    """Time to first token and chunk delay each proxy adds over the direct stream."""
    direct = results["targets"]["direct"].get("streaming")
    for entry in results["targets"].values():
        if direct and "streaming" in entry:
            entry["streaming"]["added_ttft_p50_us"] = round(entry["streaming"]["ttft_p50_us"] - direct["ttft_p50_us"], 1)
            entry["streaming"]["added_chunk_delay_p50_us"] = round(entry["streaming"]["chunk_delay_p50_us"] - direct["chunk_delay_p50_us"], 1)


def print_table(results: dict) -> None:
    header = f"{'target':<17} {'conns':>5} {'req/s':>9} {'p50 µs':>8} {'p99 µs':>8} {'+p50 µs':>8} {'+p50/ngx':>8} {'rps/ngx':>8} {'cpu ms/1k':>9} {'peak MB':>8}"
    print(header)
    print("-" * len(header))
    for name, entry in results["targets"].items():
        for run in entry["runs"]:
            ratio = run["added_p50_vs_nginx"]
            print(f"{name:<17} {run['connections']:>5} {run['requests_per_second']:>9.0f} {run['p50_us']:>8.0f} {run['p99_us']:>8.0f} "
                  f"{run['added_p50_us']:>8.0f} {ratio if ratio is not None else '-':>8} {run['throughput_vs_nginx']:>8.3f} "
                  f"{run['cpu_ms_per_1000_requests'] if run['cpu_ms_per_1000_requests'] is not None else '-':>9} "
                  f"{run['peak_rss_mb'] if run['peak_rss_mb'] is not None else '-':>8}")
    print()
    print_structural(results)
    for dialect in TRANSLATED_MODELS:
        for run in results["targets"][f"sidecar-{dialect}"]["runs"]:
            print(f"translation to {dialect}, {run['connections']} connections: {run['translation_p50_us']:+.0f} µs p50, "
                  f"{run['throughput_vs_passthrough']:.0%} of the passthrough's requests/s, "
                  f"{run['cpu_ms_per_1000_vs_passthrough']:+.1f} CPU ms per 1,000 requests")
    if "sidecar-store" in results["targets"]:
        quota, store = results["targets"]["sidecar-quota"], results["targets"]["sidecar-store"]
        for local, fleet in zip(quota["runs"], store["runs"]):
            print(f"quotas on Redis vs in the process, {fleet['connections']} connections: "
                  f"{fleet['p50_us'] - local['p50_us']:+.0f} µs p50, {fleet['p99_us'] - local['p99_us']:+.0f} µs p99, "
                  f"{fleet['requests_per_second'] / local['requests_per_second']:.0%} of the requests/s, "
                  f"{(fleet['cpu_ms_per_1000_requests'] or 0) - (local['cpu_ms_per_1000_requests'] or 0):+.1f} sidecar CPU ms per 1,000 requests")
        print(f"on Redis, per request: {store.get('redis_per_request')} (reads: the batches the server read, about one per round trip)")
    for comparison in results.get("sidecar_vs_litellm", []):
        print(f"sidecar vs LiteLLM, {comparison['connections']} connections: {comparison['throughput_multiple']}× the requests/s, "
              f"LiteLLM adds {comparison['litellm_added_p50_multiple']}× the latency the sidecar adds (p50)")
    print()
    for name, entry in results["targets"].items():
        if entry["idle_rss_mb"] is not None:
            print(f"{name}: RSS idle {entry['idle_rss_mb']} MB, after load {entry['after_load_rss_mb']} MB")
    print()
    for name, entry in results["targets"].items():
        if "streaming" in entry:
            stream = entry["streaming"]
            print(f"{name}: streaming TTFT p50 {stream['ttft_p50_us']} µs (+{stream.get('added_ttft_p50_us', 0)}), "
                  f"chunk delay p50 {stream['chunk_delay_p50_us']} µs (+{stream.get('added_chunk_delay_p50_us', 0)}), "
                  f"p99 {stream['chunk_delay_p99_us']} µs")
        for idle in entry.get("idle_streams", []):
            print(f"{name}: {idle['streams']} idle streams: RSS {idle['rss_before_mb']} → {idle['rss_open_mb']} MB "
                  f"({idle['kb_per_stream']} KB per stream), {idle['rss_after_mb']} MB after they closed")
    print(f"sidecar start-up to first served request: {results['sidecar_startup_ms']} ms")
    if "litellm_startup_ms" in results:
        print(f"litellm start-up to first served request: {results['litellm_startup_ms']} ms")


def print_structural(results: dict) -> None:
    """The structural figures per request, with the sidecar's as a multiple of nginx's; the syscalls
    by name below their total, the sidecar's most frequent first, those under 0.01 per request
    (connection set-up, timers) left to the result file."""
    figures = {name: entry["structural"] for name, entry in results["targets"].items() if "structural" in entry}
    if not {"nginx", "sidecar"} <= figures.keys():
        return
    sidecar, nginx = figures["sidecar"], figures["nginx"]
    names = sorted({name for figure in figures.values() for name, calls in figure["syscalls_per_request"].items() if calls >= 0.01},
                   key=lambda name: (-sidecar["syscalls_per_request"].get(name, 0), -nginx["syscalls_per_request"].get(name, 0)))
    rows = [("syscalls", lambda figure: figure["syscalls_per_request_total"])]
    rows += [(f"  {name}", lambda figure, name=name: figure["syscalls_per_request"].get(name, 0)) for name in names]
    rows += [(label, lambda figure, key=key: figure[key]) for label, key in (
        ("context switches", "context_switches_per_request"), ("  voluntary", "voluntary_context_switches_per_request"),
        ("allocations", "allocations_per_request"), ("CPU µs", "cpu_us_per_request"))]
    print(f"per request, over {sidecar['requests']} requests at {sidecar['connections']} connections "
          f"(syscalls under strace -c -f, allocations with the malloc interposer):")
    header = f"{'':<22}" + "".join(f"{name:>10}" for name in figures) + f"{'sidecar/nginx':>15}"
    print(header)
    print("-" * len(header))
    for label, value in rows:
        ratio = f"{value(sidecar) / value(nginx):.2f}×" if value(nginx) else "-"
        print(f"{label:<22}" + "".join(f"{value(figure):>10.2f}" for figure in figures.values()) + f"{ratio:>15}")
    for name, figure in figures.items():
        if figure["non_2xx"]:
            print(f"warning: {figure['non_2xx']} of {name}'s counted requests were answered with an error: its figures are not a request's")
    print()


if __name__ == "__main__":
    sys.exit(main())
