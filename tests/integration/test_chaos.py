#!/usr/bin/python3
"""Chaos: faults a robot meets in the field, each survived with the expected
log lines, and after each a new aiortc peer still gets video.

- clients SIGKILLed mid-negotiation (before reading the answer, right after
  it, and once connected): the daemon drops each, peer count back to 0;
- a `gst` udpsrc source whose sender (a gst-launch-1.0 the test kills) stops:
  stalled, down, restarted, up again when the sender is back, while a
  test-video source keeps flowing to the same peer;
- a serial sink's pty that disappears while messages are written to it:
  logged once, reopened when it is back, messages arrive again;
- SIGHUP with a broken config while a peer streams: the error names the
  line, the old config stays, the peer keeps receiving frames;
- an exec worker that hangs (never reads): logged once, the other worker's
  route keeps answering.

TAP output.  Environment: RTCBOTD (daemon binary), PYTHONPATH including
tests/common.  RTCBOTD_TEST_ONLY=substring runs a subset.
"""

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tty
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    TestFailure,
    check,
    note,
    run_tap,
    sdp_sections,
    wait_until,
)

OFFER_SDP = (Path(__file__).resolve().parents[1] / "data" / "aiortc-offer.sdp").read_text()

CAMERA = """\
[source camera]
type = test-video
width = 320
height = 240
framerate = 15
encoder = vp8
"""

# The daemon's own limit for a peer that never connects (src/rtcbotd-peer.c).
CONNECT_TIMEOUT_S = 30


def daemon_config(body="", routes="from = camera\nto = peers\n"):
    return f"""\
[daemon]
listen = 127.0.0.1:0
peer-timeout = 5
control = shared

{CAMERA}
{body}
[route media]
{routes}"""


def log_lines(d, pattern):
    """The daemon's log lines matching the regex @pattern, without GLib's prefix."""
    out = []
    for line in d.output().splitlines():
        m = re.search(pattern, line)
        if m:
            out.append(re.sub(r"^.*?rtcbotd-[A-Za-z]+( \*\*)?: [0-9:.]+: ", "", line))
    return out


def show(d, pattern):
    """Notes (TAP) and returns the log lines matching @pattern."""
    lines = log_lines(d, pattern)
    for line in lines:
        note(f"log: {line}")
    return lines


async def new_peer_gets_video(d, what):
    async with RTCBotClient(d.url, audio=False, name=f"after-{what}") as c:
        await c.connect()
        took = await c.wait_first_video(15)
        note(f"after {what}: a new peer decoded its first frame {took:.2f} s after its POST")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# clients killed mid-negotiation
# --------------------------------------------------------------------------

# POSTs an offer on a raw socket, says so, and waits to be killed unread.
RAW_POSTER = r"""
import json, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
body = json.dumps({"type": "offer", "sdp": sys.stdin.read()}).encode()
s = socket.create_connection((host, port))
s.sendall(b"POST /connect HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body)
print("posted", flush=True)
time.sleep(120)
"""

