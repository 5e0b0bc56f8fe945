#!/usr/bin/python3
"""Congestion: RTCP feedback from viewers reaches the shared encoder.

- REMB: an aiortc viewer that reports a low receive estimate (the test sends
  the REMB itself; aiortc only estimates with abs-send-time, which webrtcbin
  does not send) pulls a `bitrate-mode = min-peer` encoder down to it, as
  /metrics shows (rtcbotd_source_bitrate_kbps, and the bytes the encoder
  really produces), and the encoder goes back up when that viewer leaves. With
  `bitrate-mode = fixed` the same report changes nothing.
- FIR and PLI each make a key frame (rtcbotd_source_key_frames_total), and a
  burst of them makes few (rate-limited).
- NACK: a viewer that loses packets gets them again as RTX.
- The answer to a Chromium-shaped offer keeps rtx, nack, nack pli, ccm fir
  and goog-remb, drops transport-cc, and pairs the RTX SSRC with the track's.

TAP output; RTCBOTD_TEST_ONLY=substring runs a subset.
"""

import asyncio
import json
import random
import re
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

import aiohttp  # noqa: E402
import aiortc.rtcrtpreceiver  # noqa: E402
from aiortc.rtp import RtcpPsfbPacket, pack_remb_fci  # noqa: E402

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    check,
    note,
    run_tap,
    wait_until,
)

# Snow does not compress: x264 spends all of its bitrate on it, so the bytes
# it produces show the bitrate it runs at. Key frames come only on request.
CONFIG = """\
[source camera]
type = test-video
width = 320
height = 240
framerate = 15
pattern = snow
encoder = x264
bitrate = 1200
keyframe-interval = 1000
bitrate-mode = {mode}

[route media]
from = camera
to = peers
"""

LABELS = 'source="camera",codec="H264",encoder="x264enc"'
PSFB_FIR = 4
PSFB_PLI = 1
PSFB_AFB = 15


def sample(text, name, labels=LABELS):
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else None


async def metric(d, name, labels=LABELS):
    return sample(await d.get_text("metrics"), name, labels)


def media_ssrc(client):
    """The SSRC of the client's video track, from the answer's a=ssrc-group:FID."""
    m = re.search(r"a=ssrc-group:FID (\d+) (\d+)", client.answer["sdp"])
    check(m, f"no a=ssrc-group:FID in the answer:\n{client.answer['sdp']}")
    return int(m.group(1))


def video_receiver(client):
    return next(r for r in client.pc.getReceivers() if r.track and r.track.kind == "video")


async def send_rtcp(client, fmt, media, fci=b""):
    receiver = video_receiver(client)
    rtcp_ssrc = receiver._RTCRtpReceiver__rtcp_ssrc  # aiortc 1.4's own sender SSRC
    await receiver._send_rtcp(RtcpPsfbPacket(fmt=fmt, ssrc=rtcp_ssrc, media_ssrc=media, fci=fci))


class RembSender:
    """Sends a REMB of @bitrate for the client's video every 0.5 s, as Chromium does."""

    def __init__(self, client, bitrate):
        self.client = client
        self.bitrate = bitrate
        self.sent_first = None
        self.task = asyncio.ensure_future(self._run())

    async def _run(self):
        ssrc = media_ssrc(self.client)
        while True:
            if self.sent_first is None:
                self.sent_first = time.monotonic()
            await send_rtcp(self.client, PSFB_AFB, 0, pack_remb_fci(self.bitrate, [ssrc]))
            await asyncio.sleep(0.5)

    def stop(self):
        self.task.cancel()


async def encoded_kbps(d, seconds=3.0):
    """What the encoder really produced over @seconds, kbit/s."""
    b0 = await metric(d, "rtcbotd_source_encoded_bytes_total")
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    b1 = await metric(d, "rtcbotd_source_encoded_bytes_total")
    return (b1 - b0) * 8 / 1000 / (time.monotonic() - t0)


