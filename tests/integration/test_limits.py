#!/usr/bin/python3
"""rtcbotd's per-client limits (docs/security.md, "Limits").

- messages per second per peer: with [daemon] max-messages-per-second = 50, a
  peer that sends 500 at once gets about the burst through, the rest is
  counted (reason "rate") and logged once;
- offers pending at once: 4 per client address, 8 in all; the next gets 503
  with Retry-After and the JSON error body;
- slow clients: a request not in within 10 s loses its connection (so do
  the offers above that never finish their body), an idle keep-alive
  connection too, a websocket does not; the daemon serves on;
- huge request headers: libsoup drops the connection, the daemon serves on.
TAP output; see test_aiortc.py for the environment variables.
"""

import asyncio
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    TestFailure,
    check,
    note,
    raw_http,
    run_tap,
    wait_until,
)

REQUEST_TIMEOUT_S = 10  # RTCBOTD_HTTP_REQUEST_TIMEOUT_S
PER_CLIENT = 4  # RTCBOTD_HTTP_MAX_PENDING_OFFERS_PER_CLIENT
IN_ALL = 8  # RTCBOTD_HTTP_MAX_PENDING_OFFERS

CONFIG = """\
[daemon]
listen = 127.0.0.1:0
control = shared
max-messages-per-second = {rate}

[source dash]
type = websocket

[sink bridge]
type = socket
path = {sock}
queue-length = 1000

[route from-peers]
from = peers.messages
to = bridge

[route from-dash]
from = dash
to = bridge
"""


def metric(text, name, **labels):
    """The value of sample @name with (at least) @labels in a /metrics text; None if absent."""
    found = []
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            found.append(float(m.group(3)))
    check(len(found) <= 1, f"{name}{labels}: {len(found)} samples")
    return found[0] if found else None


def metric_sum(text, name):
    """The sum of the samples of @name (every peer's)."""
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def expect_json_error(resp, status, what):
    check(resp.status == status, f"{what}: HTTP {resp.status}, expected {status}: {resp.body[:200]!r}")
    check(resp.headers.get("content-type", "").startswith("application/json"),
          f"{what}: Content-Type {resp.headers.get('content-type')!r}")
    error = json.loads(resp.body).get("error")
    check(isinstance(error, str) and error, f"{what}: no error text: {resp.body!r}")
    return error


class Bridge:
    """The test's end of [sink bridge]: the messages peers sent, one JSON line each."""

    def __init__(self, path):
        self.path = path
        self.lines = []
        self.task = None

    async def start(self):
        async def cond():
            return os.path.exists(self.path)
        await wait_until(cond, 10)
        reader, self.writer = await asyncio.open_unix_connection(self.path, limit=1 << 20)

        async def read():
            while line := await reader.readline():
                self.lines.append(json.loads(line))
        self.task = asyncio.ensure_future(read())

    def close(self):
        self.task.cancel()
        self.writer.close()


S = {}


async def daemon():
    if "d" not in S:
        S["tmp"] = tempfile.TemporaryDirectory(prefix="rtcbotd-limits-")
        sock = os.path.join(S["tmp"].name, "bridge.sock")
        d = Daemon(CONFIG.format(rate=50, sock=sock), name="limits")
        d.shared = True
        await d.start()
        S["d"] = d
        S["bridge"] = Bridge(sock)
        await S["bridge"].start()
    check(S["d"].alive(), "daemon died")
    return S["d"]


async def test_rate_limit():
    d = await daemon()
    bridge = S["bridge"]
    async with RTCBotClient(d.url, video=False, audio=False, name="fast") as c:
        await c.connect()
        await c.wait_open()
        t0 = time.monotonic()
        for i in range(500):
            c.send({"n": i})
        sent_in = time.monotonic() - t0

        async def all_accounted():
            m = await d.get_text("metrics")
            rate = metric(m, "rtcbotd_peer_messages_dropped_total", reason="rate")
            seen = sum(1 for x in bridge.lines if isinstance(x, dict) and "n" in x)
            return rate is not None and rate + seen == 500
        try:
            await wait_until(all_accounted, 15, interval=0.2)
        except (TestFailure, asyncio.TimeoutError):
            pass
        m = await d.get_text("metrics")
        rate = metric(m, "rtcbotd_peer_messages_dropped_total", reason="rate")
        arrived = [x["n"] for x in bridge.lines if isinstance(x, dict) and "n" in x]
        note(f"500 sent in {sent_in:.2f} s: {len(arrived)} arrived, {rate:.0f} dropped for rate")
        check(len(arrived) + rate == 500, f"{len(arrived)} arrived + {rate} dropped != 500")
        # The burst (50) and 50/s while aiortc sends them (its SCTP window
        # spreads 500 messages over a while).
        elapsed = time.monotonic() - t0
        check(50 <= len(arrived) <= 50 + 50 * elapsed + 5,
              f"{len(arrived)} arrived in {elapsed:.1f} s with max-messages-per-second = 50")
        check(arrived == sorted(arrived), "the messages that passed are out of order")
        # Logged once per peer, not per message.
        line = "sends more than 50 messages/s; dropping the excess (counted in /metrics)"
        check(d.output().count(line) == 1, f"expected the log line once: {line!r}")
        # The limit is per peer: the next peer starts with a full bucket.
        bridge.lines.clear()
    async with RTCBotClient(d.url, video=False, audio=False, name="next") as c:
        await c.connect()
        await c.wait_open()
        for i in range(20):
            c.send({"k": i})

        async def twenty():
            return sum(1 for x in bridge.lines if isinstance(x, dict) and "k" in x) == 20
        await wait_until(twenty, 10)


