#!/usr/bin/env bash
# bench/run.sh [--quick [--with-peers]] [--only SECTION,...] [--bin-dir BUILD] [--out DIR]
# SECTIONs: launch restart (with idle) crash many (memory and status of many jobs) big relay
# Measures pg side by side with `setsid nohup` and with each installed peer (daemon, runit,
# daemontools, s6, supervisor); see bench/RESULTS.md for what each measure is. Full mode takes
# about 10 minutes; --quick (seconds: tiny counts, pg and nohup only) checks that the harness
# works and asserts no timing. Results: OUT/results.tsv (raw), OUT/report.md (tables).
# Every process started here is recorded and ended by its pid; state lives in a temp dir.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
quick=0 with_peers=0 only=
bin=$repo/build
out=$repo/bench/out
while [ $# -gt 0 ]; do
  case $1 in
  --quick) quick=1 ;;
  --with-peers) with_peers=1 ;; # quick counts, but with the installed peers too
  --only) only=",$2," && shift ;;
  --bin-dir) bin=$(cd "$2" && pwd) && shift ;; # absolute: daemon(1) runs the job from /
  --out) out=$2 && shift ;;
  *) echo "usage: bench/run.sh [--quick [--with-peers]] [--only SECTION,...] [--bin-dir BUILD] [--out DIR]" >&2 && exit 2 ;;
  esac
  shift
done
PG_RUN=$bin/shim/pg-run PG_LS=$bin/tools/pg-ls
JOB=$bin/bench/bench_job DRIVE=$bin/bench/bench_drive GEN=$bin/bench/bench_gen_state
for b in "$PG_RUN" "$PG_LS" "$JOB" "$DRIVE" "$GEN"; do
  [ -x "$b" ] || { echo "bench: $b is not built (cmake --build $bin)" >&2 && exit 1; }
done

if [ $quick = 1 ]; then
  N=3 CRASH_RUNS=1 CRASH_S=1 MANY=5 IDLE_S=1 BIG=(20 50) RELAY_RUNS=2 RELAY_BYTES=$((8 << 20))
  MIN_AGE=0
else
  N=20 CRASH_RUNS=5 CRASH_S=4 MANY=200 IDLE_S=60 BIG=(1000 10000) RELAY_RUNS=5
  RELAY_BYTES=$((1 << 30)) MIN_AGE=1100 # the 1-restart-per-second peers restart at once only then
fi

# A binary just built has dirty pages in the page cache until they are written back, and
# smaps counts them as its mappers' private dirty memory (2 MB of "private" text): write back.
sync
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/pg-bench.XXXXXX")
state=$work/state
tsv=$out/results.tsv notes=$out/notes.txt
: >"$tsv" && : >"$notes"
mkdir -p "$work/stamps" "$work/svc" "$work/daemon"
export PG_STATE_DIR=$state
want() { [ -z "$only" ] || [[ $only == *",$1,"* ]]; }
note() { echo "$*" | tee -a "$notes" >&2; }
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$tsv"; }
ms() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1000 }'; }

# Subjects: pg, nohup (launch only), and every installed peer.
subjects=(pg)
declare -A peer_bin=([daemon]=daemon [runit]=runsv [daemontools]=supervise [s6]=s6-supervise
  [supervisor]=supervisord)
if [ $quick = 0 ] || [ $with_peers = 1 ]; then
  for p in daemon runit daemontools s6 supervisor; do
    if command -v "${peer_bin[$p]}" >/dev/null; then
      subjects+=("$p")
    else
      note "skipped $p: ${peer_bin[$p]} is not installed (apt-get install $p)"
    fi
  done
fi

