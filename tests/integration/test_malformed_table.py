#!/usr/bin/python3
"""The malformed-input table (issue 9): one row per hostile input, each with
its exact expected outcome, across HTTP, /connect, WHEP, the relay, the data
channel, serial bytes and the config file.

Rows run against one shared daemon (test video and audio, the echo route, two
serial sinks on socat ptys), one `rtcbotd relay`, and `rtcbotd
--check-config`. After every row the daemon (or relay) must still answer
GET /healthz, and after every row that reaches the daemon a new aiortc peer
connects, decodes a frame and gets an echo (after a relay row: a robot still
answers an offer through the relay); again after every area. With RTCBOTD_TABLE_OUT=PATH the table, with each row's actual
outcome, is written to PATH as Markdown (docs/malformed-table.md).
TAP output: one test per row.
"""

import asyncio
import atexit
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import tty
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    TestFailure,
    check,
    make_config,
    note,
    raw_http,
    rtcbotd_path,
    run_tap,
    sanitized,
    wait_until,
)

import aiohttp  # noqa: E402
from test_relay import Relay  # noqa: E402 - its helper, not its tests

S = {}
RESULTS = []  # (area, input, outcome) per row, in order

SDP_HEAD = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


# --------------------------------------------------------------------------
# fixtures: ptys, the shared daemon, the relay
# --------------------------------------------------------------------------

class Pty:
    """Two ptys joined by socat: the daemon opens `robot`, the test writes as
    the microcontroller on `mcu`."""

    def __init__(self, directory, name):
        self.robot = str(Path(directory) / f"{name}-robot")
        self.mcu = str(Path(directory) / f"{name}-mcu")
        self.fd = None
        self.proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={self.robot}", f"pty,raw,echo=0,link={self.mcu}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Whatever happens to the run (a failure, RTCBOTD_TEST_ONLY), socat goes with it.
        atexit.register(self.stop)
        deadline = time.monotonic() + 5
        while not (os.path.exists(self.robot) and os.path.exists(self.mcu)):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise TestFailure("socat did not make the pty pair")
            time.sleep(0.01)  # polling for socat's links, with a deadline
        self.fd = os.open(self.mcu, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)

    async def write(self, data, timeout=20.0):
        """Writes all of @data, waiting while the pty buffer is full."""
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view[:4096])
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TestFailure(f"pty: {len(view)} bytes not written in {timeout} s")
                await asyncio.sleep(0.001)

    def drain(self):
        try:
            while os.read(self.fd, 65536):
                pass
        except (BlockingIOError, OSError):
            pass

    def stop(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


CONFIG_EXTRA = """
[sink lines]
type = serial
device = {lines}

[sink rec]
type = serial
device = {rec}
read-format = <hH
read-keys = temp;millivolts
frame-marker = 0xAA,0x55

[route serial]
from = lines;rec
to = peers
"""


async def daemon():
    d = S.get("d")
    if d is None:
        S["tmp"] = tempfile.TemporaryDirectory(prefix="rtcbotd-table-")
        atexit.register(S["tmp"].cleanup)  # after the ptys' socat has gone (atexit is LIFO)
        S["lines"] = Pty(S["tmp"].name, "lines")
        S["rec"] = Pty(S["tmp"].name, "rec")
        cfg = make_config(max_peers=16, width=320, height=240, framerate=15, encoder="vp8")
        cfg += CONFIG_EXTRA.format(lines=S["lines"].robot, rec=S["rec"].robot)
        d = Daemon(cfg, args=["-v"], name="rtcbotd")
        d.shared = True
        await d.start()
        S["d"] = d
        S["config"] = cfg
    check(d.alive(), f"daemon died (exit {d.proc.returncode})")
    return d


async def relay():
    r = S.get("relay")
    if r is None:
        r = Relay()
        r.shared = True
        await r.start()
        S["relay"] = r
    check(r.alive(), f"relay died (exit {r.proc.returncode})")
    return r


async def valid_offer(video=True, audio=True):
    key = ("offer", video, audio)
    if key not in S:
        c = RTCBotClient("http://127.0.0.1:9/", video=video, audio=audio, data=not audio,
                         name="offer-source")
        S[key] = await c.prepare()
        await c.close()
    return S[key]


# --------------------------------------------------------------------------
# outcomes
# --------------------------------------------------------------------------

def describe(resp):
    """'400 json' (+ the error text) for a JSON error, else '200', 'closed', ..."""
    if resp is None:
        return "closed", "connection closed without a response"
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            body = json.loads(resp.body.decode("utf-8"))
        except ValueError:
            return f"{resp.status} bad-json", repr(resp.body[:80])
        if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]:
            return f"{resp.status} json", body["error"][:120]
        return f"{resp.status}", "JSON"
    return f"{resp.status}", (resp.reason or "")[:80]