async def test_channels_per_peer():
    d = await daemon()
    extra = [(f"c{i}", {}) for i in range(19)]  # with "default": 20, 4 beyond the 16
    async with RTCBotClient(d.url, video=False, audio=False, name="many", channels=extra) as c:
        await c.connect()
        await c.wait_open()

        async def four_refused():
            m = await d.get_text("metrics")
            return metric_sum(m, "rtcbotd_peer_data_channels_refused_total") == 4
        await wait_until(four_refused, 10, interval=0.2)
        check(d.output().count("a peer may open 16 (later ones are logged at debug level") == 1,
              "the refusal is logged once")
        c.send({"still": "here"})

        async def arrived():
            return {"still": "here"} in S["bridge"].lines
        await wait_until(arrived, 5)


async def hold_offer(d, local_ip, expect=False):
    """A /connect whose headers and half its body are in, the rest never sent;
    with @expect it asks for "100 Continue" and then sends no body at all."""
    reader, writer = await asyncio.open_connection(d.host, d.port, local_addr=(local_ip, 0))
    writer.write(b"POST /connect HTTP/1.1\r\nHost: robot\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 4000\r\n"
                 + (b"Expect: 100-continue\r\n\r\n" if expect
                    else b"\r\n" + b'{"type": "offer", "sdp": "v=0'))
    await writer.drain()
    return reader, writer, time.monotonic()


