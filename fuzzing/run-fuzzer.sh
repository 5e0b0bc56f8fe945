#!/usr/bin/env bash
# run-fuzzer.sh TARGET SEEDS: one bounded libFuzzer run of TARGET over a copy
# of the SEEDS directory, RTCBOTD_FUZZ_SECONDS long (default 10). Exit status
# non-zero when the fuzzer found a crash, a leak or a timeout; the input that
# did it is left in $RTCBOTD_FUZZ_ARTIFACTS (default /tmp/rtcbotd-fuzz).
# (libFuzzer's own error exit status, 77, would read as "skipped" to meson.)
set -euo pipefail
target=$1
seeds=$2
seconds=${RTCBOTD_FUZZ_SECONDS:-10}
artifacts=${RTCBOTD_FUZZ_ARTIFACTS:-/tmp/rtcbotd-fuzz}/$(basename "$target")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1 \
  "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" 2>&1 | tail -n 25
