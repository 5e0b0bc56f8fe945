#!/usr/bin/python3
"""Several cameras: each video source routed to peers is its own track.

Two test-video sources share a payload type (both VP8), so the answer must
tell their tracks apart by SSRC (a=ssrc lines), or a peer cannot route the
packets and decodes nothing. An aiortc client offering two video m-lines and
audio gets both cameras, each decoding. TAP output.
"""

import asyncio
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import Daemon, RTCBotClient, check, note, run_tap  # noqa: E402

CONFIG = """\
[source front]
type = test-video
width = 320
height = 240
framerate = 15
encoder = vp8

[source rear]
type = test-video
width = 320
height = 240
framerate = 15
encoder = vp8
pattern = ball

[source tone]
type = test-audio

[route media]
from = front;rear;tone
to = peers
"""


async def test_two_cameras():
    async with Daemon(CONFIG, name="rtcbotd-cameras") as d:
        c = RTCBotClient(d.url, video=2, name="two-cameras")
        try:
            await c.connect()
            sdp = c.answer["sdp"]
            await c.wait_first_video()
            await asyncio.sleep(3)  # a measurement window
            counts = sorted(c.frames_by_track.values())
            note(f"frames per video track after ~3 s: {counts}")
            check(len(counts) == 2 and counts[0] >= 15,
                  f"both cameras should decode: {c.frames_by_track}")
            # Each track's SSRC and its RTX SSRC, all different, named after the track.
            ssrcs = set(re.findall(r"a=ssrc:(\d+) msid:rtcbotd (front|rear)", sdp))
            check({t for _, t in ssrcs} == {"front", "rear"}
                  and len({s for s, _ in ssrcs}) == len(ssrcs) == 4,
                  f"the answer's ssrc lines: {ssrcs}")
        finally:
            await c.close()


if __name__ == "__main__":
    run_tap([("two cameras with one codec: two tracks, both decoding", test_two_cameras)])
