#!/usr/bin/python3
"""rtcbotd.service under a real systemd: the unit as `meson install` installs
it, with all its hardening, in a throw-away systemd-nspawn container booted
from this machine's own /usr (`--volatile=yes`: an empty tmpfs root, nothing
of the host is written, a private network with only loopback). The installed
prefix (/usr/local for ./scripts/test) is bound into the container, so
systemd finds the unit and the sysusers file where they were installed and
creates the rtcbotd user at boot, as on a robot.

Checks what a user can see: the service starts and serves a viewer 30 fps
video; the daemon runs as rtcbotd with its device groups, no capabilities,
no new privileges, a seccomp filter, a read-only root, and GStreamer's ORC
code mapped from a file (the JIT works under MemoryDenyWriteExecute=); a stop
exits 0 after the failsafes; a configuration error leaves the unit failed
without a restart loop; a crash is restarted.

Needs root and systemd-nspawn (Debian package systemd-container); skipped
otherwise. A daemon built without sd_notify cannot satisfy Type=notify: then
a drop-in runs it as Type=exec and says so. TAP output.
"""

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import Skip, check, note, run_tap  # noqa: E402

SOURCE = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RTCBOTD_BUILD_ROOT", SOURCE / "build"))
TMP = tempfile.TemporaryDirectory(prefix="rtcbotd-service-")
DESTDIR = Path(TMP.name) / "root"
MACHINE = f"rtcbotd-test-{os.getpid()}"  # test runs in parallel worktrees must not clash
S = {}

VIEWER = """
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from rtcbotd_test import RTCBotClient
async def main():
    async with RTCBotClient("http://127.0.0.1:8080/", name="viewer") as c:
        await c.connect()
        first = await c.wait_first_video(20)
        fps = await c.video_fps(3.0)
        print(f"first frame {first:.2f} s, {fps:.1f} fps, size {c.first_video_size}")
asyncio.run(main())
"""


def run(*cmd, timeout=60, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, **kw)


def inside(*cmd, timeout=60):
    """Runs CMD in the container (all its namespaces)."""
    return run("nsenter", "--target", S["init"], "--all", *cmd, timeout=timeout)


def show(*props):
    r = inside("systemctl", "show", *[f"--property={p}" for p in props], "rtcbotd")
    return dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)


def journal():
    return inside("journalctl", "-u", "rtcbotd", "--no-pager", "-o", "cat").stdout


async def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def container_init(nspawn_pid):
    children = Path(f"/proc/{nspawn_pid}/task/{nspawn_pid}/children")
    pids = children.read_text().split() if children.exists() else []
    return int(pids[0]) if pids else None


async def test_boot():
    if os.geteuid() != 0:
        raise Skip("needs root (systemd-nspawn)")
    if not shutil.which("systemd-nspawn"):
        raise Skip("systemd-nspawn is not installed (Debian package systemd-container)")
    opts = {o["name"]: o["value"] for o in json.loads(
        run("meson", "introspect", BUILD, "--buildoptions").stdout)}
    prefix = opts["prefix"]
    if prefix in ("/", "/usr") or not Path(prefix).is_dir() or opts["systemdunitdir"]:
        raise Skip(f"prefix {prefix}: this test binds the install over an existing, "
                   "otherwise empty prefix such as /usr/local")
    r = run("meson", "install", "-C", BUILD, "--destdir", DESTDIR, "--no-rebuild", "--quiet")
    check(r.returncode == 0, f"meson install: {r.stdout}\n{r.stderr}")
    staged_prefix = DESTDIR / prefix.lstrip("/")
    binary = staged_prefix / opts["bindir"] / "rtcbotd"
    S.update(prefix=prefix, conf=staged_prefix / opts["sysconfdir"] / "rtcbotd/rtcbotd.conf")
    S["conf_text"] = S["conf"].read_text()

    args = ["systemd-nspawn", "--quiet", "--keep-unit", "--register=no", f"--machine={MACHINE}",
            "--directory=/", "--volatile=yes", "--private-network",
            f"--bind={staged_prefix}:{prefix}"]
    S["notify"] = b"sd_notify" in binary.read_bytes()
    if not S["notify"]:
        dropin = Path(TMP.name) / "dropin"
        dropin.mkdir()
        (dropin / "no-notify.conf").write_text("[Service]\nType=exec\nWatchdogSec=0\n")
        args.append(f"--bind-ro={dropin}:/etc/systemd/system/rtcbotd.service.d")
        note("this rtcbotd does not call sd_notify: running the unit with Type=exec, "
             "WatchdogSec=0 (drop-in); everything else as installed")
    args += ["--boot", "systemd.firstboot=off"]
    S["log"] = open(Path(TMP.name) / "nspawn.log", "w+")
    S["nspawn"] = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=S["log"],
                                   stderr=subprocess.STDOUT, start_new_session=True)

    def booted():
        if S["nspawn"].poll() is not None:
            S["log"].seek(0)
            raise AssertionError(f"systemd-nspawn exited {S['nspawn'].returncode}:\n"
                                 + S["log"].read()[-3000:])
        S["init"] = S.get("init") or container_init(S["nspawn"].pid)
        if not S["init"]:
            return None
        state = inside("systemctl", "is-system-running").stdout.strip()
        return state if state in ("running", "degraded") else None

    t0 = time.monotonic()
    state = await wait_for("the container to boot", booted, 60)
    note(f"container booted ({state}) in {time.monotonic() - t0:.1f} s")


