#!/usr/bin/python3
"""Media sinks: record files of the test camera and tone, gst and speaker sinks.

A record sink muxes the sources' encoded streams without a second encode;
files must be playable (gst-discoverer-1.0 reports H.264 video, Opus audio
and a duration matching how long the daemon recorded) after SIGTERM and
after a SIGHUP that changes the path. max-duration rotates files named from
the strftime pattern. Failures (a path that cannot be written, a speaker on
a missing ALSA card) are clear errors: the sink is down in /healthz, the
daemon stays up and a peer still gets video. A gst sink gets decoded frames
(written as JPEG files here). TAP output.
"""

import asyncio
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from rtcbotd_test import (  # noqa: E402
    Daemon, RTCBotClient, check, note, rtcbotd_path, run_tap, wait_until)

SOURCES = """\
[source camera]
type = test-video
width = 320
height = 240
framerate = 30
keyframe-interval = 15
{camera_extra}
[source tone]
type = test-audio

[route media]
from = camera;tone
to = peers
"""

RECORD_S = 4.0


def config(sinks, routes, camera_extra=""):
    return SOURCES.format(camera_extra=camera_extra) + sinks + routes


def discover(path):
    """gst-discoverer-1.0's view of @path: (duration in s or None, codecs, text)."""
    out = subprocess.run(["gst-discoverer-1.0", str(path)], capture_output=True,
                         text=True, timeout=30)
    text = out.stdout + out.stderr
    m = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None
    codecs = set(re.findall(r"(?:video|audio) #\d+: ([^\n(]+)", text))
    return duration, {c.strip() for c in codecs}, text


def check_playable(path, seconds=None, audio=True, video="H.264", slack=1.0):
    duration, codecs, text = discover(path)
    note(f"{Path(path).name}: {duration} s, {sorted(codecs)}")
    check(duration is not None and "error" not in text.lower(),
          f"{path} is not playable:\n{text[-1500:]}")
    check(any(c.startswith(video) for c in codecs), f"{path}: no {video} video: {codecs}")
    if audio:
        check("Opus" in codecs, f"{path}: no Opus audio: {codecs}")
    if seconds is not None:
        check(abs(duration - seconds) <= slack,
              f"{path}: lasts {duration:.2f} s, recorded for {seconds:.2f} s")
    return duration


async def sink_state(d, name):
    return (await d.healthz())["sinks"][name]


async def record_for(d, name, seconds):
    """Waits for the sink's first file, records @seconds more, stops the daemon
    with SIGTERM; returns how long the file was being written."""
    await d.wait_output(f"[sink {name}]: writing ", timeout=10)
    t0 = time.monotonic()
    await asyncio.sleep(seconds)  # the recording's length: what the file must last
    t1 = time.monotonic()
    await d.stop()
    return t1 - t0


async def test_mkv_camera_and_tone():
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(f"[sink rec]\ntype = record\npath = {tmp}/robot-%Y%m%d-%H%M%S.mkv\n\n",
                     "[route rec]\nfrom = camera;tone\nto = rec\n")
        d = Daemon(cfg, name="rtcbotd-record-mkv")
        await d.start()
        state = await sink_state(d, "rec")
        seconds = await record_for(d, "rec", RECORD_S)
        files = sorted(Path(tmp).glob("robot-*.mkv"))
        check(len(files) == 1, f"one file expected: {files}")
        check(re.fullmatch(r"robot-\d{8}-\d{6}\.mkv", files[0].name), files[0].name)
        check_playable(files[0], seconds)
        check(state["type"] == "record" and state["state"] in ("up", "starting"), state)


async def test_mp4_camera():
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(f"[sink rec]\ntype = record\npath = {tmp}/cam-%H%M%S.mp4\n\n",
                     "[route rec]\nfrom = camera\nto = rec\n")
        d = Daemon(cfg, name="rtcbotd-record-mp4")
        await d.start()
        await d.wait_output("[sink rec]: writing ", timeout=10)
        state = await sink_state(d, "rec")
        check(state["state"] == "up" and state["file"].startswith(tmp + "/cam-"), state)
        seconds = await record_for(d, "rec", RECORD_S - 0.5) + 0.5
        files = sorted(Path(tmp).glob("cam-*.mp4"))
        check(len(files) == 1, f"one file expected: {files}")
        check_playable(files[0], seconds, audio=False)


async def test_vp8_and_tone_into_mkv():
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(f"[sink rec]\ntype = record\npath = {tmp}/vp8.mkv\n\n",
                     "[route rec]\nfrom = camera;tone\nto = rec\n", camera_extra="encoder = vp8\n")
        d = Daemon(cfg, name="rtcbotd-record-vp8")
        await d.start()
        seconds = await record_for(d, "rec", RECORD_S)
        check_playable(Path(tmp) / "vp8.mkv", seconds, video="VP8")


