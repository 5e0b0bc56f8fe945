#!/usr/bin/python3
"""Media a peer sends to the robot: peers.audio and peers.video.

An aiortc client sends a tone and a moving picture (sendrecv transceivers,
as a browser with push-to-talk does); the daemon answers so that it may send
when a route takes peers.audio / peers.video, depayloads and parses what
arrives, counts it in /metrics and feeds the routed media sinks: a record
sink writes a file that gst-discoverer-1.0 reports as Opus / VP8 / H.264 of
about the time sent, and a video sink joining makes the daemon ask the peer
for a key frame (an RTCP PLI, seen by aiortc's sender). Without such a
route, or for a viewer-token peer, nothing is received. TAP output;
RTCBOTD_TEST_ONLY=substring runs a subset.
"""

import asyncio
import fractions
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

import aiohttp  # noqa: E402
import numpy  # noqa: E402
from aiortc import (  # noqa: E402
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack  # noqa: E402
from aiortc.rtcrtpsender import RTCRtpSender as _Sender  # noqa: E402
from av import AudioFrame, VideoFrame  # noqa: E402

from rtcbotd_test import (  # noqa: E402
    Daemon,
    HTTPStatusError,
    check,
    note,
    run_tap,
    sdp_sections,
    wait_until,
)

SEND_S = 3.0
DRIVER = "driver-0123456789abcdef"

# Key-frame requests (RTCP PLI) that aiortc's senders received, in this process.
PLIS = []
_send_keyframe = _Sender._send_keyframe


def _count_pli(sender):
    PLIS.append(time.monotonic())
    _send_keyframe(sender)


_Sender._send_keyframe = _count_pli
VIEWER = "viewer-fedcba9876543210"


def config(routes, sinks="", tone=True, tokens=False):
    """A daemon with a test camera (and tone) to peers, plus @sinks and @routes."""
    text = "[daemon]\ncontrol = shared\n"
    if tokens:
        text += f"token = {DRIVER}\nviewer-token = {VIEWER}\n"
    text += "\n[source camera]\ntype = test-video\nwidth = 320\nheight = 240\n"
    if tone:
        text += "\n[source tone]\ntype = test-audio\n"
    text += "\n[route media]\nfrom = camera" + (";tone" if tone else "") + "\nto = peers\n"
    return text + sinks + routes


class Tone(AudioStreamTrack):
    """A 440 Hz sine, 20 ms frames at 48 kHz, paced in real time."""

    def __init__(self):
        super().__init__()
        self._pts = 0
        self._start = None

    async def recv(self):
        samples = 960
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # real-time pacing of the media, not synchronisation
        t = (numpy.arange(samples) + self._pts) / 48000
        pcm = (numpy.sin(2 * math.pi * 440 * t) * 8000).astype(numpy.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 48000)
        self._pts += samples
        return frame


class Picture(VideoStreamTrack):
    """A 320x240 picture whose brightness changes every frame."""

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        level = (pts // 3000) % 200 + 20
        image = numpy.full((240, 320, 3), level, dtype=numpy.uint8)
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = pts
        frame.time_base = time_base
        return frame


class Sender:
    """An aiortc peer that sends audio and/or video (sendrecv transceivers) and
    opens the "default" data channel, offering the way RTCBot's client does."""

    def __init__(self, url, audio=True, video=False, video_codec=None, token=None):
        self.url = url
        self.audio = audio
        self.video = video
        self.video_codec = video_codec
        self.token = token
        self.pc = None
        self.answer = None

    async def connect(self, timeout=10):
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.createDataChannel("default")
        if self.video:
            t = self.pc.addTransceiver(Picture(), direction="sendrecv")
            if self.video_codec:
                t.setCodecPreferences(
                    [c for c in RTCRtpSender.getCapabilities("video").codecs
                     if c.mimeType.lower() in (self.video_codec.lower(), "video/rtx")])
        if self.audio:
            self.pc.addTransceiver(Tone(), direction="sendrecv")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"sdp": self.pc.localDescription.sdp, "type": "offer"}
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        async with aiohttp.ClientSession() as s:
            async with s.post(self.url + "connect", data=json.dumps(offer), headers=headers,
                              timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                if resp.status != 200:
                    raise HTTPStatusError(resp.status, resp.headers, await resp.text())
                self.answer = await resp.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(**self.answer))
        return self

    def direction(self, kind):
        """The answer's direction attribute for the first m-line of @kind."""
        for mline, attributes in sdp_sections(self.answer["sdp"]):
            if mline.startswith(f"m={kind} "):
                for a in attributes:
                    if a[2:] in ("sendrecv", "sendonly", "recvonly", "inactive"):
                        return a[2:]
        return None

    async def close(self):
        if self.pc:
            await self.pc.close()


def discover(path):
    """gst-discoverer-1.0's view of @path: (duration in s or None, its text)."""
    out = subprocess.run(["gst-discoverer-1.0", str(path)], capture_output=True, text=True,
                         timeout=30)
    text = out.stdout + out.stderr
    m = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None
    return duration, text


async def finished_recording(directory, timeout=20):
    """The one file in @directory, once gst-discoverer-1.0 reads a duration from it."""
    found = {}

    def readable():
        files = sorted(Path(directory).glob("*.mkv"))
        if len(files) != 1:
            return False
        found["duration"], found["text"] = discover(files[0])
        return bool(found["duration"])

    await wait_until(readable, timeout, interval=0.5)
    return found["duration"], found["text"]


async def metrics(daemon):
    async with aiohttp.ClientSession() as s:
        async with s.get(daemon.url + "metrics") as resp:
            return await resp.text()


def sample(text, name, **labels):
    """The sum of @name's samples whose labels include @labels."""
    total = None
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in series for k, v in labels.items()):
            total = (total or 0) + float(value)
    return total