async def post_offer(d, local_ip):
    """A complete (if bogus) /connect from @local_ip: refused before its body matters."""
    reader, writer = await asyncio.open_connection(d.host, d.port, local_addr=(local_ip, 0))
    body = b'{"type": "offer", "sdp": "junk"}'
    writer.write(b"POST /connect HTTP/1.1\r\nHost: robot\r\nConnection: close\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return int(lines[0].split()[1]), headers, payload


async def pending(d):
    return metric(await d.get_text("metrics"), "rtcbotd_http_offers_pending")


async def closed_within(reader, since, seconds):
    """Seconds from @since until the server closed the connection (None: still open
    @seconds after @since)."""
    try:
        while await asyncio.wait_for(reader.read(65536), since + seconds - time.monotonic()):
            pass
    except asyncio.TimeoutError:
        return None
    except ConnectionError:
        pass
    return time.monotonic() - since


async def test_pending_offers_and_timeouts():
    d = await daemon()
    held = [await hold_offer(d, "127.0.0.1") for _ in range(PER_CLIENT)]

    async def four():
        return await pending(d) == PER_CLIENT
    await wait_until(four, 5)
    # One address: the fifth is refused at once, whatever its body.
    status, headers, body = await post_offer(d, "127.0.0.1")
    check(status == 503, f"a fifth pending offer from one address: HTTP {status}: {body!r}")
    check(headers.get("retry-after") == "2", f"Retry-After {headers.get('retry-after')!r}")
    check(headers.get("content-type", "").startswith("application/json"), f"{headers}")
    check("from this address" in json.loads(body)["error"], f"{body!r}")
    # Another address still gets its four, then nobody gets more.
    # (Two of them ask for "100 Continue" and never send their bodies.)
    held += [await hold_offer(d, "127.0.0.2", expect=i < 2) for i in range(PER_CLIENT)]

    async def eight():
        return await pending(d) == IN_ALL
    await wait_until(eight, 5)
    status, headers, body = await post_offer(d, "127.0.0.3")
    check(status == 503, f"a ninth pending offer: HTTP {status}: {body!r}")
    check(json.loads(body)["error"] == "8 offers are being negotiated already; try again later",
          f"{body!r}")
    check(headers.get("retry-after") == "2", f"Retry-After {headers.get('retry-after')!r}")
    m = await d.get_text("metrics")
    check(metric(m, "rtcbotd_http_offers_refused_total", reason="pending-client") == 1, "counted")
    check(metric(m, "rtcbotd_http_offers_refused_total", reason="pending") == 1, "counted")
    # Meanwhile: a connection that sends nothing, a half-sent GET, a quiet websocket.
    reader, keepalive = await asyncio.open_connection(d.host, d.port)
    idle_since = time.monotonic()
    half_reader, half = await asyncio.open_connection(d.host, d.port)
    half.write(b"GET /healthz HTTP/1.1\r\nHost: rob")
    await half.drain()
    half_since = time.monotonic()
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(d.url + "ws/dash", autoping=False, heartbeat=None)
    # Every slow client is cut off 10 s after its request started (+2 s at most).
    limit = REQUEST_TIMEOUT_S + 2
    waits = await asyncio.gather(*(closed_within(r, since, limit) for r, _, since in held),
                                 closed_within(half_reader, half_since, limit),
                                 closed_within(reader, idle_since, limit))
    check(all(w is not None for w in waits),
          f"a slow client kept its connection beyond {limit} s: {waits}")
    note(f"slow clients cut off after {min(waits[:-1]):.1f}..{max(waits[:-1]):.1f} s, "
         f"the silent connection after {waits[-1]:.1f} s")
    check(all(w >= REQUEST_TIMEOUT_S - 0.5 for w in waits), f"a client was cut off early: {waits}")
    for _, w, _ in held:
        w.close()
    half.close()
    keepalive.close()
    m = await d.get_text("metrics")
    check(metric(m, "rtcbotd_http_requests_timed_out_total") == IN_ALL + 2,
          f"timeouts counted: {metric(m, 'rtcbotd_http_requests_timed_out_total')}")
    check(metric(m, "rtcbotd_http_offers_pending") == 0, "the slots are free again")
    check(d.output().count("no complete request within 10 s; closed its connection") == 1,
          "the timeout is logged once at message level")
    # The websocket, quiet all along, still carries messages both ways.
    check(not ws.closed, "the websocket was closed by the request timeout")
    await ws.send_str(json.dumps({"from": "dash"}))

    async def relayed():
        return {"from": "dash"} in S["bridge"].lines
    await wait_until(relayed, 5)
    await ws.close()
    await session.close()
    # And the daemon answers a real client.
    async with RTCBotClient(d.url, video=False, audio=False, name="after") as c:
        await c.connect()
        await c.wait_open()


async def test_huge_headers():
    d = await daemon()
    ok = await raw_http(d.host, d.port, "GET", "/healthz", headers={"X-Big": "a" * 16384})
    check(ok.status == 200, f"16 KiB of headers: HTTP {ok.status}")
    # libsoup 3.2 reads at most 64 KiB of headers, then drops the connection
    # without a reply (the client sees a reset or an empty response).
    try:
        resp = await raw_http(d.host, d.port, "GET", "/healthz", headers={"X-Big": "a" * 102400})
    except (TestFailure, ConnectionError) as e:  # raw_http's "closed without a response"
        resp = None
        note(f"100 KiB of headers: connection dropped ({e!r})")
    check(resp is None or 400 <= resp.status < 500, f"100 KiB of headers: HTTP {resp}")
    many = {f"X-H{i}": "b" * 60 for i in range(2000)}
    try:
        resp = await raw_http(d.host, d.port, "GET", "/healthz", headers=many)
    except (TestFailure, ConnectionError) as e:
        resp = None
        note(f"2000 headers (130 KiB): connection dropped ({e!r})")
    check(resp is None or 400 <= resp.status < 500, f"2000 headers: HTTP {resp}")
    again = await raw_http(d.host, d.port, "GET", "/healthz")
    check(again.status == 200, f"afterwards: HTTP {again.status}")


def open_fds(d):
    return len(os.listdir(f"/proc/{d.proc.pid}/fd"))


async def test_no_fd_left():
    """Every reply closes its connection (libsoup 3.2 leaks the fd of a kept-alive
    connection its client closes), also libsoup's own 400s; none stays open."""
    d = await daemon()
    before = open_fds(d)
    for request in (b"GET https://robot/ HTTP/1.1", b"GET /%2F..%2Fetc HTTP/1.1",
                    b"GET /healthz HTTP/1.1"):
        for _ in range(20):
            reader, writer = await asyncio.open_connection(d.host, d.port)
            writer.write(request + b"\r\nHost: robot\r\n\r\n")
            await writer.drain()
            reply = await asyncio.wait_for(reader.read(), 5)  # to the server's close
            check(b"\r\nConnection: close\r\n" in reply.partition(b"\r\n\r\n")[0] + b"\r\n",
                  f"{request!r}: {reply[:200]!r}")
            writer.close()

    try:
        await wait_until(lambda: open_fds(d) <= before, 5)
    except asyncio.TimeoutError:
        raise TestFailure(f"open fds {before} -> {open_fds(d)} after 60 closed connections")
    note(f"open fds: {before} before, {open_fds(d)} after 60 connections")


async def test_stop():
    d = S.pop("d")
    S.pop("bridge").close()
    await d.stop()


run_tap([
    ("max-messages-per-second drops the excess, counted and logged once", test_rate_limit),
    ("every reply closes its connection; no fd stays open", test_no_fd_left),
    ("a peer's data channels beyond 16 are closed, counted and logged once",
     test_channels_per_peer),
    ("pending offers are capped per address and in all; slow clients time out",
     test_pending_offers_and_timeouts),
    ("huge request headers drop the connection, the daemon serves on", test_huge_headers),
    ("the daemon stops cleanly", test_stop),
])