# An aiortc client of rtcbotd_test: "answer" kills itself as soon as the
# answer is read (its ICE never starts); "connected" waits to be killed
# once it decodes video.
AIORTC_VICTIM = r"""
import asyncio, json, os, signal, sys
import aiohttp
from rtcbotd_test import RTCBotClient

async def main(url, mode):
    c = RTCBotClient(url, audio=False, name=mode)
    await c.prepare()
    if mode == "answer":
        async with aiohttp.ClientSession() as s:
            async with s.post(url + "connect", data=json.dumps(c.offer)) as r:
                await r.json()
        os.kill(os.getpid(), signal.SIGKILL)
    await c.post()
    await c.wait_first_video(15)
    print("video", flush=True)
    await asyncio.sleep(120)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def spawn_python(script, *args, stdin=None):
    return subprocess.Popen(["/usr/bin/python3", "-c", script, *args],
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))


async def read_line(proc, timeout):
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout)
    if not line:
        raise TestFailure(f"subprocess exited ({proc.wait()}): {proc.stderr.read()[-2000:]!r}")
    return line.decode().strip()


async def test_clients_killed():
    async with Daemon(daemon_config(), name="killed") as d:
        # Before reading the answer: the daemon has the offer when it dies.
        poster = spawn_python(RAW_POSTER, d.host, str(d.port), stdin=True)
        poster.stdin.write(OFFER_SDP.encode())
        poster.stdin.close()
        check(await read_line(poster, 10) == "posted", "the raw poster did not post")
        await d.wait_output("offer with", timeout=10)
        poster.kill()
        poster.wait()
        # Right after the answer, before ICE; and once connected with video.
        answered = spawn_python(AIORTC_VICTIM, d.url, "answer")
        connected = spawn_python(AIORTC_VICTIM, d.url, "connected")
        check(await read_line(connected, 20) == "video", "the connected victim got no video")
        connected.kill()
        connected.wait()
        check(answered.wait(20) == -signal.SIGKILL, "the answer victim did not kill itself")
        note(f"three clients killed; peers now {await d.peers()}")
        took = await d.wait_peers(0, CONNECT_TIMEOUT_S + 5)
        note(f"peer count back to 0 {took:.1f} s after the last kill")
        closing = show(d, r"peer \d+: (closing|gone)")
        reasons = [line.split("closing: ", 1)[1] for line in closing if "closing: " in line]
        check(len(reasons) == 3, f"expected 3 peers closed, log says {reasons}")
        check(sum(r == "silent for more than 5 s" for r in reasons) == 1,
              f"the connected victim was not dropped after peer-timeout = 5: {reasons}")
        check(all(r in ("silent for more than 5 s", f"did not connect within {CONNECT_TIMEOUT_S} s",
                        "ICE or DTLS failed") for r in reasons), f"unexpected reasons {reasons}")
        check(d.alive(), "the daemon died")
        await new_peer_gets_video(d, "killed clients")


# --------------------------------------------------------------------------
# a source's producer stops
# --------------------------------------------------------------------------

RAW_CAPS = ("application/x-rtp,media=video,encoding-name=RAW,sampling=YCbCr-4:2:0,"
            "depth=(string)8,width=(string)160,height=(string)120,clock-rate=90000")


def start_sender(port):
    return subprocess.Popen(
        ["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "!",
         "video/x-raw,format=I420,width=160,height=120,framerate=15/1", "!", "rtpvrawpay",
         "!", "udpsink", "host=127.0.0.1", f"port={port}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def track_frames(c, source):
    """Frames @c decoded from @source's track (found by its msid in the answer)."""
    mids = {}
    for mline, attrs in sdp_sections(c.answer["sdp"]):
        mid = next((a[6:] for a in attrs if a.startswith("a=mid:")), None)
        name = next((m.group(1) for a in attrs if (m := re.search(r"msid:rtcbotd (\S+)", a))),
                    None)
        if mline.startswith("m=video") and name:
            mids[name] = mid
    for t in c.pc.getTransceivers():
        if t.mid == mids.get(source) and t.receiver.track is not None:
            return c.frames_by_track.get(t.receiver.track.id, 0)
    raise TestFailure(f"no track of [source {source}] in the answer (msids {mids})")


async def source_state(d, name):
    return (await d.healthz())["source-states"][name]


async def test_source_producer_stops():
    port = free_udp_port()
    udp = (f"[source udp]\ntype = gst\nencoder = vp8\n"
           f"pipeline = udpsrc port={port} caps=\"{RAW_CAPS}\" ! rtpvrawdepay\n")
    sender = start_sender(port)
    try:
        async with Daemon(daemon_config(udp, "from = camera;udp\nto = peers\n"),
                          name="stall") as d:
            async with RTCBotClient(d.url, video=2, audio=False, name="viewer") as c:
                await c.connect()
                await wait_until(lambda: track_frames(c, "udp") > 5 and
                                 track_frames(c, "camera") > 5, 15)
                sender.kill()
                sender.wait()
                t_kill = time.monotonic()
                camera_before = track_frames(c, "camera")
                await d.wait_output("[source udp]: stalled: no frame for 2.0 s; restarting",
                                    timeout=6)
                note(f"stall logged {time.monotonic() - t_kill:.1f} s after the sender died")
                udp_before = track_frames(c, "udp")  # from here on, only fillers
                state = await source_state(d, "udp")
                check(state["state"] == "down" and "stalled" in state.get("reason", ""),
                      f"/healthz during the stall: {state}")
                # Restarted with backoff while the sender stays away.
                async def restarted():
                    return (await source_state(d, "udp"))["restarts"] >= 2
                await wait_until(restarted, 8)
                check((await source_state(d, "udp"))["state"] == "down", "up without a sender")
                camera_during = track_frames(c, "camera") - camera_before
                fps = camera_during / (time.monotonic() - t_kill)
                note(f"the camera kept flowing during the stall: {fps:.1f} fps")
                check(fps >= 10, f"the other source slowed down to {fps:.1f} fps")
                check((await source_state(d, "camera"))["state"] == "up", "camera not up")
                # Away for longer than the 5 s after which rtpsession says BYE for a
                # silent sender, and aiortc ends the track for good; the fillers
                # (the last picture again, once a second) keep it alive.
                await asyncio.sleep(max(0.0, 8 - (time.monotonic() - t_kill)))
                fillers = track_frames(c, "udp") - udp_before
                note(f"frozen pictures while the sender was away "
                     f"{time.monotonic() - t_kill:.1f} s: {fillers}")
                check(fillers >= 3, f"{fillers} frozen pictures in the outage's last 5 s "
                      "(one a second after 2 s without a frame)")
                check((await source_state(d, "udp"))["state"] == "down", "up on fillers alone")

                sender = start_sender(port)
                t_back = time.monotonic()

                async def up():
                    return (await source_state(d, "udp"))["state"] == "up"
                await wait_until(up, 15)
                note(f"up {time.monotonic() - t_back:.1f} s after the sender came back")
                await d.wait_output("[source udp]: up", timeout=2)
                udp_back = track_frames(c, "udp")
                await wait_until(lambda: track_frames(c, "udp") > udp_back + 5, 10)
                show(d, r"\[source udp\]: (stalled|down|up)")
                check(len(log_lines(d, r"\[source udp\]: stalled")) == 1, "stall not logged once")
            async with RTCBotClient(d.url, video=2, audio=False, name="after-stall") as c2:
                await c2.connect()
                await wait_until(lambda: track_frames(c2, "udp") > 0, 15)
                note("after the stall: a new peer decodes the udp source")
            await new_peer_gets_video(d, "the stall")
    finally:
        sender.kill()
        sender.wait()


