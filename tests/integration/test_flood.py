#!/usr/bin/python3
"""A peer floods the data channel; another peer's video does not suffer.

One aiortc peer (its own process, so that its Python SCTP does not starve
the viewer's decoder in ours) calls send() 10,000 times a second for 10 s on
its "default" channel, while a second aiortc peer receives 320x240 H.264 at
30 fps. Over the flood window the viewer decodes >= 25 fps, the daemon's RSS
grows by less than 20 MB, the default rate limit (1000/s) drops the excess
(rtcbotd_peer_messages_dropped_total{reason="rate"} > 0) and logs it once;
afterwards a new peer connects and its messages arrive (peers.messages goes
to a socket sink the test reads). The figures are printed as TAP notes.
TAP output; see test_aiortc.py for the environment variables.
"""

import asyncio
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    check,
    note,
    run_tap,
    wait_until,
)

RATE = 10000  # messages a second the flooder sends
SECONDS = 10
MIN_FPS = 25
MAX_RSS_GROWTH_KB = 20 * 1024

CONFIG = """\
[daemon]
listen = 127.0.0.1:0
control = shared

[source camera]
type = test-video
width = 320
height = 240
framerate = 30

[sink bridge]
type = socket
path = {sock}
queue-length = 1000

[route media]
from = camera
to = peers

[route from-peers]
from = peers.messages
to = bridge
"""

# The flooder, run as a child process: connects, says "open", calls send()
# RATE times a second for SECONDS, says what it sent, then waits to be stopped.
FLOODER = """
import asyncio, sys, time
from rtcbotd_test import RTCBotClient

async def main(url, rate, seconds):
    c = RTCBotClient(url, video=False, audio=False, name="flooder")
    await c.connect()
    await c.wait_open()
    print("open", flush=True)
    sent, t0 = 0, time.monotonic()
    while (now := time.monotonic()) - t0 < seconds:
        due = int((now - t0) * rate)
        while sent < due:
            c.channel.send('{"flood":%d}' % sent)
            sent += 1
        await asyncio.sleep(0.002)
    print("sent", sent, c.channel.bufferedAmount, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await c.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
"""


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def metric(text, name, **labels):
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$", line)
        if m and m.group(1) == name:
            have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            if all(have.get(k) == v for k, v in labels.items()):
                total += float(m.group(3))
    return total


async def read_bridge(path, lines):
    async def exists():
        return os.path.exists(path)
    await wait_until(exists, 10)
    reader, writer = await asyncio.open_unix_connection(path, limit=1 << 20)

    async def read():
        while line := await reader.readline():
            lines.append(json.loads(line))
    return asyncio.ensure_future(read()), writer


async def test_flood():
    with tempfile.TemporaryDirectory(prefix="rtcbotd-flood-") as tmp:
        sock = os.path.join(tmp, "bridge.sock")
        async with Daemon(CONFIG.format(sock=sock), name="flood") as d:
            lines = []
            reader_task, bridge = await read_bridge(sock, lines)
            viewer = RTCBotClient(d.url, audio=False, name="viewer")
            async with viewer:
                await viewer.connect()
                await viewer.wait_first_video(15)
                flooder = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", FLOODER, d.url, str(RATE), str(SECONDS),
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
                first = await asyncio.wait_for(flooder.stdout.readline(), 20)
                check(first == b"open\n", f"flooder: {first!r}")
                # The flood window: from its first message to its last.
                rss0 = rss_kb(d.pid)
                frames0, t0 = viewer.video_frames, time.monotonic()
                peak = rss0
                done = asyncio.ensure_future(flooder.stdout.readline())
                while not done.done():
                    peak = max(peak, rss_kb(d.pid))
                    await asyncio.wait([done], timeout=0.25)  # a sampling period
                window = time.monotonic() - t0
                fps = (viewer.video_frames - frames0) / window
                _, sent, unsent = done.result().split()
                # What reached the daemon in the window has been counted by now.
                m = await d.get_text("metrics")
                rate_dropped = metric(m, "rtcbotd_peer_messages_dropped_total", reason="rate")
                other_dropped = metric(m, "rtcbotd_peer_messages_dropped_total") - rate_dropped
                arrived = sum(1 for x in lines if isinstance(x, dict) and "flood" in x)
                note(f"flood: send() called {int(sent)} times in {window:.1f} s "
                     f"({int(unsent)} bytes still in the flooder's SCTP buffer); "
                     f"{arrived + rate_dropped + other_dropped:.0f} reached the daemon "
                     f"({(arrived + rate_dropped + other_dropped) / window:.0f}/s, what aiortc's "
                     f"SCTP carries): {arrived} passed to peers.messages, {rate_dropped:.0f} "
                     f"dropped for rate, {other_dropped:.0f} for other reasons")
                note(f"viewer: {fps:.1f} fps decoded during the flood")
                note(f"daemon RSS: {rss0 / 1024:.1f} MB before, {peak / 1024:.1f} MB peak "
                     f"(+{(peak - rss0) / 1024:.1f} MB)")
                check(fps >= MIN_FPS, f"the viewer decoded {fps:.1f} fps during the flood")
                check(peak - rss0 < MAX_RSS_GROWTH_KB,
                      f"RSS grew by {(peak - rss0) / 1024:.1f} MB during the flood")
                check(rate_dropped > 0, "no message was dropped for rate")
                check(arrived <= 1000 + 1000 * window + 100,
                      f"{arrived} arrived in {window:.1f} s at 1000/s")
                line = ("sends more than 1000 messages/s; dropping the excess "
                        "(counted in /metrics)")
                check(d.output().count(line) == 1, f"the log line once: {line!r}")
                flooder.stdin.write(b"stop\n")
                await flooder.stdin.drain()
                await asyncio.wait_for(flooder.wait(), 15)
                # Afterwards a new peer gets through, and so do its messages.
                async with RTCBotClient(d.url, video=False, audio=False, name="after") as c:
                    await c.connect()
                    await c.wait_open()
                    c.send({"after": "flood"})

                    async def arrived_after():
                        return {"after": "flood"} in lines
                    await wait_until(arrived_after, 10)
                check(viewer.video_frames > frames0, "the viewer stalled")
            reader_task.cancel()
            bridge.close()


run_tap([("a flooding peer is rate-limited; the other peer keeps its video", test_flood)],
        timeout=60)
