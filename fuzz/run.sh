#!/usr/bin/env bash
# Runs tix's fuzz targets: `fuzz/run.sh [SECONDS] [TARGET...]` (default 30
# seconds each, every target). Needs cargo-fuzz (`cargo install cargo-fuzz`);
# libFuzzer builds with the stable toolchain through RUSTC_BOOTSTRAP, with
# debug assertions (overflow checks) on and no sanitizer: tix's own code
# has no `unsafe`. New inputs go to fuzz/corpus/TARGET (not committed); the
# committed starting points are fuzz/seeds/TARGET; a crash is saved under
# fuzz/artifacts/TARGET and makes this script fail.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(ticket_parse merge config index pack mail import)
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -a -s none
failed=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log="$(mktemp)"
    echo "== fuzz $target for ${seconds}s"
    if ! cargo fuzz run -a -s none "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        >"$log" 2>&1; then
        tail -n 40 "$log"
        failed=1
    fi
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$log" || true
    rm -f "$log"
done
exit "$failed"