async def test_rotation():
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(f"[sink rec]\ntype = record\npath = {tmp}/part-%H%M%S.mkv\n"
                     "max-duration = 1s\n\n",
                     "[route rec]\nfrom = camera;tone\nto = rec\n")
        d = Daemon(cfg, name="rtcbotd-record-rotate")
        await d.start()
        await record_for(d, "rec", 4.5)
        files = sorted(Path(tmp).glob("*.mkv"))
        note("files: " + " ".join(f.name for f in files))
        check(len(files) >= 3, f"max-duration = 1s over 4.5 s: {len(files)} file(s)")
        for f in files:
            check(re.fullmatch(r"part-\d{6}(-\d+)?\.mkv", f.name), f"unexpected name {f.name}")
        total = 0
        for f in files[:-1]:
            duration = check_playable(f)
            check(duration <= 2.0, f"{f.name} lasts {duration} s with max-duration = 1s")
            total += duration
        check_playable(files[-1])


async def test_unwritable_path():
    cfg = config("[sink rec]\ntype = record\npath = /nonexistent-rtcbotd/rec-%H%M%S.mkv\n\n",
                 "[route rec]\nfrom = camera;tone\nto = rec\n")
    async with Daemon(cfg, name="rtcbotd-record-unwritable") as d:
        await d.wait_output("[sink rec]: down: ", timeout=10)
        line = next(l for l in d.output().splitlines() if "[sink rec]: down: " in l)
        note(line)
        check("/nonexistent-rtcbotd" in line and "No such file or directory" in line, line)
        health = await d.healthz()
        state = health["sinks"]["rec"]
        check(state["state"] == "down" and "/nonexistent-rtcbotd" in state["reason"], state)
        check(health["status"] == "degraded", health["status"])
        async with RTCBotClient(d.url, name="unwritable-viewer") as c:
            await c.connect()
            await c.wait_first_video()
            await c.wait_first_audio()
        check(d.output().count("[sink rec]: down: ") == 1, "the failure is logged once")


