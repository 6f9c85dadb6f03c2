#!/usr/bin/env bash
# A plain `cmake --install BUILD --prefix /usr/local` (into a DESTDIR): the programs, man pages,
# one completion file and its two links, and the examples naming pg-ctl by the installed
# prefix; never what only a Debian package carries (the systemd user unit in lib/systemd/user,
# lintian overrides, changelog.Debian, the copyright file in Debian's format).
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

DESTDIR=$tmp/root cmake --install "$build" --prefix /usr/local >"$tmp/install.log"
root=$tmp/root/usr/local
for f in bin/pg-run bin/pg-ls bin/pg-ctl libexec/process-guardian/pg-supervise \
  share/man/man1/pg-run.1.gz \
  share/bash-completion/completions/pg-run \
  share/doc/process-guardian/examples/pg-revive.service \
  share/doc/process-guardian/examples/pg-revive.cron; do
  [ -e "$root/$f" ] || { echo "not installed: /usr/local/$f" >&2; exit 1; }
done
for cmd in pg-ls pg-ctl; do
  [ "$(readlink "$root/share/bash-completion/completions/$cmd")" = pg-run ] ||
    { echo "completions/$cmd is not a link to pg-run" >&2; exit 1; }
done
examples=$root/share/doc/process-guardian/examples
grep -qx 'ExecStart=/usr/local/bin/pg-ctl revive --scope' "$examples/pg-revive.service" ||
  { echo "pg-revive.service does not run /usr/local/bin/pg-ctl:" >&2; cat "$examples/pg-revive.service" >&2; exit 1; }
grep -q '^@reboot /usr/local/bin/pg-ctl revive ' "$examples/pg-revive.cron" ||
  { echo "pg-revive.cron does not run /usr/local/bin/pg-ctl" >&2; exit 1; }
if grep -rq '/usr/bin/pg-' "$tmp/root"; then
  echo "an installed file names /usr/bin/pg-*:" >&2
  grep -rl '/usr/bin/pg-' "$tmp/root" >&2
  exit 1
fi
extra=$(cd "$tmp/root" && find . \( -path '*/systemd/*' -o -path '*/lintian/*' \
  -o -name 'changelog.Debian*' -o -name copyright \) -print)
[ -z "$extra" ] || { echo "Debian-only files in a plain install:" >&2; echo "$extra" >&2; exit 1; }
echo "plain install ok: $(cd "$tmp/root" && find . -type f -o -type l | wc -l) files under /usr/local"
