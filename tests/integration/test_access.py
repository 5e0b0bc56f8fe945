#!/usr/bin/python3
"""Access control: the daemon over https with a self-signed certificate made
here (openssl), tokens on every protected endpoint (Authorization header,
cookie, ?token=), the open page and /healthz, the cookie the page gets, a
viewer-token peer that watches but never drives, the loopback default and the
warning for an open daemon, and --check-config on broken TLS keys.

TAP output.  Environment: RTCBOTD (daemon binary), PYTHONPATH including
tests/common.  RTCBOTD_TEST_ONLY=substring runs a subset.
"""

import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

import aiohttp  # noqa: E402

from rtcbotd_test import (  # noqa: E402
    Daemon,
    HTTPStatusError,
    RTCBotClient,
    Skip,
    TestFailure,
    check,
    note,
    rtcbotd_path,
    run_tap,
    wait_until,
)

DRIVER = "driver-0123456789abcdef"
VIEWER = "viewer-fedcba9876543210"
CHALLENGE = 'Bearer realm="rtcbotd"'
WARNING = ("listening on all interfaces without a token: anyone on the network can drive "
           "this robot; set [daemon] token")

TMP = tempfile.TemporaryDirectory(prefix="rtcbotd-access-")
CERT = Path(TMP.name) / "cert.pem"
KEY = Path(TMP.name) / "key.pem"
CTX = None  # an ssl.SSLContext that trusts CERT only


def make_certificate():
    """A self-signed certificate for 127.0.0.1 and localhost, valid two days."""
    global CTX
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(KEY), "-out", str(CERT)],
                   check=True, capture_output=True, timeout=30)
    # Verified for real: the client trusts this certificate and nothing else,
    # and checks that it names 127.0.0.1.
    CTX = ssl.create_default_context(cafile=str(CERT))


def config(tls=True, control="shared", token=DRIVER, viewer=VIEWER, listen="127.0.0.1:0"):
    daemon = "[daemon]\n"
    daemon += f"listen = {listen}\n" if listen else ""
    daemon += f"control = {control}\n"
    daemon += f"token = {token}\n" if token else ""
    daemon += f"viewer-token = {viewer}\n" if viewer else ""
    daemon += f"tls-certificate = {CERT}\ntls-key = {KEY}\n" if tls else ""
    return daemon + """
[source camera]
type = test-video
width = 320
height = 240
framerate = 15

[sink bridge]
type = websocket

[route media]
from = camera
to = peers

# Everything a driver sends: to the log, back to every peer, to the bridge.
[route journal]
from = peers.messages
to = log;peers;bridge
"""


def https_daemon(name, **kw):
    d = Daemon(config(**kw), name=name)
    d.ssl = CTX
    return d


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def carry(url, token, carrier):
    """(url, headers) that carry @token the @carrier way; no token: neither."""
    if token is None:
        return url, {}
    if carrier == "header":
        return url, bearer(token)
    if carrier == "cookie":
        return url, {"Cookie": f"rtcbotd-token={token}"}
    return url + ("&" if "?" in url else "?") + "token=" + urllib.parse.quote(token), {}


async def request(d, method, path, token=None, carrier="header", websocket=False):
    """(status, headers, body text) of one request; a websocket handshake
    that succeeds is 101."""
    url, headers = carry(d.url + path, token, carrier)
    async with aiohttp.ClientSession() as s:
        if websocket:
            try:
                ws = await s.ws_connect(url, headers=headers, ssl=CTX, timeout=5)
            except aiohttp.WSServerHandshakeError as e:
                return e.status, e.headers or {}, ""
            await ws.close()
            return 101, {}, ""
        async with s.request(method, url, headers=headers, ssl=CTX, data="{}" if method == "POST"
                             else None, timeout=aiohttp.ClientTimeout(total=10)) as r:
            return r.status, r.headers, await r.text()


def error_of(body):
    try:
        return json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        raise TestFailure(f"not a JSON error: {body!r}") from None


