"""Run the anthropic SDK's own Messages resource tests against an Anthropic-compatible base URL.

    python3 Tests/e2e/anthropic_sdk_suite.py --base-url URL [--workdir DIR] [-- PYTEST_ARGS...]

The sdist of the installed `anthropic` version (fetched with `pip download
anthropic==<version> --no-binary :all: --no-deps`, cached in the workdir, as for the openai
suite: see openai_sdk_suite.py) ships tests/api_resources, written against a mock server at
$TEST_API_BASE_URL. This script installs the pinned test dependencies (requirements.txt:
inline-snapshot and http-snapshot, which the sdist's conftest.py imports), then runs

    tests/api_resources/test_messages.py

(create, stream and count_tokens, sync and async, "loose" and "strict" response validation)
and exits with pytest's exit code. The tests authenticate with the API key
"my-anthropic-api-key" and use the model "claude-opus-5-5", so the server at URL must route
that model to an Anthropic-speaking provider.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from openai_sdk_suite import fetch_sdist, install_requirements

TEST_FILES = ["tests/api_resources/test_messages.py"]


def run_suite(sdist: Path, base_url: str, pytest_args: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", "-o", "addopts=--tb=short", "-p", "no:cacheprovider",
               *TEST_FILES, *pytest_args]
    environment = {**os.environ, "TEST_API_BASE_URL": base_url}
    return subprocess.run(command, cwd=sdist, env=environment).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="Anthropic-compatible base URL, e.g. http://127.0.0.1:PORT")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "anthropic-sdk-suite",
                        help="where the sdist is downloaded and unpacked (cached)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()

    sdist = fetch_sdist(importlib.metadata.version("anthropic"), args.workdir.resolve(), distribution="anthropic")
    install_requirements()
    return run_suite(sdist, args.base_url, args.pytest_args)


if __name__ == "__main__":
    sys.exit(main())
