#!/usr/bin/env python3
"""A tiny rtcbotd exec worker: prints a fake distance reading as one JSON
line per sample, and answers {"ping": N} messages from stdin with a pong.

rtcbotd runs it with stdin/stdout as pipes: one JSON value per line each way;
anything on stderr goes to the daemon's log. Blocking here (sleep, a slow
sensor, an ML model) never blocks the daemon."""
import argparse
import json
import math
import select
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=5.0, help="samples per second")
    args = parser.parse_args()
    period = 1.0 / args.rate
    start = time.monotonic()
    print("sensor worker started", file=sys.stderr)
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], period)
        if ready:
            line = sys.stdin.readline()
            if not line:
                return  # the daemon closed our stdin: it is stopping
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and "ping" in message:
                print(json.dumps({"pong": message["ping"]}), flush=True)
            continue
        t = time.monotonic() - start
        distance = 100 + 50 * math.sin(t)
        print(json.dumps({"distance_cm": round(distance, 1), "t": round(t, 2)}), flush=True)


if __name__ == "__main__":
    main()