async def raw_request(host, port, data, timeout=10.0, eof=True):
    """Writes @data (bytes) to a new connection (then half-closes it when
    @eof: the request is all there is), concurrently reads one response;
    returns an object like rtcbotd_test.RawResponse, or None when the server
    closes without answering."""
    reader, writer = await asyncio.open_connection(host, port)

    async def send():
        try:
            for i in range(0, len(data), 65536):
                writer.write(data[i:i + 65536])
                await writer.drain()
            if eof:
                writer.write_eof()
        except (ConnectionError, OSError):
            pass

    sender = asyncio.ensure_future(send())
    try:
        async def read():
            line = await reader.readline()
            if not line:
                return None
            parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
            headers = {}
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
            n = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(n) if n else b""

            class R:
                pass
            r = R()
            r.status, r.reason, r.headers, r.body = int(parts[1]), parts[2] if len(
                parts) > 2 else "", headers, body
            return r
        try:
            return await asyncio.wait_for(read(), timeout)
        except (ConnectionError, asyncio.IncompleteReadError):
            return None
    finally:
        sender.cancel()
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def head(method, path, headers=(), version="HTTP/1.1", host="127.0.0.1"):
    lines = [f"{method} {path} {version}".encode() if isinstance(path, str)
             else method.encode() + b" " + path + b" " + version.encode()]
    lines.append(f"Host: {host}".encode())
    lines.append(b"Connection: close")
    for h in headers:
        lines.append(h.encode() if isinstance(h, str) else h)
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def http_raw(data, timeout=10.0):
    d = await daemon()
    return describe(await raw_request(d.host, d.port, data, timeout))


async def connect_body(body, ctype="text/plain;charset=UTF-8", chunked=False):
    d = await daemon()
    if isinstance(body, str):
        body = body.encode()
    r = await raw_http(d.host, d.port, "POST", "/connect", body, {"Content-Type": ctype},
                       chunked=chunked, timeout=20)
    return describe(r)


def offer_json(sdp, kind="offer"):
    return json.dumps({"type": kind, "sdp": sdp})


# --------------------------------------------------------------------------
# rows: (area, input, action, expected summary)
# --------------------------------------------------------------------------

