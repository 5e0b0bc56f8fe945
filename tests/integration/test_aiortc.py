#!/usr/bin/python3
"""rtcbotd against aiortc clients shaped like RTCBot's Python RTCConnection.

TAP output.  Environment: RTCBOTD (daemon binary), PYTHONPATH including
tests/common.  RTCBOTD_FIRST_FRAME_LIMIT overrides the 0.5 s first-frame
bound; RTCBOTD_TEST_ONLY=substring runs a subset; RTCBOTD_TEST_VERBOSE=1
copies the daemon's output to stderr.
"""

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    TestFailure,
    check,
    make_config,
    note,
    run_tap,
    sanitized,
    sdp_media_kinds,
    sdp_sections,
    video_codecs,
    wait_until,
)

FIRST_FRAME_LIMIT = float(os.environ.get("RTCBOTD_FIRST_FRAME_LIMIT", "0.5"))
# Under sanitizers the VP8 encoder manages 5-15 fps: frames must still decode.
MIN_FPS = 2.0 if sanitized() else 20.0

# state shared by the single-client tests 1-7 (one daemon, one client)
S = {}


def need(key):
    if key not in S:
        raise TestFailure(f"setup failed in an earlier test ({key} missing)")
    return S[key]


def video_codec_names(sdp):
    """Codec names (from a=rtpmap) of the first video section."""
    for mline, attrs in sdp_sections(sdp):
        if mline.startswith("m=video"):
            return [a.split(" ", 1)[1].split("/")[0] for a in attrs if a.startswith("a=rtpmap:")]
    return []


# --------------------------------------------------------------------------
# one daemon, one RTCBot-like client
# --------------------------------------------------------------------------

async def test_first_frame():
    d = Daemon(make_config(), name="rtcbotd")
    d.shared = True
    await d.start()
    S["d"] = d
    note(f"daemon {d.url} ready {d.t_ready - d.t_spawn:.3f} s after spawn")
    c = RTCBotClient(d.url, name="viewer")
    S["c"] = c
    await c.prepare()
    await c.post()
    ff = await c.wait_first_video(10)
    note(f"POST -> answer {c.t_answer - c.t_post:.3f} s; "
         f"POST -> first decoded video frame {ff:.3f} s; frame size {c.first_video_size}")
    check(c.first_video_size == (640, 480), f"frame size {c.first_video_size}, expected (640, 480)")
    check(ff <= FIRST_FRAME_LIMIT,
          f"first frame {ff:.3f} s after the POST (limit {FIRST_FRAME_LIMIT} s)")


async def test_answer_shape():
    c = need("c")
    offer, answer = c.offer, c.answer
    check(set(answer) == {"type", "sdp"}, f"answer keys {sorted(answer)}")
    check(answer["type"] == "answer", f"answer type {answer['type']!r}")
    ok, ak = sdp_media_kinds(offer["sdp"]), sdp_media_kinds(answer["sdp"])
    note(f"offer m-lines {ok}; answer m-lines {ak}")
    check(ok == ak, f"answer m-lines {ak} do not match the offer's {ok}")
    sdp = answer["sdp"]
    check("a=candidate:" in sdp, "answer has no a=candidate lines (non-trickle needs them inline)")
    check(any("127.0.0.1" in l for l in sdp.splitlines() if l.startswith("a=candidate:")),
          "answer has no 127.0.0.1 candidate")
    for mline, attrs in sdp_sections(sdp):
        kind = mline[2:].split(" ", 1)[0]
        if kind in ("video", "audio"):
            dirs = [a for a in attrs if a in ("a=sendonly", "a=sendrecv", "a=recvonly", "a=inactive")]
            check(dirs and dirs[0] in ("a=sendonly", "a=sendrecv"), f"{kind} direction {dirs}")
            check(any(a.startswith("a=msid:") or " msid:" in a for a in attrs),
                  f"{kind} section carries no msid (rtcbot.js needs event.streams[0])")
    note(f"answer video codecs: {video_codec_names(sdp)}")


async def test_fps():
    c = need("c")
    fps = await c.video_fps(5.0)
    note(f"decoded {fps:.1f} fps over 5 s")
    check(fps >= MIN_FPS, f"{fps:.1f} fps decoded over 5 s (need >= {MIN_FPS})")


async def test_audio():
    c = need("c")
    fa = await c.wait_first_audio(5)
    n0, s0, t0 = c.audio_frames, c.audio_samples, time.monotonic()
    await asyncio.sleep(2.0)  # measurement window
    dt = time.monotonic() - t0
    rate = (c.audio_samples - s0) / dt
    note(f"first audio frame {fa:.3f} s after the POST; {(c.audio_frames - n0) / dt:.1f} "
         f"audio frames/s, {rate:.0f} samples/s")
    check(c.audio_frames > n0, "audio frames stopped arriving")
    check(rate > 0.7 * 48000, f"audio at {rate:.0f} samples/s, expected about 48000")


