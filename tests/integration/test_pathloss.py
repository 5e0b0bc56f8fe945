#!/usr/bin/python3
"""Path loss between robot and viewer, in network namespaces made here.

The daemon runs in namespace "robot"; an aiortc viewer runs in namespace
"viewer", joined to it by a veth pair (10.98.0.1 ↔ 10.98.0.2); the test
itself reaches the daemon's HTTP through a second pair (10.98.1.1 ↔
10.98.1.2). Once the viewer decodes, the link goes down for 10 s: the dead
peer must be gone from /healthz within 30 s of the cut (peer-timeout, 15 s
by default), and once the link is back a new viewer connects and decodes.
Needs root and `ip netns`; skipped otherwise. TAP output.
"""

import asyncio
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import Daemon, Skip, check, note, run_tap  # noqa: E402

SUFFIX = str(os.getpid() % 10000)
ROBOT, VIEWER = f"rtcbotd-r{SUFFIX}", f"rtcbotd-v{SUFFIX}"
PORT = 18000 + os.getpid() % 1000
CONFIG = f"""\
[daemon]
listen = 0.0.0.0:{PORT}

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

# The viewer: RTCBot's Python client shape, host candidates on its veth only.
VIEWER_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, sys.argv[1])
    import aioice.ice
    import rtcbotd_test
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["10.98.0.2"]

    async def main():
        c = rtcbotd_test.RTCBotClient(sys.argv[2], audio=False, name="netns-viewer")
        await c.connect(timeout=20)
        await c.wait_first_video(timeout=20)
        print("decoding", flush=True)
        while True:
            await asyncio.sleep(1)
            print("frames", c.video_frames, flush=True)

    asyncio.run(main())
""")


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True)


def make_namespaces():
    if os.geteuid() != 0 or not shutil.which("ip"):
        raise Skip("needs root and iproute2")
    remove_namespaces()
    for ns in (ROBOT, VIEWER):
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
    ip("link", "add", "rv" + SUFFIX, "type", "veth", "peer", "name", "vr" + SUFFIX)
    ip("link", "set", "rv" + SUFFIX, "netns", ROBOT)
    ip("link", "set", "vr" + SUFFIX, "netns", VIEWER)
    ip("-n", ROBOT, "addr", "add", "10.98.0.1/24", "dev", "rv" + SUFFIX)
    ip("-n", VIEWER, "addr", "add", "10.98.0.2/24", "dev", "vr" + SUFFIX)
    ip("link", "add", "rt" + SUFFIX, "type", "veth", "peer", "name", "tr" + SUFFIX)
    ip("link", "set", "rt" + SUFFIX, "netns", ROBOT)
    ip("-n", ROBOT, "addr", "add", "10.98.1.1/24", "dev", "rt" + SUFFIX)
    ip("addr", "add", "10.98.1.2/24", "dev", "tr" + SUFFIX)
    for ns, dev in ((ROBOT, "rv"), (VIEWER, "vr"), (ROBOT, "rt")):
        ip("-n", ns, "link", "set", dev + SUFFIX, "up")
    ip("link", "set", "tr" + SUFFIX, "up")


def remove_namespaces():
    for ns in (ROBOT, VIEWER):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    subprocess.run(["ip", "link", "del", "tr" + SUFFIX], capture_output=True)


def start_viewer():
    return subprocess.Popen(
        ["ip", "netns", "exec", VIEWER, "/usr/bin/python3", "-c", VIEWER_SCRIPT,
         str(Path(__file__).resolve().parents[1] / "common"), f"http://10.98.0.1:{PORT}/"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


async def wait_line(proc, prefix, timeout):
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(loop.run_in_executor(None, proc.stdout.readline),
                                      deadline - time.monotonic())
        if not line:
            break
        seen.append(line)
        if line.startswith(prefix):
            return line
    raise AssertionError(f"the viewer never printed {prefix!r}: {''.join(seen[-6:])}")


def stop(proc):
    proc.kill()
    proc.wait()


async def test_path_loss():
    make_namespaces()
    try:
        d = Daemon(CONFIG, name="rtcbotd-pathloss", listen=None,
                   prefix=["ip", "netns", "exec", ROBOT])
        async with d:
            d.url = f"http://10.98.1.1:{PORT}/"
            viewer = start_viewer()
            try:
                await wait_line(viewer, "decoding", 30)
                check((await d.peers()) == 1, "one viewer")
                ip("-n", VIEWER, "link", "set", "vr" + SUFFIX, "down")
                cut = time.monotonic()
                took = await d.wait_peers(0, timeout=30)
                note(f"dead peer gone {time.monotonic() - cut:.1f} s after the cut")
                check(took <= 30, f"the dead peer stayed {took:.1f} s")
                await asyncio.sleep(max(0, 10 - (time.monotonic() - cut)))
                ip("-n", VIEWER, "link", "set", "vr" + SUFFIX, "up")
            finally:
                stop(viewer)
            await asyncio.sleep(1)
            viewer = start_viewer()
            try:
                await wait_line(viewer, "decoding", 30)
                note("a new viewer decodes after the link came back")
            finally:
                stop(viewer)
            check("peer 1: closing" in d.output(), "the daemon logged why it closed the peer")
    finally:
        remove_namespaces()


if __name__ == "__main__":
    run_tap([("link down 10 s: the dead peer goes within 30 s; a new viewer works",
              test_path_loss)], timeout=150)
