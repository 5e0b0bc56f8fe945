#!/usr/bin/python3
"""Soak: many connect/disconnect cycles of RTCBot-shaped aiortc clients
against one daemon, which must not crash, leak memory or leak fds.

Each cycle is one client: full offer (data channel, recvonly video), POST
/connect, wait for its data channel to open and its first decoded video
frame (so the daemon built the whole peer: ICE, DTLS, SCTP, a branch of the
encoded tee), then close. CONCURRENCY clients cycle at once. After WARMUP
cycles (GStreamer's and GLib's one-time allocations, the encoder's buffers,
malloc's arenas) and at the end, with no peer left, the daemon's VmRSS
(/proc/PID/status) and open fds (/proc/PID/fd) are read.

Asserts: the daemon lives, RSS grew < 5 MB, fds are back to the baseline
(FD_TOLERANCE, see below), /healthz peers 0 at the end and its accepted
counter in /metrics grew by the cycles. Cycles from RTCBOTD_SOAK_CYCLES
(default 200). bench/soak runs 1,000 with the same code. TAP output.
"""

import asyncio
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import Daemon, RTCBotClient, check, note, run_tap, wait_until  # noqa: E402

CONFIG = """\
[daemon]
listen = 127.0.0.1:0
max-peers = 16
control = shared

[source camera]
type = test-video
width = 160
height = 120
framerate = 15
encoder = vp8

[route media]
from = camera
to = peers

[route echo]
from = peers.messages
to = peers
"""

CYCLES = int(os.environ.get("RTCBOTD_SOAK_CYCLES", "200"))
CONCURRENCY = 3
WARMUP = 20
RSS_GROWTH_LIMIT_KB = 5 * 1024
# The fds a daemon with no peer holds do not depend on how many peers came
# and went: every peer's sockets (ICE, its HTTP request) and its threads'
# eventfds go with it, so the count is polled until it stops falling and then
# compared. One fd of slack: the test's own last GET /healthz, whose socket
# the daemon closes just after the reply the test has already read. (Before
# rtcbotd-http.c closed every connection after its reply, libsoup 3.2 kept
# one fd per client forever: 33 -> 67 over 30 cycles.)
FD_TOLERANCE = 1


def rss_kb(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


async def accepted(d):
    text = await d.get_text("metrics")
    m = re.search(r"^rtcbotd_peers_accepted_total(?:\{\})? (\d+)", text, re.M)
    return int(m.group(1)) if m else None


async def one_cycle(d, n):
    c = RTCBotClient(d.url, audio=False, name=f"soak-{n}")
    try:
        await c.connect(timeout=15)
        await c.wait_open(15)
        await c.wait_first_video(15)
    finally:
        await c.close()


async def run_cycles(d, start, count, concurrency):
    """Runs cycles start .. start+count-1, @concurrency at a time."""
    queue = iter(range(start, start + count))

    async def worker():
        for n in queue:
            await one_cycle(d, n)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def settled(d, timeout=20.0):
    """No peer left and the fd count no longer falling; returns (rss, fds)."""
    await d.wait_peers(0, timeout)
    last = None

    def stable():
        nonlocal last
        now = fd_count(d.pid)
        same = now == last
        last = now
        return same

    await wait_until(stable, 10, interval=0.5)
    # The daemon trims malloc's arenas again half a second after the last
    # peer left, once the peers' threads have ended (rtcbotd-trim.h).
    async def trimmed():
        text = await d.get_text("metrics")
        return re.search(r"^rtcbotd_memory_trim_pending(?:\{\})? 0$", text, re.M) is not None

    await wait_until(trimmed, 10, interval=0.1)
    return rss_kb(d.pid), fd_count(d.pid)


async def soak(cycles, concurrency=CONCURRENCY, warmup=WARMUP, progress=None):
    """Runs the soak; returns its figures as a dict (the daemon is stopped, exit 0)."""
    async with Daemon(CONFIG, name="soak") as d:
        await run_cycles(d, 0, warmup, concurrency)
        rss0, fds0 = await settled(d)
        accepted0 = await accepted(d)
        t0 = time.monotonic()
        done = 0
        step = max(cycles // 10, concurrency)
        while done < cycles:
            n = min(step, cycles - done)
            await run_cycles(d, warmup + done, n, concurrency)
            done += n
            check(d.alive(), f"the daemon died after {done} cycles")
            if progress:
                progress(done, rss_kb(d.pid), fd_count(d.pid), time.monotonic() - t0)
        seconds = time.monotonic() - t0
        rss1, fds1 = await settled(d)

        async def back_to_baseline():
            return fd_count(d.pid) <= fds0 + FD_TOLERANCE
        try:
            await wait_until(back_to_baseline, 10, interval=0.5)
        except asyncio.TimeoutError:
            pass
        fds1 = fd_count(d.pid)
        figures = {
            "cycles": cycles, "concurrency": concurrency, "warmup": warmup,
            "rss_before_kb": rss0, "rss_after_kb": rss1, "fds_before": fds0, "fds_after": fds1,
            "seconds": seconds, "per_cycle_s": seconds / cycles,
            "accepted": (await accepted(d)) - accepted0 if accepted0 is not None else None,
            "peers_after": await d.peers(),
        }
    return figures


def describe(f):
    return [
        f"cycles: {f['cycles']} ({f['concurrency']} at a time, after {f['warmup']} warm-up cycles)",
        f"RSS: {f['rss_before_kb'] / 1024:.1f} MiB before, {f['rss_after_kb'] / 1024:.1f} MiB "
        f"after ({(f['rss_after_kb'] - f['rss_before_kb']) / 1024:+.2f} MiB)",
        f"fds: {f['fds_before']} before, {f['fds_after']} after",
        f"time: {f['seconds']:.1f} s, {f['per_cycle_s'] * 1000:.0f} ms per cycle "
        f"({f['per_cycle_s'] * f['concurrency'] * 1000:.0f} ms per client)",
        f"peers at the end: {f['peers_after']}; peers accepted: {f['accepted']}",
    ]


def check_figures(f):
    growth = f["rss_after_kb"] - f["rss_before_kb"]
    check(growth < RSS_GROWTH_LIMIT_KB, f"RSS grew by {growth} kB (limit {RSS_GROWTH_LIMIT_KB})")
    check(f["fds_after"] <= f["fds_before"] + FD_TOLERANCE,
          f"fds {f['fds_before']} -> {f['fds_after']} (tolerance {FD_TOLERANCE})")
    check(f["peers_after"] == 0, f"{f['peers_after']} peers left")
    check(f["accepted"] in (None, f["cycles"]),
          f"{f['accepted']} peers accepted for {f['cycles']} cycles")


async def test_soak():
    f = await soak(CYCLES, progress=lambda done, rss, fds, s: note(
        f"{done} cycles: RSS {rss / 1024:.1f} MiB, {fds} fds, {s:.0f} s"))
    for line in describe(f):
        note(line)
    check_figures(f)


if __name__ == "__main__":
    run_tap([(f"{CYCLES} connect/disconnect cycles: no crash, no leak", test_soak)],
            timeout=120 + CYCLES * 2.0)