# --------------------------------------------------------------------------
# the pty goes away
# --------------------------------------------------------------------------

class Pty:
    """Two connected ptys made by socat (as tests/integration/test_control.py):
    the daemon opens `robot`, the test reads what it writes on `mcu`."""

    def __init__(self, directory):
        self.robot = str(Path(directory) / "robot")
        self.mcu = str(Path(directory) / "mcu")
        self.proc = None
        self.fd = None

    def start(self):
        for p in (self.robot, self.mcu):
            if os.path.lexists(p):
                os.unlink(p)
        self.proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={self.robot}", f"pty,raw,echo=0,link={self.mcu}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while not (os.path.exists(self.robot) and os.path.exists(self.mcu)):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise TestFailure("socat did not make the pty pair")
            time.sleep(0.01)  # polling for socat's links, with a deadline
        self.fd = os.open(self.mcu, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        return self

    def stop(self):
        """The cable comes out: socat killed, both ends gone at once."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def read_now(self):
        out = b""
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except (BlockingIOError, OSError):
                return out
            if not chunk:
                return out
            out += chunk


async def test_pty_unplugged():
    with tempfile.TemporaryDirectory(prefix="rtcbotd-chaos-") as tmp:
        pty = Pty(tmp).start()
        body = f"[sink arduino]\ntype = serial\ndevice = {pty.robot}\n"
        routes = "from = camera\nto = peers\n\n[route drive]\nfrom = peers.messages\nto = arduino\n"
        try:
            async with Daemon(daemon_config(body, routes), name="pty") as d:
                async with RTCBotClient(d.url, audio=False, name="driver") as c:
                    await c.connect()
                    await c.wait_open()
                    sending = True

                    async def send_forever():
                        n = 0
                        while sending:
                            c.send({"n": n})
                            n += 1
                            await asyncio.sleep(0.01)  # the pace of a driver, not a wait
                    sender = asyncio.ensure_future(send_forever())
                    try:
                        await wait_until(lambda: pty.read_now() != b"", 5)
                        pty.stop()  # mid-write: messages keep coming
                        await d.wait_output("[sink arduino]: down:", timeout=5)
                        await asyncio.sleep(1)  # a window of routed messages to a gone port
                        check(d.alive(), "the daemon died with the pty")
                        pty.start()
                        await d.wait_output("[sink arduino]: up", timeout=15, count=2)
                        data = b""

                        def arrived():
                            nonlocal data
                            data += pty.read_now()
                            return b'{"n":' in data
                        await wait_until(arrived, 5)
                        note(f"after the pty came back: {data[:40]!r}...")
                    finally:
                        sending = False
                        await sender
                    await c.wait_first_video(10)
                lines = show(d, r"\[sink arduino\]: (down|up)")
                check(len([line for line in lines if ": down:" in line]) == 1,
                      "the unplugged pty was not logged exactly once")
                await new_peer_gets_video(d, "the pty unplugged")
        finally:
            pty.stop()


# --------------------------------------------------------------------------
# SIGHUP with a broken file
# --------------------------------------------------------------------------

async def test_sighup_broken_config():
    cfg = daemon_config()
    async with Daemon(cfg, name="sighup") as d:
        async with RTCBotClient(d.url, audio=False, name="streaming") as c:
            await c.connect()
            await c.wait_first_video(15)
            before = await c.video_fps(2.0)
            broken = cfg + "\n[source rear]\ntype = test-video\nwidht = 320\n"
            line = broken.splitlines().index("widht = 320") + 1
            d.reload(broken)
            await d.wait_output("keeping the running configuration", timeout=10)
            error = show(d, r"reload: ")
            expected = f"{d.config_path()}:{line}: [source rear] widht"
            check(error and expected in error[0], f"the error does not name {expected}: {error}")
            after = await c.video_fps(2.0)
            note(f"the streaming peer: {before:.1f} fps before the SIGHUP, {after:.1f} after")
            check(after >= 10 and after >= before * 0.6, f"video slowed to {after:.1f} fps")
            check(c.pc.connectionState == "connected", f"the peer was closed: {c.state()}")
            check((await d.healthz())["peers"] == 1, "the streaming peer is gone")
            check("rear" not in (await d.healthz())["source-states"], "the broken file applied")
        await new_peer_gets_video(d, "the broken SIGHUP")


# --------------------------------------------------------------------------
# an exec worker that hangs
# --------------------------------------------------------------------------

ECHO_WORKER = r"""
import json, sys
for line in sys.stdin:
    print(json.dumps({"echo": json.loads(line)}), flush=True)
"""

HUNG_WORKER = "import time\ntime.sleep(100000)\n"


async def expect_echo(c, value, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        _, m = await c.recv(max(deadline - time.monotonic(), 0.01))
        if m == {"echo": value}:
            return


async def test_exec_hangs():
    with tempfile.TemporaryDirectory(prefix="rtcbotd-chaos-") as tmp:
        (Path(tmp) / "echo.py").write_text(ECHO_WORKER)
        (Path(tmp) / "hung.py").write_text(HUNG_WORKER)
        # The echo worker keeps up; its queue holds the whole burst while it does.
        body = (f"[sink echo]\ntype = exec\ncommand = /usr/bin/python3 {tmp}/echo.py\n"
                f"queue-length = 1000\n\n"
                f"[sink hung]\ntype = exec\ncommand = /usr/bin/python3 {tmp}/hung.py\n"
                f"queue-length = 16\n")
        routes = ("from = camera\nto = peers\n\n[route in]\nfrom = peers.messages\n"
                  "to = echo;hung\n\n[route out]\nfrom = echo\nto = peers\n")
        async with Daemon(daemon_config(body, routes), name="exec") as d:
            async with RTCBotClient(d.url, audio=False, name="user") as c:
                await c.connect()
                await c.wait_open()
                await c.wait_first_video(15)
                c.send({"first": 1})
                await expect_echo(c, {"first": 1})
                # More than the pipe's 4 KiB backlog and the 16 queued.
                for i in range(200):
                    c.send({"i": i, "pad": "x" * 200})
                await d.wait_output("[sink hung]: pid", timeout=10)
                show(d, r"\[sink hung\]")
                check(len(log_lines(d, r"does not keep up with its input")) == 1, "not logged once")
                c.send({"after": 2})
                await expect_echo(c, {"after": 2})
                fps = await c.video_fps(1.5)
                note(f"video while a worker hangs: {fps:.1f} fps")
                check(fps >= 10, f"video dropped to {fps:.1f} fps")
                hung = (await d.healthz())["endpoints"]["hung"]
                check(hung["state"] == "up" and hung["dropped"] > 0, f"hung worker: {hung}")
            await new_peer_gets_video(d, "the hung worker")


if __name__ == "__main__":
    run_tap([
        ("clients SIGKILLed mid-negotiation are dropped, peers back to 0", test_clients_killed),
        ("a udpsrc source whose sender dies: stalled, restarted, up again",
         test_source_producer_stops),
        ("a serial pty unplugged mid-write: logged once, reopened", test_pty_unplugged),
        ("SIGHUP with a broken file while streaming: old config kept, frames flow",
         test_sighup_broken_config),
        ("an exec worker that hangs: logged once, other routes work", test_exec_hangs),
    ], timeout=60)
