#!/usr/bin/python3
"""rtcbotd under a service manager: sd_notify readiness, status, reload,
stopping and the watchdog, seen from the socket systemd would listen on; the
journal's structured fields; --verbose.

The test plays systemd: it binds an AF_UNIX datagram socket, starts the daemon
with NOTIFY_SOCKET pointing at it (and WATCHDOG_USEC, as WatchdogSec= does),
and reads what arrives. WATCHDOG_PID stays unset: the daemon is started
directly, so its pid is not known before it runs. Without NOTIFY_SOCKET the
daemon runs as before (every other integration test proves it).

TAP output.  Environment: RTCBOTD (daemon binary), PYTHONPATH including
tests/common.  RTCBOTD_TEST_ONLY=substring runs a subset.
"""

import asyncio
import datetime
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    Skip,
    TestFailure,
    check,
    make_config,
    note,
    rtcbotd_path,
    run_tap,
    wait_until,
)

# The test's own environment must not leak a real manager's variables.
for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"):
    os.environ.pop(name, None)

WATCHDOG_USEC = 1_000_000
STALL_S = 3.0  # what SIGUSR2 blocks the loop for (TEST_STALL_US in src/main.c)
LOG_TIME_RE = re.compile(r"(\d\d):(\d\d):(\d\d)\.(\d\d\d): ")


class Datagrams:
    """An AF_UNIX datagram socket and a thread recording what arrives:
    (monotonic time, wall time, {field: value}) per datagram."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.received = []
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.received.append((time.monotonic(), time.time(), self.parse(data)))

    @staticmethod
    def parse(data):
        """KEY=value lines, and the journal's binary form KEY\\n<le64 length>value\\n."""
        fields, i = {}, 0
        while i < len(data):
            nl = data.find(b"\n", i)
            nl = len(data) if nl < 0 else nl
            line = data[i:nl]
            if b"=" in line:
                key, _, value = line.partition(b"=")
                i = nl + 1
            else:
                key = line
                (length,) = struct.unpack_from("<Q", data, nl + 1)
                value = data[nl + 9:nl + 9 + length]
                i = nl + 9 + length + 1
            fields[key.decode()] = value.decode("utf-8", "replace")
        return fields

    def snapshot(self):
        with self._lock:
            return list(self.received)

    def states(self):
        """The kind of each datagram: READY, RELOADING, STOPPING, WATCHDOG or STATUS."""
        out = []
        for _, _, f in self.snapshot():
            kinds = [k for k in ("READY", "RELOADING", "STOPPING", "WATCHDOG") if k in f]
            out.append(kinds[0] if kinds else "STATUS")
        return out

    async def wait(self, match, timeout, start=0, what="a datagram"):
        """Index of the first datagram from @start on whose fields satisfy @match."""
        found = None

        def cond():
            nonlocal found
            for i, (_, _, f) in enumerate(self.snapshot()[start:], start):
                if match(f):
                    found = i
                    return True
            return False

        try:
            await wait_until(cond, timeout)
        except asyncio.TimeoutError:
            raise TestFailure(f"no {what} within {timeout} s; received {self.states()}") from None
        return found

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


