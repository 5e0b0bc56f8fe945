#!/usr/bin/python3
"""The latency stamp (DESIGN.md "Latency stamp"), as a peer sees it.

A test-video source with `stamp = yes` (and the default clock overlay, which
must not cover the band) reaches an aiortc client whose decoded frames carry S
= Unix ms at capture: it reads back after the H.264/VP8 round trip, rises from
frame to frame, and lies a little before the client's own clock. A second
source with `stamp = no` carries none. TAP output.
"""

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import Daemon, RTCBotClient, check, note, run_tap  # noqa: E402

CONFIG = """\
[source stamped]
type = test-video
width = 640
height = 480
framerate = 30
stamp = yes

[source plain]
type = test-video
width = 320
height = 240
framerate = 30

[route media]
from = stamped;plain
to = peers
"""


def read_stamp(frame):
    """S from a decoded frame, or None: the reader of web/stamp.mjs, in numpy."""
    luma = frame.to_ndarray(format="gray").astype(float)
    width = luma.shape[1]
    if width % 40:
        return None
    b = width // 40
    inset = b // 4

    def mean(top, k):
        return luma[top + inset:top + b - inset, k * b + inset:(k + 1) * b - inset].mean()

    if mean(0, 0) < mean(b, 0) + 64 or mean(b, 1) < mean(0, 1) + 64:
        return None
    s = 0
    for k in range(2, 34):
        s = s * 2 + (1 if mean(0, k) > mean(b, k) else 0)
    return s


def band_errors(frame, s):
    """Pixels near the top and bottom of both bands, at each block's centre,
    more than 60 away from what S says (white 235, black 16): what an overlay
    drawn over the band would leave."""
    luma = frame.to_ndarray(format="gray").astype(int)
    b = luma.shape[1] // 40
    bad = []
    for k in range(34):
        white = k == 0 or (k >= 2 and (s >> (31 - (k - 2))) & 1)
        for y in (1, b - 2, b + 1, 2 * b - 2):
            want = 235 if white == (y < b) else 16
            if abs(luma[y, k * b + b // 2] - want) > 60:
                bad.append((k, y, int(luma[y, k * b + b // 2])))
    return bad


async def test_stamp():
    async with Daemon(CONFIG, name="rtcbotd-stamp") as d:
        c = RTCBotClient(d.url, video=2, audio=False, name="stamp")
        try:
            await c.connect()
            await c.wait_first_video()
            stamps, latencies, plain = [], [], []
            for _ in range(20):
                await asyncio.sleep(0.1)  # sample the newest frames over two seconds
                now = int(time.time() * 1000) & 0xFFFFFFFF
                for frame in list(c.last_frame_by_track.values()):
                    s = read_stamp(frame)
                    if frame.width == 640:
                        check(s is not None, "a frame of the stamped source carries a stamp")
                        bad = band_errors(frame, s)
                        check(not bad, f"the band is intact (block, row, luma): {bad}")
                        if not stamps or s != stamps[-1]:
                            stamps.append(s)
                            latencies.append((now - s) % 2**32)
                    else:
                        plain.append(s)
            note(f"{len(stamps)} distinct stamps; now - S per sample: {latencies}")
            check(len(stamps) >= 10, f"the stamp changes from frame to frame: {stamps}")
            steps = [(b - a) % 2**32 for a, b in zip(stamps, stamps[1:])]
            check(all(0 < x < 1000 for x in steps), f"S rises by less than a second: {steps}")
            check(all(x < 2000 for x in latencies),
                  f"S is the capture time: 0 <= now - S < 2 s: {latencies}")
            check(plain and all(s is None for s in plain), f"stamp = no draws none: {plain}")
        finally:
            await c.close()


if __name__ == "__main__":
    run_tap([("stamp = yes: each decoded frame carries its capture time", test_stamp)])