async def wait_metric(d, name, want, timeout, labels=LABELS):
    """Polls /metrics until @name (with @labels) satisfies @want; returns the seconds it took."""
    t0 = time.monotonic()
    last = None

    async def cond():
        nonlocal last
        last = await metric(d, name, labels)
        return last is not None and want(last)

    try:
        await wait_until(cond, timeout, interval=0.1)
    except asyncio.TimeoutError:
        check(False, f"{name}{{{labels}}} stayed {last} for {timeout} s")
    return time.monotonic() - t0


async def step_up(d, remb):
    """The slow viewer's estimate recovers: the bitrate climbs back in steps of
    at most 15 % a second, never jumping."""
    remb.bitrate = 5_000_000
    t0 = time.monotonic()
    seen = [300.0]
    while seen[-1] < 1200:
        check(time.monotonic() - t0 < 30, f"no way back up within 30 s: {seen}")
        v = await metric(d, "rtcbotd_source_bitrate_kbps")
        if v != seen[-1]:
            check(seen[-1] < v <= seen[-1] * 1.16, f"a step from {seen[-1]} to {v}")
            seen.append(v)
        await asyncio.sleep(0.1)
    note(f"estimate back at 5 Mbit/s: 300 -> 1200 kbit/s in {time.monotonic() - t0:.1f} s, "
         f"{len(seen) - 1} steps: {[int(v) for v in seen]}")


async def test_min_peer():
    async with Daemon(CONFIG.format(mode="min-peer"), name="rtcbotd-min-peer") as d:
        fast = RTCBotClient(d.url, audio=False, name="fast")
        slow = RTCBotClient(d.url, audio=False, name="slow")
        try:
            await fast.connect()
            await fast.wait_first_video()
            check(await metric(d, "rtcbotd_source_bitrate_kbps") == 1200, "starts at `bitrate`")
            before = await encoded_kbps(d)
            await slow.connect()
            await slow.wait_first_video()
            remb = RembSender(slow, 300_000)
            await wait_metric(d, "rtcbotd_source_bitrate_kbps", lambda v: v == 300, 10)
            note(f"REMB 300 kbit/s -> encoder at 300 kbit/s in /metrics "
                 f"{(time.monotonic() - remb.sent_first) * 1000:.0f} ms after the first REMB was "
                 "sent (the first poll)")
            est = await metric(d, "rtcbotd_peer_bitrate_estimate_kbps",
                               'peer="2",source="camera",kind="video"')
            check(est == 300, f"the slow peer's estimate in /metrics: {est}")
            low = await encoded_kbps(d)
            note(f"encoder output: {before:.0f} kbit/s before, {low:.0f} kbit/s while the slow "
                 "viewer watches")
            check(low < 0.5 * before and low < 450, "the encoder really produces less")
            check(fast.video_frames > 0, "the fast viewer still decodes")
            await d.wait_output("x264enc bitrate 1200 → 300 kbit/s")
            await step_up(d, remb)
            remb.bitrate = 300_000
            t0 = time.monotonic()
            await wait_metric(d, "rtcbotd_source_bitrate_kbps", lambda v: v == 300, 5)
            note(f"estimate down to 300 kbit/s again: encoder follows in "
                 f"{time.monotonic() - t0:.2f} s")
            remb.stop()
            t0 = time.monotonic()
            await slow.close()
            await wait_metric(d, "rtcbotd_source_bitrate_kbps", lambda v: v == 1200, 10)
            note(f"slow viewer closed -> back at 1200 kbit/s {time.monotonic() - t0:.2f} s after "
                 "pc.close()")
            high = await encoded_kbps(d)
            note(f"encoder output after it left: {high:.0f} kbit/s")
            check(high > 2 * low, "the encoder really produces more again")
        finally:
            await slow.close()
            await fast.close()


