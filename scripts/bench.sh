#!/usr/bin/env bash
# Builds the sidecar in release mode and runs the side-by-side benchmark (Benchmarks/run.py, in
# the project's .venv/): direct call vs nginx vs llm-sidecar, through its OpenAI, Anthropic and
# Gemini dialects (add --litellm for the Python peer, installed in its own .venv-litellm/).
# Not part of the tests.
#
# With --micro it runs the translation micro-benchmarks instead (Benchmarks/Package.swift, time and
# allocations per request and per stream chunk); what follows --micro goes to the benchmark
# plugin, e.g. `--micro baseline update main`, `--micro baseline compare main`, `--micro thresholds check`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--micro" ]; then
    shift
    scripts/bootstrap.sh
    cd Benchmarks
    exec swift package --allow-writing-to-package-directory benchmark "$@"
fi
# --store: also the sidecar with quotas in the process and on a local redis-server (store:).
options=(--bench)
for argument in "$@"; do
    if [ "$argument" = "--litellm" ]; then options+=(--litellm); fi
done
scripts/bootstrap.sh "${options[@]}"
swift build -c release --static-swift-stdlib --product llm-sidecar
exec .venv/bin/python Benchmarks/run.py "$@"
