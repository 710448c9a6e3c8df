#!/usr/bin/env bash
# Runs every test: formatting, the dependency graph (no cycle between modules or folders), the Swift unit and integration tests, each libFuzzer target for a
# bounded time, the end-to-end suite that drives the built binary with the official openai SDK
# against local provider emulators (which are themselves checked with the official anthropic and
# google-genai SDKs), and the deployment files with the image built and smoke-tested.
# Installs what a fresh machine lacks first, the Python packages into .venv/ only (made from
# scratch when CI=true). Builds once (debug) for the tests; the fuzzers and the image have their own builds.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test

echo "== python imports (each provided by the requirements, in .venv/)" >&2
.venv/bin/python scripts/check_imports.py --requirements Tests/e2e/requirements.txt --exclude Tests/deploy Tests Benchmarks scripts
if ! collected=$(.venv/bin/python -m pytest --collect-only -q -p no:cacheprovider Tests/e2e 2>&1); then
    echo "$collected" >&2
    exit 1
fi

echo "== swift format lint" >&2
swift format lint --strict --recursive Sources Tests Package.swift Fuzz

# Every module's folders, and the modules themselves, must depend on each other one way only.
echo "== dependency graph (scripts/dependency-graph --fail-on-cycles)" >&2
if ! graph=$(.venv/bin/python scripts/dependency-graph --fail-on-cycles); then
    echo "$graph" >&2
    exit 1
fi

echo "== build" >&2
swift build --build-tests

echo "== swift test" >&2
swift test --skip-build

# Fuzzing: each libFuzzer target for a bounded time (a separate sanitized build in .build-fuzz).
echo "== fuzz (scripts/fuzz.sh, ${SIDECAR_FUZZ_SECONDS:-20} s per target)" >&2
scripts/fuzz.sh "${SIDECAR_FUZZ_SECONDS:-20}"

echo "== end-to-end (official SDKs against the built binary)" >&2
SIDECAR_BIN="$PWD/.build/debug/llm-sidecar" .venv/bin/python -m pytest -q -p no:cacheprovider Tests/e2e

echo "== scripts (scripts/dependency-graph)" >&2
.venv/bin/python -m pytest -q -p no:cacheprovider Tests/scripts

echo "== deployment files (k8s/, Dockerfile, deploy/) and the image" >&2
SIDECAR_BIN="$PWD/.build/debug/llm-sidecar" scripts/check-deploy.sh