class Managed:
    """A Daemon with a notify socket, as systemd starts it with Type=notify."""

    def __init__(self, config=None, watchdog=True, env=None, args=(), name="managed"):
        if os.environ.get("RTCBOTD_HAVE_SYSTEMD") == "0":
            raise Skip("built without libsystemd (-Dsystemd=disabled): no sd_notify")
        self._tmp = tempfile.TemporaryDirectory(prefix="rtcbotd-notify-")
        self.notify = Datagrams(Path(self._tmp.name) / "notify")
        full_env = {"NOTIFY_SOCKET": self.notify.path, "RTCBOTD_TEST_HOOKS": "1"}
        if watchdog:
            full_env["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
        full_env.update(env or {})
        self.daemon = Daemon(config or make_config(), args=args, env=full_env, name=name)

    async def __aenter__(self):
        await self.daemon.start()
        return self

    async def __aexit__(self, *exc):
        try:
            return await self.daemon.__aexit__(*exc)
        finally:
            self.notify.close()
            self._tmp.cleanup()

    @property
    def config_path(self):
        return Path(self.daemon._tmp.name) / "rtcbotd.conf"

    async def ready(self, start=0, timeout=10):
        return await self.notify.wait(lambda f: f.get("READY") == "1", timeout, start, "READY=1")

    def pings(self, start=0):
        return [t for t, _, f in self.notify.snapshot()[start:] if f.get("WATCHDOG") == "1"]


def log_wall_time(line, near):
    """The wall-clock time of a GLib log line's HH:MM:SS.mmm (local time, the day of @near)."""
    m = LOG_TIME_RE.search(line)
    check(m, f"no timestamp in {line!r}")
    h, mi, s, ms = (int(x) for x in m.groups())
    day = datetime.datetime.fromtimestamp(near)
    stamp = day.replace(hour=h, minute=mi, second=s, microsecond=ms * 1000).timestamp()
    # a line just before midnight, read just after
    return stamp - 86400 if stamp - near > 43200 else stamp


def line_with(d, text):
    lines = [line for line in d.output().splitlines() if text in line]
    check(lines, f"no log line with {text!r}")
    return lines[0]


async def wait_line(d, text, timeout=10):
    try:
        await wait_until(lambda: text in d.output(), timeout)
    except asyncio.TimeoutError:
        raise TestFailure(f"no log line with {text!r} within {timeout} s") from None


# --------------------------------------------------------------------------
# readiness and status
# --------------------------------------------------------------------------

async def test_ready_after_listening():
    async with Managed() as m:
        d = m.daemon
        i = await m.ready()
        t_ready, wall_ready, fields = m.notify.snapshot()[i]
        check(i == 0, f"something came before READY=1: {m.notify.states()[:i]}")
        # READY=1 means HTTP answers now, not soon.
        health = await d.healthz()
        check(health["status"] == "ok", f"/healthz: {health}")
        listening = line_with(d, "listening on http://")
        wall_listening = log_wall_time(listening, wall_ready)
        note(f"READY=1 {1000 * (wall_ready - wall_listening):.0f} ms after the listening "
             f"line ({listening.strip()})")
        # The line's time is cut to the millisecond: it can only be earlier.
        check(wall_ready >= wall_listening,
              f"READY=1 arrived before the daemon logged {listening!r}")
        check(fields.get("STATUS") == "0 peers; sources: camera up, tone up",
              f"READY=1 came with STATUS={fields.get('STATUS')!r}")


def status_config(tmp):
    # A peer that leaves without a goodbye is gone after peer-timeout.
    return make_config().replace("[daemon]\n", "[daemon]\npeer-timeout = 5\n") + f"""
[sink arduino]
type = serial
device = {tmp}/no-such-tty

[route drive]
from = peers.messages
to = arduino
"""


async def test_status_follows_peers():
    with tempfile.TemporaryDirectory() as tmp:
        async with Managed(status_config(tmp)) as m:
            i = await m.ready()
            base = "sources: camera up, tone up; endpoints: arduino down"
            status = m.notify.snapshot()[i][2].get("STATUS")
            check(status == f"0 peers; {base}", f"STATUS={status!r}")
            c = RTCBotClient(m.daemon.url, video=False, audio=False)
            async with c:
                await c.connect()
                t0 = time.monotonic()
                j = await m.notify.wait(lambda f: f.get("STATUS") == f"1 peer; {base}", 3, i,
                                        "STATUS=1 peer")
                note(f"STATUS=1 peer {1000 * (m.notify.snapshot()[j][0] - t0):.0f} ms after "
                     f"the answer")
            await m.notify.wait(lambda f: f.get("STATUS") == f"0 peers; {base}", 20, j + 1,
                                "STATUS=0 peers after the peer left")
            statuses = [f["STATUS"] for _, _, f in m.notify.snapshot() if "STATUS" in f]
            check(all(a != b for a, b in zip(statuses, statuses[1:])),
                  f"the same STATUS was sent twice in a row: {statuses}")


# --------------------------------------------------------------------------
# watchdog
# --------------------------------------------------------------------------

async def test_watchdog_pings():
    async with Managed() as m:
        i = await m.ready()
        await asyncio.sleep(3.2)  # a measurement window, not synchronisation
        pings = m.pings(i)
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        check(len(pings) >= 5, f"{len(pings)} WATCHDOG=1 in 3.2 s: {m.notify.states()}")
        gaps.sort()
        median = gaps[len(gaps) // 2]
        note(f"{len(pings)} pings; gaps median {1000 * median:.0f} ms, "
             f"max {1000 * gaps[-1]:.0f} ms")
        check(0.4 <= median <= 0.65, f"median gap {median:.3f} s, expected about 0.5 s")
        # systemd kills the daemon after WATCHDOG_USEC without a ping.
        check(gaps[-1] < WATCHDOG_USEC / 1e6, f"a gap of {gaps[-1]:.3f} s between pings")


async def test_watchdog_pid_of_another_process():
    # sd_watchdog_enabled: a WATCHDOG_PID that is not ours means "not for you".
    async with Managed(env={"WATCHDOG_PID": str(os.getpid())}) as m:
        await m.ready()
        await asyncio.sleep(1.5)  # three periods in which pings would have come
        check(not m.pings(), f"pinged although WATCHDOG_PID was another process: "
                             f"{m.notify.states()}")


async def test_stalled_loop_stops_pings():
    async with Managed() as m:
        d = m.daemon
        i = await m.ready()
        await wait_until(lambda: len(m.pings(i)) >= 2, 5)
        t_signal = time.monotonic()
        d.proc.send_signal(signal.SIGUSR2)
        await wait_line(d, "test hook: the main loop runs again", STALL_S + 5)
        t_back = time.monotonic()
        await wait_until(lambda: len([t for t in m.pings(i) if t > t_back]) >= 2, 3)
        pings = m.pings(i)
        gaps = [(b - a, a, b) for a, b in zip(pings, pings[1:])]
        gap, before, after = max(gaps)
        note(f"longest gap {gap:.2f} s, from {before - t_signal:+.2f} s to "
             f"{after - t_signal:+.2f} s around SIGUSR2; others at most "
             f"{sorted(g for g, _, _ in gaps)[-2]:.2f} s")
        check(gap >= STALL_S - 0.6, f"pings went on while the loop was blocked: gap {gap:.2f} s")
        check(before <= t_signal + 0.1 and after >= t_back - 0.6,
              "the long gap is not the stall")
        await d.healthz()  # and the daemon serves again


# --------------------------------------------------------------------------
# reload and stop
# --------------------------------------------------------------------------

async def test_reload():
    async with Managed() as m:
        d = m.daemon
        good = m.config_path.read_text()
        i = await m.ready()
        m.config_path.write_text(good + "\n[source camera2]\ntype = test-video\nwidth = wide\n")
        d.proc.send_signal(signal.SIGHUP)
        j = await m.notify.wait(lambda f: "RELOADING" in f, 5, i + 1, "RELOADING=1")
        reloading = m.notify.snapshot()[j][2]
        k = await m.ready(j + 1)
        states = [s for s in m.notify.states()[i + 1:k + 1] if s != "WATCHDOG"]
        check(states == ["RELOADING", "READY"], f"after SIGHUP: {states}")
        # systemd compares MONOTONIC_USEC with the reload it asked for: CLOCK_MONOTONIC.
        usec = int(reloading.get("MONOTONIC_USEC", "0"))
        lag = time.monotonic_ns() // 1000 - usec
        check(0 <= lag < 5_000_000, f"MONOTONIC_USEC={usec} is {lag} µs from now")
        await wait_line(d, "; keeping the running configuration")
        warning = line_with(d, "; keeping the running configuration")
        check("WARNING" in warning and "reload: " in warning
              and f'{m.config_path}:' in warning and '"wide" is not a whole number' in warning,
              f"the warning does not say what is wrong: {warning!r}")
        health = await d.healthz()
        check(health["status"] == "ok" and "camera" in health["sources"],
              f"/healthz after a broken reload: {health}")
        # A good file that moves listen: applied, but --listen still wins.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        m.config_path.write_text(good.replace("listen = 127.0.0.1:0", f"listen = 127.0.0.1:{port}"))
        d.proc.send_signal(signal.SIGHUP)
        j = await m.notify.wait(lambda f: "RELOADING" in f, 5, k + 1, "second RELOADING=1")
        k = await m.ready(j + 1)
        await wait_line(d, "configuration reloaded from")
        await d.healthz()  # still at the --listen address
        with socket.socket() as probe:
            check(probe.connect_ex(("127.0.0.1", port)) != 0,
                  f"the reloaded file's listen 127.0.0.1:{port} was applied over --listen")


async def test_sigterm_stopping():
    async with Managed() as m:
        d = m.daemon
        await m.ready()
        t0 = time.monotonic()
        code = await d.stop()  # fails unless the exit code is 0
        await m.notify.wait(lambda f: f.get("STOPPING") == "1", 2, 0, "STOPPING=1")
        states = [s for s in m.notify.states() if s != "WATCHDOG"]
        check(states[-1] == "STOPPING" or states[-2:] == ["STOPPING", "STATUS"],
              f"STOPPING=1 is not the last word: {states}")
        note(f"exit code {code} {time.monotonic() - t0:.2f} s after SIGTERM")


# --------------------------------------------------------------------------
# logs
# --------------------------------------------------------------------------

JOURNAL_WRAPPER = """\
mount --bind "$FAKE_RUN" /run || exit 97
export JOURNAL_STREAM="$(stat -L -c %d:%i /proc/self/fd/2)"
exec "$@"
"""


async def test_journal_fields():
    """Under systemd, stderr is the journal's stream (JOURNAL_STREAM names it):
    entries go to /run/systemd/journal/socket with fields. The test gives the
    daemon its own /run (a mount namespace) holding the test's socket."""
    with tempfile.TemporaryDirectory(prefix="rtcbotd-journal-") as tmp:
        run = Path(tmp) / "run"
        (run / "systemd" / "journal").mkdir(parents=True)
        journal = Datagrams(run / "systemd" / "journal" / "socket")
        cfg = Path(tmp) / "rtcbotd.conf"
        cfg.write_text(make_config())
        probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                               capture_output=True)
        if probe.returncode != 0:
            journal.close()
            raise Skip(f"no mount namespace here: {probe.stderr.decode().strip()}")
        proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", JOURNAL_WRAPPER, "sh",
             rtcbotd_path(), "--config", str(cfg), "--listen", "127.0.0.1:0"],
            env=dict(os.environ, FAKE_RUN=str(run)), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            await journal_checks(journal, proc, cfg)
        finally:
            if proc.poll() is None:
                proc.kill()
            out, err = proc.communicate(timeout=10)
            journal.close()
        check(proc.returncode == 0, f"exit code {proc.returncode}; stderr {err[-2000:]!r}")
        check(b"listening on" not in out + err, "the messages went to stdout/stderr as well")