async def test_fixed():
    async with Daemon(CONFIG.format(mode="fixed"), name="rtcbotd-fixed") as d:
        slow = RTCBotClient(d.url, audio=False, name="slow")
        try:
            await slow.connect()
            await slow.wait_first_video()
            remb = RembSender(slow, 300_000)
            # The estimate arrives (so REMB is read) ...
            await wait_metric(d, "rtcbotd_peer_bitrate_estimate_kbps", lambda v: v == 300, 10,
                              'peer="1",source="camera",kind="video"')
            # ... and for 3 s more (3 steps of the controller) the bitrate stays.
            for _ in range(6):
                v = await metric(d, "rtcbotd_source_bitrate_kbps")
                check(v == 1200, f"bitrate-mode = fixed moved the bitrate to {v}")
                await asyncio.sleep(0.5)
            out = await encoded_kbps(d, 2.0)
            note(f"fixed: encoder output {out:.0f} kbit/s with a 300 kbit/s REMB")
            check(out > 600, "the encoder keeps its configured bitrate")
            remb.stop()
        finally:
            await slow.close()


async def has_rtt(d):
    return "rtcbotd_peer_round_trip_seconds{" in await d.get_text("metrics")


async def key_frames(d):
    return await metric(d, "rtcbotd_source_key_frames_total")


async def test_fir_pli():
    async with Daemon(CONFIG.format(mode="fixed"), name="rtcbotd-fir") as d:
        c = RTCBotClient(d.url, audio=False, name="fir")
        try:
            await c.connect()
            await c.wait_first_video()
            ssrc = media_ssrc(c)
            # rtpsession takes a FIR only from a sender it knows, as it does
            # once the viewer's first receiver report arrived (Chromium sends
            # both in one compound packet). The RTT in /metrics proves it.
            await wait_until(lambda: has_rtt(d), 15, interval=0.2)
            for seq, (name, fmt, media, fci) in enumerate(
                    [("FIR", PSFB_FIR, 0, None), ("PLI", PSFB_PLI, ssrc, b"")], 1):
                k0 = await key_frames(d)
                await send_rtcp(c, fmt, media,
                                struct.pack("!IB3x", ssrc, seq) if fci is None else fci)
                t0 = time.monotonic()
                await wait_metric(d, "rtcbotd_source_key_frames_total", lambda v: v > k0, 5)
                note(f"{name} -> key frame {time.monotonic() - t0:.3f} s later")
                await asyncio.sleep(0.5)
            # 20 PLIs in 100 ms: at most one key frame per 300 ms.
            k0 = await key_frames(d)
            for _ in range(20):
                await send_rtcp(c, PSFB_PLI, ssrc)
                await asyncio.sleep(0.005)
            await asyncio.sleep(1.0)
            burst = await key_frames(d) - k0
            note(f"20 PLIs in ~0.1 s -> {burst:.0f} key frame(s)")
            check(1 <= burst <= 2, f"a PLI burst made {burst} key frames")
        finally:
            await c.close()


async def test_nack_rtx():
    """A viewer that drops 5 % of the video packets it receives NACKs them and
    gets them again as RTX packets (the answer's rtx payload type)."""
    received = {"rtx": 0, "dropped": 0}
    rtx_pt = {}
    rng = random.Random(4)
    original = aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet

    async def lossy(self, packet, arrival_time_ms):
        if packet.payload_type == rtx_pt.get("rtx"):
            received["rtx"] += 1
        elif packet.payload_type == rtx_pt.get("media") and rng.random() < 0.05:
            received["dropped"] += 1
            return
        await original(self, packet, arrival_time_ms)

    async with Daemon(CONFIG.format(mode="fixed"), name="rtcbotd-nack") as d:
        c = RTCBotClient(d.url, audio=False, name="lossy")
        aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet = lossy
        try:
            await c.prepare()
            await c.post()
            sdp = c.answer["sdp"]
            m = re.search(r"a=rtpmap:(\d+) rtx/90000\r?\na=fmtp:\d+ apt=(\d+)", sdp)
            check(m, f"no rtx in the answer:\n{sdp}")
            check(re.search(r"a=rtcp-fb:%s nack\r?$" % m.group(2), sdp, re.M), "no nack")
            rtx_pt.update(rtx=int(m.group(1)), media=int(m.group(2)))
            await c.wait_first_video()
            await wait_until(lambda: received["rtx"] >= 5, 10, interval=0.1)
            note(f"dropped {received['dropped']} video packets, received {received['rtx']} RTX "
                 f"packets, decoded {c.video_frames} frames")
        except asyncio.TimeoutError:
            check(False, f"no retransmission: {received}")
        finally:
            aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet = original
            await c.close()


