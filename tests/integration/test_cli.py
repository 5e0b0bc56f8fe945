#!/usr/bin/python3
"""rtcbotd's command line: options, messages and exit codes.

0 ok, 64 usage, 78 configuration, 70 internal (DESIGN.md "Process and ops").
Every failure must say what was wrong on stderr. TAP output.
"""

import asyncio
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import Daemon, check, make_config, rtcbotd_path, run_tap  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "config" / "rtcbotd.conf"


def run(*args, timeout=20):
    return subprocess.run([rtcbotd_path(), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def config_file(tmp, text, name="rtcbotd.conf"):
    path = Path(tmp) / name
    path.write_text(text)
    return str(path)


def expect(result, code, stderr_part, what):
    check(result.returncode == code,
          f"{what}: exit {result.returncode}, expected {code}; stderr {result.stderr!r}")
    check(stderr_part in result.stderr,
          f"{what}: stderr {result.stderr!r} does not say {stderr_part!r}")


async def test_check_config_valid():
    r = run("--check-config", str(DEMO))
    check(r.returncode == 0, f"demo config: exit {r.returncode}: {r.stderr!r}")
    check("valid (2 sources, 0 sinks, 4 routes)" in r.stdout, f"stdout {r.stdout!r}")


async def test_check_config_invalid():
    with tempfile.TemporaryDirectory() as tmp:
        path = config_file(tmp, "[source camera]\ntype = test-video\nwidth = wide\n")
        expect(run("--check-config", path), 78,
               f'{path}:3: [source camera] width: "wide" is not a whole number',
               "bad width")
        expect(run("--check-config", str(Path(tmp) / "missing.conf")), 78, "missing.conf",
               "missing file")


async def test_usage_errors():
    expect(run("--no-such-option"), 64, "Unknown option --no-such-option", "unknown option")
    expect(run("--config", str(DEMO), "extra"), 64, 'unexpected argument "extra"', "extra arg")
    expect(run("--config", str(DEMO), "--listen", "nowhere"), 64,
           '"nowhere" is not an address', "bad --listen")


async def test_config_error_at_start():
    with tempfile.TemporaryDirectory() as tmp:
        path = config_file(tmp, "[route r]\nfrom = nothing\nto = peers\n")
        expect(run("--config", path), 78, 'no source named "nothing"', "dangling route")


async def test_port_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with tempfile.TemporaryDirectory() as tmp:
            path = config_file(tmp, make_config())
            expect(run("--config", path, "--listen", f"127.0.0.1:{port}"), 70,
                   f"cannot listen on 127.0.0.1:{port}", "port in use")


async def test_version_and_help():
    r = run("--version")
    check(r.returncode == 0 and r.stdout.startswith("rtcbotd "), f"--version: {r!r}")
    r = run("--help")
    check(r.returncode == 0 and "--check-config" in r.stdout, f"--help: {r!r}")


async def test_listen_override():
    # The demo listens on 127.0.0.1:8080 (no token); --listen must win (Daemon passes 127.0.0.1:0).
    async with Daemon(DEMO.read_text()) as d:
        check(d.port != 8080, f"--listen did not override [daemon] listen: {d.url}")
        health = await d.healthz()
        check(health["status"] == "ok", f"/healthz: {health!r}")


if __name__ == "__main__":
    run_tap([
        ("--check-config on the demo config: exit 0", test_check_config_valid),
        ("--check-config on a bad or missing file: exit 78 with FILE:LINE", test_check_config_invalid),
        ("usage errors: exit 64 with the reason", test_usage_errors),
        ("a config error found at start: exit 78", test_config_error_at_start),
        ("the listen port is taken: exit 70 naming the address", test_port_in_use),
        ("--version and --help: exit 0", test_version_and_help),
        ("--listen overrides [daemon] listen", test_listen_override),
    ], timeout=60)
