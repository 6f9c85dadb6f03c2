#!/usr/bin/env bash
# bench/runtime_cost.sh [--rounds N] [--bin-dir BUILD] LABEL=PG_RUN...
# What linking the C++ runtime statically or dynamically costs a supervisor: for each pg-run
# given (e.g. static=build/shim/pg-run dynamic=/tmp/pg-run-dynamic debian=/usr/bin/pg-run),
# N interleaved rounds (every variant once per round) of bench_drive's launch measure (job
# exec'd, launcher returned) and the supervisor's RSS, PSS and private dirty memory from
# /proc/PID/smaps_rollup; prints the median of each per variant. Each supervisor is ended by
# its pid (SIGTERM, then waited for) before the next launch. State in a temp dir.
set -euo pipefail
rounds=20
bin=$(cd "$(dirname "$0")/.." && pwd)/build
while [ $# -gt 0 ]; do
  case $1 in
  --rounds) rounds=$2 && shift 2 ;;
  --bin-dir) bin=$2 && shift 2 ;;
  *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: bench/runtime_cost.sh [--rounds N] [--bin-dir BUILD] LABEL=PG_RUN..." >&2; exit 2; }
DRIVE=$bin/bench/bench_drive
JOB=$bin/bench/bench_job
# A binary just built has dirty pages in the page cache until they are written back, and
# smaps counts them as its mappers' private dirty memory (2 MB of "private" text): write back.
sync
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PG_STATE_DIR=$work/state
echo "# runtime_cost: $rounds rounds, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= rounds; i++)); do
  for v in "$@"; do
    label=${v%%=*} pg_run=${v#*=}
    stamp=$work/stamp-$label-$i
    read -r exec_us ret_us < <("$DRIVE" launch "$stamp" -- "$pg_run" --name "$label-$i" -q \
      --restart-delay 0 -- "$JOB" stamp "$stamp")
    sup=$("$DRIVE" ppid "$stamp")
    mem=$(awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_Dirty:/ {d=$2} END {print r, p, d}' \
      "/proc/$sup/smaps_rollup")
    echo "$label $exec_us $ret_us $mem" >>"$work/samples"
    kill -TERM "$sup"
    "$DRIVE" waitgone 10000 "$sup"
  done
done
printf '%-10s %16s %20s %9s %9s %18s\n' variant "job exec'd (ms)" "launcher returned (ms)" \
  "RSS (kB)" "PSS (kB)" "private dirty (kB)"
for v in "$@"; do
  label=${v%%=*}
  median() { awk -v l="$label" -v c="$1" '$1 == l {print $c}' "$work/samples" | sort -n |
    awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
  printf '%-10s %16.2f %20.2f %9s %9s %18s\n' "$label" "$(awk "BEGIN {print $(median 2) / 1000}")" \
    "$(awk "BEGIN {print $(median 3) / 1000}")" "$(median 4)" "$(median 5)" "$(median 6)"
done
