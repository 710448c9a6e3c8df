"""`python3 -m emulator [--host H] [--port P] [--key FLAVOUR=KEY ...] [--chunk-delay-ms MS] [--float-embeddings] [--mock-responses]`

Prints exactly one line `EMULATOR_PORT=<port>` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiohttp import web

from .server import create_app
from .state import DEFAULT_KEYS, FLAVOURS, State


def _key(value: str) -> tuple[str, str]:
    flavour, sep, key = value.partition("=")
    if not sep or flavour not in FLAVOURS:
        raise argparse.ArgumentTypeError(f"expected FLAVOUR=KEY with FLAVOUR in {list(FLAVOURS)}")
    return flavour, key


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 binds a free port")
    parser.add_argument("--key", type=_key, action="append", default=[], metavar="FLAVOUR=KEY",
                        help="expected API key of a flavour (repeatable); an empty KEY accepts any key")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="default delay between stream events")
    parser.add_argument("--float-embeddings", action="store_true",
                        help="answer OpenAI-style embeddings with float arrays even when base64 is requested "
                             "(what the OpenAPI mock behind the openai SDK's own tests does)")
    parser.add_argument("--mock-responses", action="store_true",
                        help="answer Responses API lookups of ids the emulator never created with a synthetic stored "
                             "response and accept requests without a model or with an unknown previous_response_id "
                             "(what the OpenAPI mock behind the openai SDK's own tests does)")
    return parser.parse_args()


async def serve(args: argparse.Namespace) -> None:
    keys = dict(DEFAULT_KEYS)
    keys.update({flavour: key or None for flavour, key in args.key})
    state = State(keys, args.chunk_delay_ms, args.float_embeddings, args.mock_responses)
    runner = web.AppRunner(create_app(state), handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"EMULATOR_PORT={port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    asyncio.run(serve(parse_args()))


if __name__ == "__main__":
    main()
