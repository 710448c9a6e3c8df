"""Streaming measurements for Benchmarks/run.py: time to first token and per-chunk delivery delay
through a proxy, and the memory a proxy spends per open idle stream."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

REQUEST = "POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nAuthorization: Bearer bench\r\nContent-Length: {length}\r\n\r\n{body}"


def request_bytes(model: str) -> bytes:
    body = json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": "stream please"}]})
    return REQUEST.format(length=len(body), body=body).encode()


async def one_stream(port: int) -> tuple[float, list[float]]:
    """Sends one streaming request; returns (time to first content chunk, per-chunk delays), in µs."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = time.monotonic_ns()
    writer.write(request_bytes("cadence"))
    await writer.drain()
    first: float | None = None
    delays: list[float] = []
    buffer = b""
    while True:
        data = await reader.read(65536)
        arrived = time.monotonic_ns()
        if not data:
            break
        buffer += data
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            line = event[event.find(b"data: "):]
            if line.startswith(b"data: [DONE]"):
                writer.close()
                return first or 0, delays
            if not line.startswith(b"data: {"):
                continue
            payload = json.loads(line[6:])
            if payload.get("choices") and payload["choices"][0]["delta"].get("content"):
                if first is None:
                    first = (arrived - sent) / 1000
                if "t" in payload:
                    delays.append((arrived - payload["t"]) / 1000)
    writer.close()
    return first or 0, delays


def measure_cadence(port: int, streams: int = 40) -> dict:
    """Sequential streams: median and p99 time to first token and chunk delivery delay (µs)."""
    async def run() -> dict:
        firsts, delays = [], []
        for _ in range(streams):
            first, chunk_delays = await one_stream(port)
            firsts.append(first)
            delays += chunk_delays
        firsts.sort()
        delays.sort()
        return {
            "ttft_p50_us": round(statistics.median(firsts), 1),
            "ttft_p99_us": round(firsts[int(len(firsts) * 0.99) - 1], 1),
            "chunk_delay_p50_us": round(statistics.median(delays), 1),
            "chunk_delay_p99_us": round(delays[int(len(delays) * 0.99) - 1], 1),
        }
    return asyncio.run(run())


def measure_idle_streams(port: int, count: int, rss_mb) -> dict:
    """Opens `count` streams that stay open after their first chunk and reports the proxy's
    memory while they are open and after they closed (`rss_mb` is called to read it)."""
    async def run() -> dict:
        before = rss_mb()
        connections = []
        semaphore = asyncio.Semaphore(200)

        async def open_stream() -> None:
            async with semaphore:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request_bytes("idle"))
                await writer.drain()
                received = b""
                while b"hello" not in received:
                    data = await reader.read(4096)
                    if not data:
                        raise RuntimeError("stream closed before its first chunk")
                    received += data
                    status_line = received.split(b"\r\n", 1)[0]
                    if b"\r\n" in received and b" 200 " not in status_line:
                        raise RuntimeError("stream refused: " + status_line.decode())
                connections.append(writer)

        await asyncio.gather(*(open_stream() for _ in range(count)))
        await asyncio.sleep(1)
        during = rss_mb()
        for writer in connections:
            writer.close()
        await asyncio.sleep(3)
        after = rss_mb()
        return {"streams": count, "rss_before_mb": round(before, 1), "rss_open_mb": round(during, 1), "rss_after_mb": round(after, 1),
                "kb_per_stream": round((during - before) * 1024 / count, 1)}
    return asyncio.run(run())
