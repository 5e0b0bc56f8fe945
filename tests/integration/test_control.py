#!/usr/bin/python3
"""The control plane end to end: aiortc peers (RTCBot's Python client shape)
drive a "microcontroller" on a pty pair, through routes with maps and
failsafes; exec workers, websocket and unix-socket clients publish and
subscribe; named data channels; control arbitration.

TAP output.  Environment: RTCBOTD (daemon binary), PYTHONPATH including
tests/common.  RTCBOTD_TEST_ONLY=substring runs a subset.
"""

import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import tty
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

import aiohttp  # noqa: E402

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    TestFailure,
    check,
    note,
    run_tap,
    wait_until,
)

# The failsafe margin the issue asks for: neutral bytes within timeout + 50 ms.
# The machine is shared and noisy; the margin measured is printed.
FAILSAFE_MARGIN = float(os.environ.get("RTCBOTD_FAILSAFE_MARGIN", "0.05"))


class Pty:
    """Two connected ptys made by socat: the daemon opens `robot`, the test
    plays the microcontroller on `mcu` (reads what the daemon writes, writes
    sensor bytes back)."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.robot = str(self.dir / "robot")
        self.mcu = str(self.dir / "mcu")
        self.proc = None
        self.fd = None

    def start(self):
        for p in (self.robot, self.mcu):
            if os.path.lexists(p):
                os.unlink(p)
        self.proc = subprocess.Popen(
            ["socat", "-d", "-d", f"pty,raw,echo=0,link={self.robot}",
             f"pty,raw,echo=0,link={self.mcu}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        while not (os.path.exists(self.robot) and os.path.exists(self.mcu)):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise TestFailure("socat did not make the pty pair")
            time.sleep(0.01)
        self.fd = os.open(self.mcu, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        return self

    def stop(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)

    def write(self, data):
        os.write(self.fd, data)

    def read_now(self):
        out = b""
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except BlockingIOError:
                return out
            if not chunk:
                return out
            out += chunk

    async def read_exactly(self, n, timeout=5.0):
        """Reads n bytes; returns (bytes, monotonic time the last one arrived)."""
        out = b""
        deadline = time.monotonic() + timeout
        while len(out) < n:
            out += self.read_now()
            if len(out) >= n:
                break
            if time.monotonic() > deadline:
                raise TestFailure(f"pty: got {out!r}, expected {n} bytes within {timeout} s")
            await asyncio.sleep(0.002)
        return out, time.monotonic()

    async def expect_neutral(self, marker=b""):
        """The neutral command the daemon writes first, whenever the port opens."""
        data, _ = await self.read_exactly(len(marker) + 4)
        # Under load a failsafe's neutral command may already follow it.
        one = marker + NEUTRAL
        check(data == one * (len(data) // len(one)),
              f"pty: expected the neutral command first, got {data!r}")

    async def expect_silence(self, seconds):
        await asyncio.sleep(seconds)  # a window in which nothing may arrive
        data = self.read_now()
        check(data == b"", f"pty: expected nothing, got {data!r}")


def rover_config(pty, extra_sink="", extra="", control="single"):
    return f"""\
[daemon]
listen = 127.0.0.1:0
control = {control}

[sink arduino]
type = serial
device = {pty.robot}
write-format = <hh
write-keys = forward;leftright
read-format = <hH
read-keys = temp;millivolts
start-byte = 192,105
{extra_sink}
[route drive]
from = peers.messages
to = arduino
failsafe = 500ms {{"forward":0,"leftright":0}}