async def incoming_bytes(daemon, kind):
    return sample(await metrics(daemon), "rtcbotd_peer_incoming_bytes_total", kind=kind) or 0


async def test_talk_back_received():
    """peers.audio routed: the tone's m-line is answered sendrecv (we send the
    test tone on it too) and its Opus packets arrive and are counted."""
    routes = "\n[sink rec]\ntype = record\npath = {dir}/talk-%H%M%S.mkv\n" \
             "\n[route talk]\nfrom = peers.audio\nto = rec\n"
    with tempfile.TemporaryDirectory() as d:
        async with Daemon(config(routes.format(dir=d))) as daemon:
            sender = await Sender(daemon.url).connect()
            try:
                check(sender.direction("audio") == "sendrecv",
                      f"audio answered {sender.direction('audio')}: {sender.answer['sdp']}")
                await wait_until(lambda: "receiving audio (opus" in daemon.output(), 10)
                await asyncio.sleep(SEND_S)  # what the recording must hold
                text = await metrics(daemon)
                check(sample(text, "rtcbotd_peer_incoming_streams") == 1,
                      f"incoming streams: {sample(text, 'rtcbotd_peer_incoming_streams')}")
                frames = sample(text, "rtcbotd_peer_incoming_frames_total", kind="audio")
                check(frames > SEND_S * 40, f"{frames} audio frames counted in {SEND_S} s")
                check(sample(text, "rtcbotd_peer_incoming_bytes_total", kind="audio") > 5000,
                      "few audio bytes counted")
            finally:
                await sender.close()
            await wait_until(lambda: "peer 1: gone" in daemon.output(), 10)
            duration, text = await finished_recording(d)
            note(f"recording: {duration:.2f} s for {SEND_S} s sent")
            check("Opus" in text, f"not Opus: {text}")
            check(abs(duration - SEND_S) <= 1, f"recording of {duration} s for {SEND_S} s")


async def test_audio_only_recvonly():
    """Without an audio source to send, a routed audio m-line is answered recvonly."""
    routes = "\n[sink rec]\ntype = record\npath = {dir}/talk.mkv\n" \
             "\n[route talk]\nfrom = peers.audio\nto = rec\n"
    with tempfile.TemporaryDirectory() as d:
        async with Daemon(config(routes.format(dir=d), tone=False)) as daemon:
            sender = await Sender(daemon.url).connect()
            try:
                check(sender.direction("audio") == "recvonly",
                      f"audio answered {sender.direction('audio')}")
                check(sender.direction("video") is None, "a video m-line appeared")
                await wait_until_async(lambda: incoming_bytes(daemon, "audio"), 5000, 10)
            finally:
                await sender.close()


