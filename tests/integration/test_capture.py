#!/usr/bin/python3
"""Real capture sources: failures, retries, passthrough and on-demand, end to end.

- A v4l2 camera on a missing /dev/video9: the daemon starts and stays up, the
  cause is logged once (naming the device) while the source retries with
  backoff, /healthz shows it down with that cause, and the test-video source
  beside it is still decoded by an aiortc peer.
- A gst source fed over TCP by a separate gst-launch-1.0 process that the test
  stops and starts: down while the sender is away, up again when it is back,
  and a connected peer decodes frames from it each time it runs.
- A gst fragment that makes H.264 is passed through (no encoder) and decoded.
- on-demand = yes: no capture while nothing consumes the source; a peer
  starts it and gets its first frame; it stops when the peer leaves. The
  first-frame times of both modes are printed as TAP diagnostics.
- A fragment that does not parse: --check-config names file, line, group and
  key (exit 78), and a reload to it keeps the running configuration.
TAP output.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon,
    HTTPStatusError,
    RTCBotClient,
    TestFailure,
    check,
    note,
    rtcbotd_path,
    run_tap,
    video_codecs,
    wait_until,
)

TEST_VIDEO = """\
[source test]
type = test-video
width = 320
height = 240
framerate = 15
encoder = vp8
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def source_state(d, name):
    return (await d.healthz())["source-states"][name]


async def wait_state(d, name, want, timeout=20.0):
    last = None

    async def cond():
        nonlocal last
        last = await source_state(d, name)
        return want(last)

    try:
        await wait_until(cond, timeout, interval=0.1)
    except asyncio.TimeoutError:
        raise TestFailure(f"[source {name}] did not reach the expected state in {timeout} s: "
                          f"{last}") from None
    return last


def is_up(s):
    return s["state"] == "up" and s["capture"] == "running"


def is_down(s):
    return s["state"] == "down"


async def frames_grow(client, track_frames, timeout=10.0, more=10):
    """Waits until the decoded frames counted by @track_frames() grew by @more."""
    start = track_frames()
    try:
        await wait_until(lambda: track_frames() >= start + more, timeout, interval=0.05)
    except asyncio.TimeoutError:
        raise TestFailure(f"{client.name}: decoded frames stayed at {track_frames()} "
                          f"(from {start}) for {timeout} s ({client.state()})") from None


async def test_missing_device():
    config = f"""\
[source cam]
type = v4l2
device = /dev/video9

{TEST_VIDEO}
[route media]
from = cam;test
to = peers
"""
    async with Daemon(config, args=["--verbose"], name="rtcbotd-missing") as d:
        state = await wait_state(d, "cam", is_down, timeout=10)
        reason = state.get("reason", "")
        check("/dev/video9" in reason and "No such file or directory" in reason,
              f"the reason should name the device and the cause: {state}")
        # 0.5 + 1 + 2 s: three retries at least, still logged once.
        await d.wait_output("[source cam]: capture: trying again", timeout=10, count=3)
        down = [line for line in d.output().splitlines() if "[source cam]: down:" in line]
        check(len(down) == 1 and "/dev/video9" in down[0],
              f"the failure should be logged once, naming the device: {down}")
        health = await d.healthz()
        check(health["status"] == "degraded", f"/healthz status: {health['status']}")
        check(health["source-states"]["test"]["state"] == "up", f"{health['source-states']}")
        note(f"/healthz [source cam]: {state}")
        c = RTCBotClient(d.url, video=2, audio=False, name="viewer")
        try:
            await c.connect()
            await c.wait_first_video()
            await frames_grow(c, lambda: c.video_frames, more=15)
            check(len(c.frames_by_track) == 1,
                  f"only the test source should send frames: {c.frames_by_track}")
        finally:
            await c.close()
        check(d.alive(), "the daemon should stay up")


class Sender:
    """gst-launch-1.0: a live test pattern over TCP (GDP keeps the caps)."""

    def __init__(self, port):
        self.port = port
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "pattern=ball", "!",
             "video/x-raw,format=I420,width=320,height=240,framerate=15/1", "!", "gdppay", "!",
             "tcpserversink", "host=127.0.0.1", f"port={self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


async def test_comes_back():
    port = free_port()
    config = f"""\
[source feed]
type = gst
pipeline = tcpclientsrc host=127.0.0.1 port={port} ! gdpdepay

[route media]
from = feed
to = peers
"""
    sender = Sender(port)
    async with Daemon(config, name="rtcbotd-feed") as d:
        c = RTCBotClient(d.url, audio=False, name="viewer")
        try:
            state = await wait_state(d, "feed", is_down, timeout=10)
            check("Connection refused" in state.get("reason", ""), f"no sender yet: {state}")
            sender.start()
            await wait_state(d, "feed", is_up, timeout=20)
            await c.connect()
            await c.wait_first_video(timeout=15)
            await frames_grow(c, lambda: c.video_frames)
            sender.stop()
            state = await wait_state(d, "feed", is_down, timeout=10)
            note(f"sender stopped: {state}")
            sender.start()
            t0 = time.monotonic()
            await wait_state(d, "feed", is_up, timeout=20)
            note(f"up again {time.monotonic() - t0:.1f} s after the sender restarted")
            await frames_grow(c, lambda: c.video_frames, timeout=15)
            check(d.output().count("[source feed]: up") >= 2, "up should be logged each time")
        finally:
            sender.stop()
            await c.close()


