#!/usr/bin/env bash
# Installs the Debian packages process-guardian needs to build and test, when missing.
set -euo pipefail

packages=(cmake ninja-build g++ pkg-config libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libgtest-dev clang-format mandoc util-linux
  # The real sd_notify clients of the --notify tests (the Python ones for /usr/bin/python3).
  systemd python3-sdnotify python3-systemd
  # libfaketime: the wall-clock jump of the clock tests (tests/e2e/clock_test.cc).
  faketime
  # Real daemons under pg-run (tests/e2e/daemons_test.cc, lost_run_test.cc): a stop reaches
  # each master once, a daemonizing start is a hand-over, leftovers that rewrote their
  # environment are still found.
  nginx-light redis-server python3-gunicorn
  # Packaging (cpack, lintian) and the metrics checks (promtool, node_exporter).
  dpkg-dev file gzip lintian prometheus prometheus-node-exporter
  # The libFuzzer targets of fuzz/ (clang++ and its libclang_rt.fuzzer).
  clang libclang-rt-14-dev)

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
