#!/usr/bin/python3
"""Reloading the configuration (SIGHUP) while a peer is connected.

Unchanged sources, endpoints and routes keep running (the peer keeps
decoding, an unchanged worker keeps its process), changed ones are rebuilt
(a changed worker restarts, a changed route sends its failsafe first), new
ones start, removed ones stop; a media source that changes closes the peers
that carry it, and new peers get the new one; a broken file is rejected with
its error and the old configuration stays live. TAP output.
"""

import asyncio
import json
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    TestFailure,
    check,
    note,
    run_tap,
    video_codecs,
    wait_until,
)

# Writes its pid, then every line it reads, to the file named by argv[1].
WORKER = """\
import json, os, sys
with open(sys.argv[1], "a", buffering=1) as out:
    out.write(json.dumps({"pid": os.getpid()}) + "\\n")
    for line in sys.stdin:
        out.write(line)
"""


def config(tmp, pattern="smpte", drive_map="go=key.w", motor_arg="", extra=""):
    return f"""\
[daemon]
listen = 127.0.0.1:0
control = shared

[source camera]
type = test-video
width = 320
height = 240
framerate = 15
encoder = vp8
overlay = none
pattern = {pattern}

[source tone]
type = test-audio

[sink keeper]
type = exec
command = /usr/bin/python3 {tmp}/worker.py {tmp}/keeper.log

[sink motor]
type = exec
command = /usr/bin/python3 {tmp}/worker.py {tmp}/motor.log {motor_arg}

[route media]
from = camera;tone
to = peers

[route echo]
from = peers.messages
to = peers

[route keep]
from = peers.messages
to = keeper

[route drive]
from = peers.messages
to = motor
map = {drive_map}
failsafe = 10s {{"go": 0}}
{extra}"""


def lines(path):
    """The JSON lines a worker wrote, or [] before it started."""
    try:
        return [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]
    except FileNotFoundError:
        return []


async def wait_line(path, pred, what, timeout=10.0):
    try:
        await wait_until(lambda: any(pred(x) for x in lines(path)), timeout, interval=0.05)
    except asyncio.TimeoutError:
        raise TestFailure(f"{Path(path).name}: no {what} within {timeout} s: "
                          f"{lines(path)[-5:]!r}") from None


def pids(path):
    return [x["pid"] for x in lines(path) if isinstance(x, dict) and "pid" in x]


async def frames_keep_coming(client, seconds=1.5):
    n = client.video_frames
    await asyncio.sleep(seconds)  # a measurement window, not synchronisation
    check(client.video_frames > n + 5,
          f"video stalled: {client.video_frames - n} frames in {seconds} s ({client.state()})")


async def start(tmp, **kw):
    Path(tmp, "worker.py").write_text(WORKER)
    d = Daemon(config(tmp, **kw), name="rtcbotd-reload")
    await d.start()
    c = RTCBotClient(d.url, name="reload-client")
    await c.connect()
    await c.wait_first_video()
    await c.wait_open()
    return d, c


