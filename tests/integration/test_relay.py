#!/usr/bin/python3
"""`rtcbotd relay` and [daemon] relay: robots behind NAT, RTCBot's rtcbot.dev protocol.

A relay (build/src/rtcbotd relay) on loopback; daemons that hold a websocket
to it with [daemon] relay = ws://127.0.0.1:PORT/ID; aiortc clients shaped like
RTCBot's Python RTCConnection that POST their offer to the relay's /ID and
decode video and echo data-channel messages through the peer it sets up.
Also a robot written here that behaves exactly like RTCBot's (aiohttp
websocket: one offer, one answer, close), the 404/409/504 cases, secrets,
tokens forwarded through the relay, a 64 KiB+ offer, a daemon restart and a
relay that closes every socket at once (the daemon backs off).
TAP output.
"""

import asyncio
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon, RTCBotClient, TestFailure, check, note, raw_http, run_tap, wait_until)

import aiohttp  # noqa: E402
import aiohttp.web  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import VideoStreamTrack  # noqa: E402

MEDIA = """\
[source camera]
type = test-video
width = 320
height = 240
framerate = 15
encoder = vp8

[route media]
from = camera
to = peers

[route echo]
from = peers.messages
to = peers
"""

SECRET = "s3cret-robot-key"
TOKEN = "driver-token-1234"


