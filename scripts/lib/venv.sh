# Sourced by the scripts that run Python (after scripts/lib/apt.sh). The project's Python lives
# in virtual environments inside the checkout, ignored by git, never in the system Python:
#   .venv/          Tests/e2e/requirements.txt: the end-to-end tests, their emulator, the benchmark
#                   runner and the Python under scripts/ (made by scripts/bootstrap.sh --test|--bench)
#   .venv-litellm/  Benchmarks/requirements-litellm.txt: LiteLLM, the benchmarks' peer gateway,
#                   apart so that its pins never meet the SDKs' (scripts/bench.sh --litellm)
#   .venv-deploy/   Tests/deploy/requirements.txt: checkov, kubernetes-validate, hadolint, apart
#                   for the same reason (scripts/check-deploy.sh)

# pip refuses to install anywhere but into a virtual environment, whatever a script runs.
export PIP_REQUIRE_VIRTUALENV=true

# make_venv DIR REQUIREMENTS: creates the virtual environment DIR with the system `python3 -m venv`
# and installs REQUIREMENTS (exact pins) into it. Kept while REQUIREMENTS is unchanged (a copy is
# stored in DIR); with CI=true it is always made from scratch, so that a module missing from the
# requirements cannot hide behind one installed by hand earlier.
make_venv() {
    local dir="$1" requirements="$2"
    if [ "${CI:-}" != true ] && cmp -s "$requirements" "$dir/requirements.txt"; then
        return 0
    fi
    echo "$(basename "$0" .sh): creating $dir from $requirements" >&2
    apt_install python3 python3-venv
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$dir/requirements.txt"
}