async def test_unchanged_keep_running():
    """A reload that adds a route, changes another and changes a worker: the
    peer keeps decoding and its data channel, the unchanged worker keeps its
    process, the changed one restarts, the changed route sends its failsafe,
    the new route carries messages."""
    with tempfile.TemporaryDirectory(prefix="rtcbotd-reload-") as tmp:
        d, c = await start(tmp)
        try:
            await wait_line(f"{tmp}/keeper.log", lambda x: "pid" in x, "start")
            c.send({"type": "keydown", "key": "w", "keyCode": 87})
            await wait_line(f"{tmp}/motor.log", lambda x: x == {"go": 1}, "drive command")
            keeper_pid = pids(f"{tmp}/keeper.log")
            d.reload(config(tmp, drive_map="go=key.w*2", motor_arg="changed",
                            extra="[route tell]\nfrom = peers.messages\nto = log\n"))
            await d.wait_output("configuration reloaded")
            await wait_line(f"{tmp}/motor.log", lambda x: x == {"go": 0}, "failsafe of the changed route")
            await d.wait_output("[sink motor]: stopped (reload)")
            await wait_until(lambda: len(set(pids(f"{tmp}/motor.log"))) == 2, 10, interval=0.05)
            # The changed worker is back: an unchanged one restarted would be too.
            check(pids(f"{tmp}/keeper.log") == keeper_pid,
                  f"the unchanged worker restarted: {pids(f'{tmp}/keeper.log')}")
            check(d.output().count("[sink keeper]: up") == 1, "the unchanged worker came up again")
            await frames_keep_coming(c)
            c.drain()  # the echoes of the commands above
            c.send({"hello": "after reload"})
            got = await c.recv(timeout=5)
            check(got[1] == {"hello": "after reload"}, f"echo after reload: {got!r}")
            await d.wait_output('[route tell]: {"hello":"after reload"}')
            c.send({"type": "keydown", "key": "w", "keyCode": 87})
            await wait_line(f"{tmp}/motor.log", lambda x: x == {"go": 2}, "the new map")
            check("[source camera]: started (reload)" not in d.output(), "the camera was rebuilt")
            check(await d.peers() == 1, "the peer did not stay")
            note(f"keeper pid {keeper_pid}, motor pids {pids(f'{tmp}/motor.log')}")
        finally:
            await c.close()
            await d.stop()


async def test_broken_file_keeps_old():
    """A broken file is rejected with its error; everything keeps running."""
    with tempfile.TemporaryDirectory(prefix="rtcbotd-reload-") as tmp:
        d, c = await start(tmp)
        try:
            d.reload(config(tmp) + "\n[source camera2]\ntype = test-video\nwidht = 320\n")
            await d.wait_output("keeping the running configuration")
            out = d.output()
            check("[source camera2] widht" in out or "widht" in out,
                  "the error does not name the key: " + d.tail(5))
            await frames_keep_coming(c)
            c.send({"still": "here"})
            got = await c.recv(timeout=5)
            check(got[1] == {"still": "here"}, f"echo after a rejected reload: {got!r}")
            d.reload(config(tmp).replace("[route echo]", "[route echo]\nbogus = 1"))
            await d.wait_output("keeping the running configuration", count=2)
            check(await d.peers() == 1, "the peer did not stay")
        finally:
            await c.close()
            await d.stop()


async def test_changed_source_rebuilt():
    """A changed camera closes the peers that carry it; a new peer decodes the
    new one, the unchanged tone was not rebuilt, and the old elements go."""
    with tempfile.TemporaryDirectory(prefix="rtcbotd-reload-") as tmp:
        d, c = await start(tmp)
        c2 = RTCBotClient(d.url, name="after-reload")
        try:
            d.reload(config(tmp, pattern="ball"))
            await d.wait_output("configuration reloaded")
            await d.wait_output("[source camera]: started (reload)")
            check("[source tone]: started (reload)" not in d.output(), "the tone was rebuilt")
            await d.wait_peers(0, timeout=15)
            await c.close()
            await c2.connect()
            await c2.wait_first_video()
            await frames_keep_coming(c2)
            health = await d.healthz()
            check(sorted(health["sources"]) == ["camera", "tone"], f"sources: {health['sources']}")
            await c2.close()
            await d.wait_peers(0, timeout=15)
            # Removing the camera from the peers' route stops it; the tone stays.
            d.reload(config(tmp, pattern="ball").replace("from = camera;tone", "from = tone"))
            await d.wait_output("configuration reloaded", count=2)
            await d.wait_output("[source camera]: stopped (reload")
            health = await d.healthz()
            check(sorted(health["sources"]) == ["tone"], f"sources after removal: {health['sources']}")
        finally:
            await c.close()
            await c2.close()
            await d.stop()


async def scrape_while(d, done, seconds=10.0):
    """Scrapes /metrics as fast as it answers until done() or @seconds pass;
    returns how many scrapes answered 200."""
    ok = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with aiohttp.ClientSession() as s:
        while not done() and loop.time() < deadline:
            async with s.get(d.url + "metrics") as r:
                ok += r.status == 200
                await r.read()
    return ok


