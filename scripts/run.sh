#!/usr/bin/env bash
# Builds the sidecar (release) and runs it with ./sidecar.yaml on 127.0.0.1:8080.
# Works offline with no keys through the built-in `demo` model; export provider keys to use
# real models, e.g.  DEEPSEEK_API_KEY=sk-... ./scripts/run.sh
# Extra arguments go to `llm-sidecar serve` (e.g. --listen 127.0.0.1:9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
swift build -c release --static-swift-stdlib --product llm-sidecar
exec .build/release/llm-sidecar serve --config "${SIDECAR_CONFIG:-sidecar.yaml}" "$@"
