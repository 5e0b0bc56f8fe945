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
    make_config,
    note,
    rtcbotd_path,
    run_tap,
)

SUPPRESSIONS = Path(__file__).resolve().parents[1] / "data" / "valgrind.supp"

# Small and slow media keep the run fast under valgrind; the code paths are
# the same as at full size (shared encoders, per-peer payloaders, data channel).
CONFIG = make_config(width=160, height=120, framerate=10, overlay="none", encoder="vp8")


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
    wrapper = Path(tmp) / "rtcbotd-under-valgrind"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec {valgrind} --quiet --leak-check=full --show-leak-kinds=definite "
        f"--errors-for-leak-kinds=definite --num-callers=40 "
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

if __name__ == "__main__":
    run_tap([("connect/disconnect cycle under valgrind: no errors, no leaks", test_cycle)],
            timeout=400)
