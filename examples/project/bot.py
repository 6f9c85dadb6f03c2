#!/usr/bin/env python3
"""A seed-style bot: prints a line, sleeps, again, until stopped."""
import os
import time

mode = os.environ.get("BOT_MODE", "live")
print(f"bot up ({mode} trading)", flush=True)
tick = 0
while True:
    tick += 1
    print(f"tick {tick}: spread checked", flush=True)
    time.sleep(5)
