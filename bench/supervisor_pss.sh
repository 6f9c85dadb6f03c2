#!/usr/bin/env bash
# bench/supervisor_pss.sh [--bin-dir BUILD] [N]: the memory of pg's supervisors, the quick way
# (bench/run.sh's memory sections measure the peers beside it). Starts one `sleep` job and
# prints its supervisor's PSS and private dirty memory (kB, /proc/PID/smaps_rollup), then N-1
# more (default 20) and prints the sum and the mean over the N. Every job is stopped at the
# end through pg-ctl, in a state directory of its own.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/build
if [ "${1:-}" = --bin-dir ]; then bin=$(cd "$2" && pwd) && shift 2; fi
n=${1:-20}
export PG_STATE_DIR
PG_STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pg-pss.XXXXXX")
trap '"$bin/tools/pg-ctl" stop --all >/dev/null 2>&1 || true; rm -rf "$PG_STATE_DIR"' EXIT
sync # a binary just built has dirty page-cache pages that smaps counts as private dirty
sup() { grep -o '"supervisor":{[^}]*}' "$PG_STATE_DIR/m$1/state.json" | grep -o '"pid":[0-9]*' | cut -d: -f2; }
mem() { awk '/^Pss:/{p=$2} /^Private_Dirty:/{d=$2} END{print p, d}' "/proc/$1/smaps_rollup"; }
"$bin/shim/pg-run" -q -n m1 -- sleep 600
read -r pss dirty < <(mem "$(sup 1)")
echo "1 supervisor alone: PSS $pss kB, private dirty $dirty kB"
for ((i = 2; i <= n; i++)); do "$bin/shim/pg-run" -q -n "m$i" -- sleep 600; done
total=0 total_dirty=0
for ((i = 1; i <= n; i++)); do
  read -r pss dirty < <(mem "$(sup "$i")")
  total=$((total + pss)) total_dirty=$((total_dirty + dirty))
done
echo "$n supervisors: PSS $total kB in all, $((total / n)) kB each; private dirty $((total_dirty / n)) kB each"