async def test_start_and_view():
    t0 = time.monotonic()
    r = inside("systemctl", "start", "rtcbotd", timeout=120)
    check(r.returncode == 0, f"systemctl start: {r.stderr}\n{journal()[-3000:]}")
    await wait_for("'listening on' in the journal", lambda: "listening on" in journal(), 30)
    note(f"active and listening {time.monotonic() - t0:.1f} s after systemctl start")
    viewer = Path(TMP.name) / "viewer.py"
    viewer.write_text(VIEWER)
    r = run("nsenter", "--target", S["init"], "--net", "/usr/bin/python3", viewer,
            SOURCE / "tests/common", timeout=60)
    check(r.returncode == 0, f"viewer: exit {r.returncode}\n{r.stderr[-2000:]}\n{journal()[-2000:]}")
    note(r.stdout.strip())
    m = re.search(r"([\d.]+) fps, size \((\d+), (\d+)\)", r.stdout)
    check(m and float(m.group(1)) >= 10 and m.group(2, 3) == ("640", "480"),
          f"the viewer did not get the test pattern: {r.stdout!r}")


async def test_sandbox():
    pid = show("MainPID")["MainPID"]
    status = inside("cat", f"/proc/{pid}/status").stdout
    field = dict(re.findall(r"^(\w+):\s*(.*)$", status, re.M))
    user = inside("id", "-u", "rtcbotd").stdout.strip()
    check(field["Uid"].split()[0] == user, f"uid {field['Uid']}, rtcbotd is {user}")
    groups = set(field["Groups"].split())
    for name in ("video", "audio", "input", "dialout", "render"):
        gid = inside("getent", "group", name).stdout.split(":")[2]
        check(gid in groups, f"the daemon is not in group {name} ({gid}): {groups}")
    check(int(field["CapEff"], 16) == 0 and int(field["CapBnd"], 16) == 0,
          f"capabilities: effective {field['CapEff']}, bounding {field['CapBnd']}")
    check(field["NoNewPrivs"] == "1", f"NoNewPrivs {field['NoNewPrivs']}")
    check(field["Seccomp"] == "2", f"Seccomp {field['Seccomp']} (2 is a filter)")
    root = [l for l in inside("cat", f"/proc/{pid}/mountinfo").stdout.splitlines()
            if l.split()[4] == "/"]
    check(root and " ro," in f" {root[-1].split()[5]},", f"/ is not read-only: {root}")
    maps = inside("cat", f"/proc/{pid}/maps").stdout
    orc = [l for l in maps.splitlines() if "orcexec" in l and " r-xs " in l]
    check(orc, "no read+exec ORC code mapping: did ORC fall back under MemoryDenyWriteExecute?")
    wx = [l for l in maps.splitlines() if re.search(r" [r-]wx[ps] ", l)]
    check(not wx, f"writable and executable mappings: {wx}")
    note(f"uid {user}, groups {sorted(groups)}, CapEff 0, NoNewPrivs, seccomp, / read-only; "
         f"ORC code at {orc[0].split()[-2]}")


