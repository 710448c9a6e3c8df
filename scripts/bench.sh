#!/usr/bin/env bash
# Builds the sidecar in release mode and runs the side-by-side benchmark (Benchmarks/run.py):
# direct call vs nginx vs llm-sidecar (add --litellm for the Python peer). Not part of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --bench
swift build -c release --static-swift-stdlib --product llm-sidecar
exec python3 Benchmarks/run.py "$@"
