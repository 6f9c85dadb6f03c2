#!/usr/bin/env bash
# Installs the Debian packages process-guardian needs, when missing:
#   scripts/deps.sh           everything the test suite needs (scripts/test.sh, CI)
#   scripts/deps.sh --build   only what building pg-run, pg-ls and pg-ctl needs (scripts/demo.sh)
set -euo pipefail

# Building the programs (-DPG_TESTS=OFF).
build_packages=(cmake ninja-build g++ libcli11-dev libfmt-dev nlohmann-json3-dev
  libsimdjson-dev libtomlplusplus-dev)
packages=("${build_packages[@]}" pkg-config libgtest-dev clang-format mandoc util-linux
  # The real sd_notify clients of the --notify tests (the Python ones for /usr/bin/python3).
  systemd python3-sdnotify python3-systemd
  # libfaketime: the wall-clock jump of the clock tests (tests/e2e/clock_test.cc).
  faketime
  # Packaging (cpack, lintian; debian/ through dpkg-buildpackage and debhelper; man for the
  # installed package) and the metrics checks (promtool, node_exporter).
  dpkg-dev debhelper fakeroot man-db file gzip lintian prometheus prometheus-node-exporter
  # Real daemons under pg-run (tests/e2e/daemons_test.cc, lost_run_test.cc): a stop reaches
  # each master once, a daemonizing start is a hand-over, leftovers that rewrote their
  # environment are still found.
  nginx-light redis-server python3-gunicorn
  # The webhook hook of contrib/hooks posts with curl (tests/e2e/hook_examples_test.cc).
  curl
  # A real terminal for pg-ls --watch (tests/e2e/pg_ls_views_test.cc).
  tmux
  # The JSON Schema of docs/pg-json.schema.json checked against real outputs (for
  # /usr/bin/python3: tests/e2e/json_schema_test.cc).
  python3-jsonschema
  # The libFuzzer targets of fuzz/ (clang++ and its libclang_rt.fuzzer).
  clang libclang-rt-14-dev)
if [ "${1-}" = --build ]; then
  packages=("${build_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
# Packages with daemons (prometheus, node_exporter) are tools for the tests here, not
# services: keep their postinst from starting them, as container images do.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
