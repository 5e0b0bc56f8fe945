#!/usr/bin/python3
"""rtcbotd's /connect error handling, data-only offers and max-peers.

Each malformed request must get its 4xx with Content-Type application/json
and a JSON object body with a string "error"; afterwards the same daemon must
still serve an RTCBot-shaped aiortc client and have no leftover peers.
TAP output; see test_aiortc.py for the environment variables.
"""

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon,
    HTTPStatusError,
    RTCBotClient,
    TestFailure,
    check,
    make_config,
    note,
    raw_http,
    run_tap,
    sdp_media_kinds,
)

S = {}


async def shared_daemon():
    d = S.get("d")
    if d is None:
        d = Daemon(make_config(), name="rtcbotd")
        d.shared = True
        await d.start()
        S["d"] = d
    check(d.alive(), f"daemon died (exit {d.proc.returncode})")
    return d


async def valid_offer():
    """A real aiortc offer (RTCBot shape), its peer connection closed again."""
    if "offer" not in S:
        c = RTCBotClient("http://127.0.0.1:9/", name="offer-source")
        S["offer"] = await c.prepare()
        await c.close()
    return S["offer"]


def expect_error(resp, status, what):
    ctype = resp.headers.get("content-type", "")
    check(resp.status == status,
          f"{what}: HTTP {resp.status} {resp.reason}, expected {status}; body {resp.body[:300]!r}")
    check(ctype.split(";")[0].strip().lower() == "application/json",
          f"{what}: Content-Type {ctype!r}, expected application/json; body {resp.body[:300]!r}")
    try:
        body = resp.json()
    except ValueError:
        raise TestFailure(f"{what}: body is not JSON: {resp.body[:300]!r}") from None
    check(isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"],
          f"{what}: body has no string 'error': {body!r}")
    note(f"{what}: {resp.status} {body}")
    return body


async def post(d, body, path="/connect", **kw):
    if isinstance(body, str):
        body = body.encode()
    return await raw_http(d.host, d.port, "POST", path, body,
                          {"Content-Type": "text/plain;charset=UTF-8"}, **kw)


# --------------------------------------------------------------------------
# malformed requests (one shared daemon)
# --------------------------------------------------------------------------

async def test_not_json():
    d = await shared_daemon()
    expect_error(await post(d, "this is not json {"), 400, "not JSON")
    expect_error(await post(d, b"\xff\xfe\x00garbage"), 400, "binary junk")


async def test_empty_body():
    d = await shared_daemon()
    expect_error(await post(d, b""), 400, "empty body")


async def test_not_object():
    d = await shared_daemon()
    expect_error(await post(d, "[1, 2, 3]"), 400, "JSON array")
    expect_error(await post(d, '"offer"'), 400, "JSON string")
    expect_error(await post(d, "null"), 400, "JSON null")


async def test_no_sdp():
    d = await shared_daemon()
    expect_error(await post(d, json.dumps({"type": "offer"})), 400, "JSON without sdp")
    expect_error(await post(d, json.dumps({"type": "offer", "sdp": 42})), 400, "sdp not a string")


async def test_type_not_offer():
    d = await shared_daemon()
    offer = await valid_offer()
    expect_error(await post(d, json.dumps({"type": "answer", "sdp": offer["sdp"]})), 400,
                 "type 'answer'")
    expect_error(await post(d, json.dumps({"type": "pranswer", "sdp": offer["sdp"]})), 400,
                 "type 'pranswer'")


async def test_garbage_sdp():
    d = await shared_daemon()
    expect_error(await post(d, json.dumps({"type": "offer", "sdp": "hello world"})), 400,
                 "garbage SDP")
    expect_error(await post(d, json.dumps({"type": "offer", "sdp": ""})), 400, "empty SDP")


async def test_no_mlines():
    d = await shared_daemon()
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    expect_error(await post(d, json.dumps({"type": "offer", "sdp": sdp})), 400,
                 "SDP without m-lines")