async def expect_message(client, pred, what, timeout=5.0):
    """The next data-channel message that satisfies @pred."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise TestFailure(f"{client.name}: no {what} within {timeout} s")
        _, parsed = await client.recv(left)
        if pred(parsed):
            return parsed


def is_role(m, role):
    return isinstance(m, dict) and m.get("rtcbotd") == "role" and m.get("role") == role


def is_error(m):
    return isinstance(m, dict) and m.get("rtcbotd") == "error"


# --------------------------------------------------------------------------
# https
# --------------------------------------------------------------------------

async def test_https_video_with_token():
    async with https_daemon("https") as d:
        check(d.url.startswith("https://127.0.0.1:"), f"not https: {d.url}")
        check(f"listening on {d.url}" in d.output(), "no 'listening on https://' line")
        async with RTCBotClient(d.url, audio=False, headers=bearer(DRIVER), ssl=CTX,
                                name="driver") as c:
            await c.connect()
            took = await c.wait_first_video(15)
            check(c.first_video_size == (320, 240), f"video size {c.first_video_size}")
            note(f"first frame over https after {took:.2f} s")
            fps = await c.video_fps(1.0)
            check(fps > 3, f"video decodes at {fps:.1f} fps")
        # Plain http on the https port gets no page.
        try:
            async with aiohttp.ClientSession() as s:
                async with s.get(d.url.replace("https://", "http://"),
                                 timeout=aiohttp.ClientTimeout(total=5)) as r:
                    raise TestFailure(f"plain http answered {r.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass


# --------------------------------------------------------------------------
# tokens on every protected endpoint
# --------------------------------------------------------------------------

# (method, path, what it needs, websocket handshake, status once allowed)
PROTECTED = [
    ("POST", "connect", "viewer", False, {400}),  # "{}" is no offer: past the gate
    ("GET", "ws/bridge", "driver", True, {101}),
    ("GET", "api/x", "driver", False, {404}),
    ("GET", "api/robot", "viewer", False, {200}),  # a viewer's page must learn the robot
    ("GET", "api/robot/x", "driver", False, {404}),
    ("GET", "whep/camera", "viewer", False, {405}),  # WHEP takes POST: past the gate
    ("GET", "metrics", "viewer", False, {200}),
]


async def check_endpoint(d, method, path, need, websocket, allowed):
    what = f"{method} /{path}"
    status, headers, body = await request(d, method, path, websocket=websocket)
    check(status == 401, f"{what} without a token: {status} {body!r}")
    check(headers.get("WWW-Authenticate") == CHALLENGE,
          f"{what} without a token: WWW-Authenticate {headers.get('WWW-Authenticate')!r}")
    if not websocket:
        check("needs a token" in error_of(body), f"{what}: {body!r}")
    for carrier in ("header", "cookie", "query"):
        how = f"{what} with the token in the {carrier}"
        status, _, body = await request(d, method, path, "not-the-token", carrier, websocket)
        check(status == 403, f"{how}, a wrong one: {status} {body!r}")
        if not websocket:
            check("not accepted" in error_of(body), f"{how}, a wrong one: {body!r}")
        status, _, body = await request(d, method, path, DRIVER, carrier, websocket)
        check(status in allowed, f"{how}, the driver's: {status} {body!r}")
        status, _, body = await request(d, method, path, VIEWER, carrier, websocket)
        if need == "driver":
            check(status == 403, f"{how}, the viewer's: {status} {body!r}")
            if not websocket:
                check("may only watch" in error_of(body), f"{how}, the viewer's: {body!r}")
        else:
            check(status in allowed, f"{how}, the viewer's: {status} {body!r}")


async def test_protected_endpoints():
    async with https_daemon("tokens") as d:
        for method, path, need, websocket, allowed in PROTECTED:
            await check_endpoint(d, method, path, need, websocket, allowed)
        # A path spelled with escapes is the same path.
        status, _, _ = await request(d, "POST", "%63onnect")
        check(status == 401, f"POST /%63onnect without a token: {status}")


async def test_connect_with_each_carrier():
    """A real offer gets its answer (200) with the token in each place."""
    async with https_daemon("connect") as d:
        for carrier in ("header", "cookie", "query"):
            for token in (DRIVER, VIEWER):
                url, headers = carry(d.url, token, carrier)
                path = "connect" + (url[len(d.url):] if carrier == "query" else "")
                async with RTCBotClient(d.url, video=False, audio=False, headers=headers,
                                        ssl=CTX, name=carrier) as c:
                    await c.prepare()
                    answer = await c.post(path)
                    check(answer.get("type") == "answer", f"{carrier}: {answer}")
        async with RTCBotClient(d.url, video=False, audio=False, ssl=CTX, name="none") as c:
            await c.prepare()
            try:
                await c.post()
                raise TestFailure("an offer without a token was answered")
            except HTTPStatusError as e:
                check(e.status == 401, f"offer without a token: {e}")


async def test_page_and_healthz_stay_open():
    async with https_daemon("open") as d:
        for path, kind in (("", "text/html"), ("rtcbot.js", "text/javascript"),
                           ("app.js", "text/javascript"), ("healthz", "application/json")):
            status, headers, body = await request(d, "GET", path)
            check(status == 200, f"GET /{path} without a token: {status} {body[:200]!r}")
            check(headers.get("Content-Type", "").startswith(kind),
                  f"GET /{path}: {headers.get('Content-Type')}")
            check("Set-Cookie" not in headers, f"GET /{path} set a cookie")
        health = await d.healthz()
        check(health["status"] == "ok", f"/healthz {health}")
        # The page opened with a valid token keeps it in a cookie.
        for token in (DRIVER, VIEWER):
            status, headers, _ = await request(d, "GET", "", token, "query")
            cookie = headers.get("Set-Cookie", "")
            check(status == 200, f"GET /?token=: {status}")
            parts = [p.strip() for p in cookie.split(";")]
            check(parts[0] == f"rtcbotd-token={token}", f"cookie {cookie!r}")
            for attribute in ("HttpOnly", "SameSite=Strict", "Path=/", "Secure"):
                check(attribute in parts, f"cookie {cookie!r} lacks {attribute}")
        status, headers, _ = await request(d, "GET", "", "not-the-token", "query")
        check(status == 200 and "Set-Cookie" not in headers,
              f"GET /?token=WRONG: {status}, Set-Cookie {headers.get('Set-Cookie')!r}")


async def test_plain_http_cookie_not_secure():
    async with Daemon(config(tls=False), name="plain") as d:
        check(d.url.startswith("http://"), d.url)
        status, headers, _ = await request(d, "GET", "", DRIVER, "query")
        cookie = headers.get("Set-Cookie", "")
        check(status == 200 and cookie.startswith(f"rtcbotd-token={DRIVER};"), f"{cookie!r}")
        check("Secure" not in cookie, f"a Secure cookie over plain http: {cookie!r}")
        status, _, _ = await request(d, "POST", "connect")
        check(status == 401, f"POST /connect without a token over http: {status}")
        # The harness writes the file with the default umask: readable by all.
        await d.wait_output("holds a token and every user of this machine can read it")


async def test_no_exposure_warning_for_a_private_file():
    d = Daemon(config(tls=False), name="private")
    old = os.umask(0o077)  # the harness writes the config file 0600 now
    try:
        await d.start()
        check("every user of this machine can read it" not in d.output(),
              "a warning about a file only its owner can read")
        await d.stop()
    finally:
        os.umask(old)


# --------------------------------------------------------------------------
# a viewer-token peer watches
# --------------------------------------------------------------------------

async def watch_client(d, token, name):
    c = RTCBotClient(d.url, video=False, audio=False, headers=bearer(token), ssl=CTX, name=name)
    await c.connect()
    await c.wait_open()
    c.send({"rtcbotd": "role"})  # as the built-in page does; roles are opt-in
    return c


async def test_viewer_token_never_drives():
    """control = shared: every driver-token peer drives, the viewer-token peer never."""
    async with https_daemon("watch") as d:
        async with aiohttp.ClientSession() as s:
            bridge = await s.ws_connect(d.url + "ws/bridge", headers=bearer(DRIVER), ssl=CTX)
            viewer = await watch_client(d, VIEWER, "viewer")
            driver = await watch_client(d, DRIVER, "driver")
            try:
                role = await expect_message(viewer, lambda m: is_role(m, "viewer"), "role")
                check(role.get("watch-only") is True, f"role message {role}")
                viewer.send({"marker": "from-viewer"})
                viewer.send({"rtcbotd": "take-control", "token": DRIVER})
                err = await expect_message(viewer, is_error, "refusal of take-control")
                check("viewer token" in err["error"], f"refusal {err}")
                # The channel is ordered: the marker was handled before the refusal.
                driver.send({"marker": "from-driver"})
                seen = await expect_message(viewer, lambda m: isinstance(m, dict)
                                            and m.get("marker") == "from-driver",
                                            "the driver's message, echoed")
                check(seen == {"marker": "from-driver"}, f"{seen}")
                frame = await bridge.receive(timeout=5)
                check(json.loads(frame.data) == {"marker": "from-driver"},
                      f"first message on the bridge: {frame.data!r}")
                await wait_until(lambda: '[route journal]: {"marker":"from-driver"}'
                                 in d.output(), 5)
                check("from-viewer" not in d.output(), "the viewer's message reached the log")
                echoed = [m for _, m in driver.drain()
                          if isinstance(m, dict) and m.get("marker") == "from-viewer"]
                check(not echoed, "the viewer's message was routed to the peers")
                health = await d.healthz()
                check(health["messages-ignored"] >= 1, f"ignored {health['messages-ignored']}")
                check("(viewer token: watches only)" in d.output(), "no log line for the viewer")
            finally:
                await bridge.close()
                await viewer.close()
                await driver.close()


async def test_viewer_token_first_in_single_mode():
    """control = single: a viewer-token peer that comes first does not take the
    driver's seat; the driver-token peer after it drives."""
    async with https_daemon("single", control="single") as d:
        viewer = await watch_client(d, VIEWER, "viewer")
        try:
            await expect_message(viewer, lambda m: is_role(m, "viewer"), "viewer role")
            driver = await watch_client(d, DRIVER, "driver")
            try:
                await expect_message(driver, lambda m: is_role(m, "driver"), "driver role")
                health = await d.healthz()
                check(health["control"]["driver"] != 0, f"control {health['control']}")
                driver.send({"marker": "single-driver"})
                await wait_until(lambda: '{"marker":"single-driver"}' in d.output(), 5)
            finally:
                await driver.close()
        finally:
            await viewer.close()


