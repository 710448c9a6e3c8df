"""Run the openai SDK's own resource tests against an OpenAI-compatible base URL.

    python3 Tests/e2e/openai_sdk_suite.py [--base-url URL] [--workdir DIR] [-- PYTEST_ARGS...]

The sdist of the installed `openai` version (fetched with `pip download
openai==<version> --no-binary :all: --no-deps`, cached in the workdir) ships
tests/api_resources, written against a mock server at $TEST_API_BASE_URL. This
script installs the pinned test dependencies (requirements.txt), then runs

    tests/api_resources/chat/test_completions.py
    tests/api_resources/chat/completions/test_messages.py
    tests/api_resources/test_models.py
    tests/api_resources/test_embeddings.py
    tests/api_resources/test_responses.py
    tests/api_resources/responses/test_input_items.py
    tests/api_resources/responses/test_input_tokens.py

and exits with pytest's exit code. The tests authenticate with the API key
"My API Key" and, in their "strict" variants, validate every response against
the SDK's pydantic models.

Without --base-url the script starts its own emulator
(`python3 -m emulator --port 0 --key "openai=My API Key" --float-embeddings --mock-responses`)
and targets its openai flavour. A base URL given explicitly must accept that
key; an emulator serving it needs the same options (see README.md).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEST_FILES = [
    "tests/api_resources/chat/test_completions.py",
    "tests/api_resources/chat/completions/test_messages.py",
    "tests/api_resources/test_models.py",
    "tests/api_resources/test_embeddings.py",
    "tests/api_resources/test_responses.py",
    "tests/api_resources/responses/test_input_items.py",
    "tests/api_resources/responses/test_input_tokens.py",
]
SUITE_API_KEY = "My API Key"


def fetch_sdist(version: str, workdir: Path, distribution: str = "openai") -> Path:
    """The unpacked sdist of distribution==version, downloaded once per workdir."""
    unpacked = workdir / f"{distribution}-{version}"
    if (unpacked / "tests" / "api_resources").is_dir():
        return unpacked
    workdir.mkdir(parents=True, exist_ok=True)
    archive = workdir / f"{distribution}-{version}.tar.gz"
    if not archive.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", f"{distribution}=={version}", "--no-binary", ":all:",
                        "--no-deps", "--quiet", "--dest", str(workdir)], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(workdir, filter="data")
    return unpacked


def install_requirements() -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--root-user-action=ignore", "-r", str(HERE / "requirements.txt")], check=True)


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--key", f"openai={SUITE_API_KEY}", "--float-embeddings",
         "--mock-responses"],
        cwd=HERE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("EMULATOR_PORT="):
        process.kill()
        raise SystemExit(f"emulator did not start: {line!r}")
    return process, f"http://127.0.0.1:{line.strip().split('=', 1)[1]}/openai/v1"


def run_suite(sdist: Path, base_url: str, pytest_args: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", "-o", "addopts=--tb=short", "-p", "no:cacheprovider",
               *TEST_FILES, *pytest_args]
    environment = {**os.environ, "TEST_API_BASE_URL": base_url}
    return subprocess.run(command, cwd=sdist, env=environment).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:PORT/openai/v1 "
                                           "(default: start an emulator)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "openai-sdk-suite",
                        help="where the sdist is downloaded and unpacked (cached)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()

    sdist = fetch_sdist(importlib.metadata.version("openai"), args.workdir.resolve())
    install_requirements()
    if args.base_url:
        return run_suite(sdist, args.base_url, args.pytest_args)
    emulator, base_url = start_emulator()
    try:
        return run_suite(sdist, base_url, args.pytest_args)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