async def test_retired_second_encoder():
    """A peer on the source's second codec (VP8 while H.264 is preferred), and
    /metrics scraped while a reload retires that source: the encoder branch
    is torn down after the peer leaves, nothing reads the old configuration."""
    with tempfile.TemporaryDirectory(prefix="rtcbotd-reload-") as tmp:
        Path(tmp, "worker.py").write_text(WORKER)
        text = config(tmp).replace("encoder = vp8\n", "")
        d = Daemon(text, name="rtcbotd-reload")
        await d.start()
        c = RTCBotClient(d.url, codecs=video_codecs("video/VP8"), name="vp8-only")
        try:
            await c.connect()
            await c.wait_first_video()
            check("VP8 via vp8enc (1 peers)" in (await d.healthz())["sources"]["camera"],
                  f"not on a second encoder: {(await d.healthz())['sources']}")
            d.reload(text.replace("pattern = smpte", "pattern = ball"))
            n = await scrape_while(d, lambda: ": gone (" in d.output())  # the peer left
            await d.wait_peers(0, timeout=15)
            n += await scrape_while(d, lambda: False, seconds=0.5)
            check(n > 3, f"only {n} scrapes answered")
            await c.close()
            c2 = RTCBotClient(d.url, codecs=video_codecs("video/VP8"), name="vp8-again")
            await c2.connect()
            await c2.wait_first_video()
            await c2.close()
            note(f"{n} scrapes during the reload")
        finally:
            await c.close()
            await d.stop()


def make_certificate(directory, name):
    cert, key = Path(directory) / "cert.pem", Path(directory) / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    return cert.read_text()


async def test_tls_and_token():
    """With TLS, a reload serves the renewed certificate on the same port (no
    re-listening); a changed token applies to the next request."""
    with tempfile.TemporaryDirectory(prefix="rtcbotd-reload-") as tmp:
        first = make_certificate(tmp, "first")
        text = (f"[daemon]\ntls-certificate = {tmp}/cert.pem\ntls-key = {tmp}/key.pem\n"
                "token = first-token\n[source tone]\ntype = test-audio\n"
                "[route media]\nfrom = tone\nto = peers\n")
        d = Daemon(text, name="rtcbotd-reload-tls")
        await d.start()
        try:
            served = lambda: ssl.get_server_certificate(("127.0.0.1", d.port))  # noqa: E731
            check(ssl.PEM_cert_to_DER_cert(await asyncio.to_thread(served))
                  == ssl.PEM_cert_to_DER_cert(first), "the first certificate is not served")
            second = make_certificate(tmp, "second")
            d.reload(text.replace("first-token", "second-token"))
            await d.wait_output("configuration reloaded")
            check(ssl.PEM_cert_to_DER_cert(await asyncio.to_thread(served))
                  == ssl.PEM_cert_to_DER_cert(second), "the renewed certificate is not served")
            check(d.output().count("listening on") == 1, "the server listened anew")
            ctx = ssl.create_default_context(cafile=f"{tmp}/cert.pem")
            async with aiohttp.ClientSession() as s:
                for token, status in (("first-token", 403), ("second-token", 200)):
                    async with s.get(d.url + "metrics", ssl=ctx,
                                     headers={"Authorization": f"Bearer {token}"}) as r:
                        check(r.status == status, f"/metrics with {token}: HTTP {r.status}")
        finally:
            await d.stop()


if __name__ == "__main__":
    run_tap([("reload: unchanged parts keep running, changed ones rebuilt, peer stays",
              test_unchanged_keep_running),
             ("reload: a broken file is rejected, the old config stays live",
              test_broken_file_keeps_old),
             ("reload: a changed source closes its peers; new peers get the new one",
              test_changed_source_rebuilt),
             ("reload: a peer on a second encoder, /metrics scraped while its source retires",
              test_retired_second_encoder),
             ("reload: TLS serves a renewed certificate on the same port; a new token applies",
              test_tls_and_token)],
            timeout=120)