# --------------------------------------------------------------------------
# where it listens
# --------------------------------------------------------------------------

def own_network(name, **kw):
    """A daemon in a network namespace of its own (unshare -n), so that it may
    listen on every interface or on port 8080 without touching the machine's."""
    if os.geteuid() != 0 or subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        raise Skip("unshare -n needs root")
    listen = kw.pop("listen", "0.0.0.0:0")
    return Daemon(config(tls=False, listen=None, **kw), name=name, listen=listen,
                  prefix=["unshare", "-n"])


async def test_open_listen_warns():
    async with own_network("open", token=None, viewer=None) as d:
        check(d.url.startswith("http://0.0.0.0:"), d.url)
        await wait_until(lambda: WARNING in d.output(), 5)
        check(d.output().count(WARNING) == 1, "the warning is not logged exactly once")
    async with own_network("closed") as d:
        check(d.url.startswith("http://0.0.0.0:"), d.url)
    check("without a token" not in d.output(), "a warning although a token is set")


async def test_listen_defaults():
    async with own_network("default-open", token=None, viewer=None, listen=None) as d:
        check(d.url == "http://127.0.0.1:8080/", f"without a token: {d.url}")
    check("without a token" not in d.output(), "a warning for loopback")
    async with own_network("default-token", listen=None) as d:
        check(d.url == "http://0.0.0.0:8080/", f"with a token: {d.url}")