def http_rows():
    R = []

    def row(name, data, want, timeout=10.0):
        R.append(("http", name, lambda: http_raw(data() if callable(data) else data, timeout),
                  want))

    row("FOO /connect", head("FOO", "/connect"), "405 json")
    row("TRACE /connect", head("TRACE", "/connect"), "405 json")
    row("CONNECT / (method)", head("CONNECT", "/"), "405 json")
    row("DELETE /", head("DELETE", "/"), "405 json")
    row("PUT /healthz", head("PUT", "/healthz"), "405 json")
    row("two different Content-Length headers",
        head("POST", "/connect", ["Content-Length: 5", "Content-Length: 7"]) + b"hello12",
        "400 json")
    row("Content-Length: -1, no body", head("POST", "/connect", ["Content-Length: -1"]), "closed")
    row("Content-Length: abc", head("POST", "/connect", ["Content-Length: abc"]), "400")
    row("Content-Length 2^64 (overflow), no body",
        head("POST", "/connect", ["Content-Length: 18446744073709551617"]), "closed")
    row("Content-Length 10 GB, no body", head("POST", "/connect", ["Content-Length: 10000000000"]),
        "closed")
    row("chunk size not hex",
        head("POST", "/connect", ["Transfer-Encoding: chunked"]) + b"zz\r\nhello\r\n0\r\n\r\n",
        "400 json")
    row("chunk size 2^64+ (overflow)",
        head("POST", "/connect", ["Transfer-Encoding: chunked"])
        + b"1ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", "400 json")
    row("chunked body over 64 KiB in one 128 KiB chunk",
        head("POST", "/connect", ["Transfer-Encoding: chunked"]) + b"20000\r\n" + b"x" * 0x20000
        + b"\r\n0\r\n\r\n", "413 json")
    row("chunked body cut off mid-chunk",
        head("POST", "/connect", ["Transfer-Encoding: chunked"]) + b"1000000\r\n" + b"x" * 1000,
        "closed")
    row("Transfer-Encoding: gzip (unknown coding)",
        head("POST", "/connect", ["Transfer-Encoding: gzip", "Content-Length: 2"]) + b"{}",
        "400 json")
    row("header line of 100 KiB", head("GET", "/healthz", ["X-Big: " + "a" * 100 * 1024]), "closed")
    row("1000 headers", head("GET", "/healthz", [f"X-H{i}: v" for i in range(1000)]), "200")
    row("HTTP/0.9 request line", b"GET /\r\n\r\n", "400")
    row("HTTP/2.0 request line", head("GET", "/healthz", version="HTTP/2.0"), "505")
    row("request line without a version", b"GET /healthz\r\nHost: x\r\n\r\n", "400")
    row("NUL byte in the path", head("GET", b"/heal\x00thz"), "400")
    row("path traversal /../../etc/passwd", head("GET", "/../../etc/passwd"), "404 json")
    row("path traversal /%2e%2e/%2e%2e/etc/passwd", head("GET", "/%2e%2e/%2e%2e/etc/passwd"),
        "404 json")
    row("path traversal /static/..%2f..%2fetc%2fpasswd",
        head("GET", "/static/..%2f..%2fetc%2fpasswd"), "400")
    row("URL of 8 KiB", head("GET", "/" + "a" * 8192), "404 json")
    row("URL of 64 KiB", head("GET", "/" + "a" * 65536), "closed")
    row("URL of 1 MiB", lambda: head("GET", "/" + "a" * (1 << 20)), "closed")
    row("Expect: 100-continue with Content-Length 100 MB",
        head("POST", "/connect", ["Expect: 100-continue", "Content-Length: 100000000"]),
        "413 json")
    row("Content-Length 65537 body",
        head("POST", "/connect", ["Content-Length: 65537"]) + b"{" * 65537, "413 json")
    R.append(("http", "Content-Length 40 MB, all sent: memory stays bounded", big_body_memory,
              "413 json"))
    row("garbage instead of a request", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 10,
        "400")
    row("invalid percent-escape /%zz%", head("GET", "/%zz%"), "400")
    return R


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def big_body_memory():
    """libsoup reads a refused body to its end; the daemon must not keep it."""
    d = await daemon()
    size = 40 * 1000 * 1000
    # A first refused body warms the daemon up (buffers, a freshly started pipeline).
    await raw_request(d.host, d.port, head("POST", "/connect", ["Content-Length: 4000000"])
                      + b"x" * 4000000, timeout=30)
    before = rss_kib(d.pid)
    r = await raw_request(d.host, d.port, head("POST", "/connect", [f"Content-Length: {size}"])
                          + b"x" * size, timeout=30)
    grew = (rss_kib(d.pid) - before) / 1024
    outcome, detail = describe(r)
    # (ASan's quarantine keeps freed memory mapped: no bound to check there.)
    check(grew < 16 or sanitized(), f"RSS grew {grew:.1f} MiB for a refused 40 MB body")
    return outcome, f"{detail}; RSS {grew:+.1f} MiB"