async def test_big_body():
    d = await shared_daemon()
    body = json.dumps({"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 200000}).encode()
    check(len(body) > 1000000, "test body too small")
    t0 = time.monotonic()
    r = await post(d, body, timeout=20)
    expect_error(r, 413, f"{len(body)} byte body (Content-Length)")
    note(f"413 after {time.monotonic() - t0:.3f} s"
         + (f"; client write error {r.write_error!r}" if r.write_error else ""))


async def test_big_body_chunked():
    d = await shared_daemon()
    body = b"{" + b" " * (1024 * 1024) + b"}"
    r = await post(d, body, chunked=True, timeout=20)
    expect_error(r, 413, f"{len(body)} byte body (chunked, no Content-Length)")


async def test_unknown_path():
    d = await shared_daemon()
    expect_error(await raw_http(d.host, d.port, "GET", "/no/such/path"), 404, "GET /no/such/path")
    offer = await valid_offer()
    expect_error(await post(d, json.dumps(offer), path="/connectx"), 404, "POST /connectx")


async def test_get_connect():
    d = await shared_daemon()
    r = await raw_http(d.host, d.port, "GET", "/connect")
    expect_error(r, 405, "GET /connect")
    note(f"Allow: {r.headers.get('allow')!r}")


async def test_healthz_after_errors():
    d = await shared_daemon()
    h = await d.healthz()
    note(f"/healthz: {h}")
    check(h.get("status") == "ok" and h.get("peers") == 0,
          f"/healthz after the malformed requests: {h} (expected ok, 0 peers)")


async def test_good_client_after():
    d = await shared_daemon()
    async with RTCBotClient(d.url, name="good") as c:
        await c.connect()
        ff = await c.wait_first_video(10)
        await c.wait_open(5)
        c.send({"still": "alive"})
        _, got = await c.recv()
        check(got == {"still": "alive"}, f"echo {got!r}")
        note(f"good client after the malformed requests: first frame {ff:.3f} s, echo ok")
    await d.wait_peers(0, timeout=15)


async def test_stop_shared():
    d = S.pop("d", None)
    if d is None:
        raise TestFailure("no shared daemon")
    await d.stop()


# --------------------------------------------------------------------------
# abandoned offers: the client goes away between the answer and ICE/DTLS
# --------------------------------------------------------------------------

async def watch_cleanup(d, what, timeout=30.0):
    """Poll /healthz (2 s per request) until peers == 0; fail if the daemon
    stops answering meanwhile."""
    t0 = time.monotonic()
    seen = []
    while True:
        try:
            h = await asyncio.wait_for(d.healthz(), 2.0)
        except (asyncio.TimeoutError, OSError) as e:
            raise TestFailure(
                f"{what}: the daemon stopped answering GET /healthz "
                f"{time.monotonic() - t0:.1f} s later ({type(e).__name__}); peers seen {seen}") from None
        p = h.get("peers")
        if not seen or seen[-1][1] != p:
            seen.append((round(time.monotonic() - t0, 1), p))
        if p == 0:
            return time.monotonic() - t0, seen
        if time.monotonic() - t0 > timeout:
            raise TestFailure(f"{what}: peers still {p} after {timeout} s; history {seen}")
        await asyncio.sleep(0.25)


async def test_abandoned_offer():
    async with Daemon(make_config()) as d:
        # aiortc client that applies the answer, then closes before connecting
        c = RTCBotClient(d.url, name="quitter")
        await c.prepare()
        await c.post()
        await c.close()
        # a valid offer POSTed by a client that never does ICE at all
        offer = await valid_offer()
        r = await post(d, json.dumps(offer))
        check(r.status == 200, f"valid offer: HTTP {r.status} {r.body[:200]!r}")
        took, seen = await watch_cleanup(d, "after two abandoned offers")
        note(f"abandoned peers cleaned up after {took:.1f} s; /healthz peers history {seen}")
        async with RTCBotClient(d.url, name="good") as g:
            await g.connect()
            ff = await g.wait_first_video(10)
            note(f"a new client afterwards: first frame {ff:.3f} s")


async def test_abandoned_then_sigterm():
    d = Daemon(make_config())
    await d.start()
    c = RTCBotClient(d.url, name="quitter")
    await c.prepare()
    await c.post()
    await c.close()
    await d.stop(timeout=10)  # SIGTERM while the peer is still connecting: must exit 0


# --------------------------------------------------------------------------
# data-only offer, max-peers
# --------------------------------------------------------------------------

async def test_data_only():
    async with Daemon(make_config()) as d:
        async with RTCBotClient(d.url, video=False, audio=False, name="data-only") as c:
            await c.prepare()
            check(sdp_media_kinds(c.offer["sdp"]) == ["application"],
                  f"offer m-lines {sdp_media_kinds(c.offer['sdp'])}")
            try:
                await c.post()
            except HTTPStatusError as e:
                raise TestFailure(f"data-only offer: HTTP {e.status} {e.body!r}") from None
            kinds = sdp_media_kinds(c.answer["sdp"])
            check(kinds == ["application"], f"answer m-lines {kinds}, expected ['application']")
            await c.wait_open(10)
            c.send({"hello": "data-only"})
            _, got = await c.recv()
            check(got == {"hello": "data-only"}, f"echo {got!r}")
            n = await d.peers()
            check(n == 1, f"/healthz peers {n}, expected 1")
            note(f"data-only offer answered in {c.t_answer - c.t_post:.3f} s; channel open; echo ok")
        await d.wait_peers(0, timeout=15)


async def test_max_peers():
    async with Daemon(make_config(max_peers=1)) as d:
        a = RTCBotClient(d.url, name="A")
        b = RTCBotClient(d.url, name="B")
        try:
            await a.connect()
            await a.wait_first_video(10)
            await b.prepare()
            try:
                await b.post()
                raise TestFailure("second client accepted with max-peers = 1")
            except HTTPStatusError as e:
                check(e.status == 503, f"second client: HTTP {e.status} {e.body!r}, expected 503")
                ra = e.headers.get("Retry-After")
                check(ra is not None and ra.strip().isdigit() and int(ra) >= 1,
                      f"503 Retry-After header {ra!r} (expected a positive number of seconds)")
                note(f"second client: 503, Retry-After: {ra}, "
                     f"Content-Type: {e.headers.get('Content-Type')!r}, body {e.body!r}")
            check(a.pc.connectionState == "connected", f"first client disturbed: {a.state()}")
            await b.close()
            # the slot frees when the first client leaves
            await a.close()
            await d.wait_peers(0, timeout=15)
            async with RTCBotClient(d.url, name="C") as c:
                await c.connect()
                await c.wait_first_video(10)
                note("after the first client left, a new client got the slot")
        finally:
            await a.close()
            await b.close()


run_tap([
    ("not JSON -> 400 JSON error", test_not_json),
    ("empty body -> 400 JSON error", test_empty_body),
    ("JSON that is not an object -> 400 JSON error", test_not_object),
    ("JSON without sdp / sdp not a string -> 400 JSON error", test_no_sdp),
    ("type not 'offer' -> 400 JSON error", test_type_not_offer),
    ("garbage / empty SDP text -> 400 JSON error", test_garbage_sdp),
    ("SDP with no m-lines -> 400 JSON error", test_no_mlines),
    ("1 MB body with Content-Length -> 413 JSON error", test_big_body),
    ("1 MB chunked body -> 413 JSON error", test_big_body_chunked),
    ("unknown path -> 404 JSON error", test_unknown_path),
    ("GET /connect -> 405 JSON error", test_get_connect),
    ("/healthz ok with 0 peers after the malformed requests", test_healthz_after_errors),
    ("a good aiortc client is still served afterwards", test_good_client_after),
    ("daemon exits 0 on SIGTERM after all that", test_stop_shared),
    ("abandoned offers (client gone before ICE/DTLS): cleaned up, daemon keeps serving",
     test_abandoned_offer),
    ("SIGTERM while an abandoned peer is still connecting: exit 0", test_abandoned_then_sigterm),
    ("data-only offer (no media m-lines) -> 200, data channel works", test_data_only),
    ("max-peers = 1: second client gets 503 + Retry-After; slot frees on leave", test_max_peers),
], timeout=60)
