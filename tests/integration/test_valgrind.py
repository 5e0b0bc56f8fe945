#!/usr/bin/python3
"""rtcbotd under valgrind: a connect/disconnect cycle, then SIGTERM.

An RTCBot-shaped aiortc client connects, receives video, round-trips a
message on `default`, closes; then a second client connects and is still
attached while the daemon stops. The daemon must exit 0, and valgrind must
report no memory error and no definitely-lost block that involves rtcbotd's
own code: any frame of the report (access, "freed at", "allocated at") in
src/. Reports wholly inside the libraries (OpenSSL, GStreamer, libnice
threads; tests/data/valgrind.supp names the known GLib/libsoup ones) are
printed as notes, not failures.
TAP output; skipped when valgrind is not installed.
"""

import asyncio
import contextlib
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    Skip,
    check,
    make_config,
    note,
    rtcbotd_path,
    run_tap,
    sanitized,
    video_codecs,
)

SUPPRESSIONS = Path(__file__).resolve().parents[1] / "data" / "valgrind.supp"

# Small and slow media keep the run fast under valgrind; the code paths are
# the same as at full size (shared encoders, per-peer payloaders, data channel).
CONFIG = make_config(width=160, height=120, framerate=10, overlay="none")


OUR_FRAME = re.compile(r"\((?:main|rtcbotd-[a-z-]+)\.c:\d+\)")


def valgrind_reports(text):
    """Splits a valgrind log into its error and leak reports (blank-line separated)."""
    blocks, current = [], []
    for line in text.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if body.strip():
            current.append(body)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return [b for b in blocks if re.match(r"(Invalid|Conditional|Use of|Syscall|Mismatched|"
                                          r"Source and|Argument|.*definitely lost in)", b)]


def valgrind_wrapper(tmp, log):
    """A script that runs the real daemon under memcheck, logging to @log."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        raise Skip("valgrind is not installed")
    if sanitized():
        raise Skip("the daemon is built with sanitizers, which valgrind cannot run")
    wrapper = Path(tmp) / "rtcbotd-under-valgrind"
    # valgrind runs one thread at a time; its default lock lets a thread that
    # gives it up take it straight back, so a busy streaming thread can starve
    # the main loop for many seconds. --fair-sched=yes hands it round in turn.
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec {valgrind} --quiet --fair-sched=yes --leak-check=full --show-leak-kinds=definite "
        f"--errors-for-leak-kinds=definite --num-callers=40 "
        f"--suppressions={SUPPRESSIONS} --log-file={log} {rtcbotd_path()} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper)


async def start_under_valgrind(tmp, log, config, name, env=None):
    """Starts a Daemon for @config under memcheck, logging to @log; @env: more
    environment for it (GST_DEBUG, say)."""
    wrapper, real = valgrind_wrapper(tmp, log), rtcbotd_path()
    d = Daemon(config, name=name, env={"G_SLICE": "always-malloc", **(env or {})})
    os.environ["RTCBOTD"] = wrapper  # Daemon starts whatever RTCBOTD names
    try:
        await d.start(timeout=120)
    finally:
        os.environ["RTCBOTD"] = real
    return d


def valgrind_stacks(d):
    """Every thread's stack in @d, still running under valgrind (its gdbserver, through vgdb)."""
    gdb, vgdb = shutil.which("gdb"), shutil.which("vgdb")
    if not (gdb and vgdb and d.alive()):
        return "(no stacks: gdb or vgdb missing, or the daemon has exited)"
    try:
        out = subprocess.run([gdb, "-batch", "-nx", "-ex", "set pagination off",
                              "-ex", f"target remote | {vgdb} --pid={d.pid}",
                              "-ex", "thread apply all bt 30", "-ex", "detach", rtcbotd_path()],
                             capture_output=True, text=True, timeout=45)
    except subprocess.TimeoutExpired:
        return "(no stacks: gdb did not answer within 45 s)"
    frames = [l for l in out.stdout.splitlines() if l.startswith(("Thread ", "#"))]
    return "\n".join(frames) or out.stderr[-2000:]


@contextlib.contextmanager
def stacks_on_failure(d):
    """A failure while @d runs under valgrind prints its threads' stacks: a
    daemon that stopped answering shows where it waits. Also on run_tap's
    timeout (a cancellation), the usual end of a daemon that hangs."""
    try:
        yield
    except (Exception, asyncio.CancelledError):
        note(f"--- threads of {d.name} under valgrind ---\n{valgrind_stacks(d)}", stderr=True)
        raise


