#!/usr/bin/python3
"""WHEP (POST /whep/SOURCE, PATCH, DELETE, OPTIONS) with aiortc as the player.

An aiortc peer offers recvonly video as plain application/sdp, gets 201 with
Location, ETag and Link rel="ice-server" headers, and decodes the source's
frames; a trickled candidate is taken (204); DELETE frees the peer (checked
in /healthz); and every error status WHEP defines comes with a JSON reason:
415 for the wrong media type, 400 for bad SDP or a bad fragment, 404 for an
unknown source or session, 405, 412 for a stale ETag, 422 for an ICE
restart, 401 without the token (while the CORS preflight stays open). TAP.
"""

import asyncio
import sys
import time
from pathlib import Path

import aiohttp
from aiortc import RTCSessionDescription

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import Daemon, RTCBotClient, check, note, run_tap  # noqa: E402

TOKEN = "whep-test-token-0123"
# The STUN/TURN servers only need to appear in Link headers: nothing answers there.
ICE = "ice-servers = stun:127.0.0.1:3478 turn:robot:secret@127.0.0.1:3478?transport=udp"
CONFIG = """\
[daemon]
{extra}

[source camera]
type = test-video
width = 320
height = 240
framerate = 15
encoder = vp8

[source tone]
type = test-audio

[source spare]
type = test-video

[route media]
from = camera;tone
to = peers
"""

CANDIDATE = "a=candidate:1 1 UDP 2130706431 127.0.0.1 9 typ host"


async def request(method, url, body=None, content_type=None, headers=None):
    hdrs = dict(headers or {})
    if content_type:
        hdrs["Content-Type"] = content_type
    async with aiohttp.ClientSession() as s:
        async with s.request(method, url, data=body, headers=hdrs,
                             timeout=aiohttp.ClientTimeout(total=15)) as r:
            return r.status, r.headers, await r.text()


async def whep_player(d, source="camera"):
    """POSTs an aiortc recvonly offer; returns (client, location, etag, headers)."""
    c = RTCBotClient(d.url, audio=False, data=False, name="whep")
    await c.prepare()
    c.t_post = time.monotonic()
    status, headers, body = await request("POST", d.url + "whep/" + source, c.offer["sdp"],
                                          "application/sdp")
    check(status == 201, f"POST /whep/{source}: {status} {body[:200]}")
    check(headers.get("Content-Type", "").startswith("application/sdp"), f"{headers}")
    await c.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    return c, headers["Location"], headers["ETag"], headers


async def test_play_and_delete():
    async with Daemon(CONFIG.format(extra=ICE), name="rtcbotd-whep") as d:
        c, location, etag, headers = await whep_player(d)
        try:
            check(location.startswith("/whep/camera/") and len(location) > 14, location)
            links = headers.getall("Link")
            note(f"Link: {links}")
            check('<stun:127.0.0.1:3478>; rel="ice-server"' in links
                  and any(link.startswith('<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; '
                                          'username="robot"; credential="secret"')
                          for link in links), f"Link headers: {links}")
            check(headers.get("Access-Control-Expose-Headers") == "Location, ETag, Link", f"{headers}")
            await c.wait_first_video(timeout=10)
            await asyncio.sleep(1.5)
            check(c.video_frames >= 10, f"WHEP frames: {c.video_frames}")
            base = d.url.rstrip("/")
            status, _, body = await request("PATCH", base + location, CANDIDATE + "\r\n",
                                            "application/trickle-ice-sdpfrag", {"If-Match": etag})
            check(status == 204, f"trickle PATCH: {status} {body}")
            status, _, body = await request("PATCH", base + location, CANDIDATE,
                                            "application/trickle-ice-sdpfrag",
                                            {"If-Match": '"stale"'})
            check(status == 412, f"stale ETag: {status} {body}")
            status, _, body = await request("PATCH", base + location,
                                            "a=ice-ufrag:new1\r\na=ice-pwd:newpasswordnewpassword12\r\n",
                                            "application/trickle-ice-sdpfrag", {"If-Match": "*"})
            check(status == 422 and "ICE restart" in body, f"ICE restart: {status} {body}")
            status, _, body = await request("PATCH", base + location, "a=candidate:junk",
                                            "application/trickle-ice-sdpfrag")
            check(status == 400 and "not an ICE candidate" in body, f"bad fragment: {status} {body}")
            # An empty body once reached the parser as NULL and crashed the daemon.
            status, _, body = await request("PATCH", base + location, b"",
                                            "application/trickle-ice-sdpfrag")
            check(status == 400 and "an empty fragment" in body, f"empty PATCH: {status} {body}")
            status, _, body = await request("PATCH", base + location, CANDIDATE, "text/plain")
            check(status == 415, f"PATCH as text/plain: {status} {body}")
            check((await d.peers()) == 1, "one WHEP peer")
            status, _, body = await request("DELETE", base + location)
            check(status == 200, f"DELETE: {status} {body}")
            await d.wait_peers(0, timeout=10)
            status, _, body = await request("DELETE", base + location)
            check(status == 404 and "no WHEP session" in body, f"DELETE again: {status} {body}")
        finally:
            await c.close()


