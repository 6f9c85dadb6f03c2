#!/usr/bin/env bash
# bench/relay_stamps.sh [--runs N] [--mib M] [--line BYTES] [--bin-dir BUILD] LABEL=PG_RUN...
# What --log-timestamps costs the output relay (issue 20): for each pg-run given (e.g.
# before=/tmp/old/shim/pg-run after=build-rel/shim/pg-run), N interleaved rounds of a oneshot
# job writing M MiB of BYTES-byte lines (bench_job write) through the relay into one log
# (--log-max-size 0), without and with --log-timestamps, side by side. Throughput is M MiB over
# the time from the launch to the supervisor's exit (bench_drive launch-wait). Prints the
# median MiB/s of each and stamped / plain. Every log is checked whole (each line stamped when
# asked), then removed with its job's directory. State in a temp dir.
set -euo pipefail
runs=5 mib=256 line=100
bin=$(cd "$(dirname "$0")/.." && pwd)/build
while [ $# -gt 0 ]; do
  case $1 in
  --runs) runs=$2 && shift 2 ;;
  --mib) mib=$2 && shift 2 ;;
  --line) line=$2 && shift 2 ;;
  --bin-dir) bin=$2 && shift 2 ;;
  *) break ;;
  esac
done
[ $# -gt 0 ] || {
  echo "usage: bench/relay_stamps.sh [--runs N] [--mib M] [--line BYTES] [--bin-dir BUILD] LABEL=PG_RUN..." >&2
  exit 2
}
DRIVE=$bin/bench/bench_drive
JOB=$bin/bench/bench_job
for b in "$DRIVE" "$JOB"; do
  [ -x "$b" ] || { echo "bench: $b is not built (ninja -C $bin bench_drive bench_job)" >&2 && exit 1; }
done
# A binary just built has dirty pages in the page cache until they are written back: write back.
sync
work=$(mktemp -d "${TMPDIR:-/tmp}/pg-relay-stamps.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PG_STATE_DIR=$work/state
bytes=$((mib << 20))
# bench_job writes whole lines per ~64 KiB write: the line count the log must hold
per_write=$((65536 / line * line))
lines=$((bytes / per_write * (per_write / line) + (bytes % per_write + line - 1) / line))
echo "# relay_stamps: $runs rounds of $mib MiB in $line-byte lines, $(nproc) cores," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= runs; i++)); do
  for v in "$@"; do
    label=${v%%=*} pg_run=${v#*=}
    for mode in plain stamped; do
      opts=(--log-max-size 0)
      [ $mode = plain ] || opts+=(--log-timestamps)
      name=$label-$mode-$i
      us=$("$DRIVE" launch-wait -- "$pg_run" --json --name "$name" --oneshot "${opts[@]}" -- \
        "$JOB" write "$bytes" "$line")
      log=$PG_STATE_DIR/$name/output.log
      # the job's lines, stamped or not (pg-run's own marks start with "[pg-run ")
      got=$(grep -vc '^\[pg-run ' "$log" || true)
      stamped=$(grep -c '^[0-9][0-9-]*T[0-9:]*\.[0-9]\{3\}Z x' "$log" || true)
      want_stamped=$([ $mode = plain ] && echo 0 || echo "$lines")
      if [ "$got" -ne "$lines" ] || [ "$stamped" -ne "$want_stamped" ]; then
        echo "bench: $name logged $got lines ($stamped stamped) of $lines" >&2 && exit 1
      fi
      echo "$label $mode $(awk -v u="$us" -v m="$mib" 'BEGIN { printf "%.1f", m * 1e6 / u }')" \
        >>"$work/samples"
      rm -rf "${PG_STATE_DIR:?}/$name"
    done
  done
done
echo
echo "| pg-run | plain MiB/s (median) | --log-timestamps MiB/s (median) | stamped ÷ plain |"
echo "|---|---:|---:|---:|"
for v in "$@"; do
  label=${v%%=*}
  med() { awk -v l="$label" -v m="$1" '$1 == l && $2 == m { print $3 }' "$work/samples" | sort -n |
    awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
  p=$(med plain) s=$(med stamped)
  echo "| $label | $p | $s | $(awk -v p="$p" -v s="$s" 'BEGIN { printf "%.2f×", s / p }') |"
done
echo
echo "samples (label mode MiB/s, in the order run):"
sed 's/^/  /' "$work/samples"
