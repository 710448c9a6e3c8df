"""Structural figures for Benchmarks/run.py: what one request costs a proxy in syscalls (by name),
context switches, heap allocations and CPU time, each over a fixed number of requests rather than
a fixed time, so the figures are counts that a busy machine barely moves.

Every measurement is a wrk run (one thread) whose Lua `response()` stops it after `requests`
responses; wrk's own count of the requests it completed (a few more than asked: those answered in
the same event-loop turn) is what the figures are divided by.

  * syscalls: `strace -c -f` attached to every thread of the target's processes during one run
    (strace slows the target several-fold; the counts do not depend on speed);
  * context switches and CPU: a second run without strace, the voluntary and involuntary context
    switches and the CPU time (`schedstat`, nanoseconds) of every thread before and after;
  * allocations: a third run against a twin instance started with the malloc interposer
    (malloc_count.c preloaded), so that no timed figure carries the interposer's cost.
"""

from __future__ import annotations

import os
import re
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

INTERPOSER_SOURCE = Path(__file__).resolve().parent / "malloc_count.c"
# Appended to a POST script of run.py: stops wrk's one thread after {requests} responses, and
# writes the first error answer to stderr.
COUNTING = """
local responses = 0
local reported = false
function response(status, headers, body)
    responses = responses + 1
    if status >= 300 and not reported then
        io.stderr:write("first error answer: " .. status .. " " .. body .. "\\n")
        reported = true
    end
    if responses == {requests} then wrk.thread:stop() end
end
"""
# wrk's duration is only a cap: the run ends when the count is reached (20,000 requests take the
# sidecar under strace about 10 s on the 2-core VM).
CAP_SECONDS = 180
# Requests sent to the interposed twin before its allocations are counted.
WARM_UP = 1000


def compile_interposer(directory: Path) -> Path:
    library = directory / "malloc_count.so"
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(library), str(INTERPOSER_SOURCE)], check=True)
    return library


def interposer_environment(library: Path, counter: Path) -> dict[str, str]:
    """The environment of a process whose allocations are counted into `counter` (zeroed here)."""
    counter.write_bytes(bytes(8))
    return {"LD_PRELOAD": str(library), "MALLOC_COUNT_FILE": str(counter)}


def allocations(counter: Path) -> int:
    return struct.unpack("<Q", counter.read_bytes()[:8])[0]


def counting_script(post_script: Path, requests: int) -> Path:
    script = post_script.with_name(f"{post_script.stem}-{requests}.lua")
    script.write_text(post_script.read_text() + COUNTING.replace("{requests}", str(requests)))
    return script