def connect_rows():
    R = []

    def row(name, body, want, **kw):
        R.append(("connect", name, lambda: connect_body(body() if callable(body) else body, **kw),
                  want))

    async def with_offer(fn):
        offer = await valid_offer()
        return await connect_body(fn(offer))

    def orow(name, fn, want):
        R.append(("connect", name, lambda: with_offer(fn), want))

    row("not JSON", "this is not json {", "400 json")
    row("binary junk", bytes(range(256)) * 4, "400 json")
    row("invalid UTF-8 in a JSON string", b'{"type":"offer","sdp":"v=0\xff\xfe"}', "400 json")
    row("empty body", b"", "400 json")
    row("JSON array", "[1, 2, 3]", "400 json")
    row("JSON number", "42", "400 json")
    row("JSON null", "null", "400 json")
    row("JSON nested 60000 deep ([[[...)", "[" * 60000, "400 json")
    row("JSON nested 60000 deep ({\"a\":{...)", '{"a":' * 12000, "400 json")
    row("JSON nested 65536 deep (the whole 64 KiB)", "[" * 65536, "400 json")
    row("object without sdp", '{"type": "offer"}', "400 json")
    row("sdp is a number", '{"type": "offer", "sdp": 42}', "400 json")
    row("sdp is an object", '{"type": "offer", "sdp": {"v": 0}}', "400 json")
    row("type is a number", '{"type": 1, "sdp": "v=0"}', "400 json")
    orow("type \"answer\"", lambda o: offer_json(o["sdp"], "answer"), "400 json")
    row("empty sdp", offer_json(""), "400 json")
    row("sdp \"hello world\"", offer_json("hello world"), "400 json")
    row("SDP with no media", offer_json(SDP_HEAD), "400 json")
    row("5000 m-lines", offer_json(SDP_HEAD + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" * 5000),
        "413 json")
    row("1000 m-lines (under 64 KiB)",
        offer_json(SDP_HEAD + "m=audio 9 RTP/AVP 0\r\n" * 1000), "400 json")
    orow("a=rtpmap with nothing after the payload type",
         lambda o: offer_json(re.sub(r"a=rtpmap:(\d+) [^\r]*", r"a=rtpmap:\1", o["sdp"])),
         "400 json")
    orow("one 60 KiB attribute line",
         lambda o: offer_json(o["sdp"].replace("a=mid:0", "a=mid:0\r\na=x-huge:" + "x" * 60000, 1)),
         "200")
    orow("offer with NUL bytes inside the SDP",
         lambda o: offer_json(o["sdp"].replace("a=mid:0", "a=mid:\u00000")), "400 json")
    return R


async def whep_request(method, path, body=None, ctype=None, headers=None):
    d = await daemon()
    hdrs = dict(headers or {})
    if ctype:
        hdrs["Content-Type"] = ctype
    if isinstance(body, str):
        body = body.encode()
    return describe(await raw_http(d.host, d.port, method, path, body, hdrs, timeout=15))


async def whep_session():
    """A real WHEP session (recvonly aiortc offer): its Location and ETag."""
    if "whep" not in S:
        d = await daemon()
        c = RTCBotClient(d.url, audio=False, data=False, name="whep")
        await c.prepare()
        r = await raw_http(d.host, d.port, "POST", "/whep/camera", c.offer["sdp"].encode(),
                           {"Content-Type": "application/sdp"}, timeout=15)
        check(r.status == 201, f"POST /whep/camera: {r}")
        S["whep"] = (c, r.headers["location"], r.headers["etag"])
    return S["whep"]


CANDIDATE = "a=candidate:1 1 UDP 2130706431 127.0.0.1 9 typ host\r\n"
SDPFRAG = "application/trickle-ice-sdpfrag"


def whep_rows():
    R = []

    def row(name, fn, want):
        R.append(("whep", name, fn, want))

    async def offer_sdp():
        return (await valid_offer(audio=False))["sdp"]

    async def session_patch(body, ctype=SDPFRAG, headers=None):
        _, location, _ = await whep_session()
        return await whep_request("PATCH", location, body, ctype, headers)

    async def delete_twice():
        c, location, _ = await whep_session()
        first = await whep_request("DELETE", location)
        check(first[0] == "200", f"first DELETE: {first}")
        second = await whep_request("DELETE", location)
        await c.close()
        S.pop("whep")
        return second

    row("POST /whep/camera as text/plain",
        lambda: offer_sdp_then(lambda s: whep_request("POST", "/whep/camera", s, "text/plain")),
        "415 json")
    row("POST /whep/camera without Content-Type",
        lambda: offer_sdp_then(lambda s: whep_request("POST", "/whep/camera", s)), "415 json")
    row("POST /whep/camera bad SDP", lambda: whep_request("POST", "/whep/camera",
                                                          "v=0 nonsense", "application/sdp"),
        "400 json")
    row("POST /whep/camera binary junk",
        lambda: whep_request("POST", "/whep/camera", bytes(range(256)), "application/sdp"),
        "400 json")
    row("POST /whep/nope (unknown source)",
        lambda: offer_sdp_then(lambda s: whep_request("POST", "/whep/nope", s, "application/sdp")),
        "404 json")
    row("POST /whep/camera 70 KiB offer",
        lambda: whep_request("POST", "/whep/camera", SDP_HEAD + "a=x:" + "y" * 70000,
                             "application/sdp"), "413 json")
    row("PATCH unknown session", lambda: whep_request("PATCH", "/whep/camera/0000", CANDIDATE,
                                                      SDPFRAG), "404 json")
    row("PATCH empty body", lambda: session_patch(b""), "400 json")
    row("PATCH garbage body", lambda: session_patch("a=candidate:junk\r\n"), "400 json")
    row("PATCH binary junk", lambda: session_patch(bytes(range(1, 256))), "400 json")
    row("PATCH If-Match mismatch", lambda: session_patch(CANDIDATE, headers={"If-Match": '"x"'}),
        "412 json")
    row("PATCH as text/plain", lambda: session_patch(CANDIDATE, "text/plain"), "415 json")
    row("PATCH 65 candidates", lambda: session_patch(CANDIDATE * 65), "400 json")
    row("GET /whep/camera", lambda: whep_request("GET", "/whep/camera"), "405 json")
    row("DELETE a session twice", delete_twice, "404 json")
    return R


async def offer_sdp_then(fn):
    return await fn((await valid_offer(audio=False))["sdp"])


# -- relay ------------------------------------------------------------------

async def relay_post(robot_id, body, ctype="text/plain", chunked=False):
    r = await relay()
    if isinstance(body, str):
        body = body.encode()
    return describe(await raw_http(r.host, r.port, "POST", "/" + robot_id, body,
                                   {"Content-Type": ctype}, chunked=chunked, timeout=15))


async def relay_robot_says(frames, answer_of=None, protocols=("rtcbotd-relay.1",)):
    """A robot on the relay's websocket sends @frames; then a client POSTs an
    offer, and the robot answers it with answer_of(offer_message) (text)."""
    r = await relay()
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(r.ws_url("table-robot"), protocols=list(protocols)) as ws:
            await wait_until(lambda: relay_has_robot(r), 5, interval=0.05)
            for f in frames:
                if isinstance(f, bytes):
                    await ws.send_bytes(f)
                else:
                    await ws.send_str(f)
            task = asyncio.ensure_future(relay_post("table-robot", '{"type":"offer"}'))
            msg = await ws.receive(timeout=10)
            if answer_of is None:
                await ws.send_str(json.dumps({"type": "answer",
                                              "request": json.loads(msg.data)["request"],
                                              "body": "{}"}))
            else:
                for f in answer_of(json.loads(msg.data)):
                    await ws.send_str(f)
            return await asyncio.wait_for(task, 20)


async def relay_big_body_memory():
    """The relay reads a refused body to its end too; it must not keep it."""
    r = await relay()
    before = rss_kib(r.pid)
    size = 40 * 1000 * 1000
    resp = await raw_request(r.host, r.port, head("POST", "/someone",
                                                  [f"Content-Length: {size}"]) + b"x" * size,
                             timeout=30)
    grew = (rss_kib(r.pid) - before) / 1024
    outcome, detail = describe(resp)
    check(grew < 16 or sanitized(), f"relay RSS grew {grew:.1f} MiB for a refused 40 MB body")
    return outcome, f"{detail}; RSS {grew:+.1f} MiB"


async def relay_has_robot(r):
    return (await r.healthz())["robots"] >= 1


async def relay_second_robot():
    r = await relay()
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(r.ws_url("taken")):
            await wait_until(lambda: relay_has_robot(r), 5, interval=0.05)
            try:
                async with s.ws_connect(r.ws_url("taken")):
                    return "101", "a second robot got the id"
            except aiohttp.WSServerHandshakeError as e:
                return f"{e.status}", "second robot refused"


async def relay_big_frame():
    r = await relay()
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(r.ws_url("big-frame")) as ws:
            await ws.send_str("x" * (300 * 1024))
            msg = await ws.receive(timeout=10)
            return ("closed" if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                             aiohttp.WSMsgType.ERROR) else str(msg.type)), \
                f"websocket {msg.type.name} {msg.data!r}"[:100]


