#!/usr/bin/env bash
# The Debian source package (debian/), end to end, as a Debian maintainer would build it: a copy
# of the source tree, its .dsc (dpkg-source), its binary package (dpkg-buildpackage -us -uc -b,
# only the three programs: nocheck), lintian --pedantic on both with info tags shown (any tag
# that is not overridden fails, each override explained in debian/), then the package installed
# with dpkg --root into a throwaway root: pg-run --version, man pg-run, the systemd user unit
# verified, the shared C++ runtime, the completion links, and a real job.
# Exit 77 (ctest's SKIP_RETURN_CODE) with a note when the Debian toolchain is missing.
set -euo pipefail

# CMD's whole output, then grep over it: `CMD | grep -q` under pipefail fails when grep stops
# at its first match while CMD still writes (SIGPIPE), which a loaded machine makes likely.
output_has() {
  local flags=$1 pattern=$2 out
  shift 2
  out=$("$@") || return 1
  grep "$flags" -- "$pattern" <<<"$out"
}
src=$(cd "$1" && pwd)
for tool in dpkg-buildpackage dh dpkg-source lintian; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (Debian packages dpkg-dev, debhelper, lintian:" \
      "scripts/deps.sh installs them)"
    exit 77
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
upstream=${version%-*}
tree=$tmp/process-guardian-$upstream
mkdir "$tree"
# The source as a clone would have it: tracked files and new ones, never build trees.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' _ |
    tar --null -T - -cf -) | tar -C "$tree" -xf -
else
  tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./obj-* -cf - . |
    tar -C "$tree" -xf -
fi
tar -C "$tmp" --exclude="process-guardian-$upstream/debian" -czf \
  "$tmp/process-guardian_$upstream.orig.tar.gz" "process-guardian-$upstream"

start=$(date +%s)
(cd "$tmp" && dpkg-source -b "process-guardian-$upstream") >"$tmp/source.log" 2>&1 ||
  { cat "$tmp/source.log" >&2; exit 1; }
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
  >"$tmp/build.log" 2>&1 || { tail -n 60 "$tmp/build.log" >&2; exit 1; }
echo "dpkg-buildpackage: built in $(($(date +%s) - start)) s"
deb=$(ls "$tmp"/process-guardian_"$version"_*.deb)
changes=$(ls "$tmp"/process-guardian_"$version"_*.changes)
ls "$tmp"/*.deb | sed 's|.*/|  |'

echo "== lintian --pedantic --display-info (.dsc and .changes)"
lintian --allow-root --pedantic --display-info --fail-on error,warning,info,pedantic \
  "$tmp/process-guardian_$version.dsc" "$changes"
echo "lintian: no tag (overridden ones are explained in debian/source/lintian-overrides" \
  "and debian/process-guardian.lintian-overrides)"

# No maintainer scripts: the user unit is installed, each user enables it.
if dpkg-deb -I "$deb" | grep -qE '^ +[0-9]+ bytes, +[0-9]+ lines +\*? *(pre|post)(inst|rm)'; then
  echo "the package has maintainer scripts:" >&2
  dpkg-deb -I "$deb" >&2
  exit 1
fi

echo "== dpkg --root: installed into a throwaway root"
root=$tmp/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --log=/dev/null --force-depends -i "$deb" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; exit 1; }
output_has -q '^/usr/bin/pg-run$' dpkg --root="$root" -L process-guardian
# The detached jobs' supervisor, found by pg-run and pg-ctl from their own directory.
output_has -q '^/usr/libexec/process-guardian/pg-supervise$' dpkg --root="$root" -L process-guardian
bin=$root/usr/bin
"$bin/pg-run" --version
output_has -q '^pg-ls ' "$bin/pg-ls" --version
output_has -q '^pg-ctl ' "$bin/pg-ctl" --version
# The C++ runtime is Debian's shared one, in the supervisor too (the upstream build links it
# statically into pg-supervise).
output_has -q 'libstdc++.so.6' ldd "$root/usr/libexec/process-guardian/pg-supervise" ||
  { echo "pg-supervise: no shared libstdc++" >&2; exit 1; }

output_has -q 'pg-run' env MANPATH="$root/usr/share/man" man -P cat pg-run 2>/dev/null ||
  { echo "man pg-run: nothing from $root/usr/share/man" >&2; exit 1; }
echo "man pg-run: renders"

unit=$root/usr/lib/systemd/user/pg-revive.service
grep -qx 'ExecStart=/usr/bin/pg-ctl revive --scope' "$unit"
# systemd-analyze --user takes no --root: the unit is verified as installed, with its absolute
# paths pointed into the throwaway root (so that ExecStart= is checked against the package's
# pg-ctl) and man pages looked up there (Documentation=man:pg-ctl(1)).
mkdir -p "$tmp/verify" && mkdir -m 700 "$tmp/run"
sed "s|=/usr/bin/|=$root/usr/bin/|" "$unit" >"$tmp/verify/pg-revive.service"
XDG_RUNTIME_DIR=$tmp/run MANPATH=$root/usr/share/man systemd-analyze --user verify \
  "$tmp/verify/pg-revive.service"
echo "systemd-analyze verify: $(basename "$unit") clean"
grep -q '^@reboot /usr/bin/pg-ctl revive' "$root/usr/share/doc/process-guardian/examples/pg-revive.cron"

completions=$root/usr/share/bash-completion/completions
[ -f "$completions/pg-run" ] && [ ! -L "$completions/pg-run" ]
[ "$(readlink "$completions/pg-ls")" = pg-run ] && [ "$(readlink "$completions/pg-ctl")" = pg-run ]
output_has -qw bash-completion dpkg-deb -f "$deb" Recommends

export PG_STATE_DIR=$tmp/state
"$bin/pg-run" -n debtest --oneshot --wait 10s -- /bin/sh -c 'echo from the Debian package'
output_has -q '"state": "completed"' "$bin/pg-ls" --json debtest
output_has -q 'from the Debian package' "$bin/pg-ctl" logs debtest
echo "debian package ok"
