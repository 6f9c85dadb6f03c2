#!/usr/bin/env bash
# Installs what is missing, builds, starts a demo job under pg-run, and shows pg-ls.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
export PG_STATE_DIR=${PG_STATE_DIR:-$PWD/build/demo-state}
bin=$PWD/build
# A fresh start: an earlier demo's job is stopped and its history forgotten.
"$bin/tools/pg-ctl" stop demo >/dev/null 2>&1 || true
"$bin/tools/pg-ctl" forget demo >/dev/null 2>&1 || true
# A bot like the seeds' one: its SIGTERM handler exits 0. pg-run still sees the truth.
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
