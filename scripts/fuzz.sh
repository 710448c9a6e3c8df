#!/usr/bin/env bash
# Builds the libFuzzer binary (Fuzz/Package.swift, with AddressSanitizer) and runs each fuzz target
# (Tests/FuzzTargets: json, sse, yaml, dialect, http, responses, messages, resp) for a bounded time. Fails on any crash,
# leak, timeout (5 s per input) or memory use over 2 GiB, and prints the executions per target.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 20 s for each target)
#
# Seeds: Tests/TestSupport/Fixtures (as each target needs them, generated under .build-fuzz/seeds)
# and Tests/FuzzRegressions/<target>. A crashing input is written to .build-fuzz/crashes/<target>/;
# once fixed, commit it as Tests/FuzzRegressions/<target>/<name>, which the plain tests replay.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(json sse yaml dialect http responses messages resp)
scratch="$PWD/.build-fuzz"
fixtures=Tests/TestSupport/Fixtures

started=$SECONDS
echo "fuzz: building (sanitize=fuzzer,address)" >&2
swift build --package-path Fuzz --scratch-path "$scratch" -c debug --product SidecarFuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
binary="$scratch/debug/SidecarFuzz"
built=$((SECONDS - started))

# Seeds that need a shape of their own: dialect inputs start with a dialect byte and a part byte
# (see FuzzTarget.dialect), http inputs are whole requests.
seeds="$scratch/seeds"
rm -rf "$seeds" && mkdir -p "$seeds"/{dialect,http,yaml}
dialect_index() {
    case "$1" in
    openai) echo 0 ;; deepseek) echo 1 ;; dashscope) echo 2 ;; anthropic) echo 4 ;; gemini) echo 5 ;;
    esac
}
for file in "$fixtures"/{openai,deepseek,dashscope,anthropic,gemini}/*; do
    dir=$(basename "$(dirname "$file")") name=$(basename "$file")
    index=$(dialect_index "$dir")
    case "$name" in native_*) index=6 ;; esac
    case "$name" in
    *.sse) part=1 ;; error_* | *_error_*) part=2 ;; *request*) part=4 ;; *) part=0 ;;
    esac
    { printf "\\$(printf %o "$index")\\$(printf %o "$part")"; cat "$file"; } >"$seeds/dialect/$dir-$name"
    if [ "$part" = 4 ]; then
        printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-fuzz-token\r\nContent-Length: %d\r\n\r\n' \
            "$(wc -c <"$file")" >"$seeds/http/$dir-$name"
        cat "$file" >>"$seeds/http/$dir-$name"
    fi
done
cp sidecar.yaml "$seeds/yaml/sidecar.yaml"
cp k8s/base/sidecar.yaml "$seeds/yaml/k8s-sidecar.yaml"

declare -A extra=(
    [json]="$fixtures/openai $fixtures/deepseek $fixtures/dashscope $fixtures/anthropic $fixtures/gemini $fixtures/pricing"
    [sse]="$fixtures/openai $fixtures/deepseek $fixtures/dashscope $fixtures/anthropic $fixtures/gemini"
    [yaml]="$seeds/yaml"
    [dialect]="$seeds/dialect"
    [http]="$seeds/http"
    [responses]="$fixtures/openai"
    [messages]="$fixtures/anthropic $fixtures/openai $fixtures/deepseek"
    [resp]=""  # its seeds are Tests/FuzzRegressions/resp
)
failed=()
summary=""
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target" crashes="$scratch/crashes/$target/" log="$scratch/$target.log"
    mkdir -p "$corpus" "$crashes"
    echo "fuzz: $target for ${seconds}s" >&2
    # shellcheck disable=SC2086 # the seed folders are a list
    if SIDECAR_FUZZ_TARGET="$target" "$binary" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
        -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$crashes" \
        "$corpus" "Tests/FuzzRegressions/$target" ${extra[$target]} >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$target")
        tail -n 40 "$log" >&2
    fi
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    summary+=$(printf '%-8s %-7s %12s executions\n' "$target" "$status" "${executions:-?}")$'\n'
done
printf 'fuzz: built in %ds, total %ds\n%s' "$built" $((SECONDS - started)) "$summary" >&2
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (inputs in $scratch/crashes/<target>/, logs in $scratch/<target>.log)" >&2
    exit 1
fi
