#!/usr/bin/python3
"""Media a peer sends to the robot: peers.audio and peers.video.

An aiortc client sends a tone and a moving picture (sendrecv transceivers,
as a browser with push-to-talk does); the daemon answers so that it may send
when a route takes peers.audio / peers.video, depayloads and parses what
arrives, counts it in /metrics and feeds the routed media sinks. Without such
a route, or for a viewer-token peer, nothing is received. TAP output;
RTCBOTD_TEST_ONLY=substring runs a subset.
"""

import asyncio
import fractions
import json
import math
import shutil
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

DRIVER = "driver-0123456789abcdef"
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

    async def connect(self):
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
                              timeout=aiohttp.ClientTimeout(total=10)) as resp:
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
    routes = "\n[sink rec]\ntype = record\npath = {dir}/talk.mkv\n" \
             "\n[route talk]\nfrom = peers.audio\nto = rec\n"
    with tempfile.TemporaryDirectory() as d:
        async with Daemon(config(routes.format(dir=d))) as daemon:
            sender = await Sender(daemon.url).connect()
            try:
                check(sender.direction("audio") == "sendrecv",
                      f"audio answered {sender.direction('audio')}: {sender.answer['sdp']}")
                await wait_until(lambda: "receiving audio (opus" in daemon.output(), 10)
                await wait_until_async(lambda: incoming_bytes(daemon, "audio"), 5000, 10)
                text = await metrics(daemon)
                check(sample(text, "rtcbotd_peer_incoming_streams") == 1,
                      f"incoming streams: {sample(text, 'rtcbotd_peer_incoming_streams')}")
                check(sample(text, "rtcbotd_peer_incoming_frames_total", kind="audio") > 10,
                      "no audio frames counted")
            finally:
                await sender.close()
            await wait_until(lambda: "peer 1: gone" in daemon.output(), 10)


async def test_audio_only_recvonly():
    """Without an audio source to send, a routed audio m-line is answered recvonly."""
    routes = "\n[sink rec]\ntype = record\npath = /tmp/unused.mkv\n" \
             "\n[route talk]\nfrom = peers.audio\nto = rec\n"
    async with Daemon(config(routes, tone=False)) as daemon:
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
    routes = "\n[sink rec]\ntype = record\npath = /tmp/unused.mkv\n" \
             "\n[route talk]\nfrom = peers.audio\nto = rec\n"
    async with Daemon(config(routes, tokens=True)) as daemon:
        viewer = await Sender(daemon.url, token=VIEWER).connect()
        try:
            check(viewer.direction("audio") == "sendonly",
                  f"viewer's audio answered {viewer.direction('audio')}")
            await wait_until(lambda: "peer 1: connected" in daemon.output(), 10)
            driver = await Sender(daemon.url, token=DRIVER).connect()
            try:
                check(driver.direction("audio") == "sendrecv",
                      f"driver's audio answered {driver.direction('audio')}")
                await wait_until(lambda: "peer 2: receiving audio" in daemon.output(), 10)
                check("peer 1: receiving" not in daemon.output(), "the viewer's audio was taken")
            finally:
                await driver.close()
        finally:
            await viewer.close()


async def test_video_received(codec):
    """peers.video routed: a VP8 or H.264 camera from the peer arrives."""
    routes = "\n[sink screen]\ntype = record\npath = /tmp/unused.mkv\n" \
             "\n[route show]\nfrom = peers.video\nto = screen\n"
    async with Daemon(config(routes)) as daemon:
        sender = await Sender(daemon.url, audio=False, video=True,
                              video_codec=f"video/{codec}").connect()
        try:
            check(sender.direction("video") == "sendrecv",
                  f"video answered {sender.direction('video')}")
            await wait_until(
                lambda: f"receiving video ({'H264' if codec == 'H264' else codec}"
                in daemon.output(), 10)
            await wait_until_async(lambda: incoming_bytes(daemon, "video"), 20000, 10)
            text = await metrics(daemon)
            check(sample(text, "rtcbotd_peer_incoming_frames_total", kind="video") > 5,
                  "no video frames counted")
        finally:
            await sender.close()


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
        ("peer video VP8", lambda: test_video_received("VP8")),
        ("peer video H264", lambda: test_video_received("H264")),
    ])