async def test_no_route_no_receive():
    """No route takes peers.audio: the audio m-line is answered as before
    (sendonly: only our tone), and nothing the peer sends is taken."""
    async with Daemon(config("")) as daemon:
        sender = await Sender(daemon.url).connect()
        try:
            check(sender.direction("audio") == "sendonly",
                  f"audio answered {sender.direction('audio')}")
            await wait_until(lambda: "peer 1: connected" in daemon.output(), 10)
            await asyncio.sleep(1.5)  # a window in which audio would have arrived
            check("receiving" not in daemon.output(), "the daemon received audio")
            check(await incoming_bytes(daemon, "audio") == 0, "incoming audio counted")
        finally:
            await sender.close()


async def test_viewer_not_received():
    """A viewer-token peer only watches: its audio is not taken (the m-line is
    answered sendonly), a driver's is."""
    routes = "\n[sink rec]\ntype = record\npath = {dir}/talk-%H%M%S.mkv\n" \
             "\n[route talk]\nfrom = peers.audio\nto = rec\n"
    with tempfile.TemporaryDirectory() as d:
        async with Daemon(config(routes.format(dir=d), tokens=True)) as daemon:
            viewer = await Sender(daemon.url, token=VIEWER).connect()
            try:
                check(viewer.direction("audio") == "sendonly",
                      f"viewer's audio answered {viewer.direction('audio')}")
                await wait_until(lambda: "peer 1: connected" in daemon.output(), 10)
                await asyncio.sleep(1)  # a window in which the viewer's audio would arrive
                check(not list(Path(d).iterdir()), "the viewer's audio was recorded")
                driver = await Sender(daemon.url, token=DRIVER).connect()
                try:
                    check(driver.direction("audio") == "sendrecv",
                          f"driver's audio answered {driver.direction('audio')}")
                    await wait_until(lambda: "peer 2: receiving audio" in daemon.output(), 10)
                    check("peer 1: receiving" not in daemon.output(),
                          "the viewer's audio was taken")
                finally:
                    await driver.close()
            finally:
                await viewer.close()


async def test_video_recorded(codec, name):
    """peers.video routed to a record sink: a VP8 or H.264 camera from the
    peer arrives, the sink joining asks the peer for a key frame, and the file
    holds that video."""
    routes = "\n[sink screen]\ntype = record\npath = {dir}/cam-%H%M%S.mkv\n" \
             "\n[route show]\nfrom = peers.video\nto = screen\n"
    with tempfile.TemporaryDirectory() as d:
        async with Daemon(config(routes.format(dir=d))) as daemon:
            PLIS.clear()
            sender = await Sender(daemon.url, audio=False, video=True,
                                  video_codec=f"video/{codec}").connect()
            try:
                check(sender.direction("video") == "sendrecv",
                      f"video answered {sender.direction('video')}")
                await wait_until(lambda: f"receiving video ({codec}" in daemon.output(), 10)
                await wait_until(lambda: PLIS, 5)  # the sink joined: a PLI reached aiortc
                await asyncio.sleep(SEND_S)  # what the recording must hold
                text = await metrics(daemon)
                frames = sample(text, "rtcbotd_peer_incoming_frames_total", kind="video")
                check(frames > SEND_S * 15, f"{frames} video frames counted in {SEND_S} s")
                check(len(PLIS) <= SEND_S + 3, f"{len(PLIS)} key frames asked for in {SEND_S} s")
            finally:
                await sender.close()
            await wait_until(lambda: "peer 1: gone" in daemon.output(), 10)
            duration, text = await finished_recording(d)
            note(f"recording: {duration:.2f} s for {SEND_S} s sent; {len(PLIS)} PLI(s)")
            check(name in text, f"not {name}: {text}")
            check(abs(duration - SEND_S) <= 1.5, f"recording of {duration} s for {SEND_S} s")