def relay_rows():
    R = []

    def row(name, fn, want):
        R.append(("relay", name, fn, want))

    row("POST to an unknown id", lambda: relay_post("nobody-here", "{}"), "404 json")
    row("POST to an id with a space", lambda: relay_post("bad%20id", "{}"), "404 json")
    row("POST to a 200-character id", lambda: relay_post("x" * 200, "{}"), "404 json")
    row("offer of 300 KiB (Content-Length)", lambda: relay_post("someone", "x" * 300 * 1024),
        "413 json")
    R.append(("relay", "offer of 40 MB with Content-Length, all sent: memory stays bounded",
              relay_big_body_memory, "413 json"))
    row("offer of 300 KiB (chunked)",
        lambda: relay_post("someone", "x" * 300 * 1024, chunked=True), "404 json")
    row("robot sends non-JSON, then answers",
        lambda: relay_robot_says(["not json {", "", "[]", "null", "[" * 100000]), "200")
    row("robot sends binary frames, then answers",
        lambda: relay_robot_says([b"\x00\xff" * 100]), "200")
    row("robot answers a wrong request id, garbage, a non-string body, then status 200 (-> 500)",
        lambda: relay_robot_says([], lambda m: [
            json.dumps({"type": "answer", "request": "999999", "body": "{}"}),
            "garbage", json.dumps({"type": "answer", "request": m["request"], "body": 7}),
            json.dumps({"type": "error", "request": m["request"], "status": 200, "error": "x"}),
            json.dumps({"type": "error", "request": m["request"], "status": 502,
                        "error": "robot says no"})]), "500 json")
    row("robot frame of 300 KiB", relay_big_frame, "closed")
    row("second robot on a held id", relay_second_robot, "409")
    return R


# -- data channel -------------------------------------------------------------

async def dc_client():
    if "dc" not in S:
        d = await daemon()
        # Data only: no aiortc decoder thread, which would keep the interpreter
        # alive should the final test not run (RTCBOTD_TEST_ONLY).
        c = RTCBotClient(d.url, video=False, audio=False, name="dc",
                         channels=[(f"extra{i}", {}) for i in range(16)])
        await c.connect()
        await c.wait_open(10)
        S["dc"] = c
    return S["dc"]