async def test_errors():
    async with Daemon(CONFIG.format(extra=""), name="rtcbotd-whep-errors") as d:
        c = RTCBotClient(d.url, audio=False, data=False, name="whep-err")
        await c.prepare()
        offer = c.offer["sdp"]
        await c.close()
        cases = [
            ("POST", "whep/camera", offer, "text/plain", 415, "application/sdp"),
            ("POST", "whep/camera", "v=0 nonsense", "application/sdp", 400, ""),
            ("POST", "whep/camera", "", "application/sdp", 400, "not SDP text"),
            ("POST", "whep/nope", offer, "application/sdp", 404, "WHEP serves: camera, tone"),
            ("POST", "whep/spare", offer, "application/sdp", 404, 'no source \\"spare\\"'),
            ("POST", "whep", offer, "application/sdp", 404, "/whep/SOURCE"),
            ("GET", "whep/camera", None, None, 405, "POST, OPTIONS"),
            ("PATCH", "whep/camera/0000", CANDIDATE, "application/trickle-ice-sdpfrag", 404,
             "no WHEP session"),
        ]
        for method, path, body, ctype, want, text in cases:
            status, _, reply = await request(method, d.url + path, body, ctype)
            check(status == want and text in reply and reply.startswith('{"error"'),
                  f"{method} /{path} ({ctype}): want {want} with {text!r}, got {status} {reply}")
        check((await d.peers()) == 0, "no peer is left by refused offers")


async def test_token_and_cors():
    extra = f"token = {TOKEN}\nlisten = 127.0.0.1:0"
    async with Daemon(CONFIG.format(extra=extra), name="rtcbotd-whep-token") as d:
        status, headers, _ = await request("OPTIONS", d.url + "whep/camera", headers={
            "Origin": "http://player.example", "Access-Control-Request-Method": "POST"})
        check(status == 204 and headers.get("Access-Control-Allow-Origin") == "*"
              and "Authorization" in headers.get("Access-Control-Allow-Headers", ""),
              f"preflight: {status} {dict(headers)}")
        c = RTCBotClient(d.url, audio=False, data=False, name="whep-token")
        try:
            await c.prepare()
            status, _, body = await request("POST", d.url + "whep/camera", c.offer["sdp"],
                                            "application/sdp")
            check(status == 401, f"without a token: {status} {body}")
            status, headers, body = await request("POST", d.url + "whep/camera", c.offer["sdp"],
                                                  "application/sdp",
                                                  {"Authorization": f"Bearer {TOKEN}"})
            check(status == 201, f"with the token: {status} {body[:200]}")
            c.t_post = time.monotonic()
            await c.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
            await c.wait_first_video(timeout=10)
        finally:
            await c.close()


if __name__ == "__main__":
    run_tap([("a WHEP player watches, trickles, is refused a restart, DELETEs",
              test_play_and_delete),
             ("every WHEP error status, with a reason", test_errors),
             ("WHEP behind the token; the CORS preflight stays open", test_token_and_cors)])
