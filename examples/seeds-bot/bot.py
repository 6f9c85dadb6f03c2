#!/usr/bin/env python3
"""The bot from the incident that started process-guardian: a paper-trading loop whose SIGTERM
handler cleans up and calls sys.exit(0), so a kill looks like a clean exit to anything that
only reads exit codes. Left as it was on purpose: pg-run records the truth anyway.

    pg-run --name bot --duration 8h --wait 5s -- python3 -u examples/seeds-bot/bot.py
    pg-ctl signal bot TERM      # what a session cleanup does
    pg-ls bot                   # failed: premature: exit 0 ... (after SIGTERM forwarded ...)
"""
import signal
import sys
import time


def handler(signum, frame):
    print("got signal %d, cleaning up" % signum, flush=True)
    sys.exit(0)  # the disguised death: exit code 0


signal.signal(signal.SIGTERM, handler)
print("bot up: paper trading BTC", flush=True)
tick = 0
while True:
    tick += 1
    print("tick %d: spread checked" % tick, flush=True)
    time.sleep(5)
