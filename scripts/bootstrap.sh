#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build the sidecar, and with --test
# what the test suite needs (the official OpenAI/Anthropic/Google SDKs for the end-to-end tests).
# Safe to run repeatedly: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "bootstrap: installing ${missing[*]}" >&2
        sudo_if_needed apt-get update -qq
        sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

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
