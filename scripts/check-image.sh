#!/usr/bin/env bash
# Builds the image's runtime stage and smoke-tests it, offline but for Debian's mirror (run by
# scripts/check-deploy.sh, or alone). The Dockerfile's `build` stage needs Docker Hub and GitHub,
# so the binary is built here: a release build with the Swift runtime linked in, as in the image.
#
# 1. A bookworm minbase made with debootstrap, trimmed like bookworm-slim (no documentation, man
#    pages or locales), kept as a tarball in $LLM_SIDECAR_CACHE (/var/cache/llm-sidecar) so that
#    only the first run on a machine makes it, imported into buildah as $BASE.
# 2. `buildah bud --isolation chroot --target local --from $BASE`: the Dockerfile's runtime stage
#    with that binary (the RUN apt-get layer is cached between runs).
# 3. `buildah run --isolation chroot` as uid 65532 over the image's root mounted read-only (a write
#    as root, to / and to /tmp, is refused first, to prove it): GET and HEAD /healthz, /readyz, a demo chat completion
#    and a streamed one, on a free loopback port (chroot isolation shares the host's network).
# Prints the image's size. Needs root (or sudo): debootstrap, buildah and the read-only mount.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/apt.sh

CACHE="${LLM_SIDECAR_CACHE:-/var/cache/llm-sidecar}"
BASE=localhost/llm-sidecar-base:bookworm-minbase
IMAGE=localhost/llm-sidecar:check
CONTEXT=.build-deploy/image
MIRROR=http://deb.debian.org/debian

apt_install debootstrap buildah curl
as_root() { sudo_if_needed "$@"; }