# --------------------------------------------------------------------------
# --check-config
# --------------------------------------------------------------------------

async def test_check_config_names_the_key():
    junk = Path(TMP.name) / "junk.pem"
    junk.write_text("not a certificate\n")
    cases = [
        (config().replace(f"tls-key = {KEY}\n", ""), "[daemon] tls-certificate: needs tls-key"),
        (config().replace(f"tls-key = {KEY}", f"tls-key = {junk}"), "[daemon] tls-key: "),
        (config().replace(f"tls-certificate = {CERT}", f"tls-certificate = {junk}"),
         "[daemon] tls-certificate: "),
        (config().replace(f"tls-key = {KEY}", "tls-key = /nonexistent/key.pem"),
         '[daemon] tls-key: "/nonexistent/key.pem" is not a file'),
        (config(token="short", viewer=None), "[daemon] token: 5 characters are too few"),
    ]
    for i, (text, message) in enumerate(cases):
        path = Path(TMP.name) / f"bad-{i}.conf"
        path.write_text(text)
        r = subprocess.run([rtcbotd_path(), "--check-config", str(path)], capture_output=True,
                           text=True, timeout=20)
        check(r.returncode == 78, f"case {i}: exit {r.returncode}; stderr {r.stderr!r}")
        check(message in r.stderr, f"case {i}: {r.stderr!r} does not say {message!r}")
    good = Path(TMP.name) / "good.conf"
    good.write_text(config())
    r = subprocess.run([rtcbotd_path(), "--check-config", str(good)], capture_output=True,
                       text=True, timeout=20)
    check(r.returncode == 0, f"a good TLS config: exit {r.returncode}; {r.stderr!r}")


if __name__ == "__main__":
    make_certificate()
    run_tap([
        ("https: an RTCBot client with the driver's token decodes video",
         test_https_video_with_token),
        ("every protected endpoint: 401 without a token, 403 wrong, passes right "
         "(header, cookie, query); a viewer token is refused where driving is needed",
         test_protected_endpoints),
        ("POST /connect answers a real offer with each token in each place",
         test_connect_with_each_carrier),
        ("the page, its assets and /healthz stay open; /?token= sets the cookie",
         test_page_and_healthz_stay_open),
        ("over plain http the cookie is not Secure; tokens still apply; a readable token file warns",
         test_plain_http_cookie_not_secure),
        ("a viewer-token peer watches: its messages reach no route, take-control refused",
         test_viewer_token_never_drives),
        ("control = single: a viewer-token peer first does not take the driver's seat",
         test_viewer_token_first_in_single_mode),
        ("a config file with a token only its owner can read gives no exposure warning",
         test_no_exposure_warning_for_a_private_file),
        ("listening on all interfaces without a token warns once; with a token it does not",
         test_open_listen_warns),
        ("the default listen is 127.0.0.1:8080 without a token, 0.0.0.0:8080 with one",
         test_listen_defaults),
        ("--check-config names the broken TLS key or token", test_check_config_names_the_key),
    ])