async def test_echo():
    c = need("c")
    await c.wait_open(5)
    c.drain()
    msg = {"type": "keydown", "altKey": False, "shiftKey": False, "keyCode": 87, "key": "w"}
    c.send(msg)
    raw, got = await c.recv()
    check(got == msg, f"dict came back as {raw!r}")
    c.send("hello")  # RTCBot json.dumps -> "\"hello\""
    raw, got = await c.recv()
    check(raw == '"hello"' and got == "hello", f"string came back as {raw!r}")
    c.send_raw("Button Clicked!")  # rtcbot.js sends plain strings verbatim
    raw, got = await c.recv()
    check(raw == '"Button Clicked!"', f"plain text came back as {raw!r} (expected JSON string)")
    c.send(123)
    raw, got = await c.recv()
    check(got == 123, f"number came back as {raw!r}")
    # round-trip time
    rtts = []
    for i in range(20):
        t0 = time.monotonic()
        c.send({"seq": i})
        raw, got = await c.recv()
        check(got == {"seq": i}, f"echo out of order: sent seq {i}, got {raw!r}")
        rtts.append(time.monotonic() - t0)
    note(f"echo RTT p50 {statistics.median(rtts) * 1000:.1f} ms, "
         f"max {max(rtts) * 1000:.1f} ms (20 messages)")
    extra = c.drain()
    check(not extra, f"unexpected extra messages {extra[:5]}")


async def test_echo_big_and_burst():
    c = need("c")
    await c.wait_open(5)
    c.drain()
    big = {"blob": "x" * 16384}
    c.send(big)
    raw, got = await c.recv()
    check(got == big, f"16 KiB message came back as {len(raw)} bytes")
    t0 = time.monotonic()
    for i in range(200):
        c.send({"n": i})
    got = []
    for i in range(200):
        _, m = await c.recv()
        got.append(m.get("n") if isinstance(m, dict) else m)
    note(f"200-message burst echoed in {time.monotonic() - t0:.3f} s")
    check(got == list(range(200)), f"burst came back out of order or incomplete: {got[:10]}...")


async def test_healthz_one():
    d = need("d")
    h = await d.healthz()
    note(f"/healthz: {h}")
    check(h.get("status") == "ok", f"status {h.get('status')!r}")
    check(h.get("peers") == 1, f"peers {h.get('peers')!r}, expected 1")


async def test_close_single():
    d, c = need("d"), need("c")
    await c.close()
    took = await d.wait_peers(0, timeout=15)
    note(f"peers back to 0 {took:.2f} s after pc.close()")
    S.pop("d")
    await d.stop()


# --------------------------------------------------------------------------
# codecs
# --------------------------------------------------------------------------

async def decode_check(config, codecs=None, label=""):
    async with Daemon(config) as d:
        async with RTCBotClient(d.url, codecs=codecs, name=label) as c:
            await c.connect()
            names = video_codec_names(c.answer["sdp"])
            ff = await c.wait_first_video(10)
            fps = await c.video_fps(3.0)
            note(f"{label}: answer video codecs {names}; first frame {ff:.3f} s; {fps:.1f} fps")
            check(fps >= MIN_FPS, f"{fps:.1f} fps decoded over 3 s (need >= {MIN_FPS})")
            return names


async def test_vp8_config():
    names = await decode_check(make_config(encoder="vp8"), label="encoder=vp8, default offer")
    check(names and names[0].upper() == "VP8", f"answer codecs {names}, expected VP8")


async def test_vp8_offer():
    await decode_check(make_config(encoder="vp8"), codecs=video_codecs("video/VP8"),
                       label="encoder=vp8, VP8-only offer")


async def test_vp8_offer_default_encoder():
    await decode_check(make_config(), codecs=video_codecs("video/VP8"),
                       label="default encoder, VP8-only offer")


async def test_x264():
    names = await decode_check(make_config(encoder="x264"), label="encoder=x264, default offer")
    check(names and names[0].upper() == "H264", f"answer codecs {names}, expected H264")


async def test_openh264():
    names = await decode_check(make_config(encoder="openh264"),
                               label="encoder=openh264, default offer")
    check(names and names[0].upper() == "H264", f"answer codecs {names}, expected H264")


async def test_sigterm_with_client():
    d = Daemon(make_config())
    await d.start()
    c = RTCBotClient(d.url, name="viewer")
    S["sigterm_client"] = c
    await c.connect()
    await c.wait_first_video(10)
    await c.wait_open(5)
    S["sigterm_t0"] = time.monotonic()
    await d.stop(timeout=10)  # asserts exit code 0
    note(f"daemon exited 0 {time.monotonic() - S['sigterm_t0']:.3f} s after SIGTERM "
         "with a client connected")