# What bookworm-slim leaves out, also for the packages the image installs later (dpkg excludes).
slim() {
    local root="$1"
    as_root tee "$root/etc/dpkg/dpkg.cfg.d/slim" >/dev/null <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
    # apt keeps no package caches (80 MB after an `apt-get update`), as in Debian's official images.
    as_root tee "$root/etc/apt/apt.conf.d/docker-clean" >/dev/null <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    as_root find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    as_root rm -rf "$root"/usr/share/{man,info,locale,lintian}/* "$root"/var/lib/apt/lists/* \
        "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log
}

make_base() {
    if as_root buildah inspect --type image "$BASE" >/dev/null 2>&1; then return 0; fi
    local tarball="$CACHE/debian-bookworm-minbase.tar"
    if [ ! -s "$tarball" ]; then
        echo "check-image: debootstrap bookworm minbase into $tarball (once per machine)" >&2
        as_root mkdir -p "$CACHE"
        local root
        root=$(mktemp -d)
        as_root debootstrap --variant=minbase bookworm "$root" "$MIRROR" >/dev/null
        slim "$root"
        as_root tar -C "$root" --numeric-owner -cf "$tarball.partial" .
        as_root mv "$tarball.partial" "$tarball"
        as_root rm -rf "$root"
    fi
    local container
    container=$(as_root buildah from scratch)
    as_root buildah add --quiet "$container" "$tarball" / >/dev/null
    as_root buildah config --cmd /bin/bash "$container"
    as_root buildah commit --quiet --rm "$container" "$BASE" >/dev/null
}

build_image() {
    echo "check-image: swift build -c release --static-swift-stdlib --product llm-sidecar" >&2
    swift build -c release --static-swift-stdlib --product llm-sidecar
    rm -rf "$CONTEXT"
    mkdir -p "$CONTEXT"
    cp "$(swift build -c release --show-bin-path)/llm-sidecar" "$CONTEXT/llm-sidecar"
    strip --strip-debug "$CONTEXT/llm-sidecar"
    cp sidecar.yaml "$CONTEXT/sidecar.yaml"
    as_root buildah bud --quiet --format docker --isolation chroot --layers --pull=never --from "$BASE" --target local \
        -t "$IMAGE" -f Dockerfile "$CONTEXT" >/dev/null
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

container=""
root=""
server=""
# SIGTERM to the sidecar (its id from /run/llm-sidecar.pid), which drains and exits, and with it
# `buildah run` (waited for 10 s at most, then killed).
stop_server() {
    local sidecar
    sidecar=$(as_root cat "$root/run/llm-sidecar.pid" 2>/dev/null) || true
    if [ -n "$sidecar" ]; then as_root kill "$sidecar" 2>/dev/null || true; fi
    for _ in $(seq 100); do
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    if [ -n "$sidecar" ] && grep -q llm-sidecar "/proc/$sidecar/cmdline" 2>/dev/null; then
        as_root kill -KILL "$sidecar" 2>/dev/null || true
    fi
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
}

cleanup() {
    if [ -n "$server" ]; then stop_server; fi
    if [ -n "$root" ]; then as_root umount "$root/run" "$root" 2>/dev/null; fi
    if [ -n "$container" ]; then as_root buildah rm "$container" >/dev/null; fi
}
trap cleanup EXIT

# expect NAME PATTERN COMMAND...: the command's output must match PATTERN (grep -E).
expect() {
    local name="$1" pattern="$2"
    shift 2
    local output
    output=$("$@" 2>&1) || true
    if ! tr '\r\n' '  ' <<<"$output" | grep -Eq "$pattern"; then
        echo "check-image: FAIL $name: expected /$pattern/, got:" >&2
        echo "$output" >&2
        return 1
    fi
    echo "check-image: ok   $name: $(head -c 160 <<<"$output" | tr '\r\n' '  ')" >&2
}

smoke_test() {
    container=$(as_root buildah from --quiet --pull=never "$IMAGE")
    # The root read-only, as Kubernetes' readOnlyRootFilesystem: buildah run has no option for it,
    # so the container's root is bind-mounted read-only onto itself before it runs. /run becomes a
    # small tmpfs of the user, where buildah places its /run/.containerenv (as container engines
    # mount /run).
    root=$(as_root buildah mount "$container")
    as_root mount --bind "$root" "$root"
    as_root mount -o remount,bind,ro "$root"
    as_root mount -t tmpfs -o size=1m,mode=0755,uid=65532,gid=65532 tmpfs "$root/run"
    expect "the root is read-only, even for root" "cannot touch '/probe': Read-only file system" \
        as_root buildah run --isolation chroot --user 0:0 "$container" -- touch /probe
    expect "/tmp too" "cannot touch '/tmp/probe': Read-only file system" \
        as_root buildah run --isolation chroot --user 0:0 "$container" -- touch /tmp/probe
    expect "the image's user is 65532" "^65532:65532" \
        as_root buildah run --isolation chroot --user 65532:65532 "$container" -- sh -c 'echo "$(id -u):$(id -g)"'

    local port url
    port=$(free_port)
    url="http://127.0.0.1:$port"
    # Its process id goes to /run, the tmpfs above, which the host sees too: `buildah run` does not
    # pass signals on, and chroot isolation shares the host's process ids.
    as_root buildah run --isolation chroot --user 65532:65532 --env "SIDECAR_LISTEN=127.0.0.1:$port" "$container" \
        -- sh -c 'echo $$ >/run/llm-sidecar.pid && exec llm-sidecar serve --config /etc/llm-sidecar/sidecar.yaml' \
        >"$CONTEXT/usage.jsonl" 2>"$CONTEXT/stderr.log" &
    server=$!
    for _ in $(seq 100); do
        curl -fs "$url/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    local failed=0
    expect "GET /healthz" '^\{"status":"ok"\} *$' curl -sS "$url/healthz" || failed=1
    expect "HEAD /healthz" '^HTTP/1.1 200 ' curl -sS -I "$url/healthz" || failed=1
    expect "GET /readyz" '"status":"ready"' curl -sS "$url/readyz" || failed=1
    expect "HEAD /readyz" '^HTTP/1.1 200 ' curl -sS -I "$url/readyz" || failed=1
    expect "demo chat completion" '"object":"chat\.completion".*"content":"[^"]+|"content":"[^"]+".*"object":"chat\.completion"' \
        curl -sS "$url/v1/chat/completions" -H 'Content-Type: application/json' \
        -d '{"model":"demo","messages":[{"role":"user","content":"Hello from the image"}]}' || failed=1
    expect "demo stream" '^data: \{.*"object":"chat\.completion\.chunk".*data: \[DONE\] *$' \
        curl -sS -N "$url/v1/chat/completions" -H 'Content-Type: application/json' \
        -d '{"model":"demo","stream":true,"messages":[{"role":"user","content":"Hello from the image"}]}' || failed=1
    stop_server
    expect "a usage line per request" '"model":"demo"' cat "$CONTEXT/usage.jsonl" || failed=1
    if [ "$failed" -ne 0 ]; then
        echo "check-image: the sidecar's standard error:" >&2
        cat "$CONTEXT/stderr.log" >&2
        return 1
    fi
}

make_base
build_image
smoke_test
echo "check-image: $IMAGE: $(as_root buildah images --format '{{.Size}}' "$IMAGE") uncompressed," \
    "of which llm-sidecar $(du -h "$CONTEXT/llm-sidecar" | cut -f1)," \
    "base $(as_root buildah images --format '{{.Size}}' "$BASE")" >&2
