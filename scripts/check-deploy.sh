#!/usr/bin/env bash
# Checks the deployment files offline: k8s/ (rendered with Tests/deploy/render.py), Dockerfile,
# deploy/. Validates the rendered objects against Kubernetes schemas, runs checkov, hadolint,
# docker-compose and systemd-analyze on them, then the assertions of Tests/deploy; and builds the
# image's runtime stage (`--target local`) with buildah from a release binary built here, over a
# debootstrapped Debian base, and smoke-tests it. Installs what it needs first: the Python
# virtual environment .venv-deploy/ (scripts/lib/venv.sh; from scratch when CI=true) and Debian's
# docker-compose, systemd, debootstrap, buildah and redis-server (Tests/deploy runs the fleet
# example's Redis command, and two sidecars sharing it).
# Runs every check, prints a summary, and exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

WORK=.build-deploy
VENV=.venv-deploy
RENDERED="$WORK/rendered"

source scripts/lib/apt.sh
source scripts/lib/venv.sh

install_tools() {
    set -e
    apt_install docker-compose systemd debootstrap buildah curl redis-server
    make_venv "$VENV" Tests/deploy/requirements.txt
}

if ! (install_tools); then
    echo "check-deploy: could not install the tools" >&2
    exit 1
fi

results=()
failed=0

# step NAME COMMAND...: runs one check, shows its output, records the outcome.
step() {
    local name="$1"
    shift
    echo "== $name" >&2
    if "$@" >&2; then
        results+=("PASS  $name")
    else
        results+=("FAIL  $name")
        failed=$((failed + 1))
    fi
}

render() {
    mkdir -p "$RENDERED" &&
        "$VENV/bin/python" Tests/deploy/render.py k8s/base >"$RENDERED/base.yaml" &&
        "$VENV/bin/python" Tests/deploy/render.py k8s/overlays/plain-sidecar >"$RENDERED/plain-sidecar.yaml" &&
        "$VENV/bin/python" Tests/deploy/render.py k8s/overlays/fleet-store >"$RENDERED/fleet-store.yaml"
}

# Strict: a field the version does not know is an error. The base needs 1.29+ (native sidecars);
# the overlay exists for older clusters, so it is also checked against 1.27.
validate() {
    local file="$1"
    shift
    local version
    for version in "$@"; do
        "$VENV/bin/kubernetes-validate" --strict --quiet -k "$version" "$file" || return 1
    done
}

# systemd-analyze verify insists that ExecStart's program exists: check a copy that runs /bin/true.
# Exposure must stay at or under 2.0 ("OK") on systemd-analyze security's scale.
check_unit() {
    local copy="$WORK/systemd/llm-sidecar.service"
    mkdir -p "$WORK/systemd" &&
        sed 's#^ExecStart=/usr/local/bin/llm-sidecar #ExecStart=/bin/true #' deploy/llm-sidecar.service >"$copy" &&
        systemd-analyze verify "$copy" &&
        systemd-analyze security --offline=yes --threshold=20 "$copy" | tail -n 1
}

compose_config() {
    local file
    for file in "$@"; do
        docker-compose -f "$file" config -q || return 1
    done
}

checkov() { "$VENV/bin/checkov" --compact --quiet --skip-download "$@"; }

rm -rf "$RENDERED"
step "render k8s/base, k8s/overlays/plain-sidecar and k8s/overlays/fleet-store" render
step "kubernetes-validate base (1.30, 1.37)" validate "$RENDERED/base.yaml" 1.30.0 1.37.0
step "kubernetes-validate plain-sidecar (1.27, 1.30, 1.37)" validate "$RENDERED/plain-sidecar.yaml" 1.27.0 1.30.0 1.37.0
step "kubernetes-validate fleet-store (1.30, 1.37)" validate "$RENDERED/fleet-store.yaml" 1.30.0 1.37.0
step "checkov kubernetes (skips: Tests/deploy/checkov.yaml)" checkov --config-file Tests/deploy/checkov.yaml --framework kubernetes -d "$RENDERED"
step "checkov dockerfile" checkov --framework dockerfile -f Dockerfile
step "checkov secrets (k8s/, deploy/, Dockerfile)" checkov --framework secrets -d k8s -d deploy -f Dockerfile --skip-path deploy/secrets
step "hadolint Dockerfile" "$VENV/bin/hadolint" Dockerfile
step "docker-compose config (deploy/, deploy/fleet/)" compose_config deploy/docker-compose.yml deploy/fleet/docker-compose.yml
step "systemd-analyze verify + security" check_unit
step "python imports of Tests/deploy (each provided by its requirements)" \
    "$VENV/bin/python" scripts/check_imports.py --requirements Tests/deploy/requirements.txt Tests/deploy
step "pytest Tests/deploy" "$VENV/bin/python" -m pytest -q -p no:cacheprovider -rxs Tests/deploy
step "image: runtime stage built with buildah from a release binary, smoke-tested" scripts/check-image.sh

echo
echo "check-deploy summary:"
printf '  %s\n' "${results[@]}"
echo "$(( ${#results[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