async def test_gst_sink_jpeg():
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = f"videoscale ! video/x-raw,width=160,height=120 ! jpegenc ! " \
                   f"multifilesink location={tmp}/frame-%05d.jpg max-files=20"
        cfg = config(f"[sink frames]\ntype = gst\npipeline = {pipeline}\n\n",
                     "[route frames]\nfrom = camera\nto = frames\n")
        async with Daemon(cfg, name="rtcbotd-gst-sink") as d:
            await wait_until(lambda: len(list(Path(tmp).glob("frame-*.jpg"))) >= 10, 15)
            state = await sink_state(d, "frames")
            check(state["state"] == "up", state)
        frames = sorted(Path(tmp).glob("frame-*.jpg"))
        data = frames[-1].read_bytes()
        check(data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9", "not a JPEG")
        note(f"{len(frames)} JPEG frames, the last {len(data)} bytes")


async def test_gst_sink_bad_pipeline():
    cfg = config("[sink frames]\ntype = gst\npipeline = videoconvert ! nosuchelement\n\n",
                 "[route frames]\nfrom = camera\nto = frames\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bad.conf"
        path.write_text(cfg)
        out = subprocess.run([rtcbotd_path(), "--config", str(path), "--listen", "127.0.0.1:0"],
                             capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    note(text.strip().splitlines()[-1] if text.strip() else "(no output)")
    check(out.returncode == 78, f"exit code {out.returncode}, expected 78:\n{text}")
    check(re.search(r"bad\.conf:\d+: \[sink frames\] pipeline: .*nosuchelement", text), text)


async def test_speaker_missing_card():
    cfg = config("[sink voice]\ntype = speaker\noutput = alsa\ndevice = hw:9\n\n",
                 "[route voice]\nfrom = tone\nto = voice\n")
    async with Daemon(cfg, name="rtcbotd-speaker") as d:
        await d.wait_output("[sink voice]: down: ", timeout=10)
        line = next(l for l in d.output().splitlines() if "[sink voice]: down: " in l)
        note(line)
        check("alsasink device=hw:9" in line, line)
        state = await sink_state(d, "voice")
        check(state["state"] == "down" and "hw:9" in state["reason"], state)
        async with RTCBotClient(d.url, name="speaker-viewer") as c:
            await c.connect()
            await c.wait_first_video()

        async def retried():
            text = await d.get_text("metrics")
            m = re.search(r'rtcbotd_sink_errors_total\{sink="voice"\} (\d+)', text)
            return m and int(m.group(1)) >= 3
        await wait_until(retried, 15, interval=0.2)
        check(d.output().count("[sink voice]: down: ") == 1, "the failure is logged once")


async def test_speaker_alsa_null():
    cfg = config("[sink voice]\ntype = speaker\noutput = alsa\ndevice = null\n\n",
                 "[route voice]\nfrom = tone\nto = voice\n")
    async with Daemon(cfg, name="rtcbotd-speaker-null") as d:
        await d.wait_output("[sink voice]: up (playing through alsasink device=null)", timeout=10)

        async def playing():
            state = await sink_state(d, "voice")
            return state["state"] == "up" and state["played"] >= 50
        await wait_until(playing, 10, interval=0.2)
        note(f"speaker: {await sink_state(d, 'voice')}")
        check((await d.healthz())["status"] == "ok", "healthz should be ok")


async def test_reload_changes_path():
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp) / "a", Path(tmp) / "b"
        first.mkdir()
        second.mkdir()
        sink = "[sink rec]\ntype = record\npath = {dir}/rec-%H%M%S.mkv\n\n"
        routes = "[route rec]\nfrom = camera;tone\nto = rec\n"
        d = Daemon(config(sink.format(dir=first), routes), name="rtcbotd-record-reload")
        await d.start()
        await d.wait_output("[sink rec]: writing ", timeout=10)
        t0 = time.monotonic()
        await asyncio.sleep(3)  # the first file's length
        d.reload(config(sink.format(dir=second), routes))
        await d.wait_output("[sink rec]: writing ", count=2, timeout=10)
        t1 = time.monotonic()
        old = sorted(first.glob("*.mkv"))
        check(len(old) == 1, f"the first file: {old}")
        check_playable(old[0], t1 - t0, slack=1.2)
        await asyncio.sleep(2)  # the second file's length
        await d.stop()
        new = sorted(second.glob("*.mkv"))
        check(len(new) == 1, f"the second file: {new}")
        check_playable(new[0])


async def test_reload_unchanged_keeps_file():
    with tempfile.TemporaryDirectory() as tmp:
        sinks = f"[sink rec]\ntype = record\npath = {tmp}/rec-%H%M%S.mkv\n\n"
        routes = "[route rec]\nfrom = camera;tone\nto = rec\n"
        d = Daemon(config(sinks, routes), name="rtcbotd-record-keep")
        await d.start()
        await d.wait_output("[sink rec]: writing ", timeout=10)
        t0 = time.monotonic()
        await asyncio.sleep(1.5)  # part of the file before the reload
        d.reload("[daemon]\nmax-peers = 4\n\n" + config(sinks, routes))
        await d.wait_output("configuration reloaded", timeout=10)
        await asyncio.sleep(1.5)  # part of the file after it
        t1 = time.monotonic()
        await d.stop()
        check(d.output().count("[sink rec]: writing ") == 1, "the reload started a new file")
        files = sorted(Path(tmp).glob("*.mkv"))
        check(len(files) == 1, f"one file expected: {files}")
        check_playable(files[0], t1 - t0)


async def test_recorded_not_shown():
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(f"[sink rec]\ntype = record\npath = {tmp}/hidden.mkv\n\n"
                     "[source rear]\ntype = test-video\nwidth = 160\nheight = 120\n\n",
                     "[route rec]\nfrom = rear\nto = rec\n")
        d = Daemon(cfg, name="rtcbotd-record-hidden")
        await d.start()
        async with RTCBotClient(d.url, video=2, name="hidden-viewer") as c:
            await c.connect()
            await c.wait_first_video()
            sdp = c.answer["sdp"]
        check("msid:rtcbotd rear" not in sdp and "msid:rtcbotd camera" in sdp,
              "the recorded-only source must not be offered to peers")
        await d.wait_output("[sink rec]: writing ", timeout=10)
        await asyncio.sleep(2)  # the recording's length
        await d.stop()
        check_playable(Path(tmp) / "hidden.mkv", audio=False)


if __name__ == "__main__":
    run_tap([
        ("record: camera and tone into one mkv, playable after SIGTERM", test_mkv_camera_and_tone),
        ("record: camera into mp4", test_mp4_camera),
        ("record: VP8 camera and tone into mkv", test_vp8_and_tone_into_mkv),
        ("record: max-duration rotates files named from the pattern", test_rotation),
        ("record: an unwritable path is a clear error, peers keep their media",
         test_unwritable_path),
        ("gst sink: decoded frames reach the fragment (JPEG files)", test_gst_sink_jpeg),
        ("gst sink: a fragment that does not parse names the file and line (exit 78)",
         test_gst_sink_bad_pipeline),
        ("speaker: a missing ALSA card is a clear error, retried, peers keep video",
         test_speaker_missing_card),
        ("speaker: the tone plays through ALSA's null device", test_speaker_alsa_null),
        ("record: SIGHUP changing the path finishes the old file and starts a new one",
         test_reload_changes_path),
        ("record: SIGHUP leaving the sink unchanged keeps writing the same file",
         test_reload_unchanged_keeps_file),
        ("record: a source routed only to a record sink is recorded, not offered to peers",
         test_recorded_not_shown),
    ], timeout=120)
