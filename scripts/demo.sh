#!/usr/bin/env bash
# Installs what building pg-run, pg-ls and pg-ctl needs (only that), builds only them, starts a
# demo job under pg-run, and shows pg-ls. scripts/test.sh installs and builds everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
scripts/deps.sh --build
# The programs only: no tests, benchmarks or fuzz targets (-DPG_TESTS=OFF), compiled in
# batches (PG_UNITY_BUILD, the default) at -O2 without debug information, which costs a
# third of the compile time here (scripts/test.sh builds RelWithDebInfo, -O2 -g).
scripts/build.sh build -DPG_TESTS=OFF -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"
export PG_STATE_DIR=${PG_STATE_DIR:-$PWD/build/demo-state}
bin=$PWD/build
# A fresh start: an earlier demo's job is stopped and its history forgotten.
"$bin/tools/pg-ctl" stop demo >/dev/null 2>&1 || true
"$bin/tools/pg-ctl" forget demo >/dev/null 2>&1 || true
echo "== built in $((SECONDS - started)) s; a bot like the seeds' one, under pg-run"
# Its SIGTERM handler exits 0. pg-run still sees the truth.
"$bin/shim/pg-run" --name demo --replace --duration 2m --restart-delay 500ms -- \
  sh -c 'trap "echo got SIGTERM, exiting 0; exit 0" TERM; echo demo bot up; while :; do sleep 1; done'
"$bin/tools/pg-ls"
echo
echo "== SIGTERM to the bot: its handler exits 0, and pg-run still records a premature death"
"$bin/tools/pg-ctl" signal demo TERM
for _ in $(seq 100); do # until the restart is on record (at most 10 s)
  grep -q '"event":"start".*"run":2' "$PG_STATE_DIR/demo/events.jsonl" 2>/dev/null && break
  sleep 0.1
done
"$bin/tools/pg-ls"
echo
"$bin/tools/pg-ls" demo
echo
echo "Try:  PG_STATE_DIR=$PG_STATE_DIR $bin/tools/pg-ls demo"
echo "      PG_STATE_DIR=$PG_STATE_DIR $bin/tools/pg-ctl stop demo"
# A project of several jobs in one jobs file (pg-ctl up), where the examples have one.
for f in examples/*/pg.toml examples/*/Procfile; do
  [ -e "$f" ] || continue
  echo "Next, a project of several jobs in one file: cd $(dirname "$f") && $bin/tools/pg-ctl up" \
    "(see $(dirname "$f")/README.md)"
  break
done
echo "More examples: examples/seeds-bot (the seeds' bot), examples/nohup-migration."
echo "The whole test suite (installs its tools, builds everything): scripts/test.sh"
echo "(demo ready in $((SECONDS - started)) s)"
