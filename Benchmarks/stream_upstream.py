#!/usr/bin/env python3
"""A streaming upstream for the benchmark: OpenAI-style SSE with a fixed cadence.

    python3 Benchmarks/stream_upstream.py --port PORT

POST /v1/chat/completions with "stream": true answers by model name:
  * "cadence": 20 content chunks, --interval-ms apart (default 10), then finish, usage, [DONE];
  * "idle":    one content chunk, then nothing until the client goes away (an idle stream).
Every chunk carries "t": the send time in nanoseconds on CLOCK_MONOTONIC, which every process on
the machine shares, so a client can compute each chunk's delivery delay.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time


def chunk(content: str | None, finish: str | None = None, usage: dict | None = None) -> bytes:
    choices = [] if usage else [{"index": 0, "delta": {} if content is None else {"content": content}, "finish_reason": finish}]
    payload = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "bench",
               "choices": choices, "usage": usage, "t": time.monotonic_ns()}
    data = b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, interval: float) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = json.loads(await reader.readexactly(length)) if length else {}
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            if body.get("model") == "idle":
                writer.write(chunk("hello"))
                await writer.drain()
                await reader.read()  # until the client closes
                return
            for index in range(20):
                writer.write(chunk(f"tok{index} "))
                await writer.drain()
                await asyncio.sleep(interval)
            writer.write(chunk(None, finish="stop"))
            writer.write(chunk(None, usage={"prompt_tokens": 5, "completion_tokens": 20, "total_tokens": 25}))
            data = b"data: [DONE]\n\n"
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interval-ms", type=float, default=10)
    arguments = parser.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, arguments.interval_ms / 1000), "127.0.0.1", arguments.port, backlog=8192)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