[route telemetry]
from = arduino
to = peers
{extra}"""


async def data_client(d, name="client", ask_role=True, **kw):
    c = RTCBotClient(d.url, video=False, audio=False, name=name, **kw)
    await c.connect()
    await c.wait_open()
    if ask_role:  # as the built-in page does; roles are opt-in
        c.send({"rtcbotd": "role"})
    return c


async def expect_message(client, pred, what, timeout=5.0):
    """Next message that satisfies pred (skipping the daemon's role notes)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure(f"{client.name}: no {what} within {timeout} s")
        raw, parsed = await client.recv(left)
        if pred(parsed):
            return parsed


def is_role(m, role=None):
    return isinstance(m, dict) and m.get("rtcbotd") == "role" and (role is None or m["role"] == role)


NEUTRAL = struct.pack("<hh", 0, 0)


# --------------------------------------------------------------------------
# serial
# --------------------------------------------------------------------------

async def test_serial_struct_round_trip():
    with tempfile.TemporaryDirectory() as tmp:
        pty = Pty(tmp).start()
        try:
            async with Daemon(rover_config(pty), name="rover") as d:
                async with await data_client(d) as c:
                    await expect_message(c, lambda m: is_role(m, "driver"), "role: driver")
                    c.send({"forward": 100, "leftright": -20})
                    # Not written before the board says it has booted.
                    await pty.expect_silence(0.3)
                    pty.write(b"\x01\x02junk" + bytes([192, 105]))
                    # Once ready: first the neutral command, then what was queued.
                    data, _ = await pty.read_exactly(8)
                    check(data == NEUTRAL + struct.pack("<hh", 100, -20),
                          f"pty got {data!r}, expected neutral, then struct.pack('<hh', 100, -20)")
                    # The microcontroller answers with a sensor struct.
                    pty.write(struct.pack("<hH", -5, 3300))
                    m = await expect_message(c, lambda m: isinstance(m, dict) and "temp" in m,
                                             "telemetry")
                    check(m == {"temp": -5, "millivolts": 3300}, f"telemetry {m}")
                    h = await d.healthz()
                    arduino = h["endpoints"]["arduino"]
                    check(arduino["state"] == "up" and arduino["ready"], f"health {arduino}")
        finally:
            pty.stop()


async def test_serial_frame_marker_and_ranges():
    with tempfile.TemporaryDirectory() as tmp:
        pty = Pty(tmp).start()
        cfg = rover_config(pty, extra_sink="frame-marker = 0xAA,0x55\n").replace(
            "start-byte = 192,105\n", "")
        try:
            async with Daemon(cfg, name="marker") as d:
                await pty.expect_neutral(b"\xaa\x55")
                async with await data_client(d) as c:
                    c.send({"forward": 255, "leftright": -255})
                    data, _ = await pty.read_exactly(6)
                    check(data == b"\xaa\x55" + struct.pack("<hh", 255, -255), f"pty got {data!r}")
                    # Out of range for int16 and not a number: refused, nothing written.
                    c.send({"forward": 40000, "leftright": 0})
                    c.send({"forward": "fast", "leftright": 0})
                    c.send({"forward": 1})  # a missing key
                    await pty.expect_silence(0.3)
                    # Incoming frames: junk, a frame with a lost byte, then a good one.
                    good = b"\xaa\x55" + struct.pack("<hH", 21, 3000)
                    pty.write(b"\x00\x13" + b"\xaa\x55" + struct.pack("<hH", 9, 9)[:-1] + good)
                    m = await expect_message(c, lambda m: isinstance(m, dict) and "temp" in m,
                                             "telemetry")
                    check(m == {"temp": 21, "millivolts": 3000}, f"first decoded frame {m}")
                    await asyncio.sleep(0.2)
                    extra = [p for _, p in c.drain() if isinstance(p, dict) and "temp" in p]
                    check(extra == [], f"mis-decoded frames reached the peer: {extra}")
                    arduino = (await d.healthz())["endpoints"]["arduino"]
                    check(arduino["errors"] >= 3, f"refused messages not counted: {arduino}")
                    check(arduino["frames-dropped"] >= 1, f"short frame not counted: {arduino}")
                    out = d.output()
                    check("out of range" in out, "no log line for the out-of-range value")
        finally:
            pty.stop()


async def test_serial_unplug_and_return():
    with tempfile.TemporaryDirectory() as tmp:
        pty = Pty(tmp).start()
        cfg = rover_config(pty).replace("start-byte = 192,105\n", "")
        try:
            async with Daemon(cfg, name="unplug") as d:
                await pty.expect_neutral()
                async with await data_client(d) as c:
                    c.send({"forward": 1, "leftright": 2})
                    await pty.read_exactly(4)
                    pty.stop()  # the cable comes out

                    async def down():
                        return (await d.healthz())["endpoints"]["arduino"]["state"] == "down"
                    await wait_until(down, 5)
                    reason = (await d.healthz())["endpoints"]["arduino"]["reason"]
                    check(pty.robot in reason, f"reason does not name the device: {reason}")
                    pty.start()  # and goes back in

                    async def up():
                        return (await d.healthz())["endpoints"]["arduino"]["state"] == "up"
                    await wait_until(up, 15)
                    await pty.expect_neutral()  # a board that kept its last command stops
                    c.send({"forward": 3, "leftright": 4})
                    data, _ = await pty.read_exactly(4)
                    check(data == struct.pack("<hh", 3, 4), f"after reconnect: {data!r}")
                    check(d.output().count("down:") == 1,
                          "the unplugged port was not logged exactly once")
        finally:
            pty.stop()


# --------------------------------------------------------------------------
# failsafe
# --------------------------------------------------------------------------

async def test_failsafe_silence():
    with tempfile.TemporaryDirectory() as tmp:
        pty = Pty(tmp).start()
        cfg = rover_config(pty).replace("start-byte = 192,105\n", "")
        try:
            async with Daemon(cfg, name="silence") as d:
                await pty.expect_neutral()
                async with await data_client(d) as c:
                    c.send({"forward": 50, "leftright": 0})
                    _, t_cmd = await pty.read_exactly(4)
                    data, t_neutral = await pty.read_exactly(4, timeout=3)
                    check(data == NEUTRAL, f"failsafe bytes {data!r}")
                    late = t_neutral - t_cmd - 0.5
                    note(f"failsafe after silence: {t_neutral - t_cmd:.3f} s (timeout 0.5 s)")
                    check(-0.01 <= late <= FAILSAFE_MARGIN,
                          f"failsafe came {late * 1000:+.0f} ms after the timeout")
        finally:
            pty.stop()


KILLED_CLIENT = r"""
import asyncio, json, sys
sys.path.insert(0, sys.argv[2])
from rtcbotd_test import RTCBotClient
async def main():
    c = RTCBotClient(sys.argv[1], video=False, audio=False)
    await c.connect()
    await c.wait_open()
    n = 0
    while True:
        c.send({"forward": 100, "leftright": n % 7})
        n += 1
        print("sent", flush=True)
        await asyncio.sleep(0.1)
asyncio.run(main())
"""


async def test_failsafe_peer_killed():
    with tempfile.TemporaryDirectory() as tmp:
        pty = Pty(tmp).start()
        cfg = rover_config(pty).replace("start-byte = 192,105\n", "")
        try:
            async with Daemon(cfg, name="killed") as d:
                await pty.expect_neutral()
                proc = subprocess.Popen(
                    ["/usr/bin/python3", "-c", KILLED_CLIENT, d.url,
                     str(Path(__file__).resolve().parents[1] / "common")],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                try:
                    data, _ = await pty.read_exactly(4 * 5, timeout=15)
                    check(data[:4] == struct.pack("<hh", 100, 0), f"driven bytes {data[:4]!r}")
                    proc.kill()  # kill -9: no goodbye, no close
                    t_kill = time.monotonic()
                    # Commands already in flight may still arrive; then the neutral one.
                    deadline = time.monotonic() + 3
                    buf = b""
                    while NEUTRAL not in [buf[i:i + 4] for i in range(0, len(buf), 4)]:
                        if time.monotonic() > deadline:
                            raise TestFailure(f"no neutral command after kill -9: {buf!r}")
                        buf += pty.read_now()
                        await asyncio.sleep(0.002)
                    t_neutral = time.monotonic()
                    note(f"neutral command {t_neutral - t_kill:.3f} s after kill -9 "
                         "(commands every 0.1 s, failsafe 0.5 s)")
                    check(t_neutral - t_kill <= 0.5 + FAILSAFE_MARGIN,
                          f"neutral command {t_neutral - t_kill:.3f} s after kill -9")
                finally:
                    proc.kill()
                    proc.wait()
        finally:
            pty.stop()


async def test_failsafe_peer_leaves_and_shutdown():
    with tempfile.TemporaryDirectory() as tmp:
        pty = Pty(tmp).start()
        cfg = rover_config(pty).replace("start-byte = 192,105\n", "")
        try:
            d = Daemon(cfg, name="leave")
            await d.start()
            await pty.expect_neutral()
            try:
                c = await data_client(d)
                c.send({"forward": 7, "leftright": 7})
                await pty.read_exactly(4)
                t_close = time.monotonic()
                await c.close()  # a polite goodbye: no need to wait for the timeout
                data, t_neutral = await pty.read_exactly(4, timeout=3)
                check(data == NEUTRAL, f"after close: {data!r}")
                note(f"neutral command {t_neutral - t_close:.3f} s after the peer closed")
                check(t_neutral - t_close < 0.45, "the failsafe waited for the silence timeout")
                c2 = await data_client(d, name="second")
                c2.send({"forward": 9, "leftright": 9})
                await pty.read_exactly(4)
            finally:
                await d.stop()
            data, _ = await pty.read_exactly(4, timeout=3)
            check(data == NEUTRAL, f"at shutdown: {data!r}")
            check("failsafe: the daemon is stopping" in d.output(), "no shutdown failsafe log line")
            await c2.close()
        finally:
            pty.stop()


# --------------------------------------------------------------------------
# control arbitration
# --------------------------------------------------------------------------

async def test_single_driver_and_take_control():
    with tempfile.TemporaryDirectory() as tmp:
        pty = Pty(tmp).start()
        cfg = rover_config(pty).replace("start-byte = 192,105\n", "").replace(
            "control = single", "control = single\ncontrol-token = s3cret")
        try:
            async with Daemon(cfg, name="arbiter") as d:
                await pty.expect_neutral()
                a = await data_client(d, name="a")
                b = await data_client(d, name="b")
                # An RTCBot page never asks: it must hear no role, through every change below.
                r = await data_client(d, name="rtcbot-page", ask_role=False)
                await expect_message(a, lambda m: is_role(m, "driver"), "role driver for a")
                await expect_message(b, lambda m: is_role(m, "viewer"), "role viewer for b")
                b.send({"forward": 66, "leftright": 66})  # a viewer cannot drive
                await pty.expect_silence(0.3)
                b.send({"rtcbotd": "take-control", "token": "wrong"})
                err = await expect_message(b, lambda m: isinstance(m, dict)
                                           and m.get("rtcbotd") == "error", "error reply")
                check("token" in err["error"], f"error {err}")
                b.send({"rtcbotd": "take-control", "token": "s3cret"})  # too soon: one try per 250 ms
                err = await expect_message(b, lambda m: isinstance(m, dict)
                                           and m.get("rtcbotd") == "error", "second error reply")
                check("250 ms" in err["error"], f"error {err}")
                a.send({"forward": 11, "leftright": 0})
                await pty.read_exactly(4)
                await asyncio.sleep(0.3)
                b.send({"rtcbotd": "take-control", "token": "s3cret"})
                await expect_message(b, lambda m: is_role(m, "driver"), "b drives")
                await expect_message(a, lambda m: is_role(m, "viewer"), "a watches")
                data, _ = await pty.read_exactly(4)
                check(data == NEUTRAL, f"control changed hands without a stop: {data!r}")
                b.send({"forward": 22, "leftright": 0})
                data, _ = await pty.read_exactly(4)
                check(data == struct.pack("<hh", 22, 0), f"new driver's command {data!r}")
                await b.close()  # the driver leaves: control returns to a
                await expect_message(a, lambda m: is_role(m, "driver"), "a drives again", 10)
                unasked = [m for _, m in r.drain()]
                check(not unasked, f"the peer that never asked received {unasked}")
                r.send({"rtcbotd": "role"})  # it would have heard, had it asked
                await expect_message(r, lambda m: is_role(m, "viewer"), "role viewer for r")
                await r.close()
                health = await d.healthz()
                check(health["control"]["mode"] == "single", f"control {health['control']}")
                check(health["messages-ignored"] >= 1, "a viewer's message was not counted")
                await a.close()
        finally:
            pty.stop()


# --------------------------------------------------------------------------
# exec workers
# --------------------------------------------------------------------------

ECHO_WORKER = r"""
import json, sys
n = 0
for line in sys.stdin:
    msg = json.loads(line)
    n += 1
    print(json.dumps({"worker": msg, "n": n}), flush=True)
    if isinstance(msg, dict) and msg.get("crash"):
        print("crashing on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
"""

STUCK_WORKER = "import time\nwhile True: time.sleep(1)\n"


async def test_exec_worker():
    with tempfile.TemporaryDirectory() as tmp:
        worker = Path(tmp) / "worker.py"
        worker.write_text(ECHO_WORKER)
        stuck = Path(tmp) / "stuck.py"
        stuck.write_text(STUCK_WORKER)
        cfg = f"""\
[daemon]
listen = 127.0.0.1:0
control = shared

[source camera]
type = test-video

[sink worker]
type = exec
command = /usr/bin/python3 {worker}

[sink stuck]
type = exec
command = /usr/bin/python3 {stuck}
queue-length = 16

[route media]
from = camera
to = peers

[route in]
from = peers.messages
to = worker;stuck

[route out]
from = worker
to = peers
"""
        async with Daemon(cfg, name="exec") as d:
            async with RTCBotClient(d.url, audio=False, name="viewer") as c:
                await c.connect()
                await c.wait_open()
                await c.wait_first_video()
                c.send({"hello": 1})
                m = await expect_message(c, lambda m: isinstance(m, dict) and "worker" in m,
                                         "worker reply")
                check(m == {"worker": {"hello": 1}, "n": 1}, f"worker reply {m}")
                pid = (await d.healthz())["endpoints"]["worker"]["pid"]
                c.send({"crash": True})
                await expect_message(c, lambda m: isinstance(m, dict) and "worker" in m, "last")

                async def restarted():
                    w = (await d.healthz())["endpoints"]["worker"]
                    return w["state"] == "up" and w["pid"] != pid
                await wait_until(restarted, 10)
                c.send({"again": 2})
                m = await expect_message(c, lambda m: isinstance(m, dict) and "worker" in m,
                                         "reply from the restarted worker")
                check(m == {"worker": {"again": 2}, "n": 1}, f"restarted worker reply {m}")
                check("crashing on purpose" in d.output(), "worker stderr not in the log")
                check("exited with status 3" in d.output(), "worker exit not logged")
                # The stuck worker never reads: 3000 messages (300 KB, more than a pipe
                # holds) must not slow video or replies.
                t0 = time.monotonic()
                for i in range(3000):
                    c.send({"flood": i, "pad": "x" * 100})
                fps = await c.video_fps(2.0)
                note(f"video during the flood: {fps:.1f} fps")
                check(fps >= 20, f"video dropped to {fps:.1f} fps while a worker was stuck")
                stuck_health = (await d.healthz())["endpoints"]["stuck"]
                check(stuck_health["dropped"] > 0, f"stuck worker's queue not bounded: {stuck_health}")
                check(time.monotonic() - t0 < 10, "the flood took too long")


# --------------------------------------------------------------------------
# websocket and unix socket endpoints
# --------------------------------------------------------------------------

async def test_websocket_and_socket():
    with tempfile.TemporaryDirectory() as tmp:
        sock_path = os.path.join(tmp, "bridge.sock")
        cfg = f"""\
[daemon]
listen = 127.0.0.1:0
control = shared

[source dash]
type = websocket

[source bridge]
type = socket
path = {sock_path}

[route to-peers]
from = dash;bridge
to = peers

[route from-peers]
from = peers.messages
to = dash;bridge
"""
        async with Daemon(cfg, name="ws") as d:
            async with await data_client(d) as c, aiohttp.ClientSession() as s:
                ws = await s.ws_connect(d.url + "ws/dash")
                reader, writer = await asyncio.open_unix_connection(sock_path)
                await ws.send_str(json.dumps({"from": "ws"}))
                m = await expect_message(c, lambda m: isinstance(m, dict) and "from" in m, "ws msg")
                check(m == {"from": "ws"}, f"{m}")
                writer.write(b'{"from": "socket"}\n')
                await writer.drain()
                m = await expect_message(c, lambda m: isinstance(m, dict) and "from" in m, "sock")
                check(m == {"from": "socket"}, f"{m}")
                c.send({"to": "clients"})
                frame = await ws.receive(timeout=5)
                check(json.loads(frame.data) == {"to": "clients"}, f"ws got {frame.data}")
                line = await asyncio.wait_for(reader.readline(), 5)
                check(json.loads(line) == {"to": "clients"}, f"socket got {line!r}")
                await ws.close()
                writer.close()


# --------------------------------------------------------------------------
# named data channels
# --------------------------------------------------------------------------

async def test_named_channels_and_order():
    # 2000 messages at once below: more than the default rate limit lets through.
    cfg = """\
[daemon]
listen = 127.0.0.1:0
control = shared
max-messages-per-second = 10000

[route echo]
from = peers.messages
to = peers

[route control]
from = peers.channel.control
to = peers.channel.control
map = speed=axis.1*-100,round
"""
    async with Daemon(cfg, name="channels") as d:
        c = RTCBotClient(d.url, video=False, audio=False, name="chan",
                         channels=[("control", {"ordered": False, "maxRetransmits": 0})])
        async with c:
            await c.connect()
            await c.wait_open()
            control = c.channels["control"]
            got = asyncio.Queue()
            control.on("message", lambda m: got.put_nowait(json.loads(m)))

            async def opened():
                return control.readyState == "open"
            await wait_until(opened, 5)
            control.send(json.dumps({"type": "axis1", "value": -0.5}))
            # peers.messages hears every channel (the echo), the control route only its own.
            m = await asyncio.wait_for(got.get(), 5)
            check(m == {"speed": 50}, f"control channel got {m}")
            echo = await expect_message(c, lambda m: isinstance(m, dict) and "type" in m, "echo")
            check(echo == {"type": "axis1", "value": -0.5}, f"echo {echo}")
            # Ordered and reliable "default" keeps order under load.
            n = 2000
            for i in range(n):
                c.send({"seq": i})
            seen = []
            while len(seen) < n:
                _, p = await c.recv(10)
                if isinstance(p, dict) and "seq" in p:
                    seen.append(p["seq"])
            check(seen == list(range(n)), "default channel reordered or lost messages")


# --------------------------------------------------------------------------
# evdev
# --------------------------------------------------------------------------

EV_SYN, EV_KEY, EV_ABS = 0, 1, 3
ABS_X, ABS_Y, BTN_SOUTH = 0, 1, 0x130


def input_event(etype, code, value):
    """A struct input_event as the kernel writes it on 64-bit Linux."""
    now = time.time()
    return struct.pack("llHHi", int(now), int((now % 1) * 1e6), etype, code, value)


async def test_evdev_map_to_serial():
    """A gamepad (raw input_event records through a FIFO, as there is no
    uinput here) drives the serial sink through a map; unplugging it (the
    writer closes) sends the failsafe; it comes back by itself."""
    with tempfile.TemporaryDirectory() as tmp:
        pty = Pty(tmp).start()
        fifo = os.path.join(tmp, "pad")
        os.mkfifo(fifo)
        cfg = f"""\
[daemon]
listen = 127.0.0.1:0

[source pad]
type = evdev
device = {fifo}

[sink arduino]
type = serial
device = {pty.robot}
write-format = <hh
write-keys = forward;leftright

[route drive]
from = pad
to = arduino
map = forward=axis.ABS_Y*-2,offset=256,deadzone=20,clamp=-255:255,round leftright=axis.ABS_X*2,offset=-256,deadzone=20,clamp=-255:255,round
failsafe = 5s {{"forward":0,"leftright":0}}

[route journal]
from = pad
to = log
"""
        try:
            async with Daemon(cfg, name="evdev") as d:
                pad = await asyncio.to_thread(os.open, fifo, os.O_WRONLY)
                os.write(pad, input_event(EV_ABS, ABS_X, 128) + input_event(EV_ABS, ABS_Y, 128)
                         + input_event(EV_SYN, 0, 0))
                data, _ = await pty.read_exactly(12)  # neutral on open, then two commands
                check(data == NEUTRAL * 3, f"sticks at rest: {data!r}")
                os.write(pad, input_event(EV_ABS, ABS_Y, 0) + input_event(EV_SYN, 0, 0))
                data, _ = await pty.read_exactly(4)
                check(data == struct.pack("<hh", 255, 0), f"stick up: {data!r}")
                os.write(pad, input_event(EV_KEY, BTN_SOUTH, 1) + input_event(EV_SYN, 0, 0))
                await pty.expect_silence(0.2)  # no term names the button: no command
                os.close(pad)  # unplugged while pushed forward
                data, _ = await pty.read_exactly(4, timeout=3)
                check(data == NEUTRAL, f"failsafe when the pad went away: {data!r}")
                out = d.output()
                check('"code":"BTN_SOUTH","state":1,"event":"Key"' in out,
                      "RTCBot-shaped event not in the journal")
                check("[source pad]: down:" in out and "failsafe: [source pad] is down" in out,
                      "the lost pad was not reported")
        finally:
            pty.stop()


# --------------------------------------------------------------------------
# examples
# --------------------------------------------------------------------------

async def test_examples_check():
    root = Path(__file__).resolve().parents[2]
    examples = sorted((root / "config" / "examples").glob("*.conf"))
    check(len(examples) >= 3, f"examples missing: {examples}")
    for path in examples:
        r = subprocess.run([os.environ.get("RTCBOTD", str(root / "build/src/rtcbotd")),
                            "--check-config", str(path)], capture_output=True, text=True,
                           cwd=root)
        check(r.returncode == 0, f"{path.name}: exit {r.returncode}: {r.stderr}{r.stdout}")


TESTS = [
    ("serial: struct commands after the start bytes, sensor structs back",
     test_serial_struct_round_trip),
    ("serial: frame marker resync, out-of-range values refused", test_serial_frame_marker_and_ranges),
    ("serial: unplugged port is down with a reason, comes back", test_serial_unplug_and_return),
    ("failsafe: silence -> neutral command within timeout + margin", test_failsafe_silence),
    ("failsafe: driver killed -9 -> neutral command", test_failsafe_peer_killed),
    ("failsafe: driver leaves -> at once; daemon stops -> neutral command",
     test_failsafe_peer_leaves_and_shutdown),
    ("control: one driver, viewers ignored, take-control with the token; roles only to peers that ask",
     test_single_driver_and_take_control),
    ("exec: worker replies, crash restarts it, a stuck one is bounded", test_exec_worker),
    ("websocket and socket clients publish and subscribe", test_websocket_and_socket),
    ("named unordered channel reaches its route; default keeps order",
     test_named_channels_and_order),
    ("evdev records -> map -> serial struct; unplug -> failsafe", test_evdev_map_to_serial),
    ("config/examples pass --check-config", test_examples_check),
]

if __name__ == "__main__":
    run_tap(TESTS, timeout=60)
