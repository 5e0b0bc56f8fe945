#!/usr/bin/python3
"""[daemon] ice-servers and ice-transport-policy against a real TURN server.

coturn (Debian's turnserver) runs on 127.0.0.1 with a long-term credential,
started and stopped by the test. With ice-transport-policy = relay the
daemon's answer carries only relay candidates, allocated on that server,
and an aiortc viewer still decodes video through it; /api/robot hands the
same servers to pages. Without ice-servers nothing but host candidates
appear: no server is contacted unless configured. TAP output.
"""

import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import Daemon, RTCBotClient, Skip, check, note, run_tap  # noqa: E402

MEDIA = """\
[source camera]
type = test-video
width = 320
height = 240
framerate = 15
encoder = vp8

[route media]
from = camera
to = peers
"""


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TurnServer:
    """coturn on loopback, user robot:secret, for as long as the block runs."""

    def __init__(self):
        self.port = free_udp_port()
        self.proc = None
        self.dir = None

    async def __aenter__(self):
        if not shutil.which("turnserver"):
            raise Skip("coturn (turnserver) is not installed")
        self.dir = tempfile.TemporaryDirectory(prefix="rtcbotd-turn-")
        self.proc = subprocess.Popen(
            ["turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
             f"--listening-port={self.port}", "--lt-cred-mech", "--user=robot:secret",
             "--realm=robot.test", "--allow-loopback-peers", "--no-cli", "--no-tls",
             "--no-dtls", "--no-tcp-relay", f"--pidfile={self.dir.name}/turn.pid",
             "--log-file=stdout", "--simple-log", "--min-port=49160", "--max-port=49200"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        await asyncio.sleep(0.5)
        check(self.proc.poll() is None, "turnserver should be running")
        return self

    async def __aexit__(self, *exc):
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        self.log = out
        self.dir.cleanup()


def candidate_types(sdp):
    return sorted(set(re.findall(r"a=candidate:\S+ \d+ \S+ \d+ \S+ \d+ typ (\w+)", sdp)))


async def test_relay_only():
    async with TurnServer() as turn:
        config = (f"[daemon]\nice-servers = turn:robot:secret@127.0.0.1:{turn.port}\n"
                  "ice-transport-policy = relay\n\n" + MEDIA)
        async with Daemon(config, name="rtcbotd-turn") as d:
            info = await d.get_json("/api/robot")
            check(info["iceServers"] == [{"urls": f"turn:127.0.0.1:{turn.port}",
                                          "username": "robot", "credential": "secret"}]
                  and info["iceTransportPolicy"] == "relay", f"/api/robot: {info}")
            c = RTCBotClient(d.url, audio=False, name="via-turn")
            try:
                await c.connect(timeout=20)
                types = candidate_types(c.answer["sdp"])
                note(f"answer candidate types: {types}")
                check(types == ["relay"], f"only relay candidates should be answered: {types}")
                await c.wait_first_video(timeout=15)
                await asyncio.sleep(2)
                check(c.video_frames >= 10, f"frames through TURN: {c.video_frames}")
            finally:
                await c.close()


async def test_none_by_default():
    async with Daemon(MEDIA, name="rtcbotd-noice") as d:
        info = await d.get_json("/api/robot")
        check(info["iceServers"] == [] and info["iceTransportPolicy"] == "all", f"{info}")
        c = RTCBotClient(d.url, audio=False, name="host-only")
        try:
            await c.connect()
            types = candidate_types(c.answer["sdp"])
            check(types == ["host"], f"no server configured, only host candidates: {types}")
            await c.wait_first_video()
        finally:
            await c.close()


if __name__ == "__main__":
    run_tap([("ice-transport-policy = relay: TURN candidates only, video through coturn",
              test_relay_only),
             ("no ice-servers: host candidates only", test_none_by_default)])
