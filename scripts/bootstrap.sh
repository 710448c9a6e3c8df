#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build the sidecar, and with --test
# what the test suite needs (the official OpenAI/Anthropic/Google SDKs for the end-to-end tests).
# Safe to run repeatedly: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/apt.sh

if ! command -v swift >/dev/null 2>&1; then
    echo "bootstrap: Swift 6.1 or later is required (https://www.swift.org/install/linux/)" >&2
    exit 1
fi

# libcurl with OpenSSL and nghttp2 (HTTP/2 to providers), the sidecar's only system dependency.
apt_install libcurl4-openssl-dev libnghttp2-dev libssl-dev ca-certificates

case "${1:-}" in
--test)
    apt_install python3 python3-pip nginx openssl
    python3 -m pip install --quiet --disable-pip-version-check -r Tests/e2e/requirements.txt
    ;;
--bench)
    apt_install nginx wrk python3 python3-pip
    python3 -m pip install --quiet --disable-pip-version-check -r Benchmarks/requirements.txt
    ;;
"") ;;
*)
    echo "usage: $0 [--test|--bench]" >&2
    exit 2
    ;;
esac