async def echo_after(send, what, log=None):
    """Sends a probe after @send(channel) and returns what the peer got back
    before the probe's echo, plus the log line @log if it was printed."""
    d = await daemon()
    c = await dc_client()
    c.drain()
    before = d.output().count(log) if log else 0
    send(c)
    probe = {"probe": time.monotonic()}
    c.send(probe)
    got = []
    while True:
        raw, parsed = await c.recv(10)
        if parsed == probe:
            break
        if isinstance(parsed, dict) and "still" in parsed:
            continue  # another peer's liveness check, echoed to every peer
        got.append(raw)
    summary = "echoed" if got else "dropped"
    detail = f"{len(got)} echo(es)" + (f": {got[0][:60]!r}" if got else "")
    if log:
        await d.wait_output(log, timeout=5, count=before + 1)
        summary += ", logged"
        detail += f"; log {log!r}"
    return summary, detail


async def dc_channels():
    c = await dc_client()
    d = await daemon()
    await d.wait_output("a peer may open 16", timeout=10)
    summary, detail = await echo_after(lambda c: None, "after 17 channels")
    check(summary == "dropped", f"a stray message before the probe: {detail}")
    line = next(l for l in d.output().splitlines() if "a peer may open 16" in l)
    return "17th closed, probe echoed", "log " + re.sub(r"^.*?peer \d+: ", "", line)


def dc_rows():
    R = []

    def row(name, fn, want, todo=None):
        R.append(("datachannel", name, fn, want, todo))

    # GStreamer 1.22's SCTP hands a message over 64 KiB on in pieces: the
    # first (66000 bytes) is dropped by the size cap, the rest arrives as a
    # message of its own. The answer carries no a=max-message-size, so the
    # RFC 8841 default of 64 KiB applies and browsers never send more;
    # aiortc does.
    split = "GStreamer 1.22 SCTP delivers the tail of a message over 64 KiB as a message"

    row("17 data channels (cap 16), then a normal message", dc_channels,
        "17th closed, probe echoed")
    row("non-JSON text", lambda: echo_after(lambda c: c.send_raw("hello {"), "x"), "echoed")
    row("100000-deep nesting", lambda: echo_after(lambda c: c.send_raw("[" * 100000), "x",
                                                   "dropped a message of"),
        "dropped, logged", split)
    row("60000-deep nesting (under the size cap)",
        lambda: echo_after(lambda c: c.send_raw("[" * 60000), "x"), "echoed")
    row("1 MB message", lambda: echo_after(lambda c: c.send_raw("x" * 1000000), "x",
                                           "dropped a message of"),
        "dropped, logged", split)
    row("binary message", lambda: echo_after(lambda c: c.channel.send(b"\x00\xff\xfe" * 100), "x",
                                             "ignored a binary message of 300 bytes"),
        "dropped, logged")
    row("invalid UTF-8 (as binary)",
        lambda: echo_after(lambda c: c.channel.send(b'{"a":"\xff\xfe"}'), "x",
                           "ignored a binary message"), "dropped, logged")
    row("empty string (sent as PPID 56)", lambda: echo_after(lambda c: c.send_raw(""), "x"), "dropped")
    row("NUL inside a string", lambda: echo_after(lambda c: c.send_raw('{"a":"\u0000"}'), "x"),
        "echoed")
    return R


# -- serial -----------------------------------------------------------------

async def serial_rows_run(sink, data, want_key, expect_msg, counter):
    """Writes @data to @sink's pty, then a good message; returns what reached
    the peer and how the sink's @counter changed."""
    d = await daemon()
    c = await dc_client()
    pty = S[sink]
    await wait_until(lambda: endpoint_up(d, sink), 10, interval=0.05)
    before = (await d.healthz())["endpoints"][sink].get(counter, 0)
    c.drain()
    await pty.write(data)
    good = b"\xaa\x55" + struct.pack("<hH", 21, 3000) if sink == "rec" else b'{"ok":1}\n'
    await pty.write(good)
    got = []
    deadline = time.monotonic() + 10
    while True:
        raw, parsed = await c.recv(max(0.1, deadline - time.monotonic()))
        if isinstance(parsed, dict) and want_key in parsed:
            break
        if isinstance(parsed, dict) and "still" in parsed:
            continue  # another peer's liveness check, echoed to every peer
        got.append(parsed)
    after = (await d.healthz())["endpoints"][sink].get(counter, 0)
    summary = f"{counter} +{after - before}" if after > before else "nothing counted"
    shown = [m for m in got if m is not None]
    if expect_msg is not None:
        check(expect_msg in shown, f"{expect_msg!r} not among {shown[:5]!r}")
        summary = "delivered, " + summary
    elif shown:
        summary = f"{len(shown)} message(s), " + summary
    return summary, f"before the good one: {str(shown)[:80]}"


