"""`llm-sidecar usage report` over a multi-pod log.

Three sidecars, one per "pod", serve the built-in demo model and write real usage lines with a
`k8s.pod.name` label. The test mixes those lines into logs the way `kubectl logs` returns them
— `--prefix` prefixes, `--timestamps` times, the sidecars' own diagnostic lines, text and
truncated lines — runs the report on them in every format, and checks that its totals are the
sums of the usage lines (costs exactly, with Decimal).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sidecar import SidecarProcess, binary

PODS = ["shop-7d9f-a1", "shop-7d9f-b2", "worker-55c-c3"]

CONFIG = """
providers:
  demo:
    dialect: demo
    word_delay: 0ms
models:
  demo:
    provider: demo
    price: { input: 0.15, cached_input: 0.075, output: 0.6 }
  demo-cny:
    provider: demo
    price: { input: 0.8, output: 2.0, currency: CNY }
  demo-unpriced:
    provider: demo
"""


class PodSidecar(SidecarProcess):
    """A sidecar whose usage lines carry `k8s.pod.name`, as the downward API would set it."""

    def __init__(self, directory: Path, pod: str) -> None:
        self.pod = pod
        super().__init__(directory, CONFIG, {})

    def _complete(self, config_text: str) -> str:
        return config_text + (f"\nusage:\n  sink: {self.usage_path}\n  labels:\n    k8s.pod.name: {self.pod}\n"
                              "log:\n  level: info\n")


def exercise(pod: PodSidecar, index: int) -> None:
    client = pod.client()
    for turn in range(3 + index):
        client.chat.completions.create(model="demo", messages=[{"role": "user", "content": f"hello {turn} " * (turn + 1)}])
    stream = client.chat.completions.create(model="demo-cny", stream=True, stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "streamed words for the report"}])
    for _ in stream:
        pass
    client.chat.completions.create(model="demo-unpriced", messages=[{"role": "user", "content": "no price for me"}])
    status, _, _ = pod.request("POST", "/v1/chat/completions", {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]})
    assert status == 404


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Usage lines of three pods, and kubectl-style log files that contain them."""
    root = tmp_path_factory.mktemp("usage-report")
    usage: list[dict[str, Any]] = []
    files: list[Path] = []
    for index, name in enumerate(PODS):
        pod = PodSidecar(root / name, name)
        try:
            exercise(pod, index)
        finally:
            assert pod.stop() == 0
        lines = pod.usage_path.read_text().splitlines()
        diagnostics = [line for line in pod.stderr().splitlines() if line.startswith("{")]
        assert lines and diagnostics
        usage += [line for line in map(json.loads, lines) if line["kind"] == "usage"]
        files.append(write_log(root / f"{name}.log", index, name, lines, diagnostics))
    return {"usage": usage, "files": files, "root": root}


def write_log(path: Path, index: int, pod: str, lines: list[str], diagnostics: list[str]) -> Path:
    """Interleaves usage lines with noise; pod 0 as `kubectl logs --prefix`, pod 1 as
    `--timestamps`, pod 2 raw (as a usage file collected by a log shipper)."""
    prefix = [f"[pod/{pod}/llm-sidecar] ", "2026-11-27T03:07:26.495123456Z ", ""][index]
    out = [prefix + diagnostics[0], "", "Defaulted container \"llm-sidecar\" out of: app, llm-sidecar"]
    for number, line in enumerate(lines):
        out.append(prefix + line)
        if number % 2 == 0:
            out.append(prefix + diagnostics[number % len(diagnostics)])
        if number % 3 == 0:
            out.append(prefix + line[: len(line) // 2])  # a line cut by log rotation
    out.append(prefix + "plain text from the application")
    path.write_text("\n".join(out) + "\n")
    return path


def expected_totals(lines: list[dict[str, Any]]) -> dict[str, Any]:
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line["cost"] is not None:
            cost[line["currency"]] += Decimal(str(line["cost"]))
    return {
        "requests": len(lines),
        "errors": sum(line["outcome"] != "success" for line in lines),
        "input_tokens": sum(line["gen_ai.usage.input_tokens"] or 0 for line in lines),
        "cached_input_tokens": sum(line["gen_ai.usage.cache_read.input_tokens"] or 0 for line in lines),
        "output_tokens": sum(line["gen_ai.usage.output_tokens"] or 0 for line in lines),
        "reasoning_tokens": sum(line["gen_ai.usage.reasoning.output_tokens"] or 0 for line in lines),
        "cost": dict(cost),
        "unpriced_requests": sum(line["cost"] is None and line["outcome"] != "rejected" for line in lines),
    }


def report(*arguments: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(binary()), "usage", "report", *arguments], input=stdin, capture_output=True, timeout=60)


def report_json(*arguments: str, stdin: bytes | None = None) -> dict[str, Any]:
    result = report(*arguments, "--format", "json", stdin=stdin)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout, parse_float=Decimal)


