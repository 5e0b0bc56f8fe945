#!/usr/bin/python3
"""`meson install` of the test's build directory into a DESTDIR, and what it
installs: the program, the systemd unit (paths filled in, `systemd-analyze
verify` clean, exposure no worse than docs/operations.md says), the sysusers
file, the configuration (installed once, an edited one survives the next
install), examples, docs and the two man pages (groff finds nothing to warn
about). TAP output.

Needs RTCBOTD_BUILD_ROOT (tests/integration/meson.build sets it). The build
directory's prefix is whatever it was configured with (/usr/local for
./scripts/test); nothing is installed outside the temporary DESTDIR.
"""

import filecmp
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import Skip, check, note, run_tap  # noqa: E402

SOURCE = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RTCBOTD_BUILD_ROOT", SOURCE / "build"))
TMP = tempfile.TemporaryDirectory(prefix="rtcbotd-install-")
DESTDIR = Path(TMP.name) / "root"
S = {}  # the installed paths, filled by the first test


def run(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60, **kw)


def meson_install():
    r = run("meson", "install", "-C", BUILD, "--destdir", DESTDIR, "--no-rebuild", "--quiet")
    check(r.returncode == 0, f"meson install: exit {r.returncode}\n{r.stdout}\n{r.stderr}")


def build_options():
    r = run("meson", "introspect", BUILD, "--buildoptions")
    check(r.returncode == 0, f"meson introspect: {r.stderr}")
    return {o["name"]: o["value"] for o in json.loads(r.stdout)}


def under_prefix(opts, path):
    return Path(opts["prefix"]) / path  # an absolute path stays as it is


def staged(path):
    return DESTDIR / str(path).lstrip("/")


async def test_tree():
    opts = build_options()
    unitdir = opts["systemdunitdir"] or under_prefix(opts, "lib/systemd/system")
    sysusersdir = opts["sysusersdir"] or under_prefix(opts, "lib/sysusers.d")
    docdir = under_prefix(opts, opts["datadir"]) / "doc/rtcbotd"
    mandir = under_prefix(opts, opts["mandir"])
    S.update(
        bin=under_prefix(opts, opts["bindir"]) / "rtcbotd",
        conf=under_prefix(opts, opts["sysconfdir"]) / "rtcbotd/rtcbotd.conf",
        unit=Path(unitdir) / "rtcbotd.service",
        sysusers=Path(sysusersdir) / "rtcbotd.conf",
        docdir=docdir,
        man=[mandir / "man8/rtcbotd.8", mandir / "man5/rtcbotd.conf.5"],
    )
    meson_install()
    note(f"prefix {opts['prefix']}; unit {S['unit']}; config {S['conf']}")

    binary = staged(S["bin"])
    check(binary.is_file() and os.access(binary, os.X_OK), f"{binary}: missing or not executable")
    r = run(binary, "--check-config", staged(S["conf"]))
    check(r.returncode == 0, f"the installed rtcbotd rejects the installed config: {r.stderr}")

    conf = staged(S["conf"])
    check(conf.is_file(), f"{conf}: missing")
    check(filecmp.cmp(conf, SOURCE / "config/rtcbotd.conf", shallow=False),
          f"{conf} differs from config/rtcbotd.conf")
    check(stat.S_IMODE(conf.stat().st_mode) == 0o644, f"{conf}: mode {conf.stat().st_mode:o}")

    sysusers = staged(S["sysusers"]).read_text()
    check(re.search(r"^u rtcbotd ", sysusers, re.M), f"sysusers file has no 'u rtcbotd': {sysusers}")
    for group in ("video", "audio", "input", "dialout", "render"):
        check(re.search(rf"^m rtcbotd {group}$", sysusers, re.M), f"sysusers: no group {group}")

    wanted = [S["docdir"] / p.name for p in sorted((SOURCE / "docs").glob("*.md"))]
    wanted += [S["docdir"] / "examples" / p.name for p in sorted((SOURCE / "config/examples").iterdir())]
    wanted += [S["docdir"] / "rtcbotd.conf", S["docdir"] / "README.md"] + S["man"]
    missing = [str(p) for p in wanted if not staged(p).is_file()]
    check(not missing, f"not installed: {missing}")


async def test_unit_paths():
    text = staged(S["unit"]).read_text()
    left = re.findall(r"@\w+@", text)
    check(not left, f"placeholders left in the unit: {left}")
    exec_start = re.findall(r"^ExecStart=(.*)$", text, re.M)
    want = f"{S['bin']} --config {S['conf']}"
    check(exec_start == [want], f"ExecStart={exec_start}, expected [{want!r}]")
    for line in ("Type=notify", "User=rtcbotd", "DevicePolicy=closed", "ProtectSystem=strict",
                 "MemoryDenyWriteExecute=yes", "CapabilityBoundingSet=", "StateDirectory=rtcbotd"):
        check(re.search(rf"^{re.escape(line)}$", text, re.M), f"the unit has no {line!r}")


async def test_edited_config_survives():
    conf = staged(S["conf"])
    edited = conf.read_text() + "\n# edited by the admin\n[source extra]\ntype = test-audio\n"
    conf.write_text(edited)
    unit = staged(S["unit"])
    unit.write_text("stale\n")  # everything that is not the config is replaced
    meson_install()
    check(conf.read_text() == edited, "the second meson install overwrote the edited config")
    check(unit.read_text().startswith("# rtcbotd.service"), "the second install left the stale unit")
    check(filecmp.cmp(staged(S["docdir"] / "rtcbotd.conf"), SOURCE / "config/rtcbotd.conf",
                      shallow=False), "the pristine doc copy of the config is not the source's")


