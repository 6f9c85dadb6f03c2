#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs the whole suite twice:
# a normal build, then under AddressSanitizer + UndefinedBehaviorSanitizer. Also checks
# formatting and the man pages, and runs each fuzz target briefly (fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

echo "== format"
files=$(git ls-files '*.cc' '*.h' 2>/dev/null || find common shim tools tests bench -name '*.cc' -o -name '*.h')
clang-format --dry-run -Werror $files

echo "== man pages"
mandoc -T lint -W warning man/*.1

echo "== build and test"
scripts/build.sh build -DPG_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
ctest --test-dir build -j2 --output-on-failure

echo "== build and test under ASan + UBSan"
scripts/build.sh build-asan -DPG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
san=$PWD/build-asan/sanitizer-reports
rm -rf "$san" && mkdir -p "$san"
# Detached supervisors write to /dev/null: reports go to files, and any file fails the run.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:log_path=$san/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$san/ubsan"
ctest --test-dir build-asan -j2 --output-on-failure
if [ -n "$(ls -A "$san")" ]; then
  echo "sanitizer reports:" >&2
  head -n 50 "$san"/* >&2
  exit 1
fi
echo "== fuzz: each libFuzzer target for a few seconds (clang++, only pg_common and the targets)"
fuzz/run.sh --seconds 5 --dir build-fuzz-ci

echo "all checks passed"
