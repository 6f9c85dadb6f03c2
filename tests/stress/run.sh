#!/usr/bin/env bash
# The stress suite in one command (issue 6): builds what it needs, runs tests/stress/*_test.cc
# (the pg_stress binary) and prints the figures each test reports ("STRESS ..." lines).
#   tests/stress/run.sh [--full | --quick | --scale N] [--build DIR] [--filter GTEST_FILTER]
#   --quick      the reduced form ctest runs (the default); seconds per test
#   --full       full size: 100 000 crash-loop runs, 1 000 kills, 20 reaping storms, ...
#   --scale N    N times the reduced size, capped at the full one
#   --build DIR  the build tree [build]; a sanitized tree (PG_SANITIZE=ON) works too, with
#                sanitizer reports sent to DIR/sanitizer-reports (any report fails the run)
#   --filter F   run only the tests matching the GoogleTest filter F (e.g. 'CrashLoop.*')
# Exit status: 0 all passed, 1 a test failed (or a sanitizer report appeared), 2 usage.
# The figures also go to DIR/stress-figures.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
scale=ci
build=build
filter='*'
while [ $# -gt 0 ]; do
  case "$1" in
    --full) scale=full ;;
    --quick) scale=ci ;;
    --scale) scale=${2:?--scale needs a number}; shift ;;
    --build) build=${2:?--build needs a directory}; shift ;;
    --filter) filter=${2:?--filter needs a pattern}; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ -f "$build/CMakeCache.txt" ]; then
  cmake --build "$build" --target pg_stress
else
  scripts/build.sh "$build"
fi

san=""
if grep -q '^PG_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  san=$PWD/$build/sanitizer-reports
  rm -rf "$san" && mkdir -p "$san"
  export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:log_path=$san/asan"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$san/ubsan"
fi

figures=$build/stress-figures.txt
log=$build/stress-log.txt
echo "== stress suite ($scale), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
status=0
PG_STRESS_SCALE=$scale "$build/tests/stress/pg_stress" --gtest_filter="$filter" 2>&1 |
  tee "$log" || status=1
{
  echo "# tests/stress/run.sh --$scale ($(date -u +%FT%TZ), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
  grep '^STRESS ' "$log" | sed 's/^STRESS //' || true
} >"$figures"
echo "== figures ($figures)"
cat "$figures"
if [ -n "$san" ] && [ -n "$(ls -A "$san")" ]; then
  echo "sanitizer reports:" >&2
  head -n 50 "$san"/* >&2
  status=1
fi
exit $status