def check_report(d, log):
    """Fails on a valgrind report involving rtcbotd's code; notes the others."""
    report = log.read_text() if log.exists() else ""
    check(log.exists(), "valgrind wrote no log")
    reports = valgrind_reports(report)
    ours = [r for r in reports if OUR_FRAME.search(r)]
    for r in reports:
        if r not in ours:
            note("inside the libraries, not counted:\n" + r)
    check(d.returncode == 0, f"daemon exit {d.returncode} under valgrind\n{report[-6000:]}")
    check(not ours, "valgrind reports involving rtcbotd's code:\n" + "\n\n".join(ours))
    note(f"valgrind: nothing involving rtcbotd's code ({len(reports)} library reports)")


async def test_cycle():
    with tempfile.TemporaryDirectory(prefix="rtcbotd-valgrind-") as tmp:
        log = Path(tmp) / "valgrind.log"
        d = await start_under_valgrind(tmp, log, CONFIG, "rtcbotd-valgrind")
        a = RTCBotClient(d.url, name="valgrind-a")
        # b takes the camera's second encoder (VP8 beside the preferred H.264),
        # which the reload below must tear down after b has left.
        b = RTCBotClient(d.url, codecs=video_codecs("video/VP8"), name="valgrind-b")
        c = None
        try:
            with stacks_on_failure(d):
                await a.connect(timeout=60)
                await a.wait_first_video(timeout=60)
                await a.wait_open(timeout=60)
                a.send({"cycle": 1})
                got = await a.recv(timeout=60)
                check(got[1] == {"cycle": 1}, f"echo under valgrind: {got!r}")
                await a.close()
                await d.wait_peers(0, timeout=60)
                await b.connect(timeout=60)
                await b.wait_first_video(timeout=60)
                # A reload that changes the camera: b is closed, the old camera
                # retires and is freed, a new one is built; a broken file after it.
                d.reload(CONFIG.replace("width = 160", "width = 160\npattern = ball"))
                await d.wait_output("[source camera]: started (reload)", timeout=60)
                for _ in range(20):  # /metrics reads every peer's tracks while b closes
                    await d.get_text("metrics", timeout=30)
                await d.wait_peers(0, timeout=60)
                d.reload(CONFIG + "\n[nonsense]\n")
                await d.wait_output("keeping the running configuration", timeout=60)
                c = RTCBotClient(d.url, name="valgrind-c")
                await c.connect(timeout=60)
                await c.wait_first_video(timeout=60)
                await d.stop(timeout=90, check_exit=False)  # with c still attached
        finally:
            await a.close()
            await b.close()
            if c:
                await c.close()
        check_report(d, log)


CONTROL_WORKER = "import sys\nfor line in sys.stdin:\n    print(line.strip(), flush=True)\n"


def control_config(tmp):
    worker = Path(tmp) / "worker.py"
    worker.write_text(CONTROL_WORKER)
    return f"""\
[daemon]
listen = 127.0.0.1:0
control = single
control-token = t

[sink arduino]
type = serial
device = {tmp}/robot
write-format = <hh
write-keys = forward;turn
read-format = <h
start-byte = 192,105
frame-marker = 170,85

[sink worker]
type = exec
command = /usr/bin/python3 {worker}

[sink dash]
type = websocket

[sink bridge]
type = socket
path = {tmp}/bridge.sock

[source pad]
type = evdev
device = {tmp}/missing-pad

[route drive]
from = peers.messages;pad
to = arduino;worker;dash;bridge;log
map = forward=key.w*100+axis.1*-100,round turn=key.d*50-key.a*50
failsafe = 200ms {{"forward":0,"turn":0}}

[route back]
from = arduino;worker
to = peers
"""