def entries(journal, text):
    return [f for _, _, f in journal.snapshot() if text in f.get("MESSAGE", "")]


async def journal_checks(journal, proc, cfg):
    i = await journal.wait(lambda f: "listening on http://" in f.get("MESSAGE", ""), 15, 0,
                           "the listening line in the journal")
    listening = journal.snapshot()[i][2]
    check(listening.get("PRIORITY") == "5" and listening.get("SYSLOG_IDENTIFIER") == "rtcbotd"
          and listening.get("GLIB_DOMAIN") == "rtcbotd", f"fields: {listening}")
    check("RTCBOTD_GROUP" not in listening and "RTCBOTD_PEER" not in listening,
          f"a prefix was read into a plain message: {listening}")
    url = re.search(r"(http://\S+/)", listening["MESSAGE"]).group(1)
    camera = entries(journal, "[source camera]: videotestsrc ")
    check(camera and camera[0].get("RTCBOTD_GROUP") == "source camera",
          f"[source camera] entry: {camera}")
    async with RTCBotClient(url, video=False, audio=False) as c:
        await c.connect()
        await c.wait_open()
    await journal.wait(lambda f: f.get("MESSAGE", "").startswith("peer 1: gone"), 15, i,
                       "peer 1: gone")
    peer = entries(journal, "peer 1: ")
    check(peer and all(f.get("RTCBOTD_PEER") == "1" for f in peer),
          f"peer entries without RTCBOTD_PEER=1: {peer}")
    cfg.write_text(cfg.read_text() + "[source camera]\n")  # a duplicate group
    proc.send_signal(signal.SIGHUP)
    await journal.wait(lambda f: f.get("MESSAGE", "").startswith("reload: "), 5, i, "reload:")
    reload = entries(journal, "reload: ")[0]
    check(reload.get("PRIORITY") == "4" and "keeping the running configuration"
          in reload["MESSAGE"], f"reload entry: {reload}")
    proc.send_signal(signal.SIGTERM)
    await asyncio.to_thread(proc.wait, 10)


