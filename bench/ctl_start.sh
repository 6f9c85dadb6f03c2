#!/usr/bin/env bash
# bench/ctl_start.sh [--rounds N] LABEL=DIR...
# What `pg-ctl start` of a stopped job takes, for each DIR holding a pg-run, pg-ctl and
# pg-supervise side by side (e.g. copies of two builds' binaries): a `sleep 1h` job launched
# by DIR's pg-run and stopped; then N rounds, every variant once a round, of `pg-ctl start`
# timed from the shell (date +%s%N, so the shell's fork is counted for every variant alike)
# and an untimed `pg-ctl stop`. Prints each variant's median in microseconds. Each job is
# ended by `pg-ctl stop`, in a state dir of its own under a temp dir removed at the end.
set -euo pipefail
rounds=21
while [ $# -gt 0 ]; do
  case $1 in
  --rounds) rounds=$2 && shift 2 ;;
  *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: bench/ctl_start.sh [--rounds N] LABEL=DIR..." >&2; exit 2; }
tmp=$(mktemp -d)
labels=() dirs=()
cleanup() {
  for i in "${!dirs[@]}"; do
    "${dirs[$i]}/pg-ctl" --state-dir "$tmp/$i" stop j >/dev/null 2>&1 || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
for v in "$@"; do
  i=${#dirs[@]}
  labels+=("${v%%=*}") dirs+=("$(cd "${v#*=}" && pwd)")
  "${dirs[$i]}/pg-run" --state-dir "$tmp/$i" -n j -q -- sleep 1h
  "${dirs[$i]}/pg-ctl" --state-dir "$tmp/$i" stop j >/dev/null
done
for ((r = 0; r < rounds; r++)); do
  for i in "${!dirs[@]}"; do
    a=$(date +%s%N)
    "${dirs[$i]}/pg-ctl" --state-dir "$tmp/$i" start j >/dev/null
    b=$(date +%s%N)
    echo "$i $(((b - a) / 1000))" >>"$tmp/times"
    "${dirs[$i]}/pg-ctl" --state-dir "$tmp/$i" stop j >/dev/null
  done
done
for i in "${!dirs[@]}"; do
  median=$(awk -v i="$i" '$1 == i { print $2 }' "$tmp/times" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  echo "${labels[$i]}: pg-ctl start median ${median} us over $rounds"
done
