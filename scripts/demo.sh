#!/usr/bin/env bash
# Installs what is missing, builds, starts a demo job under pg-run, and shows pg-ls.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
export PG_STATE_DIR=${PG_STATE_DIR:-$PWD/build/demo-state}
bin=$PWD/build
# A bot like the seeds' one: its SIGTERM handler exits 0. pg-run still sees the truth.
"$bin/shim/pg-run" --name demo --replace --duration 2m --restart-delay 500ms -- \
  sh -c 'trap "echo got SIGTERM, exiting 0; exit 0" TERM; echo demo bot up; while :; do sleep 1; done'
"$bin/tools/pg-ls"
echo
echo "Try:  PG_STATE_DIR=$PG_STATE_DIR $bin/tools/pg-ls demo"
echo "      PG_STATE_DIR=$PG_STATE_DIR $bin/tools/pg-ctl stop demo"