def verify_copy():
    """The installed unit, with ExecStart's program taken from the DESTDIR
    (systemd-analyze verify checks that it exists; the host has none)."""
    if not shutil.which("systemd-analyze"):
        raise Skip("systemd-analyze is not installed (Debian package systemd)")
    text = staged(S["unit"]).read_text()
    copy = Path(TMP.name) / "verify" / "rtcbotd.service"
    copy.parent.mkdir(exist_ok=True)
    copy.write_text(text.replace(f"ExecStart={S['bin']} ", f"ExecStart={staged(S['bin'])} "))
    return copy


def analyze_verify(unit):
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="notice", SYSTEMD_LOG_COLOR="0")
    return run("systemd-analyze", "verify", "--man=no", unit, env=env)


async def test_systemd_verify():
    unit = verify_copy()
    r = analyze_verify(unit)
    out = (r.stdout + r.stderr).strip()
    check(r.returncode == 0 and not out, f"systemd-analyze verify: exit {r.returncode}\n{out}")
    # The same check on a unit with one bad value must complain, or it proves nothing.
    broken = unit.parent / "broken" / "rtcbotd.service"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystem=sometimes"))
    r = analyze_verify(broken)
    check("sometimes" in r.stdout + r.stderr,
          f"systemd-analyze verify did not notice ProtectSystem=sometimes: {r.stderr!r}")


def documented_exposure():
    text = (SOURCE / "docs/operations.md").read_text()
    m = re.search(r"rates its overall exposure\s+\*\*(\d+\.\d)\*\*", text)
    check(m, "docs/operations.md states no exposure figure ('rates its overall exposure **N.N**')")
    return float(m.group(1))


async def test_security_exposure():
    unit = verify_copy()
    r = run("systemd-analyze", "security", "--offline=true", "--no-pager", unit)
    m = re.search(r"Overall exposure level for rtcbotd\.service: (\d+\.\d)", r.stdout)
    check(m, f"no exposure level in: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr}")
    exposure, documented = float(m.group(1)), documented_exposure()
    note(f"systemd-analyze security: exposure {exposure} (documented {documented})")
    for line in r.stdout.splitlines():
        if line.startswith("✗"):
            note(re.sub(r"\s{2,}", "  ", line))
    check(exposure <= documented,
          f"exposure {exposure} is above the {documented} docs/operations.md states")
    check(exposure <= 3.0, f"exposure {exposure} is above 3.0")


def groff_warnings(page):
    return run("groff", "-man", "-Tutf8", "-ww", "-z", page)


async def test_man_pages():
    if not shutil.which("groff"):
        raise Skip("groff is not installed (Debian package groff-base)")
    bad = Path(TMP.name) / "bad.8"
    bad.write_text('.TH BAD 8\n.SH NAME\nbad \\- bad\n.XX undefined\n\\f(QQ font\n')
    check(groff_warnings(bad).stderr, "groff -ww does not warn about an undefined macro")

    expect = {
        "rtcbotd.8": ["SYNOPSIS", "EXIT STATUS", "--check-config", "DevicePolicy=closed",
                      "MemoryDenyWriteExecute", "FILES", "/var/lib/rtcbotd", "systemd-analyze"],
        "rtcbotd.conf.5": ["[daemon]", "max-peers", "failsafe", "write-format", "EXIT CODES"],
    }
    for path in S["man"]:
        page = staged(path)
        r = groff_warnings(page)
        check(r.returncode == 0 and not r.stderr, f"{page.name}: groff -ww:\n{r.stderr}")
        env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0", LC_ALL="C.UTF-8")
        r = run("man", "-l", "-P", "cat", page, env=env) if shutil.which("man") else \
            run("groff", "-man", "-Tutf8", "-P", "-cbou", page)
        text = re.sub(r".\x08", "", r.stdout)  # overstrike bold and underline
        check(r.returncode == 0 and len(text.splitlines()) > 100,
              f"{page.name}: rendering failed or is short: exit {r.returncode} {r.stderr}")
        missing = [w for w in expect[page.name] if w not in text]
        check(not missing, f"{page.name}: the rendered page lacks {missing}")
        # GLib's own log lines, quoted in examples, have "-WARNING **:".
        prose = re.sub(r"-(WARNING|CRITICAL|ERROR|Message|INFO|DEBUG) \*\*:", "", text)
        leaked = [m for m in ("```", "**", "](", "<!--", "\\f") if m in prose]
        check(not leaked, f"{page.name}: Markdown or troff shows through: {leaked}")
        note(f"{page.name}: {len(text.splitlines())} lines at 80 columns, no groff warnings")


if __name__ == "__main__":
    run_tap([
        ("meson install --destdir: binary, unit, sysusers, config, examples, docs, man pages",
         test_tree),
        ("the unit names the installed paths and has no @placeholders@", test_unit_paths),
        ("a second install keeps the edited config and replaces the rest",
         test_edited_config_survives),
        ("systemd-analyze verify: the installed unit is clean", test_systemd_verify),
        ("systemd-analyze security: exposure no higher than docs/operations.md says",
         test_security_exposure),
        ("the man pages render without groff warnings", test_man_pages),
    ], timeout=60)
