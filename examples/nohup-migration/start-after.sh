#!/bin/sh
# After: the same job under pg-run. It detaches by itself (no nohup, no &, no pid file), its
# output goes to a rotated log, every exit is recorded with its exact cause, failures restart
# with backoff, and the script learns at once if the job died on start (--wait).
set -e
cd "$(dirname "$0")"
exec pg-run --name scraper --wait 5s --log scraper.log --log-max-size 50M \
  --restart-delay 2s --max-restarts 10 -- python3 -u scraper.py
