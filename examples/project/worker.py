#!/usr/bin/env python3
"""A worker: takes a job from its queue (here: a counter), works on it, and says so."""
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))  # finish cleanly on stop
done = 0
while True:
    done += 1
    time.sleep(2)
    print(f"job {done} done", flush=True)