async def test_control_cycle():
    """The control plane under valgrind: serial (handshake, struct writes,
    frame-marker reads, unplug and return), a map and its failsafe, an exec
    worker, websocket and socket endpoints, a missing evdev device, control
    commands; then SIGTERM with the failsafe going out."""
    with tempfile.TemporaryDirectory(prefix="rtcbotd-valgrind-") as tmp:
        log = Path(tmp) / "valgrind.log"
        socat = ["socat", f"pty,raw,echo=0,link={tmp}/robot", f"pty,raw,echo=0,link={tmp}/mcu"]
        pty = subprocess.Popen(socat, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not os.path.exists(f"{tmp}/mcu"):
            time.sleep(0.01)
        d = await start_under_valgrind(tmp, log, control_config(tmp), "control-valgrind")
        c = RTCBotClient(d.url, video=False, audio=False, name="driver")
        try:
            with stacks_on_failure(d):
                await c.connect(timeout=60)
                await c.wait_open(timeout=60)
                mcu = os.open(f"{tmp}/mcu", os.O_RDWR | os.O_NOCTTY)
                os.write(mcu, bytes([192, 105]) + b"\xaa\x55" + struct.pack("<h", 7) + b"\xaa\x55")
                c.send({"type": "keydown", "key": "w", "keyCode": 87})
                c.send({"rtcbotd": "alive"})
                c.send({"rtcbotd": "take-control", "token": "wrong"})
                c.send({"rtcbotd": "nonsense"})
                c.send({"forward": 1e9})
                c.send({"type": "keyup", "key": "w", "keyCode": 87})
                await asyncio.sleep(1.0)  # the worker echoes, the failsafe fires, under valgrind
                os.close(mcu)
                pty.terminate()
                pty.wait()
                await asyncio.sleep(1.0)  # the port is down and retried
                pty = subprocess.Popen(socat, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                await asyncio.sleep(1.5)  # and comes back
                c.send({"type": "keydown", "key": "d", "keyCode": 68})
                await asyncio.sleep(0.5)
                # Reload: the worker and the map change, the serial port stays open.
                d.reload(control_config(tmp).replace("worker.py\n", "worker.py changed\n")
                         .replace("turn=key.d*50", "turn=key.d*60"))
                await d.wait_output("configuration reloaded", timeout=60)
                c.send({"type": "keydown", "key": "d", "keyCode": 68})
                await asyncio.sleep(0.5)
                await d.stop(timeout=90, check_exit=False)
        finally:
            await c.close()
            pty.terminate()
            pty.wait()
        out = d.output()
        for line in ("[sink arduino]: ready (start bytes received)", "failsafe: no input for 200 ms",
                     "[sink worker]: stopped (reload)", "configuration reloaded",
                     "[sink arduino]: down:", "[sink worker]: up", "[source pad]: down:",
                     "failsafe: the daemon is stopping"):
            check(line in out, f"the cycle did not reach {line!r}")
        check(out.count("[sink arduino]: up") >= 2, "the serial port did not come back")
        check_report(d, log)


async def test_inbound_cycle():
    """What peers send, under valgrind: a peer's tone and VP8 camera go into
    a record sink (depayloaded, parsed, teed), /metrics reads their counters,
    the peer leaves (its streams leave the sink and are freed); a second peer
    is still sending while the daemon stops."""
    from test_inbound import Sender  # the aiortc peer that sends media

    routes = ("\n[sink rec]\ntype = record\npath = {tmp}/peer-%H%M%S.mkv\n"
              "\n[route from-peers]\nfrom = peers.audio;peers.video\nto = rec\n")
    with tempfile.TemporaryDirectory(prefix="rtcbotd-valgrind-") as tmp:
        log = Path(tmp) / "valgrind.log"
        # Under valgrind a receiving peer's packets may wait longer than the
        # 15 s silence limit (the limit itself is test_pathloss's).
        config = CONFIG.replace("[daemon]\n", "[daemon]\npeer-timeout = 60\n", 1)
        check("peer-timeout = 60" in config, "no [daemon] group in the test config")
        d = await start_under_valgrind(tmp, log, config + routes.format(tmp=tmp),
                                       "inbound-valgrind")
        first = Sender(d.url, video=True, video_codec="video/VP8")
        second = Sender(d.url)
        try:
            with stacks_on_failure(d):
                await first.connect(timeout=60)
                # Under valgrind on a busy machine DTLS and the first RTP take long.
                await d.wait_output("peer 1: receiving video", timeout=120)
                await d.wait_output("peer 1: receiving audio", timeout=60)
                for _ in range(5):
                    await d.get_text("metrics", timeout=30)
                await first.close()
                await d.wait_peers(0, timeout=60)
                await second.connect(timeout=60)
                await d.wait_output("peer 2: receiving audio", timeout=60)
                await d.stop(timeout=90, check_exit=False)  # with the second still sending
        finally:
            await first.close()
            await second.close()
        # Whether a file got written in time depends on how slow valgrind is; the
        # streams reaching the sink is what matters here.
        for line in ("[sink rec]: peer 1's opus stream joins", "[sink rec]: peer 1's VP8 stream joins",
                     "[sink rec]: peer 2's opus stream joins"):
            check(line in d.output(), f"the cycle did not reach {line!r}")
        check_report(d, log)


if __name__ == "__main__":
    run_tap([("connect/disconnect cycle under valgrind: no errors, no leaks", test_cycle),
             ("control plane under valgrind: no errors, no leaks", test_control_cycle),
             ("peers' media under valgrind: no errors, no leaks", test_inbound_cycle)],
            timeout=200)  # each takes about 60 s; meson's 420 s must leave room for the stacks