async def test_audio_and_video_recorded():
    """peers.audio and peers.video to one record sink: the peer's microphone
    and camera are both recorded (the sink writes a file per stream)."""
    routes = "\n[sink rec]\ntype = record\npath = {dir}/peer-%H%M%S.mkv\n" \
             "\n[route from-peers]\nfrom = peers.audio;peers.video\nto = rec\n"
    with tempfile.TemporaryDirectory() as d:
        async with Daemon(config(routes.format(dir=d))) as daemon:
            sender = await Sender(daemon.url, audio=True, video=True,
                                  video_codec="video/VP8").connect()
            try:
                await wait_until(lambda: "receiving video" in daemon.output()
                                 and "receiving audio" in daemon.output(), 10)
                await asyncio.sleep(2)  # something to record
            finally:
                await sender.close()
            await wait_until(lambda: "peer 1: gone" in daemon.output(), 10)
            found = {}

            def both_readable():
                files = sorted(Path(d).glob("*.mkv"))
                found["texts"] = [discover(f) for f in files]
                return len(files) == 2 and all(duration for duration, _ in found["texts"])

            await wait_until(both_readable, 20, interval=0.5)
            texts = " ".join(text for _, text in found["texts"])
            check("Opus" in texts and "VP8" in texts, f"not Opus and VP8: {texts}")


async def test_video_decoded_by_gst_sink():
    """peers.video → a gst sink (the escape hatch; display decodes the same
    way): the peer's frames arrive decoded, here written as JPEG files."""
    with tempfile.TemporaryDirectory() as d:
        pipeline = f"videoconvert ! jpegenc ! multifilesink location={d}/frame-%05d.jpg " \
                   "max-files=20"
        routes = f"\n[sink frames]\ntype = gst\npipeline = {pipeline}\n" \
                 "\n[route show]\nfrom = peers.video\nto = frames\n"
        async with Daemon(config(routes)) as daemon:
            sender = await Sender(daemon.url, audio=False, video=True,
                                  video_codec="video/VP8").connect()
            try:
                await wait_until(lambda: len(list(Path(d).glob("frame-*.jpg"))) >= 10, 15)
            finally:
                await sender.close()
        frames = sorted(Path(d).glob("frame-*.jpg"))
        data = frames[-1].read_bytes()
        check(data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9", "not a JPEG")
        note(f"{len(frames)} decoded frames of the peer's camera")


async def test_reload_rebuilds_sink():
    """A reload that rebuilds the record sink (a new path): the connected
    peer keeps sending, its stream goes on into the new sink's file, and a
    peer connecting after it is recorded there too."""
    routes = "\n[sink rec]\ntype = record\npath = {dir}/{name}-%H%M%S.mkv\n" \
             "\n[route talk]\nfrom = peers.audio\nto = rec\n"
    with tempfile.TemporaryDirectory() as d:
        async with Daemon(config(routes.format(dir=d, name="before"))) as daemon:
            first = await Sender(daemon.url).connect()
            second = None
            try:
                await daemon.wait_output("[sink rec]: writing", timeout=10)
                daemon.reload(config(routes.format(dir=d, name="after")))
                await daemon.wait_output("configuration reloaded", timeout=10)
                await daemon.wait_output("[sink rec]: writing", count=2, timeout=10)
                second = await Sender(daemon.url).connect()
                await daemon.wait_output("[sink rec]: writing", count=3, timeout=10)
                await asyncio.sleep(1)  # something for the files to hold
            finally:
                await first.close()
                if second:
                    await second.close()
            await daemon.wait_peers(0, timeout=10)
        names = sorted(p.name.split("-")[0] + "-" + p.name.split("-", 2)[2] for p in
                       Path(d).glob("*.mkv"))
        check(names == ["after-peer1-audio.mkv", "after-peer2-audio.mkv",
                        "before-peer1-audio.mkv"], f"files: {names}")
        check("peer 1: closing" not in daemon.output().split("configuration reloaded")[1]
              .split("peer 2: offer")[0], "the reload closed the sending peer")


async def wait_until_async(get, at_least, timeout):
    """Polls the coroutine function @get until it returns >= @at_least."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = await get()
        if value >= at_least:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"still {value} (want >= {at_least}) after {timeout} s")


if __name__ == "__main__":
    run_tap([
        ("talk-back received and counted", test_talk_back_received),
        ("audio only: recvonly", test_audio_only_recvonly),
        ("no peers.audio route: not received", test_no_route_no_receive),
        ("viewer token: not received", test_viewer_not_received),
        ("peer video VP8 recorded", lambda: test_video_recorded("VP8", "VP8")),
        ("peer video H264 recorded", lambda: test_video_recorded("H264", "H.264")),
        ("peer audio and video both recorded", test_audio_and_video_recorded),
        ("peer video decoded by a gst sink", test_video_decoded_by_gst_sink),
        ("reload rebuilds the sink: streams go on into it", test_reload_rebuilds_sink),
    ])
