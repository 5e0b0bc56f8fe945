"""Test helpers for rtcbotd: run the daemon, talk to it like RTCBot's Python client.

Used by tests/integration/*.py and bench/viewers.  Needs only Debian's
python3-aiortc (1.4, aioice 0.8) and python3-aiohttp; run with /usr/bin/python3.

Pieces:
  Daemon          start build/src/rtcbotd with a config text, parse its URL
                  (http:// or https://), stop it with SIGTERM (exit code must
                  be 0), keep its output.
  RTCBotClient    an aiortc offerer shaped like rtcbot.RTCConnection:
                  data channel "default" first, recvonly video + audio
                  transceivers, aiortc's BUNDLE offer with full gathering,
                  POST json.dumps(offer) as text/plain, resp.json(),
                  RTCSessionDescription(**answer); optional headers (a
                  token) and an ssl context for https.
  raw_http        a minimal HTTP/1.1 client for malformed requests.
  run_tap         run test coroutines, print TAP, exit non-zero on failure.

Networking is loopback only: ICE servers are empty and aioice is patched to
offer 127.0.0.1 as its only host candidate (aioice never offers loopback).
"""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import aioice.ice

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RTCBOTD = REPO_ROOT / "build" / "src" / "rtcbotd"
LISTEN_RE = re.compile(r"listening on (https?://[^\s/]+/)")
CRITICAL_RE = re.compile(r"-CRITICAL \*\*|\bCRITICAL\b.*\*\*")


# --------------------------------------------------------------------------
# aioice: offer 127.0.0.1, and nothing else
# --------------------------------------------------------------------------

def _loopback_host_addresses(use_ipv4, use_ipv6):
    return ["127.0.0.1"] if use_ipv4 else []


# aioice.ice.Connection.gather_candidates() looks up the module-level
# get_host_addresses() at call time, so replacing the module attribute is
# enough (aioice 0.8: aioice/ice.py).
aioice.ice.get_host_addresses = _loopback_host_addresses