def run_counted(port: int, connections: int, script: Path, requests: int) -> tuple[int, int]:
    """One wrk run that stops after `requests` responses (the script's count); returns the requests
    wrk completed and how many were answered with an error (warned of: cheap error answers would
    flatter the figures).
    wrk's main thread sleeps for the whole duration whatever its worker does, so once the worker
    thread has ended it is interrupted (SIGINT), and prints its summary."""
    process = subprocess.Popen(
        ["stdbuf", "-oL", "wrk", "-t1", f"-c{connections}", f"-d{CAP_SECONDS}s", "-s", str(script),
         f"http://127.0.0.1:{port}/v1/chat/completions"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.readline()  # "Running …": printed once the worker thread exists
    while process.poll() is None and len(os.listdir(f"/proc/{process.pid}/task")) > 1:
        time.sleep(0.005)
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    output, complaints = process.communicate()
    completed = int(re.search(r"(\d+) requests in", output).group(1))
    if completed < requests:
        raise RuntimeError(f"a counted run of {requests} requests against port {port} stopped short:\n{output}{complaints}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        print(f"warning: port {port} answered {errors.group(1)} of {completed} counted requests with an error; {complaints.strip()}",
              file=sys.stderr)
    time.sleep(0.2)  # the requests still in flight when wrk stopped are answered and its sockets closed
    return completed, int(errors.group(1)) if errors else 0


def threads(pids: list[int]) -> list[int]:
    found = []
    for pid in pids:
        try:
            found += [int(name) for name in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
    return found


def scheduler_counts(pids: list[int]) -> tuple[int, int, int]:
    """(voluntary context switches, involuntary ones, CPU nanoseconds) summed over every thread."""
    voluntary = involuntary = cpu = 0
    for tid in threads(pids):
        try:
            status = Path(f"/proc/{tid}/status").read_text()
            schedstat = Path(f"/proc/{tid}/schedstat").read_text()
        except OSError:
            continue  # the thread ended
        voluntary += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        involuntary += int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        cpu += int(schedstat.split()[0])
    return voluntary, involuntary, cpu


def traced(pids: list[int], summary: Path, run: Callable[[], int]) -> tuple[dict[str, int], int]:
    """Calls per syscall name while `run` runs, from `strace -c -f` attached to `pids` (all their
    threads, and any thread they start), and what `run` returned."""
    strace = subprocess.Popen(["strace", "-c", "-f", "-q", "-o", str(summary)] + [f"-p{pid}" for pid in pids])
    deadline = time.monotonic() + 10
    while not all(tracer_pid(tid) == strace.pid for tid in threads(pids)):
        if time.monotonic() > deadline or strace.poll() is not None:
            strace.kill()
            raise RuntimeError(f"strace did not attach to {pids}")
        time.sleep(0.01)
    try:
        result = run()
    finally:
        strace.send_signal(signal.SIGINT)
        strace.wait(timeout=30)
    return parse_summary(summary.read_text()), result


def tracer_pid(tid: int) -> int | None:
    try:
        return int(re.search(r"^TracerPid:\s+(\d+)", Path(f"/proc/{tid}/status").read_text(), re.M).group(1))
    except OSError:
        return None


def parse_summary(text: str) -> dict[str, int]:
    """strace -c's table: `% time  seconds  usecs/call  calls  [errors]  syscall`, a rule, rows,
    a rule and a `total` row."""
    calls = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) in (5, 6) and fields[3].isdigit() and fields[-1] != "total":
            calls[fields[-1]] = int(fields[3])
    return calls


def measure(port: int, pids: list[int], counted_port: int, counter: Path, post_script: Path,
            requests: int, connections: int) -> dict:
    """The structural figures of a target serving `port` with the processes `pids`; its twin with
    the interposer serves `counted_port` and counts into `counter`."""
    script = counting_script(post_script, requests)
    calls, (traced_requests, traced_errors) = traced(pids, post_script.with_name(f"{port}.strace"),
                                                     lambda: run_counted(port, connections, script, requests))
    before = scheduler_counts(pids)
    served, errors = run_counted(port, connections, script, requests)
    voluntary, involuntary, cpu = (after - first for after, first in zip(scheduler_counts(pids), before))
    warm_up = min(requests, WARM_UP)  # first-use allocations (pools, caches) are not per request
    run_counted(counted_port, connections, counting_script(post_script, warm_up), warm_up)
    allocated = allocations(counter)
    counted, counted_errors = run_counted(counted_port, connections, script, requests)
    allocated = allocations(counter) - allocated
    return {
        "connections": connections,
        "requests": served,
        "non_2xx": traced_errors + errors + counted_errors,
        "syscalls_per_request": {name: round(count / traced_requests, 2)
                                 for name, count in sorted(calls.items(), key=lambda item: -item[1])},
        "syscalls_per_request_total": round(sum(calls.values()) / traced_requests, 2),
        "context_switches_per_request": round((voluntary + involuntary) / served, 3),
        "voluntary_context_switches_per_request": round(voluntary / served, 3),
        "allocations_per_request": round(allocated / counted, 1),
        "cpu_us_per_request": round(cpu / 1000 / served, 1),
    }