# --- starting and ending supervisors; every pid is recorded in $work/pids ---
# tracked lines: SUBJECT SUPERVISOR_PID SERVICE_DIR JOB_PID (- when none)
track() { echo "$*" >>"$work/pids"; }
stop_one() { # SUBJECT PID DIR JOBPID: ask the supervisor to stop its job, wait, else SIGKILL
  local s=$1 pid=$2 dir=$3 job=$4
  if [ "$pid" != - ]; then
    if [ "$s" = daemontools ]; then svc -dx "$dir" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
    "$DRIVE" waitgone 10000 "$pid" || kill -KILL "$pid" 2>/dev/null || true
  fi
  if [ "$job" != - ]; then
    [ "$pid" != - ] || kill -TERM "$job" 2>/dev/null || true
    "$DRIVE" waitgone 5000 "$job" || kill -KILL "$job" 2>/dev/null || true
  fi
}
stop_tracked() {
  [ -f "$work/pids" ] || return 0
  local s pid dir job
  while read -r s pid dir job; do stop_one "$s" "$pid" "$dir" "$job"; done <"$work/pids"
  : >"$work/pids"
}
cleanup() {
  stop_tracked
  # supervisors that failed before they were tracked but wrote their own pidfile
  local f
  for f in "$work"/svc/supervisor-*/pid "$work"/daemon/*.pid; do
    [ -s "$f" ] && stop_one pidfile "$(cat "$f")" - -
  done
  rm -rf "$work"
}
trap cleanup EXIT

# service_dir SUBJECT NAME JOBARGS...: a runit/daemontools/s6 service directory running the job
service_dir() {
  local d=$work/svc/$1-$2
  shift 2
  mkdir -p "$d"
  printf '#!/bin/sh\nexec %s\n' "$*" >"$d/run"
  chmod +x "$d/run"
  echo "$d"
}
# supervisor_conf NAME STAMP_PREFIX MODE COUNT: one supervisord running COUNT programs
supervisor_conf() {
  local d=$work/svc/supervisor-$1 i
  mkdir -p "$d"
  {
    printf '[unix_http_server]\nfile=%s/sock\n[supervisord]\nlogfile=%s/supervisord.log\n' "$d" "$d"
    printf 'pidfile=%s/pid\nchildlogdir=%s\nuser=root\n' "$d" "$d"
    printf '[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = '
    printf 'supervisor.rpcinterface:make_main_rpcinterface\n'
    printf '[supervisorctl]\nserverurl=unix://%s/sock\n' "$d"
    for ((i = 0; i < $4; i++)); do
      printf '[program:j%d]\ncommand=%s %s %s\nautorestart=true\nstartsecs=0\n' "$i" "$JOB" "$3" \
        "$2$([ "$4" = 1 ] || echo $i)"
      printf 'startretries=1000000\nstdout_logfile=NONE\nstderr_logfile=NONE\n'
    done
  } >"$d/supervisord.conf"
  echo "$d"
}
# launcher SUBJECT NAME MODE FILE: sets the array `cmd` (the launch) and `dir` (service dir)
launcher() {
  local s=$1 name=$2 mode=$3 file=$4
  dir=-
  case $s in
  nohup) cmd=(setsid -f nohup "$JOB" "$mode" "$file") ;;
  pg) cmd=("$PG_RUN" --name "$name" -q --restart-delay 0 --max-restarts unlimited -- "$JOB" "$mode" "$file") ;;
  pg-timer) cmd=("$PG_RUN" --name "$name" -q --max-memory 1G -- "$JOB" "$mode" "$file") ;;
  daemon) cmd=(daemon "--name=$name" "--pidfiles=$work/daemon" --respawn --idiot --acceptable=0
    --attempts=1000000 --delay=0 -- "$JOB" "$mode" "$file") ;;
  runit) dir=$(service_dir "$s" "$name" "$JOB" "$mode" "$file") && cmd=(setsid -f runsv "$dir") ;;
  daemontools) dir=$(service_dir "$s" "$name" "$JOB" "$mode" "$file") && cmd=(setsid -f supervise "$dir") ;;
  s6) dir=$(service_dir "$s" "$name" "$JOB" "$mode" "$file") && cmd=(setsid -f s6-supervise "$dir") ;;
  supervisor) dir=$(supervisor_conf "$name" "$file" "$mode" 1) && cmd=(supervisord -c "$dir/supervisord.conf") ;;
  esac
}
# wait_file FILE: its content once it has some (a pidfile written by a supervisor)
wait_file() {
  local t
  for ((t = 0; t < 3000; t++)); do [ -s "$1" ] && cat "$1" && return 0; sleep 0.01; done
  echo "bench: no $1" >&2 && return 1
}
# The supervisor of a job in stamp mode is the parent of the pid its stamp names (none for nohup).
sup_of() { [ "$1" = nohup ] && echo - || "$DRIVE" ppid "$2"; }
# start_stamp SUBJECT NAME STAMP: start a job that stamps and sleeps; track it; print its sup pid
start_stamp() {
  launcher "$1" "$2" stamp "$3"
  "${cmd[@]}" </dev/null >/dev/null 2>&1
  local sup
  sup=$(sup_of "$1" "$3")
  track "$1" "$sup" "$dir" "$("$DRIVE" jobpid "$3")"
  echo "$sup"
}

echo "bench: $([ $quick = 1 ] && echo quick || echo full) run, subjects: nohup ${subjects[*]}" >&2
note "host: $(uname -sr), $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 1. launch latency (and supervisor memory of one job): N rounds, every subject each round
if want launch; then
for ((i = 1; i <= N; i++)); do
  for s in nohup "${subjects[@]}"; do
    stamp=$work/stamps/launch-$s-$i
    launcher "$s" "l$i-$s" stamp "$stamp"
    read -r exec_us ret_us < <("$DRIVE" launch "$stamp" -- "${cmd[@]}")
    rec launch "job exec'd (ms)" "$s" "$i" "$(ms "$exec_us")"
    rec launch "launcher returned (ms)" "$s" "$i" "$(ms "$ret_us")"
    sup=$(sup_of "$s" "$stamp")
    track "$s" "$sup" "$dir" "$("$DRIVE" jobpid "$stamp")"
    if [ "$sup" != - ]; then
      read -r rss pss < <("$DRIVE" mem "$sup")
      rec memory "RSS of the supervisor of 1 job (kB)" "$s" "$i" "$rss"
      rec memory "PSS of the supervisor of 1 job (kB)" "$s" "$i" "$pss"
    fi
    stop_tracked
  done
done
fi

# --- 2. restart latency (SIGKILL of the job until its successor exec'd), then idle cost
if want restart; then
declare -A sup_pid
for s in "${subjects[@]}"; do
  sup_pid[$s]=$(start_stamp "$s" "r-$s" "$work/stamps/restart-$s")
done
for ((i = 1; i <= N; i++)); do
  for s in "${subjects[@]}"; do
    rec restart "SIGKILL to successor exec'd (ms)" "$s" "$i" \
      "$(ms "$("$DRIVE" restart "$work/stamps/restart-$s" "$MIN_AGE")")"
  done
done
# and pg with a configured timer (--max-memory samples the tree every few seconds)
idlers=("${subjects[@]}" "pg --max-memory")
sup_pid["pg --max-memory"]=$(start_stamp pg-timer idle-timer "$work/stamps/idle-timer")
pids=()
for s in "${idlers[@]}"; do pids+=("${sup_pid[$s]}"); done
mapfile -t idle < <("$DRIVE" idle "$IDLE_S" "${pids[@]}")
for k in "${!idlers[@]}"; do
  read -r ticks vcsw <<<"${idle[$k]}"
  rec idle "CPU ticks over ${IDLE_S} s" "${idlers[$k]}" 1 "$ticks"
  rec idle "voluntary context switches over ${IDLE_S} s" "${idlers[$k]}" 1 "$vcsw"
done
stop_tracked
fi

# --- 3. crash loop: restarts per second, and exits recorded against exits that happened
if want crash; then
crash_run() { # RUN SUBJECT SECONDS SECTION
  local r=$1 s=$2 window=$3 section=$4 counter sup happened recorded rotations
  counter=$work/stamps/crash-$s-$r
  launcher "$s" "c$r-$s" crash "$counter"
  case $s in # a crash loop has no stable job to find the supervisor by: have it say its pid
  runit | daemontools | s6) cmd=(setsid -f sh -c 'echo $$ >"$1/sup.pid" && exec "$2" "$1"' sh "$dir" "${cmd[2]}") ;;
  esac
  "${cmd[@]}" </dev/null >/dev/null 2>&1
  case $s in
  pg) sup=$("$PG_LS" --json "c$r-$s" | grep -o '"supervisor_pid": *[0-9]*' | grep -o '[0-9]*$') ;;
  daemon) sup=$(wait_file "$work/daemon/c$r-$s.pid") ;;
  supervisor) sup=$(wait_file "$dir/pid") ;;
  *) sup=$(wait_file "$dir/sup.pid") ;;
  esac
  track "$s" "$sup" "$dir" -
  wait_file "$counter" >/dev/null
  rec "$section" "restarts per second (${window} s window)" "$s" "$r" \
    "$("$DRIVE" rate "$counter" "$window")"
  stop_tracked
  happened=$(stat -c %s "$counter")
  if [ "$s" = pg ]; then
    recorded=$(cat "$state/c$r-$s"/events.jsonl* | grep -c '"event":"exit"' || true)
    rotations=$(find "$state/c$r-$s" -name 'events.jsonl.*' | wc -l)
    rec "$section" "exits recorded in events.jsonl (% of exits)" "$s" "$r" \
      "$(awk -v a="$recorded" -v b="$happened" 'BEGIN { printf "%.2f", 100 * a / b }')"
    # The final stop may end a run before its job counted itself: one record more is exact.
    note "$section ($r): pg recorded $recorded exits, the jobs counted $happened ($rotations rotations of events.jsonl)"
  fi
}
for ((r = 1; r <= CRASH_RUNS; r++)); do
  for s in "${subjects[@]}"; do crash_run "$r" "$s" "$CRASH_S" "crash loop"; done
done
# long enough for events.jsonl to rotate (10 MiB: about 20 000 runs)
[ $quick = 1 ] || crash_run long pg 40 "crash loop, one 40 s run"
fi

# --- 4. MANY jobs at once: summed supervisor memory, and listing them (pg-ls vs status tools)
if want many; then
declare -A many_sups
for s in "${subjects[@]}"; do
  if [ "$s" = supervisor ]; then # one supervisord runs all of its programs
    d=$(supervisor_conf many "$work/stamps/many-$s-" stamp "$MANY")
    supervisord -c "$d/supervisord.conf" </dev/null >/dev/null 2>&1
    sup=$(wait_file "$d/pid")
    track "$s" "$sup" "$d" -
    for ((j = 0; j < MANY; j++)); do "$DRIVE" jobpid "$work/stamps/many-$s-$j" >/dev/null; done
    many_sups[$s]=$sup
    continue
  fi
  list=()
  for ((j = 0; j < MANY; j++)); do
    list+=("$(start_stamp "$s" "m$j-$s" "$work/stamps/many-$s-$j")")
  done
  many_sups[$s]="${list[*]}"
done
for s in "${subjects[@]}"; do
  # shellcheck disable=SC2086 # a list of pids
  read -r rss pss < <("$DRIVE" mem ${many_sups[$s]})
  rec memory "RSS summed over the supervisors of $MANY jobs (kB)" "$s" 1 "$rss"
  rec memory "PSS summed over the supervisors of $MANY jobs (kB)" "$s" 1 "$pss"
done
# status_cmd SUBJECT: sets `cmd` to the subject's own status command over its MANY services
status_cmd() {
  local dirs=("$work"/svc/"$1"-m*)
  case $1 in
  daemontools) cmd=(svstat "${dirs[@]}") ;;
  runit) cmd=(sv status "${dirs[@]}") ;;
  supervisor) cmd=(supervisorctl -c "$work/svc/supervisor-many/supervisord.conf" status) ;;
  *) cmd=() ;;
  esac
}
for ((i = 1; i <= N; i++)); do
  for view in table json; do
    t=$("$DRIVE" time 1 -- "$PG_LS" $([ $view = json ] && echo --json))
    rec "status of $MANY live jobs ($view)" "ms" pg "$i" "$(ms "$t")"
    for s in "${subjects[@]}"; do
      status_cmd "$s"
      [ ${#cmd[@]} -gt 0 ] || continue
      # supervisorctl exits 3 when a program is not running; that is an answer here too
      t=$("$DRIVE" time 1 -- sh -c '"$@" >/dev/null; exit 0' sh "${cmd[@]}")
      rec "status of $MANY live jobs ($view)" "ms" "$s" "$i" "$(ms "$t")"
    done
  done
done
[ $quick = 1 ] || note "status of $MANY jobs: s6 (s6-svstat takes one service) and daemon have no multi-job status command; supervisorctl is timed through sh -c (about 1 ms)"
stop_tracked
fi

# --- 5. pg-ls over BIG state directories written by the project's state code
if want big; then
for n in "${BIG[@]}"; do
  "$GEN" "$work/big-$n" "$n"
  for ((i = 1; i <= N; i++)); do
    for view in table json; do
      t=$("$DRIVE" time 1 -- "$PG_LS" --state-dir "$work/big-$n" $([ $view = json ] && echo --json))
      rec "pg-ls over $n ended jobs ($view)" "ms" pg "$i" "$(ms "$t")"
    done
  done
  rm -rf "$work/big-$n"
done
fi

# --- 6. output relay: a job writing RELAY_BYTES through pg-run's relay vs straight to a file
if want relay; then
mb=$((RELAY_BYTES >> 20))
for ((r = 1; r <= RELAY_RUNS; r++)); do
  t=$("$DRIVE" time 1 --out "$work/direct.out" -- "$JOB" write "$RELAY_BYTES")
  rec "relay of $mb MiB" "MiB/s" direct "$r" "$(awk -v t="$t" -v m="$mb" 'BEGIN { printf "%.1f", m * 1e6 / t }')"
  rm -f "$work/direct.out"
  for variant in pg "pg (--log-max-size 0)"; do
    opts=()
    [ "$variant" = pg ] || opts=(--log-max-size 0)
    t=$("$DRIVE" launch-wait -- "$PG_RUN" --json --name "relay$r-${#opts[@]}" --oneshot "${opts[@]}" -- "$JOB" write "$RELAY_BYTES")
    rec "relay of $mb MiB" "MiB/s" "$variant" "$r" "$(awk -v t="$t" -v m="$mb" 'BEGIN { printf "%.1f", m * 1e6 / t }')"
    logged=$(cat "$state/relay$r-${#opts[@]}"/output.log* | wc -c)
    # pg's own event marks go into the log too: at least every byte must be there
    [ "$variant" = pg ] || [ "$logged" -ge "$RELAY_BYTES" ] ||
      { echo "bench: relay logged $logged of $RELAY_BYTES bytes" >&2 && exit 1; }
    rm -rf "${state:?}/relay$r-${#opts[@]}"
  done
done
note "relay: pg keeps its default rotation (10 MiB, 3 files) in the first row, so only the last ~40 MiB stay on disk; --log-max-size 0 keeps one file"
fi

note "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
{
  echo "# bench/run.sh $([ $quick = 1 ] && echo --quick) — $(date -u +%FT%TZ)"
  echo
  sed 's/^/- /' "$notes"
  "$DRIVE" report "$tsv"
} >"$out/report.md"
cat "$out/report.md"
echo "bench: done; raw numbers in $tsv" >&2