def test_the_lines_exercise_every_case(logs):
    usage = logs["usage"]
    assert {line["gen_ai.request.model"] for line in usage} == {"demo", "demo-cny", "demo-unpriced", "no-such-model"}
    assert {line["currency"] for line in usage} == {"USD", "CNY", None}
    assert {line["outcome"] for line in usage} == {"success", "rejected"}
    assert all(line["k8s.pod.name"] in PODS for line in usage)


def test_json_totals_are_the_sums_of_the_lines(logs):
    data = report_json("--by", "k8s.pod.name,model", *map(str, logs["files"]))
    assert data["group_by"] == ["k8s.pod.name", "model"]
    assert data["total"] == expected_totals(logs["usage"])
    assert data["currencies"] == ["CNY", "USD"]
    assert data["lines"]["usage"] == len(logs["usage"])
    assert data["lines"]["other_json"] > 0 and data["lines"]["not_json"] > 0
    for row in data["rows"]:
        group = row.pop("group")
        lines = [line for line in logs["usage"] if line["k8s.pod.name"] == group["k8s.pod.name"] and line["model"] == group["model"]]
        assert row == expected_totals(lines), group
    assert len(data["rows"]) == len({(line["k8s.pod.name"], line["model"]) for line in logs["usage"]})


def test_csv_totals_are_the_sums_of_the_lines(logs):
    result = report("--by", "k8s.pod.name", "--format", "csv", *map(str, logs["files"]))
    assert result.returncode == 0, result.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode(), newline="")))
    assert [row["k8s.pod.name"] for row in rows] == sorted(PODS) + ["TOTAL"]
    for row in rows:
        lines = logs["usage"] if row["k8s.pod.name"] == "TOTAL" else [l for l in logs["usage"] if l["k8s.pod.name"] == row["k8s.pod.name"]]
        expected = expected_totals(lines)
        for column in ("requests", "errors", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens", "unpriced_requests"):
            assert int(row[column]) == expected[column], column
        for currency in ("CNY", "USD"):
            assert Decimal(row[f"cost_{currency}"] or "0") == expected["cost"].get(currency, Decimal(0))


def test_table_totals_are_the_sums_of_the_lines(logs):
    result = report("--by", "model,day", *map(str, logs["files"]))
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode()
    lines = text.splitlines()
    header = lines[0].split()
    assert header[:2] == ["model", "day"]
    total = next(line for line in lines if line.startswith("TOTAL")).split()[1:]
    cells = dict(zip(header[2:], total))
    expected = expected_totals(logs["usage"])
    for column in ("requests", "errors", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens", "unpriced_requests"):
        assert int(cells[column]) == expected[column], column
    assert Decimal(cells["cost_USD"]) == expected["cost"]["USD"]
    assert Decimal(cells["cost_CNY"]) == expected["cost"]["CNY"]
    assert f"{expected['unpriced_requests']} requests have no cost" in text
    assert f"{len(logs['usage'])} usage lines counted" in result.stderr.decode()


def test_standard_input_gives_the_same_report(logs):
    joined = b"".join(path.read_bytes() for path in logs["files"])
    assert report_json(stdin=joined)["total"] == expected_totals(logs["usage"])
    assert report_json("-", stdin=joined)["rows"] == report_json(*map(str, logs["files"]))["rows"]


def test_since_and_until_select_days(logs):
    days = sorted({line["timestamp"][:10] for line in logs["usage"]})
    data = report_json("--since", days[0], "--until", days[-1], *map(str, logs["files"]))
    assert data["total"]["requests"] == len(logs["usage"])
    data = report_json("--since", "2999-01-01", *map(str, logs["files"]))
    assert data["total"]["requests"] == 0
    assert data["lines"]["out_of_range"] == len(logs["usage"])


def test_an_unreadable_file_fails_with_a_clear_message(logs):
    missing = logs["root"] / "no-such.log"
    result = report(str(logs["files"][0]), str(missing))
    assert result.returncode != 0
    assert result.stdout == b""
    assert f"cannot read '{missing}': No such file or directory" in result.stderr.decode()
    result = report(str(logs["root"]))
    assert result.returncode != 0
    assert "Is a directory" in result.stderr.decode()


def test_bad_options_are_refused():
    for arguments in (["--since", "27/11/2026"], ["--by", ","], ["--format", "xml"], ["--since", "2026-12-01", "--until", "2026-11-01"]):
        result = report(*arguments, stdin=b"")
        assert result.returncode != 0, arguments
        assert result.stderr, arguments


def test_provider_is_short_for_the_gen_ai_provider_field(logs):
    data = report_json("--by", "provider", *map(str, logs["files"]))
    providers = {line["gen_ai.provider.name"] for line in logs["usage"]}
    expected = sorted(provider for provider in providers if provider is not None) + ([None] if None in providers else [])
    assert [row["group"]["provider"] for row in data["rows"]] == expected
    for row in data["rows"]:
        lines = [line for line in logs["usage"] if line["gen_ai.provider.name"] == row["group"]["provider"]]
        assert row["requests"] == len(lines)