async def test_sigterm_client_notices():
    c = need("sigterm_client")
    t0 = need("sigterm_t0")
    try:
        # RTCBot's onClose fires when the DTLS transport of "default" closes,
        # when ICE fails, or when the first received track ends
        def closed():
            return (c.channel.readyState == "closed"
                    or c.pc.connectionState in ("closed", "failed")
                    or "video" in c.track_ended)
        try:
            await wait_until(closed, max(0.0, t0 + 5 - time.monotonic()))
            note(f"client noticed {time.monotonic() - t0:.3f} s after SIGTERM ({c.state()})")
        except asyncio.TimeoutError:
            raise TestFailure(f"client still thinks it is connected 5 s after the daemon "
                              f"exited: {c.state()} (no SCTP/DTLS close or RTCP BYE seen; "
                              f"RTCBot's onClose would fire only on ICE failure)") from None
    finally:
        S.pop("sigterm_client", None)
        await c.close()


# --------------------------------------------------------------------------
# several clients
# --------------------------------------------------------------------------

async def test_two_clients():
    async with Daemon(make_config()) as d:
        a = RTCBotClient(d.url, name="A")
        b = RTCBotClient(d.url, name="B")
        try:
            await asyncio.gather(a.prepare(), b.prepare())
            await asyncio.gather(a.post(), b.post())
            fa, fb = await asyncio.gather(a.wait_first_video(10), b.wait_first_video(10))
            note(f"first frame A {fa:.3f} s, B {fb:.3f} s")
            n = await d.peers()
            check(n == 2, f"/healthz peers {n}, expected 2")
            fps_a, fps_b = await asyncio.gather(a.video_fps(3.0), b.video_fps(3.0))
            note(f"both connected: A {fps_a:.1f} fps, B {fps_b:.1f} fps")
            check(fps_a >= 15 and fps_b >= 15, f"A {fps_a:.1f} fps, B {fps_b:.1f} fps (need >= 15)")

            # echo route: a message from A reaches A and B
            await asyncio.gather(a.wait_open(), b.wait_open())
            a.drain(), b.drain()
            a.send({"from": "A"})
            (_, ga), (_, gb) = await asyncio.gather(a.recv(), b.recv())
            check(ga == {"from": "A"} and gb == {"from": "A"}, f"A got {ga!r}, B got {gb!r}")

            # A leaves; B keeps going
            await a.close()
            took = await d.wait_peers(1, timeout=15)
            note(f"peers 2 -> 1 {took:.2f} s after A's pc.close()")
            fps_b = await b.video_fps(2.0)
            note(f"after A left: B {fps_b:.1f} fps")
            check(fps_b >= 15, f"B at {fps_b:.1f} fps after A left")
            b.drain()
            b.send({"from": "B"})
            _, gb = await b.recv()
            check(gb == {"from": "B"}, f"B's echo after A left: {gb!r}")
            check(b.pc.connectionState == "connected", f"B state {b.state()}")

            await b.close()
            await d.wait_peers(0, timeout=15)

            # a viewer refreshing the page: new connection after everyone left
            async with RTCBotClient(d.url, name="C") as c:
                await c.connect()
                fc = await c.wait_first_video(10)
                note(f"new client after all left: first frame {fc:.3f} s")
        finally:
            await a.close()
            await b.close()


run_tap([
    ("first video frame within 0.5 s of the POST (RTCBot-shaped aiortc offer)", test_first_frame),
    ("answer: same m-lines as the offer, sendonly media with msid, inline candidates", test_answer_shape),
    (">= 20 fps decoded over 5 s", test_fps),
    ("audio frames arrive", test_audio),
    ("data channel 'default': dict, string, plain text, number echo back JSON-encoded", test_echo),
    ("data channel: 16 KiB message and a 200-message burst echo in order", test_echo_big_and_burst),
    ("/healthz reports 1 peer", test_healthz_one),
    ("pc.close() drops peers to 0; daemon exits 0 on SIGTERM", test_close_single),
    ("encoder = vp8 with aiortc's default offer decodes", test_vp8_config),
    ("encoder = vp8 with a VP8-only offer decodes", test_vp8_offer),
    ("default encoder with a VP8-only offer decodes", test_vp8_offer_default_encoder),
    ("encoder = x264 with aiortc's default offer (VP8 first) decodes", test_x264),
    ("encoder = openh264 with aiortc's default offer decodes", test_openh264),
    ("SIGTERM with a client connected: exit 0", test_sigterm_with_client),
    ("after SIGTERM the connected client sees the close within 5 s", test_sigterm_client_notices),
    ("two clients decode; one leaving keeps the other; peers 2 -> 1 -> 0; rejoin", test_two_clients),
], timeout=60)
