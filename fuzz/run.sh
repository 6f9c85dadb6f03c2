#!/usr/bin/env bash
# Builds the libFuzzer targets (clang++, -DPG_FUZZ=ON: only pg_common and the targets) into
# build-fuzz/ and runs each one, one after the other, on a copy of its seed corpus.
#   fuzz/run.sh [--seconds N] [--runs N] [--dir DIR] [TARGET...]
# Default: --seconds 10 each; with both, whichever comes first. Exits 1 when a target
# crashes (its reproducer is left in DIR/artifacts/TARGET/), 2 on usage errors. One line of
# figures per target (executions, coverage, features, seconds); the whole libFuzzer output
# is in DIR/logs/TARGET.log. Extra libFuzzer flags may be given in FUZZ_FLAGS (e.g.
# FUZZ_FLAGS=-entropic=0 for more executions a second).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=()
dir=build-fuzz
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
  --seconds) limit+=(-max_total_time="${2:?--seconds needs a number}") && shift 2 ;;
  --runs) limit+=(-runs="${2:?--runs needs a number}") && shift 2 ;;
  --dir) dir=${2:?--dir needs a directory} && shift 2 ;;
  -h | --help) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' && exit 0 ;;
  -*) echo "fuzz/run.sh: unknown option $1 (see --help)" >&2 && exit 2 ;;
  *) targets+=("$1") && shift ;;
  esac
done
[ ${#limit[@]} -gt 0 ] || limit=(-max_total_time=10)
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_state fuzz_events fuzz_notify fuzz_parse fuzz_plan)

cmake -S . -B "$dir" -G Ninja -DPG_WERROR=ON -DPG_FUZZ=ON -DPG_TESTS=OFF \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" --target "${targets[@]}"

status=0
for t in "${targets[@]}"; do
  corpus=$dir/corpus/$t
  artifacts=$dir/artifacts/$t
  mkdir -p "$corpus" "$artifacts" "$dir/logs"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  start=$(date +%s)
  # One process, one worker: the machine is shared. Inputs up to 4 KiB: a state file is about
  # 1.5 KiB; longer and binary files go through the e2e tests (hostile_input_test).
  # TZ=UTC: the tables' local times without a stat of /etc/localtime per call.
  # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
  if TZ=UTC ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$dir/fuzz/$t" "${limit[@]}" ${FUZZ_FLAGS:-} -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" \
    >"$dir/logs/$t.log" 2>&1; then
    result=ok
  else
    result=CRASH
    status=1
  fi
  secs=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/logs/$t.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$dir/logs/$t.log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$dir/logs/$t.log" | tail -1 | cut -d' ' -f2)
  printf '%-12s %-5s executions %-10s coverage %-6s features %-6s %ss\n' "$t" "$result" \
    "${runs:-?}" "${cov:-?}" "${ft:-?}" "$secs"
  if [ "$result" = CRASH ]; then
    tail -n 40 "$dir/logs/$t.log" >&2
  fi
done
exit $status
