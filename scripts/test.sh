#!/usr/bin/env bash
# Runs every test: formatting, the Swift unit and integration tests, and the end-to-end suite
# that drives the built binary with the official openai SDK against local provider emulators
# (which are themselves checked with the official anthropic and google-genai SDKs).
# Installs what a fresh machine lacks first. Builds once (debug), then tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test

echo "== swift format lint" >&2
swift format lint --strict --recursive Sources Tests Package.swift

echo "== build" >&2
swift build --build-tests

echo "== swift test" >&2
swift test --skip-build

# Fuzzing: each libFuzzer target for a bounded time (a separate sanitized build in .build-fuzz).
echo "== fuzz (scripts/fuzz.sh, ${SIDECAR_FUZZ_SECONDS:-20} s per target)" >&2
scripts/fuzz.sh "${SIDECAR_FUZZ_SECONDS:-20}"

echo "== end-to-end (official SDKs against the built binary)" >&2
SIDECAR_BIN="$PWD/.build/debug/llm-sidecar" python3 -m pytest -q -p no:cacheprovider Tests/e2e

echo "== deployment files (k8s/, Dockerfile, deploy/)" >&2
SIDECAR_BIN="$PWD/.build/debug/llm-sidecar" scripts/check-deploy.sh