# aiortc is imported after the patch on purpose (it imports aioice.Connection,
# which is unaffected either way, but keep the order obvious).
import aiohttp  # noqa: E402
from aiortc import (  # noqa: E402
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError  # noqa: E402


def rtcbotd_path():
    return os.environ.get("RTCBOTD") or str(DEFAULT_RTCBOTD)


def sanitized():
    """True when the daemon under test is built with ASan/UBSan (meson sets
    RTCBOTD_SANITIZED): it runs several times slower, so rates and timings
    are not checked against their normal bounds, and valgrind cannot run it."""
    return os.environ.get("RTCBOTD_SANITIZED") == "1"


def note(*args, stderr=False):
    """Print a TAP diagnostic line (or several); with @stderr also to stderr,
    which is what meson shows of a failed TAP test."""
    text = " ".join(str(a) for a in args)
    for line in text.splitlines() or [""]:
        print("# " + line, flush=True)
        if stderr:
            print("# " + line, file=sys.stderr, flush=True)


class TestFailure(AssertionError):
    pass


def check(cond, message):
    if not cond:
        raise TestFailure(message)


# --------------------------------------------------------------------------
# The daemon
# --------------------------------------------------------------------------

BASE_CONFIG = """\
[daemon]
listen = 127.0.0.1:0
max-peers = {max_peers}
control = shared

[source camera]
type = test-video
width = {width}
height = {height}
framerate = {framerate}
{video_extra}
[source tone]
type = test-audio

[route media]
from = camera;tone
to = peers

[route echo]
from = peers.messages
to = peers
"""


def make_config(max_peers=8, width=640, height=480, framerate=30, **video_keys):
    """The standard test config; extra keyword args become keys of
    [source camera] (underscores turn into dashes), e.g. encoder="vp8"."""
    extra = "".join(f"{k.replace('_', '-')} = {v}\n" for k, v in video_keys.items())
    return BASE_CONFIG.format(max_peers=max_peers, width=width, height=height,
                              framerate=framerate, video_extra=extra)


class Daemon:
    """One rtcbotd process.  Usable synchronously (start_sync/stop_sync) or as
    an async context manager (start on enter, stop on exit; the stop checks
    exit code 0 and the absence of GLib CRITICAL lines)."""

    running = set()  # every started, not yet stopped Daemon (for diagnostics)

    def __init__(self, config_text, args=(), env=None, name="rtcbotd", listen="127.0.0.1:0",
                 prefix=()):
        """@listen: the --listen argument (None: none, [daemon] listen or its
        default applies); @prefix: a command the daemon runs under (e.g.
        ["unshare", "-n"]: a network namespace of its own)."""
        self.config_text = config_text
        self.args = list(args)
        self.listen = listen
        self.prefix = list(prefix)
        self.ssl = None  # an ssl.SSLContext for get_json() against https
        self.env = env
        self.name = name
        self.proc = None
        self.url = None
        self.host = None
        self.port = None
        self.returncode = None
        self._lines = []
        self._lock = threading.Lock()
        self._url_event = threading.Event()
        self._tmp = None
        self._reader = None
        self.verbose = bool(os.environ.get("RTCBOTD_TEST_VERBOSE"))
        self.shared = False  # True: outlives the test that started it (run_tap)

    # -- output ----------------------------------------------------------
    def output(self):
        with self._lock:
            return "".join(self._lines)

    def tail(self, n=60):
        with self._lock:
            return "".join(self._lines[-n:])

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._lines.append(line)
            if self.verbose:
                sys.stderr.write(f"[{self.name}] {line}")
            if self.url is None:
                m = LISTEN_RE.search(line)
                if m:
                    self.url = m.group(1)
                    hostport = self.url.split("://", 1)[1][:-1]
                    self.host, _, port = hostport.rpartition(":")
                    self.port = int(port)
                    self._url_event.set()
        self.proc.stdout.close()
        self._url_event.set()  # wake a waiter if the process died early

    # -- lifecycle -------------------------------------------------------
    def start_sync(self, timeout=15.0):
        exe = rtcbotd_path()
        if not os.access(exe, os.X_OK):
            raise TestFailure(f"daemon binary not found or not executable: {exe}")
        self._tmp = tempfile.TemporaryDirectory(prefix="rtcbotd-test-")
        cfg = Path(self._tmp.name) / "rtcbotd.conf"
        cfg.write_text(self.config_text)
        cmd = self.prefix + [exe, "--config", str(cfg)]
        if self.listen:
            cmd += ["--listen", self.listen]
        cmd += self.args
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.t_spawn = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, cwd=self._tmp.name)
        Daemon.running.add(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._url_event.wait(timeout) or self.url is None:
            rc = self.proc.poll()
            self.kill()
            raise TestFailure(
                f"daemon did not print 'listening on http(s)://...' within {timeout} s "
                f"(exit code {rc})\n--- daemon output ---\n{self.tail()}")
        self.t_ready = time.monotonic()
        return self

    def stop_sync(self, timeout=10.0, check_exit=True):
        """SIGTERM, wait, SIGKILL after the deadline.  Returns the exit code;
        raises TestFailure if it is not 0 (when check_exit)."""
        if self.proc is None:
            return None
        killed = False
        if self.proc.poll() is None:
            self._wait_catches(signal.SIGTERM)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                killed = True
        self.returncode = self.proc.returncode
        if self._reader:
            self._reader.join(5)
        Daemon.running.discard(self)
        if self._tmp:
            self._tmp.cleanup()
            self._tmp = None
        if check_exit:
            if killed:
                raise TestFailure(f"daemon ignored SIGTERM for {timeout} s; killed\n"
                                  f"--- daemon output ---\n{self.tail()}")
            if self.returncode != 0:
                raise TestFailure(f"daemon exit code {self.returncode} after SIGTERM "
                                  f"(expected 0)\n--- daemon output ---\n{self.tail()}")
            crit = [l for l in self.output().splitlines() if CRITICAL_RE.search(l)]
            if crit:
                raise TestFailure("daemon printed CRITICAL messages:\n" + "\n".join(crit[:20]))
        return self.returncode

    def _wait_catches(self, signum, timeout=5.0):
        """Wait until the daemon catches @signum (it shows in /proc): a signal
        that arrives before main.c has installed its handlers kills it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                status = Path(f"/proc/{self.proc.pid}/status").read_text()
            except OSError:
                return
            caught = next((int(line.split()[1], 16) for line in status.splitlines()
                           if line.startswith("SigCgt:")), None)
            if caught is None or caught & (1 << (signum - 1)):
                return
            time.sleep(0.01)  # polling the process's state, with a deadline

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._reader:
            self._reader.join(5)
        Daemon.running.discard(self)
        if self._tmp:
            self._tmp.cleanup()
            self._tmp = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    async def start(self, timeout=15.0):
        return await asyncio.to_thread(self.start_sync, timeout)

    async def stop(self, timeout=10.0, check_exit=True):
        return await asyncio.to_thread(self.stop_sync, timeout, check_exit)

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, exc_type, exc, tb):
        if exc_type is None:
            await self.stop()
        else:
            # keep the original failure; still try a clean stop for the log
            try:
                await self.stop(check_exit=False)
            except Exception:
                self.kill()
            note(f"--- output of {self.name} (exit code after SIGTERM: {self.returncode}"
                 f"{'; -9 = killed after ignoring SIGTERM for 10 s' if self.returncode == -9 else ''}) ---")
            note(self.tail(80).rstrip())
        return False

    # -- reload ----------------------------------------------------------
    def config_path(self):
        return Path(self._tmp.name) / "rtcbotd.conf"

    def reload(self, config_text):
        """Writes @config_text as the daemon's config file and sends SIGHUP."""
        self.config_text = config_text
        self.config_path().write_text(config_text)
        self.proc.send_signal(signal.SIGHUP)

    async def wait_output(self, text, timeout=10.0, count=1):
        """Waits until @text has appeared @count times in the output."""
        try:
            await wait_until(lambda: self.output().count(text) >= count, timeout, interval=0.05)
        except asyncio.TimeoutError:
            raise TestFailure(f"{self.name}: {text!r} not logged {count} time(s) within "
                              f"{timeout} s") from None

    # -- HTTP helpers ----------------------------------------------------
    async def get_json(self, path, timeout=5.0, headers=None):
        return json.loads(await self.get_text(path, timeout, headers))

    async def get_text(self, path, timeout=5.0, headers=None):
        async with aiohttp.ClientSession() as s:
            async with s.get(self.url + path.lstrip("/"), headers=headers, ssl=self.ssl,
                             timeout=aiohttp.ClientTimeout(total=timeout)) as r:
                check(r.status == 200, f"GET {path}: HTTP {r.status}: {await r.text()}")
                return await r.text()

    async def healthz(self):
        return await self.get_json("healthz")

    async def peers(self):
        return (await self.healthz()).get("peers")

    async def wait_peers(self, n, timeout=15.0):
        """Poll /healthz until peers == n; returns the time it took."""
        t0 = time.monotonic()
        last = None

        async def cond():
            nonlocal last
            last = await self.peers()
            return last == n

        try:
            await wait_until(cond, timeout, interval=0.1)
        except asyncio.TimeoutError:
            raise TestFailure(f"/healthz peers stayed {last}, expected {n} within {timeout} s")
        return time.monotonic() - t0


async def wait_until(cond, timeout, interval=0.02):
    """Poll cond() (plain or coroutine function) until true; TimeoutError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        r = cond()
        if asyncio.iscoroutine(r):
            r = await r
        if r:
            return r
        if time.monotonic() >= deadline:
            raise asyncio.TimeoutError()
        await asyncio.sleep(interval)


# --------------------------------------------------------------------------
# Raw HTTP (for malformed requests)
# --------------------------------------------------------------------------

class RawResponse:
    def __init__(self, status, reason, headers, body, write_error=None):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case names
        self.body = body
        self.write_error = write_error

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<HTTP {self.status} {self.reason} {self.headers} {self.body[:200]!r}>"


async def raw_http(host, port, method, path, body=None, headers=None, chunked=False,
                   timeout=10.0):
    """Send one HTTP/1.1 request (Connection: close) and read the response.
    The body is written concurrently with reading, so a server that answers
    early (413) is seen even if it stops reading."""
    hdrs = {"Host": f"{host}:{port}", "Connection": "close"}
    if body is not None:
        if chunked:
            hdrs["Transfer-Encoding"] = "chunked"
        else:
            hdrs["Content-Length"] = str(len(body))
    hdrs.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"

    async def go():
        reader, writer = await asyncio.open_connection(host, port)
        write_error = None

        async def send():
            nonlocal write_error
            try:
                writer.write(head.encode())
                if body is not None:
                    if chunked:
                        step = 16384
                        for i in range(0, len(body), step):
                            part = body[i:i + step]
                            writer.write(b"%x\r\n" % len(part) + part + b"\r\n")
                            await writer.drain()
                        writer.write(b"0\r\n\r\n")
                    else:
                        writer.write(body)
                await writer.drain()
            except (ConnectionError, OSError) as e:
                write_error = e

        sender = asyncio.ensure_future(send())
        try:
            status_line = await reader.readline()
            if not status_line:
                await sender
                raise TestFailure(f"{method} {path}: connection closed without a response"
                                  + (f" (write error: {write_error!r})" if write_error else ""))
            parts = status_line.decode("latin-1").rstrip("\r\n").split(" ", 2)
            status = int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
            rh = {}
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                k, _, v = line.decode("latin-1").partition(":")
                rh[k.strip().lower()] = v.strip()
            if "content-length" in rh:
                data = await reader.readexactly(int(rh["content-length"]))
            elif rh.get("transfer-encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    data += await reader.readexactly(size)
                    await reader.readline()
            else:
                data = await reader.read()
            return RawResponse(status, reason, rh, data, write_error)
        finally:
            sender.cancel()
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    return await asyncio.wait_for(go(), timeout)


# --------------------------------------------------------------------------
# The RTCBot-like aiortc client
# --------------------------------------------------------------------------

class HTTPStatusError(Exception):
    def __init__(self, status, headers, body):
        super().__init__(f"HTTP {status}: {body[:300]!r}")
        self.status = status
        self.headers = headers
        self.body = body


def video_codecs(*mime_types):
    """aiortc receive capabilities restricted to the given codecs (plus rtx)."""
    wanted = {m.lower() for m in mime_types} | {"video/rtx"}
    return [c for c in RTCRtpReceiver.getCapabilities("video").codecs
            if c.mimeType.lower() in wanted]


class RTCBotClient:
    """Offerer with the wire shape of rtcbot.RTCConnection (Python):

        conn = RTCConnection(); conn.video.subscribe(); conn.audio.subscribe()
        offer = await conn.getLocalDescription()
        POST json.dumps(offer) -> resp.json() -> conn.setRemoteDescription(answer)

    The data channel "default" is created first (ordered), then recvonly video
    and audio transceivers; aiortc's own offer (BUNDLE, legacy DTLS/SCTP data
    m-line, per-m-line ICE credentials) is sent unmodified.
    """

    def __init__(self, base_url, video=True, audio=True, data=True, codecs=None,
                 ordered=True, name="client", channels=(), headers=None, ssl=None):
        """@headers go with the POST (e.g. Authorization: Bearer TOKEN);
        @ssl is aiohttp's ssl argument (an ssl.SSLContext for https)."""
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.headers = headers
        self.ssl = ssl
        self.want_video = video  # True, or the number of video m-lines (cameras)
        self.want_audio = audio
        self.want_data = data
        self.codecs = codecs
        self.ordered = ordered
        self.name = name
        # extra data channels: (label, {"ordered": ..., "maxRetransmits": ...})
        self.extra_channels = list(channels)
        self.channels = {}
        self.pc = None
        self.channel = None
        self.offer = None
        self.answer = None
        self.t_post = None
        self.t_answer = None
        self.first_video_at = None
        self.first_audio_at = None
        self.first_video_size = None
        self.video_frames = 0
        self.frames_by_track = {}  # video track id -> decoded frames
        self.last_frame_by_track = {}  # video track id -> the newest decoded av.VideoFrame
        self.audio_frames = 0
        self.audio_samples = 0
        self.tracks = []
        self.track_ended = {}
        self.messages = asyncio.Queue()
        self._tasks = []
        self._open = asyncio.Event()
        self._first_video = asyncio.Event()
        self._first_audio = asyncio.Event()
        self.closed = False

    # -- offer -------------------------------------------------------------
    async def prepare(self):
        """Create the peer connection and the offer (full ICE gathering)."""
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.on("track", self._on_track)
        if self.want_data:
            self.channel = self.pc.createDataChannel("default", ordered=self.ordered)
            self.channel.on("open", self._open.set)
            self.channel.on("message", self._on_message)
        for label, options in self.extra_channels:
            self.channels[label] = self.pc.createDataChannel(label, **options)
        for _ in range(int(self.want_video)):
            t = self.pc.addTransceiver("video", direction="recvonly")
            if self.codecs:
                t.setCodecPreferences(self.codecs)
        if self.want_audio:
            self.pc.addTransceiver("audio", direction="recvonly")
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)  # aiortc: waits for complete gathering
        desc = self.pc.localDescription
        self.offer = {"sdp": desc.sdp, "type": desc.type}
        return self.offer

    async def post(self, path="connect", timeout=10.0):
        """POST the offer the way RTCBot's Python client does; apply the answer."""
        url = self.base_url + path
        self.t_post = time.monotonic()
        async with aiohttp.ClientSession() as s:
            # data=str -> aiohttp sends Content-Type: text/plain; charset=utf-8
            async with s.post(url, data=json.dumps(self.offer), headers=self.headers,
                              ssl=self.ssl,
                              timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                if resp.status != 200:
                    raise HTTPStatusError(resp.status, resp.headers, await resp.text())
                # strict like RTCBot: raises unless Content-Type is application/json
                answer = await resp.json()
        self.t_answer = time.monotonic()
        self.answer = answer
        await self.pc.setRemoteDescription(RTCSessionDescription(**answer))
        return answer

    async def connect(self, timeout=10.0):
        await self.prepare()
        await self.post(timeout=timeout)
        return self

    # -- media -------------------------------------------------------------
    def _on_track(self, track):
        self.tracks.append(track)
        self._tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                self.track_ended[track.kind] = time.monotonic()
                return
            now = time.monotonic()
            if track.kind == "video":
                if self.first_video_at is None:
                    self.first_video_at = now
                    self.first_video_size = (frame.width, frame.height)
                    self._first_video.set()
                self.video_frames += 1
                self.frames_by_track[track.id] = self.frames_by_track.get(track.id, 0) + 1
                self.last_frame_by_track[track.id] = frame
            else:
                if self.first_audio_at is None:
                    self.first_audio_at = now
                    self._first_audio.set()
                self.audio_frames += 1
                self.audio_samples += frame.samples

    async def _wait_first(self, kind, timeout):
        try:
            await asyncio.wait_for(getattr(self, f"_first_{kind}").wait(), timeout)
        except asyncio.TimeoutError:
            raise TestFailure(f"{self.name}: no {kind} frame within {timeout} s "
                              f"(state {self.state()})") from None
        return getattr(self, f"first_{kind}_at") - self.t_post

    async def wait_first_video(self, timeout=10.0):
        return await self._wait_first("video", timeout)

    async def wait_first_audio(self, timeout=10.0):
        return await self._wait_first("audio", timeout)

    async def video_fps(self, seconds):
        """Decoded video frames per second over a measurement window."""
        n0, t0 = self.video_frames, time.monotonic()
        await asyncio.sleep(seconds)  # measurement window, not synchronisation
        return (self.video_frames - n0) / (time.monotonic() - t0)

    def state(self):
        if not self.pc:
            return "no pc"
        return (f"conn={self.pc.connectionState} ice={self.pc.iceConnectionState} "
                f"dc={self.channel.readyState if self.channel else None} "
                f"tracks={[t.kind for t in self.tracks]} video={self.video_frames} "
                f"audio={self.audio_frames}")

    # -- data channel --------------------------------------------------------
    def _on_message(self, data):
        parsed = data
        if isinstance(data, str):
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = data
        self.messages.put_nowait((data, parsed))

    async def wait_open(self, timeout=10.0):
        try:
            await asyncio.wait_for(self._open.wait(), timeout)
        except asyncio.TimeoutError:
            raise TestFailure(f"{self.name}: data channel 'default' not open within "
                              f"{timeout} s (state {self.state()})") from None

    def send(self, msg):
        """RTCBot semantics: every message is json.dumps()'d."""
        self.channel.send(json.dumps(msg))

    def send_raw(self, text):
        """What rtcbot.js does with a string: sent verbatim."""
        self.channel.send(text)

    async def recv(self, timeout=5.0):
        """Next message as (raw wire data, JSON-decoded or raw)."""
        try:
            return await asyncio.wait_for(self.messages.get(), timeout)
        except asyncio.TimeoutError:
            raise TestFailure(f"{self.name}: no data-channel message within {timeout} s "
                              f"(state {self.state()})") from None

    def drain(self):
        out = []
        while not self.messages.empty():
            out.append(self.messages.get_nowait())
        return out

    # -- teardown ------------------------------------------------------------
    async def close(self):
        if self.closed:
            return
        self.closed = True
        if self.pc:
            try:
                await asyncio.wait_for(self.pc.close(), 10)
            except asyncio.TimeoutError:
                note(f"{self.name}: pc.close() took more than 10 s")
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False


def sdp_media_kinds(sdp):
    """['video', 'audio', 'application'] for the m-lines of an SDP text."""
    return [line[2:].split(" ", 1)[0] for line in sdp.splitlines() if line.startswith("m=")]


def sdp_sections(sdp):
    """List of (m-line, [attribute lines]) per media section."""
    out = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            out.append((line, []))
        elif out:
            out[-1][1].append(line)
    return out


# --------------------------------------------------------------------------
# TAP runner
# --------------------------------------------------------------------------

class Skip(Exception):
    pass


def run_tap(tests, timeout=90.0):
    """tests: list of (name, async function[, todo]).  With a todo reason the
    test is a known daemon problem: reported as TAP "# TODO" (a failure does
    not fail the run; a pass shows up as an unexpected pass in meson, the cue
    to drop the marker).  All run in one event loop (so
    consecutive tests may share a client through module state), each with a
    timeout; on failure the traceback and the output tail of every running
    daemon are printed as TAP diagnostics.  Daemons started by a test are
    killed after it unless marked .shared.  Exits 1 if any test failed."""
    only = os.environ.get("RTCBOTD_TEST_ONLY")

    async def main():
        print(f"1..{len(tests)}", flush=True)
        failures = 0
        for i, entry in enumerate(tests, 1):
            name, fn = entry[0], entry[1]
            todo = entry[2] if len(entry) > 2 else None
            directive = f" # TODO {todo}" if todo else ""
            if only and only not in name:
                print(f"ok {i} - {name} # SKIP not selected by RTCBOTD_TEST_ONLY", flush=True)
                continue
            before = set(Daemon.running)
            t0 = time.monotonic()
            try:
                await asyncio.wait_for(fn(), timeout)
            except Skip as e:
                print(f"ok {i} - {name} # SKIP {e}", flush=True)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as e:  # noqa: B902 - report everything, incl. timeouts
                if not todo:
                    failures += 1
                print(f"not ok {i} - {name}{directive}", flush=True)
                print(f"not ok {i} - {name}{directive}", file=sys.stderr, flush=True)
                if isinstance(e, asyncio.TimeoutError) and not str(e):
                    note(f"test timed out after {timeout} s", stderr=True)
                if isinstance(e, TestFailure):
                    note(str(e), stderr=True)
                else:
                    note("".join(traceback.format_exception(e)).rstrip(), stderr=True)
                for d in list(Daemon.running):
                    note(f"--- output of {d.name} (pid {d.proc.pid}, "
                         f"{'running' if d.alive() else 'exited ' + str(d.proc.returncode)}) ---",
                         stderr=True)
                    note(d.tail(80).rstrip(), stderr=True)
            else:
                print(f"ok {i} - {name} ({time.monotonic() - t0:.1f} s){directive}", flush=True)
            for d in list(Daemon.running - before):
                if not d.shared:
                    d.kill()
        return failures

    try:
        failures = asyncio.run(main())
    finally:
        for d in list(Daemon.running):
            d.kill()
    sys.exit(1 if failures else 0)