async def test_reload():
    """systemctl reload: the same process applies a changed file; a broken one
    is refused with its error and the service stays active."""
    pid = show("MainPID")["MainPID"]
    try:
        S["conf"].write_text(S["conf_text"] + "\n[route tell]\nfrom = peers.messages\nto = log\n")
        r = inside("systemctl", "reload", "rtcbotd")
        check(r.returncode == 0, f"systemctl reload: {r.stderr}")
        await wait_for("the reload in the journal",
                       lambda: "configuration reloaded from" in journal(), 30)
        S["conf"].write_text(S["conf_text"] + "\n[route tell]\nfrom = nowhere\nto = log\n")
        r = inside("systemctl", "reload", "rtcbotd")
        check(r.returncode == 0, f"systemctl reload of a broken file: {r.stderr}")
        await wait_for("the refusal in the journal",
                       lambda: "keeping the running configuration" in journal(), 30)
    finally:
        S["conf"].write_text(S["conf_text"])
    props = show("MainPID", "ActiveState")
    check(props == {"MainPID": pid, "ActiveState": "active"}, f"after the reloads: {props}")
    note(f"pid {pid} reloaded once and refused a broken file, still active")


async def test_stop():
    t0 = time.monotonic()
    r = inside("systemctl", "stop", "rtcbotd")
    check(r.returncode == 0, f"systemctl stop: {r.stderr}")
    props = show("Result", "ExecMainStatus")
    check(props == {"Result": "success", "ExecMainStatus": "0"}, f"after stop: {props}")
    check("failsafe: the daemon is stopping" in journal(), "no failsafe in the journal at stop")
    note(f"stopped with status 0 in {time.monotonic() - t0:.1f} s, failsafes sent")


async def test_config_error_no_loop():
    S["conf"].write_text("[source camera]\ntype = test-video\nwidth = wide\n")
    try:
        inside("systemctl", "start", "rtcbotd", timeout=120)
        await wait_for("the unit to fail", lambda: show("ActiveState")["ActiveState"] == "failed",
                       30)
        await asyncio.sleep(4)  # RestartSec=2s: a restart would have happened by now
        props = show("ActiveState", "ExecMainStatus", "NRestarts")
        check(props == {"ActiveState": "failed", "ExecMainStatus": "78", "NRestarts": "0"},
              f"a configuration error: {props}")
        check('width: "wide" is not a whole number' in journal(), "the error is not in the journal")
    finally:
        S["conf"].write_text(S["conf_text"])
        inside("systemctl", "reset-failed", "rtcbotd")


async def test_crash_restarts():
    inside("systemctl", "start", "rtcbotd", timeout=120)
    await wait_for("the unit to be active", lambda: show("ActiveState")["ActiveState"] == "active", 30)
    first = show("MainPID")["MainPID"]
    inside("systemctl", "kill", "--kill-who=main", "--signal=SIGSEGV", "rtcbotd")

    def restarted():
        p = show("ActiveState", "MainPID", "NRestarts")
        return p if p["ActiveState"] == "active" and p["MainPID"] not in ("0", first) else None

    props = await wait_for("a restart after SIGSEGV", restarted, 30)
    check(props["NRestarts"] == "1", f"after one crash: {props}")
    note(f"killed with SIGSEGV, restarted (NRestarts {props['NRestarts']})")


def shutdown():
    proc = S.get("nspawn")
    if not proc or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # nspawn asks the container's systemd to power off
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


if __name__ == "__main__":
    try:
        def after_boot(fn):
            async def guarded():
                if "init" not in S:
                    raise Skip("no container")
                await fn()
            return guarded

        run_tap([
            ("a container boots from this machine's /usr with the install bound in", test_boot),
            ("systemctl start: the hardened service serves a viewer",
             after_boot(test_start_and_view)),
            ("the daemon runs unprivileged, filtered, on a read-only root; ORC still compiles",
             after_boot(test_sandbox)),
            ("systemctl reload applies a file in place; a broken one is refused",
             after_boot(test_reload)),
            ("systemctl stop: exit 0 after the failsafes", after_boot(test_stop)),
            ("a configuration error: failed, status 78, no restart loop",
             after_boot(test_config_error_no_loop)),
            ("a crash is restarted", after_boot(test_crash_restarts)),
        ], timeout=150)
    finally:
        shutdown()