async def endpoint_up(d, name):
    return (await d.healthz())["endpoints"][name]["state"] == "up"


def serial_rows():
    R = []

    def row(name, fn, want):
        R.append(("serial", name, fn, want))

    row("control bytes in a line",
        lambda: serial_rows_run("lines", b"\x01\x02\x03junk\x7f\n", "ok", "\x01\x02\x03junk\x7f",
                                "frames-dropped"), "delivered, nothing counted")
    row("NUL byte in a line",
        lambda: serial_rows_run("lines", b"ab\x00cd\n", "ok", None, "frames-dropped"),
        "frames-dropped +1")
    row("invalid UTF-8 line", lambda: serial_rows_run("lines", b"\xff\xfe\xfd\n", "ok", None,
                                                      "frames-dropped"), "frames-dropped +1")
    row("a line of 1 MB without newline, then one",
        lambda: serial_rows_run("lines", b"z" * (1 << 20) + b"\n", "ok", None, "bytes-discarded"),
        "bytes-discarded +1048577")
    row("a line nested 50000 deep",
        lambda: serial_rows_run("lines", b"[" * 50000 + b"\n", "ok", "[" * 50000,
                                "frames-dropped"), "delivered, nothing counted")
    row("struct frame one byte short",
        lambda: serial_rows_run("rec", b"\xaa\x55" + struct.pack("<hH", 9, 9)[:-1], "temp", None,
                                "frames-dropped"), "frames-dropped +1")
    row("struct frame: junk without marker",
        lambda: serial_rows_run("rec", bytes(range(256)).replace(b"\xaa", b""), "temp", None,
                                "frames-dropped"), "nothing counted")
    return R


# -- config -----------------------------------------------------------------

def check_config(text, name=None):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rtcbotd.conf"
        if text is not None:
            path.write_bytes(text if isinstance(text, bytes) else text.encode())
        p = subprocess.run([rtcbotd_path(), "--check-config", str(path)], capture_output=True,
                           timeout=20)
    out = (p.stdout + p.stderr).decode("utf-8", "replace").strip().replace(tmp, "DIR")
    last = out.splitlines()[-1] if out else ""
    return f"exit {p.returncode}", last[:120]


GOOD = make_config()


def config_rows():
    R = []

    def row(name, text, want):
        R.append(("config", name, lambda: asyncio.to_thread(check_config, text), want))

    row("the standard test config (control row)", GOOD, "exit 0")
    row("unknown group", GOOD + "\n[frobnicate x]\nkey = 1\n", "exit 78")
    row("unknown key", GOOD.replace("max-peers", "max-peerz"), "exit 78")
    row("duplicate group", GOOD + "\n[source tone]\ntype = test-audio\n", "exit 78")
    row("route to an unknown node", GOOD.replace("to = peers\n", "to = nowhere\n", 1), "exit 78")
    row("bad number", GOOD.replace("max-peers = 8", "max-peers = eight"), "exit 78")
    row("negative number", GOOD.replace("max-peers = 8", "max-peers = -3"), "exit 78")
    row("number overflow", GOOD.replace("max-peers = 8", "max-peers = 99999999999999999999"),
        "exit 78")
    row("binary junk", bytes(range(256)) * 8, "exit 78")
    row("empty file", "", "exit 0")
    row("a 1 MB line", "[daemon]\nlisten = " + "x" * (1 << 20) + "\n", "exit 78")
    row("missing file", None, "exit 78")
    row("key outside any group", "max-peers = 3\n" + GOOD, "exit 78")
    row("group header never closed", "[daemon\nlisten = 127.0.0.1:0\n", "exit 78")
    R.append(("config", "SIGHUP with a bad number keeps the running config",
              lambda: sighup_broken("[daemon]\nmax-peers = lots\n"), "kept"))
    R.append(("config", "SIGHUP with binary junk keeps the running config",
              lambda: sighup_broken(b"[daemon]\n\x00\xff\xfe" * 50), "kept"))
    return R


async def sighup_broken(text):
    d = await daemon()
    before = d.output().count("reload")
    d.config_path().write_bytes(text if isinstance(text, bytes) else text.encode())
    d.proc.send_signal(signal.SIGHUP)
    try:
        await wait_until(lambda: d.output().count("reload") > before, 10, interval=0.05)
    except asyncio.TimeoutError:
        raise TestFailure("no reload log line after SIGHUP") from None
    line = [l for l in d.output().splitlines() if "reload" in l][-1]
    d.config_path().write_text(S["config"])  # the file is right again for what follows
    h = await d.healthz()
    check(h["status"] in ("ok", "degraded"), f"/healthz after the broken reload: {h}")
    check({"lines", "rec"} <= set(h["endpoints"]), f"the old config's sinks are gone: {h}")
    return ("kept" if "keep" in line.lower() or "kept" in line.lower() else "reloaded?"), \
        line[line.index("reload"):].replace(str(d.config_path().parent), "DIR")[:160]


