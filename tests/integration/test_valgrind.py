#!/usr/bin/python3
"""rtcbotd under valgrind: a connect/disconnect cycle, then SIGTERM.

An RTCBot-shaped aiortc client connects, receives video, round-trips a
message on `default`, closes; then a second client connects and vanishes
without closing while the daemon stops. The daemon must exit 0 with no
memory error and no definitely-lost block (tests/data/valgrind.supp lists
the few leaks that belong to GLib/libsoup themselves).
TAP output; skipped when valgrind is not installed.
"""

import os
import re
import shutil
import stat
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    Skip,
    check,
    note,
    rtcbotd_path,
    run_tap,
)

SUPPRESSIONS = Path(__file__).resolve().parents[1] / "data" / "valgrind.supp"

# Small and slow media keep the run fast under valgrind; the code paths are
# the same as at full size (shared encoders, per-peer payloaders, data channel).
CONFIG = """
[daemon]
listen = 127.0.0.1:0
[source camera]
type = test-video
width = 160
height = 120
framerate = 10
overlay = none
encoder = vp8
[source tone]
type = test-audio
[route media]
from = camera;tone
to = peers
[route echo]
from = peers.messages
to = peers
"""


def valgrind_wrapper(tmp, log):
    """A script that runs the real daemon under memcheck, logging to @log."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        raise Skip("valgrind is not installed")
    wrapper = Path(tmp) / "rtcbotd-under-valgrind"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec {valgrind} --quiet --leak-check=full --show-leak-kinds=definite "
        f"--errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30 "
        f"--suppressions={SUPPRESSIONS} --log-file={log} {rtcbotd_path()} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper)


async def test_cycle():
    with tempfile.TemporaryDirectory(prefix="rtcbotd-valgrind-") as tmp:
        log = Path(tmp) / "valgrind.log"
        wrapper, real = valgrind_wrapper(tmp, log), rtcbotd_path()
        d = Daemon(CONFIG, name="rtcbotd-valgrind", env={"G_SLICE": "always-malloc"})
        os.environ["RTCBOTD"] = wrapper  # Daemon starts whatever RTCBOTD names
        try:
            await d.start(timeout=120)
        finally:
            os.environ["RTCBOTD"] = real
        a = RTCBotClient(d.url, name="valgrind-a")
        b = RTCBotClient(d.url, name="valgrind-b")
        try:
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
            await d.stop(timeout=90, check_exit=False)  # with b still attached
        finally:
            await a.close()
            await b.close()
        report = log.read_text() if log.exists() else "(no valgrind log)"
        lost = re.findall(r"definitely lost in loss record.*", report)
        check(d.returncode == 0 and not lost,
              f"valgrind found problems (daemon exit {d.returncode}; 99 means valgrind "
              f"errors):\n{report[-8000:]}")
        note("valgrind: no memory errors, nothing definitely lost")

if __name__ == "__main__":
    run_tap([("connect/disconnect cycle under valgrind: no errors, no leaks", test_cycle)],
            timeout=400)