async def test_passthrough():
    config = """\
[source h264]
type = gst
pipeline = videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=15/1 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! video/x-h264,profile=constrained-baseline ! h264parse

[route media]
from = h264
to = peers
"""
    async with Daemon(config, name="rtcbotd-passthrough") as d:
        health = await d.healthz()
        check(health["sources"]["h264"].startswith("H264 via passthrough"),
              f"the fragment's H.264 should not be encoded again: {health['sources']}")
        c = RTCBotClient(d.url, audio=False, name="viewer")
        try:
            await c.connect()
            await c.wait_first_video(timeout=15)
            await frames_grow(c, lambda: c.video_frames)
            check(c.first_video_size == (320, 240), f"decoded size {c.first_video_size}")
        finally:
            await c.close()
        vp8_only = RTCBotClient(d.url, audio=False, data=False, name="vp8-only",
                                codecs=video_codecs("video/VP8"))
        try:
            await vp8_only.prepare()
            try:
                await vp8_only.post()
                raise TestFailure("a VP8-only offer should get nothing from an H.264 passthrough")
            except HTTPStatusError as e:
                check(e.status == 400, f"VP8-only offer: {e.status}")
        finally:
            await vp8_only.close()


async def first_frame(d, name, on_demand):
    """Connects a viewer, returns (client-side ms to the first frame, the daemon's ms)."""
    c = RTCBotClient(d.url, audio=False, name=f"viewer-{name}")
    try:
        await c.connect()
        seconds = await c.wait_first_video(timeout=15)
        state = await wait_state(d, name, lambda s: "first-frame-ms" in s, timeout=5)
        await d.wait_output(f"[source {name}]: first key frame", timeout=5)
        note(f"on-demand = {'yes' if on_demand else 'no'}: first frame decoded "
             f"{seconds * 1000:.0f} ms after the POST; the daemon measured "
             f"{state['first-frame-ms']:.0f} ms from the first consumer to its first key frame")
        return c, state
    except BaseException:
        await c.close()
        raise


async def test_on_demand():
    config = """\
[source lazy]
type = test-video
width = 320
height = 240
framerate = 15
on-demand = yes

[source eager]
type = test-video
width = 320
height = 240
framerate = 15

[route lazy]
from = lazy
to = peers

[route eager]
from = eager
to = peers
"""
    async with Daemon(config, name="rtcbotd-on-demand") as d:
        await wait_state(d, "eager", lambda s: s["frames"] > 10, timeout=10)
        lazy = await source_state(d, "lazy")
        check(lazy == {"state": "up", "frames": 0, "capture": "stopped", "restarts": 0},
              f"nothing consumes [source lazy]: no capture, no frames, not down: {lazy}")
        capturing = await d.get_text("metrics")
        check('rtcbotd_source_capturing{source="lazy"} 0' in capturing, "metrics: capturing 0")
        # The first video m-line takes "lazy", the second "eager".
        c, state = await first_frame(d, "lazy", True)
        try:
            check(state["capture"] == "running", f"a consumer starts the capture: {state}")
            check(state["first-frame-ms"] < 3000, f"first frame too slow: {state}")
        finally:
            await c.close()
        await wait_state(d, "lazy", lambda s: s["capture"] == "stopped", timeout=15)
        frames = (await source_state(d, "lazy"))["frames"]
        await asyncio.sleep(1)  # a window in which a stopped capture makes nothing
        check((await source_state(d, "lazy"))["frames"] == frames,
              "no frames while nothing consumes the source")
    config_eager = config.replace("on-demand = yes\n", "")
    async with Daemon(config_eager, name="rtcbotd-always") as d:
        await wait_state(d, "lazy", lambda s: s["frames"] > 10, timeout=10)
        c, state = await first_frame(d, "lazy", False)
        await c.close()


async def test_bad_fragment():
    bad = """\
[source cam]
type = test-video

[source thermal]
type = gst
pipeline = thermalsrc ! videoconvert

[route media]
from = cam;thermal
to = peers
"""
    with tempfile.TemporaryDirectory(prefix="rtcbotd-capture-") as tmp:
        path = Path(tmp) / "rtcbotd.conf"
        path.write_text(bad)
        r = subprocess.run([rtcbotd_path(), "--check-config", str(path)], capture_output=True,
                           text=True, timeout=30)
        want = f'{path}:6: [source thermal] pipeline: no element "thermalsrc"'
        check(r.returncode == 78 and want in r.stderr, f"--check-config: {r!r}")
    good = bad.replace("thermalsrc ! videoconvert", "videotestsrc is-live=true")
    async with Daemon(good, name="rtcbotd-reload") as d:
        await wait_state(d, "thermal", lambda s: s["frames"] > 10, timeout=10)
        before = (await d.healthz())["sources"]
        d.reload(bad)
        await d.wait_output("keeping the running configuration", timeout=10)
        check('no element "thermalsrc"' in d.output(), "the reload error names the element")
        frames = (await source_state(d, "thermal"))["frames"]
        await wait_state(d, "thermal", lambda s: s["frames"] > frames + 10, timeout=10)
        check((await d.healthz())["sources"] == before, "the running sources stay as they were")


if __name__ == "__main__":
    if not os.access("/usr/bin/gst-launch-1.0", os.X_OK):
        print("1..0 # SKIP gst-launch-1.0 is not installed")
        sys.exit(0)
    run_tap([
        ("v4l2 on a missing /dev/video9: logged once, down, retried; the others flow",
         test_missing_device),
        ("a gst source whose sender goes and comes back: down, then up and frames again",
         test_comes_back),
        ("a gst fragment making H.264 is passed through, not encoded again", test_passthrough),
        ("on-demand: no capture without a consumer, first frame for the first one",
         test_on_demand),
        ("a gst fragment that does not parse: --check-config and reload", test_bad_fragment),
    ], timeout=120)
