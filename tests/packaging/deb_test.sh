#!/usr/bin/env bash
# The Debian package, end to end: CPack builds it from BUILD, lintian finds nothing (no error,
# no warning), and once unpacked with dpkg -x into a temporary root its binaries run a real
# job, its man pages render and its bash completion loads and completes job names.
set -euo pipefail

# CMD's whole output, then grep over it: `CMD | grep -q` under pipefail fails when grep stops
# at its first match while CMD still writes (SIGPIPE), which a loaded machine makes likely.
output_has() {
  local flags=$1 pattern=$2 out
  shift 2
  out=$("$@") || return 1
  grep "$flags" -- "$pattern" <<<"$out"
}
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cpack --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; exit 1; }
deb=$(ls "$tmp"/out/process-guardian_*.deb)
echo "built $(basename "$deb")"

if command -v lintian >/dev/null; then
  lintian --allow-root --fail-on error,warning "$deb"
  echo "lintian: clean"
else
  echo "lintian is not installed (Debian package lintian)" >&2
  exit 1
fi

root=$tmp/root
dpkg -x "$deb" "$root"
bin=$root/usr/bin
for f in usr/bin/pg-run usr/bin/pg-ls usr/bin/pg-ctl usr/libexec/process-guardian/pg-supervise \
  usr/share/man/man1/pg-run.1.gz \
  usr/share/man/man1/pg-ls.1.gz usr/share/man/man1/pg-ctl.1.gz \
  usr/share/bash-completion/completions/pg-ctl usr/share/doc/process-guardian/copyright \
  usr/lib/systemd/user/pg-revive.service; do
  [ -e "$root/$f" ] || { echo "missing from the package: /$f" >&2; exit 1; }
done
# The unit and the cron line name pg-ctl where this package puts it, whatever prefix the build
# was configured with.
grep -qx 'ExecStart=/usr/bin/pg-ctl revive --scope' "$root/usr/lib/systemd/user/pg-revive.service"
grep -q '^@reboot /usr/bin/pg-ctl revive' "$root/usr/share/doc/process-guardian/examples/pg-revive.cron"
[ "$(readlink "$root/usr/share/bash-completion/completions/pg-ls")" = pg-run ]
output_has -qw bash-completion dpkg-deb -f "$deb" Recommends
output_has -q '--name' "$bin/pg-run" --help
output_has -q '^pg-ls ' "$bin/pg-ls" --version
output_has -q 'forget' "$bin/pg-ctl" --help

# A real job, from the unpacked binaries, in a state directory of our own.
export PG_STATE_DIR=$tmp/state
"$bin/pg-run" -n pkgtest --oneshot --wait 10s -- /bin/sh -c 'echo from the package'
output_has -q '"state": "completed"' "$bin/pg-ls" --json pkgtest
output_has -q 'from the package' "$bin/pg-ctl" logs pkgtest

zcat "$root/usr/share/man/man1/pg-ctl.1.gz" | mandoc -T lint -W warning
got=$(bash -c 'source "$1"; COMP_WORDS=(pg-ctl stop pk); COMP_CWORD=2; _pg_ctl; echo "${COMPREPLY[*]}"' \
  _ "$root/usr/share/bash-completion/completions/pg-ctl")
[ "$got" = pkgtest ] || { echo "completion gave '$got', not pkgtest" >&2; exit 1; }
echo "package ok"