# --------------------------------------------------------------------------
# running rows
# --------------------------------------------------------------------------

def make_test(area, name, fn, want):
    async def t():
        outcome, detail = await fn()
        RESULTS.append((area, name, (f"{outcome}: {detail}" if detail else outcome)
                        + ("" if outcome == want else f" (expected {want})")))
        note(f"{area} | {name} | {outcome} | {detail}")
        try:
            check(outcome == want, f"{area}: {name}: outcome {outcome!r} ({detail}), "
                                   f"expected {want!r}")
        finally:
            await still_alive(area)
            # Rows that reach the daemon: a new peer is served after each one.
            if area == "relay":
                await relay_serves_robot()
            elif area != "config" or name.startswith("SIGHUP"):
                await new_peer(quiet=True)
    return t


async def still_alive(area):
    """The daemon (or relay) is alive and answers /healthz."""
    target = S.get("relay") if area == "relay" else S.get("d")
    if area == "config" and target is None:
        return
    check(target is not None and target.alive(),
          f"{area}: the {'relay' if area == 'relay' else 'daemon'} died")
    h = await asyncio.wait_for(target.healthz(), 5)
    check(h.get("status") in ("ok", "degraded"), f"{area}: /healthz {h}")


async def new_peer(quiet=False):
    """A new aiortc peer: connect, decode a frame, echo a message, close."""
    d = await daemon()
    async with RTCBotClient(d.url, audio=False, name="after") as c:
        await c.connect()
        ff = await c.wait_first_video(15)
        await c.wait_open(10)
        c.send({"still": "alive"})
        while True:
            _, got = await c.recv(10)
            if got == {"still": "alive"}:
                break
        if not quiet:
            note(f"new peer: first frame after {ff:.3f} s, echo ok")


async def relay_serves_robot():
    """The relay still relays an offer to a robot and its answer back."""
    outcome, detail = await relay_robot_says([])
    check(outcome == "200", f"relay after the rows: {outcome} {detail}")


async def finish():
    c = S.pop("dc", None)
    if c:
        await c.close()
    w = S.pop("whep", None)
    if w:
        await w[0].close()
    for key in ("relay", "d"):
        x = S.pop(key, None)
        if x:
            await x.stop()
    for key in ("lines", "rec"):
        if key in S:
            S.pop(key).stop()
    out = os.environ.get("RTCBOTD_TABLE_OUT")
    if out:
        write_table(out)
    check(len(RESULTS) >= 60, f"only {len(RESULTS)} rows ran")


def write_table(path):
    def cell(s):
        return s.replace("|", "\\|").replace("\n", " ").replace("\r", "")

    lines = ["| area | input | outcome |", "|---|---|---|"]
    for area, name, outcome in RESULTS:
        lines.append(f"| {area} | {cell(name)} | {cell(outcome)} |")
    Path(path).write_text(
        "<!-- generated by tests/integration/test_malformed_table.py with "
        "RTCBOTD_TABLE_OUT; do not edit -->\n"
        f"{len(RESULTS)} rows. After each row the daemon (for the relay rows: the relay) "
        "answered /healthz. "
        "After every row that reaches the daemon a new aiortc peer connected, decoded a frame "
        "and got an echo, and after every relay row a robot answered an offer through the relay. "
        "`400 json` is status 400 with Content-Type application/json and a string \"error\" "
        "(its text follows); `closed`: the connection closed without a response (libsoup's "
        "limits: 64 KiB of headers; a body that never arrives); `echoed`/`dropped`: whether "
        "the echo route sent the message back before a probe message.\n\n"
        + "\n".join(lines) + "\n")


def tests():
    out = []
    for rows, after in ((http_rows(), new_peer), (connect_rows(), new_peer),
                        (whep_rows(), new_peer), (relay_rows(), relay_serves_robot),
                        (dc_rows(), new_peer), (serial_rows(), new_peer),
                        (config_rows(), new_peer)):
        for area, name, fn, want, *todo in rows:
            out.append((f"{area}: {name} -> {want}", make_test(area, name, fn, want))
                       + tuple(t for t in todo if t))
        out.append((f"{rows[0][0]}: afterwards a new peer is served", after))
    out.append(("stop: daemon and relay exit 0; the table is written", finish))
    return out


run_tap(tests(), timeout=60)
