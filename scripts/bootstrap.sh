#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build the sidecar; with --test what the
# test suite needs (the official OpenAI/Anthropic/Google SDKs for the end-to-end tests), with
# --bench what the benchmarks need, with --litellm the benchmarks' peer gateway. Debian packages
# go to the system; Python packages only into the project's virtual environments (.venv/,
# .venv-litellm/: scripts/lib/venv.sh), never into the system Python.
# Safe to run repeatedly: it only installs what is missing. With CI=true the virtual environments
# are made from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/apt.sh
source scripts/lib/venv.sh

if ! command -v swift >/dev/null 2>&1; then
    echo "bootstrap: Swift 6.1 or later is required (https://www.swift.org/install/linux/)" >&2
    exit 1
fi

# libcurl with OpenSSL and nghttp2 (HTTP/2 to providers), and libyaml (the configuration parser):
# the sidecar's only system dependencies.
apt_install libcurl4-openssl-dev libnghttp2-dev libssl-dev libyaml-dev ca-certificates

for option in "$@"; do
    case "$option" in
    --test)
        apt_install nginx openssl
        make_venv .venv Tests/e2e/requirements.txt
        ;;
    --bench)
        apt_install nginx wrk
        make_venv .venv Tests/e2e/requirements.txt
        ;;
    --litellm) make_venv .venv-litellm Benchmarks/requirements-litellm.txt ;;
    *)
        echo "usage: $0 [--test] [--bench] [--litellm]" >&2
        exit 2
        ;;
    esac
done