# A Chromium 156 offer, trimmed to one video m-line and data (no candidates:
# the answer is all this test looks at).
CHROMIUM_OFFER = """v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=extmap-allow-mixed
a=msid-semantic: WMS
m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:abcd
a=ice-pwd:abcdefghijklmnopqrstuvwx
a=ice-options:trickle
a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF
a=setup:actpass
a=mid:0
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=recvonly
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=rtpmap:102 H264/90000
a=rtcp-fb:102 goog-remb
a=rtcp-fb:102 transport-cc
a=rtcp-fb:102 ccm fir
a=rtcp-fb:102 nack
a=rtcp-fb:102 nack pli
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:103 rtx/90000
a=fmtp:103 apt=102
m=application 9 UDP/DTLS/SCTP webrtc-datachannel
c=IN IP4 0.0.0.0
a=ice-ufrag:abcd
a=ice-pwd:abcdefghijklmnopqrstuvwx
a=ice-options:trickle
a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF
a=setup:actpass
a=mid:1
a=sctp-port:5000
""".replace("\n", "\r\n")


async def post_offer(d, sdp):
    async with aiohttp.ClientSession() as s:
        async with s.post(d.url + "connect", data=json.dumps({"type": "offer", "sdp": sdp}),
                          timeout=aiohttp.ClientTimeout(total=10)) as r:
            check(r.status == 200, f"POST: HTTP {r.status}: {await r.text()}")
            return (await r.json())["sdp"]


async def test_chromium_answer():
    async with Daemon(CONFIG.format(mode="min-peer"), name="rtcbotd-answer") as d:
        sdp = await post_offer(d, CHROMIUM_OFFER)
        video = sdp.split("m=application")[0]
        note("answer video section:\n" + "\n".join(
            line for line in video.splitlines() if not line.startswith("a=candidate")))
        for line in ["a=rtpmap:102 H264/90000", "a=rtcp-fb:102 nack", "a=rtcp-fb:102 nack pli",
                     "a=rtcp-fb:102 ccm fir", "a=rtcp-fb:102 goog-remb",
                     "a=rtpmap:103 rtx/90000", "a=fmtp:103 apt=102"]:
            check(re.search("^" + re.escape(line) + "\r?$", video, re.M), f"{line!r} missing")
        check("transport-cc" not in video, "transport-cc is answered but no TWCC is sent")
        m = re.search(r"a=ssrc-group:FID (\d+) (\d+)", video)
        check(m and m.group(1) != "0", "the FID group pairs the track's SSRC with its RTX SSRC")
        for ssrc in m.groups():
            check(f"a=ssrc:{ssrc} msid:rtcbotd camera" in video, f"SSRC {ssrc} has no msid line")


if __name__ == "__main__":
    run_tap([
        ("min-peer: a viewer's low REMB lowers the shared encoder; back up when it leaves",
         test_min_peer),
        ("fixed: the same REMB is read but changes nothing", test_fixed),
        ("FIR and PLI each make a key frame; a PLI burst is rate-limited", test_fir_pli),
        ("NACK: lost packets come again as RTX", test_nack_rtx),
        ("answer to a Chromium offer keeps rtx, nack, ccm fir, goog-remb; no transport-cc",
         test_chromium_answer),
    ])