class Relay(Daemon):
    """`rtcbotd relay` with @args; the same lifecycle and diagnostics as Daemon."""

    def __init__(self, args=(), name="relay", listen="127.0.0.1:0"):
        super().__init__("", args=args, name=name, listen=listen)

    def start_sync(self, timeout=15.0):
        cmd = [os.environ.get("RTCBOTD") or str(Path(__file__).resolve().parents[2]
                                                / "build" / "src" / "rtcbotd"),
               "relay", "--listen", self.listen, "-v"] + self.args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        Daemon.running.add(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._url_event.wait(timeout) or self.url is None:
            self.kill()
            raise TestFailure(f"relay did not start\n{self.tail()}")
        return self

    def ws_url(self, robot_id):
        return self.url.replace("https://", "wss://").replace("http://", "ws://") + robot_id

    async def robots(self):
        return (await self.healthz())["robots"]

    async def wait_robots(self, n, timeout=15.0):
        try:
            await wait_until(lambda: self._robots_are(n), timeout, interval=0.05)
        except asyncio.TimeoutError:
            raise TestFailure(f"relay: robots stayed {await self.robots()}, expected {n}\n"
                              f"{self.tail()}") from None

    async def healthz_value(self, key, value):
        return (await self.healthz())[key] == value

    async def _robots_are(self, n):
        return await self.robots() == n


def robot_config(relay, robot_id, extra=""):
    return f"[daemon]\ncontrol = shared\nrelay = {relay.ws_url(robot_id)}\n{extra}\n" + MEDIA


async def post(url, body, headers=None, timeout=15.0):
    async with aiohttp.ClientSession() as s:
        async with s.post(url, data=body, headers=headers,
                          timeout=aiohttp.ClientTimeout(total=timeout)) as r:
            return r.status, r.headers.get("Content-Type", ""), await r.text()


async def client_through(relay, robot_id, name, headers=None):
    """An RTCBot-shaped client that reaches the robot through the relay; returns it
    connected, with its first frame decoded and one message echoed."""
    c = RTCBotClient(relay.url, audio=False, name=name, headers=headers)
    await c.prepare()
    await c.post(path=robot_id, timeout=15)
    await c.wait_first_video(15)
    await c.wait_open(10)
    c.send({"from": name})
    seen = []
    # The echo route sends to every peer: skip the others' echoes and the daemon's notices.
    while not seen or seen[-1] != {"from": name}:
        check(len(seen) < 10, f"{name}: no echo of its own message among {seen}")
        seen.append((await c.recv(10))[1])
    return c


async def test_many_clients_one_socket():
    """Two clients in a row and two at once reach one daemon through one socket."""
    async with Relay() as relay:
        async with Daemon(robot_config(relay, "robot-1")) as daemon:
            await daemon.wait_output("relay: connected to")
            check("rtcbotd-relay.1" in daemon.output(), "the extension is negotiated")
            await relay.wait_robots(1)
            clients = [await client_through(relay, "robot-1", "first")]
            clients += await asyncio.gather(*(client_through(relay, "robot-1", f"c{i}")
                                              for i in range(2)))
            note("POST -> first frame via relay: " + ", ".join(
                f"{c.first_video_at - c.t_post:.3f} s" for c in clients))
            health = await daemon.healthz()
            check(health["relay"]["state"] == "connected", f"healthz relay {health['relay']}")
            check(health["relay"]["connects"] == 1, "one socket served every client")
            check(health["relay"]["answered"] == 3, f"three answers: {health['relay']}")
            check(relay.output().count("connected (rtcbotd-relay.1") == 1, "one robot socket")
            metrics = await daemon.get_text("metrics")
            check("rtcbotd_relay_connected 1" in metrics, "metrics: connected")
            for c in clients:
                await c.close()


async def test_unknown_id():
    async with Relay() as relay:
        status, ctype, body = await post(relay.url + "nobody-here", "{}")
        check(status == 404, f"404 for an unknown id, got {status}")
        check("No connection is active here" in body, body)
        check((await relay.healthz())["status"] == "ok", "relay still up")


async def test_malformed():
    """What clients and robots may send wrong: statuses, never a crash."""
    async with Relay() as relay:
        host, port = relay.host, relay.port
        cases = [
            ("PUT", "/some-id", None, {}, 405),
            ("GET", "/bad%2Fid", None, {}, 404),
            ("GET", "/" + "x" * 129, None, {}, 404),
            ("POST", "/bad id", b"{}", {}, 400),  # not even a valid request line for libsoup
            ("GET", "/some-id", None, {"Connection": "Upgrade", "Upgrade": "websocket"}, 400),
            ("GET", "/some-id", None, {"Connection": "Upgrade", "Upgrade": "websocket",
                                       "Sec-WebSocket-Version": "13",
                                       "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                       "Sec-WebSocket-Protocol": "other"}, 400),
            ("POST", "/some-id", b"x" * (300 * 1024), {}, 413),
        ]
        for method, path, body, headers, want in cases:
            chunked = headers.pop("chunked", False)
            r = await raw_http(host, port, method, path, body=body, headers=headers,
                               chunked=chunked)
            check(r.status == want, f"{method} {path[:40]}: {want}, got {r.status} {r.body[:100]!r}")
        r = await raw_http(host, port, "OPTIONS", "/some-id",
                           headers={"Origin": "https://page.example",
                                    "Access-Control-Request-Method": "POST"})
        check(r.status == 204 and r.headers.get("access-control-allow-origin") == "*"
              and "POST" in r.headers.get("access-control-allow-methods", ""),
              f"CORS preflight: {r}")
        r = await raw_http(host, port, "GET", "/some-id")
        check(r.status == 200 and b"RTCPeerConnection" in r.body, f"the viewer page: {r}")
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(relay.ws_url("held"), protocols=["rtcbotd-relay.1"]) as ws:
                for junk in ("", "{", "[]", '{"type":"answer","request":"999","body":"x"}',
                             '{"type":"offer","request":"1","body":"x"}'):
                    await ws.send_str(junk)
                await ws.send_bytes(b"\x00\xff")
                r = await raw_http(host, port, "POST", "/held", body=b"\xff\xfe")
                check(r.status == 400, f"a body that is not UTF-8: 400, got {r.status}")
                # Chunked, so no Content-Length to refuse early: read, capped, then 413.
                r = await raw_http(host, port, "POST", "/held", body=b"x" * (300 * 1024),
                                   chunked=True)
                check(r.status == 413, f"a chunked body over 256 KiB: 413, got {r.status}")
                task = asyncio.ensure_future(post(relay.url + "held", "offer"))
                offer = json.loads((await ws.receive()).data)
                await ws.send_str(json.dumps({"type": "answer", "request": offer["request"],
                                              "body": "{}"}))
                status, ctype, body = await task
                check((status, body) == (200, "{}"), f"still serving: {status} {body}")
            # A frame over 256 KiB ends the robot's connection, not the relay.
            async with s.ws_connect(relay.ws_url("big-frame")) as ws:
                await ws.send_str("x" * (300 * 1024))
                msg = await ws.receive(timeout=10)
                check(msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                   aiohttp.WSMsgType.ERROR), f"the big frame ends it: {msg}")
        await relay.wait_robots(0)
        check((await relay.healthz())["status"] == "ok", "relay still up")


async def test_id_taken():
    async with Relay() as relay:
        async with Daemon(robot_config(relay, "taken")):
            await relay.wait_robots(1)
            async with aiohttp.ClientSession() as s:
                try:
                    async with s.ws_connect(relay.ws_url("taken")):
                        raise TestFailure("a second robot got the id")
                except aiohttp.WSServerHandshakeError as e:
                    check(e.status == 409, f"409 for a second robot, got {e.status}")
            second = Daemon(robot_config(relay, "taken"), name="second")
            async with second:
                await second.wait_output("another robot holds this id")
            await relay.wait_robots(1)


def pad_sdp(sdp, lines=70):
    """@sdp with @lines session-level attribute lines of 1000 bytes: over 64 KiB."""
    pad = "".join(f"a=x-padding-{i}:{'x' * 1000}\r\n" for i in range(lines))
    head, sep, rest = sdp.partition("m=")
    return head + pad + sep + rest


async def rtcbot_robot(relay, robot_id, exchanges, served, pad=False):
    """A robot as RTCBot writes it (rtcbot.dev/test.py): connect, take one offer,
    answer it with aiortc, close; again for each exchange."""
    pcs = []
    for _ in range(exchanges):
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(relay.ws_url(robot_id)) as ws:
                served.append("connected")
                msg = await ws.receive()
                offer = json.loads(msg.data)
                pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
                pcs.append(pc)
                pc.addTrack(VideoStreamTrack())

                @pc.on("datachannel")
                def on_channel(channel):
                    channel.on("message", lambda m, ch=channel: ch.send(m))

                await pc.setRemoteDescription(RTCSessionDescription(**offer))
                await pc.setLocalDescription(await pc.createAnswer())
                sdp = pc.localDescription.sdp
                await ws.send_str(json.dumps({"sdp": pad_sdp(sdp) if pad else sdp,
                                              "type": pc.localDescription.type}))
                await ws.close()
                served.append("answered")
    return pcs


async def test_rtcbot_robot():
    """RTCBot's robot behaviour works unchanged: one exchange per socket."""
    async with Relay() as relay:
        served = []
        robot = asyncio.ensure_future(rtcbot_robot(relay, "classic", 2, served))
        await relay.wait_robots(1)
        first = await client_through(relay, "classic", "one")
        second = await client_through(relay, "classic", "two")
        pcs = await asyncio.wait_for(robot, 10)
        check(served == ["connected", "answered"] * 2, f"robot saw {served}")
        check(relay.output().count("connected (RTCBot protocol") >= 1, relay.tail())
        for c in (first, second):
            await c.close()
        for pc in pcs:
            await pc.close()


async def test_silent_robot():
    """A robot that never answers: 504 with a JSON error after 10 s; the relay stays up."""
    async with Relay() as relay:
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(relay.ws_url("mute")) as ws:
                t0 = time.monotonic()
                timed = asyncio.ensure_future(post(relay.url + "mute", '{"type":"offer"}'))
                await wait_until(lambda: relay._robots_are(1), 5)
                # 32 in flight at most: 31 more wait, the next is refused at once.
                others = [asyncio.ensure_future(post(relay.url + "mute", "{}")) for _ in range(31)]
                await wait_until(
                    lambda: relay.healthz_value("requests-waiting", 32), 10, interval=0.05)
                status, _, body = await post(relay.url + "mute", "{}")
                check(status == 503, f"the 33rd offer: 503, got {status} {body}")
                status, ctype, body = await timed
                took = time.monotonic() - t0
                statuses = {r[0] for r in await asyncio.gather(*others)}
                check(statuses == {504}, f"the others time out too: {statuses}")
                check(status == 504, f"504, got {status} {body}")
                check(ctype.startswith("application/json") and "error" in json.loads(body),
                      f"JSON error: {ctype} {body}")
                check(9 <= took <= 13, f"after about 10 s, not {took:.1f}")
                msg = await ws.receive()
                check(msg.type == aiohttp.WSMsgType.TEXT and msg.data == '{"type":"offer"}',
                      f"the robot got the body verbatim: {msg}")
        check((await relay.healthz())["status"] == "ok", "relay still up")


async def test_large_offer():
    """64 KiB+ offers (real SDPs, padded with attribute lines) reach the daemon and
    are answered; a robot's 64 KiB+ answer reaches the client."""
    async with Relay() as relay:
        async with Daemon(robot_config(relay, "big")):
            await relay.wait_robots(1)
            c = RTCBotClient(relay.url, audio=False, name="big")
            await c.prepare()
            c.offer["sdp"] = pad_sdp(c.offer["sdp"])
            check(len(json.dumps(c.offer)) > 64 * 1024, "the offer is over 64 KiB")
            await c.post(path="big", timeout=15)
            await c.wait_first_video(15)
            await c.close()
        served = []
        robot = asyncio.ensure_future(rtcbot_robot(relay, "big-answer", 1, served, pad=True))
        await relay.wait_robots(1)
        c = RTCBotClient(relay.url, audio=False, name="big-answer")
        await c.prepare()
        c.offer["sdp"] = pad_sdp(c.offer["sdp"])
        await c.post(path="big-answer", timeout=15)
        check(len(json.dumps(c.answer)) > 64 * 1024, "the answer is over 64 KiB")
        await c.wait_first_video(15)
        await c.close()
        for pc in await robot:
            await pc.close()


async def test_restart():
    """The daemon goes away and comes back: it registers again, a client connects again."""
    async with Relay() as relay:
        config = robot_config(relay, "phoenix")
        async with Daemon(config):
            await relay.wait_robots(1)
            c = await client_through(relay, "phoenix", "before")
            await c.close()
        await relay.wait_robots(0)
        async with Daemon(config, name="again"):
            await relay.wait_robots(1)
            c = await client_through(relay, "phoenix", "after")
            await c.close()


class RTCBotRelay:
    """RTCBot's own relay server (rtcbot.dev/main.py) as its source behaves:
    one text message per robot websocket, 8 KiB messages, 409/404, 10 s."""

    MSG_MAX = 8 * 1024

    def __init__(self):
        self.conns = {}
        self.runner = None
        self.url = None
        self.robot_sockets = 0

    async def ws_handler(self, request):
        cid = request.match_info["cid"]
        if request.headers.get("Connection") != "Upgrade":
            return aiohttp.web.Response(text="<html>page</html>", content_type="text/html")
        if cid in self.conns:
            return aiohttp.web.Response(status=409, text="Already have a connection here")
        ws = aiohttp.web.WebSocketResponse(max_msg_size=self.MSG_MAX, heartbeat=60.0)
        await ws.prepare(request)
        self.robot_sockets += 1
        self.conns[cid] = {"ws": ws, "recv": None}
        msg = await ws.receive()
        recv = self.conns[cid]["recv"]
        if recv is not None:
            recv.put_nowait(msg.data if msg.type == aiohttp.WSMsgType.TEXT else "")
        del self.conns[cid]
        await ws.close()
        return ws

    async def post_handler(self, request):
        cid = request.match_info["cid"]
        if cid not in self.conns:
            return aiohttp.web.Response(status=404, text="No connection is active here")
        conn = self.conns[cid]
        conn["recv"] = asyncio.Queue(1)
        await conn["ws"].send_str(await request.text())
        try:
            answer = await asyncio.wait_for(conn["recv"].get(), 10)
        except asyncio.TimeoutError:
            await conn["ws"].close()
            answer = ""
        return aiohttp.web.Response(text=answer, content_type="application/json")

    async def __aenter__(self):
        app = aiohttp.web.Application(client_max_size=self.MSG_MAX)
        app.router.add_get("/{cid}", self.ws_handler)
        app.router.add_post("/{cid}", self.post_handler)
        self.runner = aiohttp.web.AppRunner(app)
        await self.runner.setup()
        site = aiohttp.web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()

    def ws_url(self, robot_id):
        return self.url.replace("http://", "ws://") + robot_id


async def test_rtcbot_relay():
    """The daemon against RTCBot's own relay: one exchange per socket, reconnect each time."""
    async with RTCBotRelay() as relay:
        daemon = Daemon(robot_config(relay, "rtcbot-dev"))
        async with daemon:
            await daemon.wait_output("relay: connected to")
            check("RTCBot protocol: one client per socket" in daemon.output(), daemon.tail())
            clients = []
            for i in range(2):
                await wait_until(lambda: "rtcbot-dev" in relay.conns, 10)
                clients.append(await client_through(relay, "rtcbot-dev", f"rtcbot-{i}"))
            await wait_until(lambda: relay.robot_sockets == 3, 10)
            health = await daemon.healthz()
            check(health["relay"]["mode"] == "rtcbot" and health["relay"]["answered"] == 2,
                  f"healthz relay {health['relay']}")
            check(daemon.output().count("relay: connected to") == 1,
                  "reconnecting after each exchange is not news")
            for c in clients:
                await c.close()


class ClosingRelay(RTCBotRelay):
    """A broken relay: it takes the robot's websocket, sends it @frame (if any) as a
    client's offer would come, and closes at once. Notes when each socket came."""

    def __init__(self, frame=None):
        super().__init__()
        self.frame = frame
        self.times = []

    async def ws_handler(self, request):
        ws = aiohttp.web.WebSocketResponse()
        await ws.prepare(request)
        self.times.append(time.monotonic())
        if self.frame is not None:
            await ws.send_str(self.frame)
        await ws.close()
        return ws


async def test_closing_relay():
    """A relay that closes every socket at once (after a bad offer, or with none): the
    daemon backs off (0.5, 1, 2, 4 s...) instead of calling it again and again."""
    for frame in ('{"type":"offer"}', None):
        async with ClosingRelay(frame) as relay:
            async with Daemon(robot_config(relay, "closer"), args=["-v"]) as daemon:
                await wait_until(lambda: len(relay.times) >= 1, 10)
                await asyncio.sleep(6.5)  # the window the connections are counted in
                times = list(relay.times)
                gaps = [b - a for a, b in zip(times, times[1:])]
                note(f"frame {frame!r}: {len(times)} sockets in 6.5 s, gaps "
                     + ", ".join(f"{g:.2f}" for g in gaps[:10]))
                check(2 <= len(times) <= 6, f"{len(times)} sockets: {gaps[:10]}\n" + daemon.tail())
                check(gaps[-1] >= 1.5, f"the waits grow: {gaps}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_relay_restart():
    """The relay goes away: the daemon says so once, retries with backoff, and is
    back when the relay is; /healthz and /metrics follow."""
    listen = f"127.0.0.1:{free_port()}"
    relay = Relay(listen=listen)
    async with relay:
        daemon = Daemon(robot_config(relay, "patient"), args=["-v"])
        async with daemon:
            await relay.wait_robots(1)
            await relay.stop()
            await daemon.wait_output("relay: disconnected from")
            # Retries at 0.5, 1, 2 s...: the failure is logged once, then only as debug.
            await daemon.wait_output("relay: cannot connect", count=3, timeout=15)
            lines = [l for l in daemon.output().splitlines() if "relay: cannot connect" in l]
            check(sum("DEBUG" not in l for l in lines) == 1, "logged once:\n" + "\n".join(lines))
            health = await daemon.healthz()
            check(health["relay"]["state"] != "connected", f"healthz relay {health['relay']}")
            check("rtcbotd_relay_connected 0" in await daemon.get_text("metrics"), "metrics: 0")
            again = Relay(listen=listen, name="relay-again")
            async with again:
                await again.wait_robots(1, timeout=40)
                await daemon.wait_output("relay: connected to", count=2)
                c = await client_through(again, "patient", "after-relay-restart")
                await c.close()


async def test_reload():
    """SIGHUP with another relay URL: the daemon moves to the new id."""
    async with Relay() as relay:
        daemon = Daemon(robot_config(relay, "old-id"))
        async with daemon:
            await relay.wait_robots(1)
            daemon.reload(robot_config(relay, "new-id"))
            await daemon.wait_output("configuration reloaded")
            await daemon.wait_output("relay: connected to " + relay.ws_url("new-id"))
            await relay.wait_robots(1)
            # Within the 5 s a robot has to come back, a POST waits; then 404.
            t0 = time.monotonic()
            status, _, body = await post(relay.url + "old-id", "{}")
            took = time.monotonic() - t0
            check(status == 404 and took < 7, f"the old id is free: {status} {body} {took:.1f} s")
            c = await client_through(relay, "new-id", "after-reload")
            await c.close()
            # A reload that leaves the relay alone keeps the socket.
            daemon.reload(robot_config(relay, "new-id", "max-peers = 4"))
            await daemon.wait_output("configuration reloaded", count=2)
            moved = daemon.output().count("relay: connected to " + relay.ws_url("new-id"))
            check(moved == 1, f"connected to the new id {moved} times: {daemon.tail()}")
            check((await daemon.healthz())["relay"]["connects"] == 1, "the same socket")


async def test_secrets():
    """With --secrets only listed ids are held, each with its secret: 401/403 else."""
    with tempfile.NamedTemporaryFile("w", suffix=".secrets") as f:
        f.write(f"# id secret\nguarded {SECRET}\n")
        f.flush()
        async with Relay(args=["--secrets", f.name]) as relay:
            async with aiohttp.ClientSession() as s:
                for headers, want in (({}, 401), ({"Authorization": "Bearer wrong-secret"}, 403)):
                    try:
                        async with s.ws_connect(relay.ws_url("guarded"), headers=headers):
                            raise TestFailure(f"robot with {headers} got the id")
                    except aiohttp.WSServerHandshakeError as e:
                        check(e.status == want, f"{headers}: {want}, got {e.status}")
                # The secret in the query works too; a robot with the secret takes the
                # id over from a socket that still holds it (close code 4000).
                async with s.ws_connect(relay.ws_url("guarded") + f"?secret={SECRET}") as first:
                    async with s.ws_connect(relay.ws_url("guarded"),
                                            headers={"Authorization": f"Bearer {SECRET}"}):
                        msg = await first.receive(timeout=5)
                        check(msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4000,
                              f"the old socket is closed with 4000: {msg}")
                        await relay.wait_robots(1)
                await relay.wait_robots(0)
            wrong = Daemon(robot_config(relay, "guarded", "relay-secret = not-the-secret"),
                           name="wrong")
            async with wrong:
                await wrong.wait_output("check [daemon] relay-secret")
                check(await relay.robots() == 0, "refused robot holds nothing")
            right = Daemon(robot_config(relay, "guarded", f"relay-secret = {SECRET}"),
                           name="right")
            async with right:
                await relay.wait_robots(1)
                c = await client_through(relay, "guarded", "guarded-client")
                await c.close()


async def test_tls():
    """--tls-certificate: https and wss, verified against the certificate; the daemon
    over wss:// checks the relay's certificate ([daemon] relay-ca)."""
    with tempfile.TemporaryDirectory(prefix="rtcbotd-relay-tls-") as tmp:
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=30)
        ctx = ssl.create_default_context(cafile=str(cert))
        relay = Relay(args=["--tls-certificate", str(cert), "--tls-key", str(key)])
        relay.ssl = ctx
        async with relay:
            check(relay.url.startswith("https://"), relay.url)
            async with aiohttp.ClientSession() as s:
                async with s.ws_connect(relay.ws_url("tls-robot"), ssl=ctx) as ws:
                    async def answer():
                        msg = await ws.receive()
                        await ws.send_str("answer to " + msg.data)
                    robot = asyncio.ensure_future(answer())
                    async with s.post(relay.url + "tls-robot", data="offer", ssl=ctx) as r:
                        check(r.status == 200 and await r.text() == "answer to offer",
                              f"{r.status} {await r.text()}")
                    await robot
            # The daemon over wss://: refused without the CA, connected with relay-ca.
            untrusting = Daemon(robot_config(relay, "tls-daemon"), name="untrusting")
            async with untrusting:
                await untrusting.wait_output("relay: cannot connect to wss://")
                check(await relay.robots() == 0, "no robot over an unverified wss://")
            trusting = Daemon(robot_config(relay, "tls-daemon", f"relay-ca = {cert}"),
                              name="trusting")
            async with trusting:
                await relay.wait_robots(1)
                c = RTCBotClient(relay.url, audio=False, name="tls-client", ssl=ctx)
                await c.prepare()
                await c.post(path="tls-daemon", timeout=15)
                await c.wait_first_video(15)
                await c.close()


async def test_token_through_relay():
    """With [daemon] token the relay forwards the client's token: without it 401."""
    async with Relay() as relay:
        async with Daemon(robot_config(relay, "locked", f"token = {TOKEN}")):
            await relay.wait_robots(1)
            status, _, body = await post(relay.url + "locked", '{"type":"offer","sdp":""}')
            check(status == 401, f"401 without the token, got {status} {body}")
            c = await client_through(relay, "locked", "with-token",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
            await c.close()


def relay_exit(*args):
    exe = os.environ.get("RTCBOTD") or str(Path(__file__).resolve().parents[2] / "build/src/rtcbotd")
    r = subprocess.run([exe, "relay", *args], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stderr


async def test_command_line():
    """Usage errors exit 64, a bad secrets file 78 naming the line; SIGHUP reloads it."""
    with tempfile.TemporaryDirectory(prefix="rtcbotd-relay-cli-") as tmp:
        bad = Path(tmp) / "bad"
        bad.write_text("robot-1 0123456789\nrobot-2\n")
        for args, code, text in (
                (["--bogus"], 64, "Unknown option"),
                (["extra"], 64, 'unexpected argument "extra"'),
                (["--listen", "nowhere"], 64, "--listen"),
                (["--tls-certificate", "x.pem"], 64, "--tls-certificate and --tls-key go together"),
                (["--secrets", str(Path(tmp) / "missing")], 78, "--secrets"),
                (["--secrets", str(bad)], 78, f'{bad}:2: expected "ID SECRET" (two fields)')):
            got, err = relay_exit(*args)
            check(got == code and text in err, f"{args}: exit {got} (want {code}): {err!r}")
        secrets = Path(tmp) / "secrets"
        secrets.write_text(f"first {SECRET}\n")
        async with Relay(args=["--secrets", str(secrets)]) as relay:
            bad_text = "first\n"
            secrets.write_text(bad_text)
            relay.proc.send_signal(signal.SIGHUP)
            await relay.wait_output("keeping the secrets in use")
            secrets.write_text(f"second {SECRET}\n")
            relay.proc.send_signal(signal.SIGHUP)
            await relay.wait_output("1 robot id(s) with a secret", count=2)
            async with aiohttp.ClientSession() as s:
                headers = {"Authorization": f"Bearer {SECRET}"}
                async with s.ws_connect(relay.ws_url("second"), headers=headers):
                    await relay.wait_robots(1)
                try:
                    async with s.ws_connect(relay.ws_url("first"), headers=headers):
                        raise TestFailure("an id removed from the secrets file was held")
                except aiohttp.WSServerHandshakeError as e:
                    check(e.status == 403, f"403 for the removed id, got {e.status}")


async def test_valgrind():
    """The relay under valgrind: robots of both kinds, clients, 404, 403, a malformed
    envelope, SIGTERM; no report involving rtcbotd's code."""
    import test_valgrind as vg  # noqa: E402 - its helpers, not its tests

    with tempfile.TemporaryDirectory(prefix="rtcbotd-relay-vg-") as tmp:
        log = Path(tmp) / "valgrind.log"
        secrets = Path(tmp) / "secrets"
        secrets.write_text(f"vg-robot {SECRET}\nvg-classic {SECRET}\n")
        wrapper, real = vg.valgrind_wrapper(tmp, log), os.environ.get("RTCBOTD")
        relay = Relay(args=["--secrets", str(secrets)], name="relay-valgrind")
        os.environ["RTCBOTD"] = wrapper
        try:
            await relay.start(timeout=120)
        finally:
            if real is None:
                del os.environ["RTCBOTD"]
            else:
                os.environ["RTCBOTD"] = real
        try:
            async with Daemon(robot_config(relay, "vg-robot", f"relay-secret = {SECRET}")):
                await relay.wait_robots(1, timeout=60)
                c = await client_through(relay, "vg-robot", "vg-client")
                await c.close()
            served = []
            async with aiohttp.ClientSession() as s:
                async with s.ws_connect(relay.ws_url("vg-classic") + f"?secret={SECRET}",
                                        protocols=["rtcbotd-relay.1"]) as ws:
                    await ws.send_str("not an envelope")
                    await ws.send_bytes(b"\xff")
                    post_task = asyncio.ensure_future(post(relay.url + "vg-classic", "offer"))
                    offer = json.loads((await ws.receive()).data)
                    await ws.send_str(json.dumps({"type": "error", "request": offer["request"],
                                                  "status": 503, "error": "busy"}))
                    status, _, _ = await post_task
                    check(status == 503, f"an error envelope's status: {status}")
                    served.append(status)
            status, _, _ = await post(relay.url + "nobody", "{}")
            check(status == 404, f"404 under valgrind, got {status}")
            async with aiohttp.ClientSession() as s:
                try:
                    async with s.ws_connect(relay.ws_url("not-listed")):
                        raise TestFailure("an unlisted id was held")
                except aiohttp.WSServerHandshakeError as e:
                    check(e.status == 403, f"403 for an unlisted id, got {e.status}")
        finally:
            await relay.stop(timeout=60)
        vg.check_report(relay, log)


async def test_busy_and_bad_offer():
    """The daemon's refusals come through with their status: 503 + Retry-After, 400."""
    async with Relay() as relay:
        async with Daemon(robot_config(relay, "busy", "max-peers = 1")):
            await relay.wait_robots(1)
            status, _, body = await post(relay.url + "busy", "not an offer")
            check(status == 400 and "not JSON" in json.loads(body)["error"], f"400: {body}")
            first = await client_through(relay, "busy", "the-one")
            second = RTCBotClient(relay.url, audio=False, name="one-too-many")
            await second.prepare()
            async with aiohttp.ClientSession() as s:
                async with s.post(relay.url + "busy", data=json.dumps(second.offer)) as r:
                    check(r.status == 503 and r.headers.get("Retry-After") == "5"
                          and "max-peers" in (await r.json())["error"],
                          f"503 through the relay: {r.status} {r.headers} {await r.text()}")
            await second.close()
            await first.close()


async def test_direct_vs_relay():
    """Connection set-up, POST to first frame, direct and through the relay (noted)."""
    async with Relay() as relay:
        async with Daemon(robot_config(relay, "timed")) as daemon:
            await relay.wait_robots(1)
            times = {"direct": [], "relay": []}
            for _ in range(3):
                for how in times:
                    c = RTCBotClient(daemon.url if how == "direct" else relay.url,
                                     audio=False, name=how)
                    await c.prepare()
                    await c.post(path="connect" if how == "direct" else "timed", timeout=15)
                    times[how].append(await c.wait_first_video(15))
                    await c.close()
                    await daemon.wait_peers(0, 20)
            for how, ts in times.items():
                note(f"POST -> first frame {how}: " + ", ".join(f"{t:.3f} s" for t in ts))


if __name__ == "__main__":
    run_tap([
        ("one socket: three clients through the relay decode video and echo", test_many_clients_one_socket),
        ("unknown id: 404", test_unknown_id),
        ("malformed requests and frames: statuses, the relay stays up", test_malformed),
        ("a second robot for a held id: 409", test_id_taken),
        ("a robot that behaves like RTCBot's: one exchange per socket", test_rtcbot_robot),
        ("a robot that never answers: 504 after 10 s; 503 beyond 32 offers", test_silent_robot),
        ("64 KiB+ offers and answers pass", test_large_offer),
        ("daemon restart: it registers again", test_restart),
        ("the daemon against RTCBot's own relay: one exchange per socket", test_rtcbot_relay),
        ("the relay restarts: the daemon reconnects with backoff, logs once", test_relay_restart),
        ("a relay that closes every socket at once: the daemon backs off", test_closing_relay),
        ("SIGHUP with a new relay URL: the daemon moves", test_reload),
        ("--secrets: 401, 403, wrong relay-secret refused, right one works", test_secrets),
        ("--tls-certificate: https and wss; the daemon over wss:// with relay-ca", test_tls),
        ("[daemon] token: the client's token travels through the relay", test_token_through_relay),
        ("the daemon's 503 and 400 come through the relay", test_busy_and_bad_offer),
        ("set-up time direct vs relay", test_direct_vs_relay),
        ("rtcbotd relay: usage errors, secrets file errors, SIGHUP reloads the secrets", test_command_line),
        ("the relay under valgrind", test_valgrind),
    ], timeout=120)
