#!/bin/sh
# Before: how the job was started. No record of its end, no restart, a pid file that can point
# at a recycled pid, and the session's cleanup takes it down.
cd "$(dirname "$0")"
nohup python3 -u scraper.py >scraper.log 2>&1 &
echo $! >scraper.pid
echo "started, PID $(cat scraper.pid)"
