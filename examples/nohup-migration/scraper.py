#!/usr/bin/env python3
"""A stand-in for a long-running scraper: prints progress, fails now and then."""
import random
import time

print("scraper up", flush=True)
for page in range(1, 10**9):
    time.sleep(2)
    if random.random() < 0.01:
        raise RuntimeError("page %d: connection reset" % page)
    print("page %d fetched" % page, flush=True)