async def test_verbose_levels():
    async with Daemon(make_config(), name="quiet") as d:
        pass
    quiet = d.output()
    async with Daemon(make_config(), args=["-v"], name="v") as d:
        pass
    v = d.output()
    async with Daemon(make_config(), args=["-vvv"], name="vvv") as d:
        async with RTCBotClient(d.url, video=False, audio=False) as c:
            await c.connect()
            await c.wait_open()
    vvv = d.output()
    gst_webrtc = re.compile(r"\bINFO\s+(webrtc|nice)\w*\s")
    check("rtcbotd-DEBUG" not in quiet, "debug messages without -v")
    check("rtcbotd-DEBUG" in v and not gst_webrtc.search(v), "-v: ours only")
    check("rtcbotd-DEBUG" in vvv and gst_webrtc.search(vvv),
          "-vvv: no GStreamer INFO from webrtc or nice")
    check("listening on http://" in quiet and "rtcbotd-Message: " in quiet,
          "the usual lines changed")
    r = subprocess.run([rtcbotd_path(), "--help"], capture_output=True, text=True)
    check("-vv" in r.stdout and "-vvv" in r.stdout, f"--help does not explain -v: {r.stdout}")


if __name__ == "__main__":
    run_tap([
        ("READY=1 once HTTP listens, with STATUS", test_ready_after_listening),
        ("STATUS= follows the peer count; endpoints up/down", test_status_follows_peers),
        ("WATCHDOG=1 about every WATCHDOG_USEC/2", test_watchdog_pings),
        ("WATCHDOG_PID of another process: no pings", test_watchdog_pid_of_another_process),
        ("a blocked main loop sends no pings", test_stalled_loop_stops_pings),
        ("SIGHUP: RELOADING=1 then READY=1; a broken file keeps running",
         test_reload),
        ("SIGTERM: STOPPING=1, exit 0", test_sigterm_stopping),
        ("journal: structured fields from message prefixes", test_journal_fields),
        ("--verbose: -v ours, -vvv GStreamer webrtc/nice info", test_verbose_levels),
    ], timeout=90)
