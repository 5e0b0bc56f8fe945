#!/usr/bin/python3
"""GET /metrics (Prometheus text 0.0.4) and the states in GET /healthz.

Scrapes are parsed with python3-prometheus-client's own parser.  An aiortc
client shaped like RTCBot's Python RTCConnection is the peer.  TAP output;
RTCBOTD_TEST_ONLY=substring runs a subset.
"""

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

import aiohttp  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from rtcbotd_test import (  # noqa: E402
    Daemon,
    RTCBotClient,
    TestFailure,
    check,
    make_config,
    note,
    raw_http,
    run_tap,
    wait_until,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Every family an idle daemon with the standard test config exposes, and its type.
IDLE_FAMILIES = {
    "rtcbotd_build_info": "gauge",
    "rtcbotd_healthy": "gauge",
    "rtcbotd_process_resident_memory_bytes": "gauge",
    "rtcbotd_process_virtual_memory_bytes": "gauge",
    "rtcbotd_process_cpu_seconds": "counter",
    "rtcbotd_process_open_fds": "gauge",
    "rtcbotd_process_max_fds": "gauge",
    "rtcbotd_process_threads": "gauge",
    "rtcbotd_process_start_time_seconds": "gauge",
    "rtcbotd_peers": "gauge",
    "rtcbotd_peers_connected": "gauge",
    "rtcbotd_peers_max": "gauge",
    "rtcbotd_peers_accepted": "counter",
    "rtcbotd_peers_refused": "counter",
    "rtcbotd_http_offers_pending": "gauge",
    "rtcbotd_http_offers_refused": "counter",
    "rtcbotd_http_idle_connections_closed": "counter",
    "rtcbotd_http_requests_timed_out": "counter",
    "rtcbotd_source_up": "gauge",
    "rtcbotd_source_frames": "counter",
    "rtcbotd_source_encoded_bytes": "counter",
    "rtcbotd_source_frames_dropped": "counter",
    "rtcbotd_source_viewers": "gauge",
    "rtcbotd_source_key_frames": "counter",
    "rtcbotd_source_bitrate_kbps": "gauge",
    "rtcbotd_messages_published": "counter",
    "rtcbotd_messages_ignored": "counter",
    "rtcbotd_messages_peer_dropped": "counter",
    "rtcbotd_route_messages_received": "counter",
    "rtcbotd_route_messages_delivered": "counter",
    "rtcbotd_route_messages_unmatched": "counter",
    "rtcbotd_route_failsafes": "counter",
    "rtcbotd_control_driver": "gauge",
}

# What a connected peer with video and audio adds (RTT etc. once RTCP has flowed).
PEER_FAMILIES = {
    "rtcbotd_peer_messages_dropped": "counter",
    "rtcbotd_peer_data_channels_refused": "counter",
    "rtcbotd_peer_frames_dropped": "counter",
    "rtcbotd_peer_sent_bytes": "counter",
    "rtcbotd_peer_sent_packets": "counter",
    "rtcbotd_peer_send_bitrate_bits_per_second": "gauge",
    "rtcbotd_peer_round_trip_seconds": "gauge",
    "rtcbotd_peer_fraction_lost": "gauge",
    "rtcbotd_peer_packets_lost": "gauge",
}

S = {}


def need(key):
    if key not in S:
        raise TestFailure(f"setup failed in an earlier test ({key} missing)")
    return S[key]


class Scrape:
    """One parsed /metrics reply: families by name, and sample lookup."""

    def __init__(self, text):
        self.text = text
        self.families = {}
        for family in text_string_to_metric_families(text):
            check(family.name not in self.families,
                  f"family {family.name} appears twice: its samples are not grouped")
            self.families[family.name] = family

    def value(self, name, **labels):
        """The value of sample @name whose labels include @labels; None when absent."""
        found = [s.value for f in self.families.values() for s in f.samples
                 if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
        check(len(found) <= 1, f"{name}{labels}: {len(found)} samples match")
        return found[0] if found else None

    def need(self, name, **labels):
        v = self.value(name, **labels)
        check(v is not None, f"no sample {name}{labels} in /metrics:\n{self.text}")
        return v

    def samples(self, prefix):
        return [s for f in self.families.values() for s in f.samples if s.name.startswith(prefix)]


async def scrape(d):
    async with aiohttp.ClientSession() as s:
        async with s.get(d.url + "metrics", timeout=aiohttp.ClientTimeout(total=5)) as r:
            text = await r.text()
            check(r.status == 200, f"GET /metrics: HTTP {r.status}: {text[:300]}")
            check(r.headers.get("Content-Type") == CONTENT_TYPE,
                  f"Content-Type {r.headers.get('Content-Type')!r}, expected {CONTENT_TYPE!r}")
            return Scrape(text)


def check_types(sc, expected):
    for name, typ in expected.items():
        check(name in sc.families, f"family {name} missing from /metrics:\n{sc.text}")
        check(sc.families[name].type == typ,
              f"{name} is a {sc.families[name].type}, expected a {typ}")
        check(sc.families[name].documentation, f"{name} has no HELP text")
    untyped = [n for n, f in sc.families.items() if f.type not in ("counter", "gauge")]
    check(not untyped, f"families without a TYPE (or samples outside their family): {untyped}")
    for name in sc.families:
        check(name.startswith("rtcbotd_"), f"series {name} is not named rtcbotd_*")


# --------------------------------------------------------------------------
# one daemon, one client, in order
# --------------------------------------------------------------------------

async def test_idle():
    d = Daemon(make_config(max_peers=2), name="rtcbotd")
    d.shared = True
    await d.start()
    S["d"] = d
    sc = await scrape(d)
    note(f"/metrics: {len(sc.text)} bytes, {len(sc.families)} families")
    check_types(sc, IDLE_FAMILIES)
    check(sc.need("rtcbotd_build_info", version="0.1.0") == 1, "build_info")
    check(sc.need("rtcbotd_healthy") == 1, "not healthy with test sources")
    check(sc.need("rtcbotd_peers") == 0 and sc.need("rtcbotd_peers_connected") == 0, "peers")
    check(sc.need("rtcbotd_peers_max") == 2, "peers_max")
    check(sc.need("rtcbotd_peers_accepted_total") == 0, "accepted")
    for reason in ("busy", "bad-offer", "failed"):
        check(sc.need("rtcbotd_peers_refused_total", reason=reason) == 0, f"refused {reason}")
    check(not sc.samples("rtcbotd_peer_"), "per-peer series without a peer")
    rss = sc.need("rtcbotd_process_resident_memory_bytes")
    check(4e6 < rss < 2e9, f"resident memory {rss}")
    check(sc.need("rtcbotd_process_cpu_seconds_total") > 0, "cpu seconds")
    check(sc.need("rtcbotd_process_open_fds") >= 3, "open fds")
    start = sc.need("rtcbotd_process_start_time_seconds")
    check(time.time() - 120 < start <= time.time() + 1, f"start time {start} vs now {time.time()}")
    for source, codec, encoder in (("camera", "H264", "x264enc"), ("tone", "opus", "opusenc")):
        labels = dict(source=source, codec=codec, encoder=encoder)
        check(sc.need("rtcbotd_source_viewers", **labels) == 0, f"{source} viewers")
        check(sc.need("rtcbotd_source_up", source=source) == 1, f"{source} not up")
    health = await d.healthz()
    check(health["status"] == "ok", f"status {health['status']}")
    for source in ("camera", "tone"):
        check(health["source-states"][source]["state"] == "up", f"{source}: {health}")
        check(isinstance(health["sources"][source], str), "sources is no longer name -> text")


async def test_encoders_count_without_peers():
    """The preferred encoders run from the start: frames and bytes rise between scrapes."""
    d = need("d")
    a = await scrape(d)
    await asyncio.sleep(1.0)  # a measurement window, not synchronisation
    b = await scrape(d)
    for source, codec, encoder in (("camera", "H264", "x264enc"), ("tone", "opus", "opusenc")):
        labels = dict(source=source, codec=codec, encoder=encoder)
        f0, f1 = a.need("rtcbotd_source_frames_total", **labels), \
            b.need("rtcbotd_source_frames_total", **labels)
        y0, y1 = a.need("rtcbotd_source_encoded_bytes_total", **labels), \
            b.need("rtcbotd_source_encoded_bytes_total", **labels)
        note(f"{source}: {f1 - f0:.0f} frames, {y1 - y0:.0f} bytes in ~1 s")
        check(f1 > f0 and y1 > y0, f"{source}: frames {f0} -> {f1}, bytes {y0} -> {y1}")


async def test_connected_peer():
    d = need("d")
    c = RTCBotClient(d.url, name="client")
    S["c"] = c
    await c.connect()
    await c.wait_open()
    await c.wait_first_video()
    a = await scrape(d)
    check_types(a, {k: v for k, v in IDLE_FAMILIES.items()})
    check(a.need("rtcbotd_peers_connected") == 1, "peers_connected")
    check(a.need("rtcbotd_peers") == 1, "peers")
    check(a.need("rtcbotd_peers_accepted_total") == 1, "accepted")
    check(a.need("rtcbotd_source_viewers", source="camera", codec="H264") == 1, "camera viewers")
    check(a.need("rtcbotd_source_viewers", source="tone", codec="opus") == 1, "tone viewers")
    for reason in ("send", "in-flight", "too-large", "rate"):
        check(a.need("rtcbotd_peer_messages_dropped_total", peer="1", reason=reason) == 0,
              f"peer messages dropped ({reason})")
    check(a.need("rtcbotd_peer_frames_dropped_total", peer="1", source="camera", kind="video")
          is not None, "peer frames dropped")
    await asyncio.sleep(1.0)  # a measurement window
    b = await scrape(d)
    for source, codec in (("camera", "H264"), ("tone", "opus")):
        f0 = a.need("rtcbotd_source_frames_total", source=source, codec=codec)
        f1 = b.need("rtcbotd_source_frames_total", source=source, codec=codec)
        check(f1 > f0, f"{source} frames did not rise with a viewer: {f0} -> {f1}")


async def test_peer_rtt():
    """webrtcbin's statistics (polled every 2 s) give RTT, loss and bytes once
    the client's RTCP receiver reports arrive."""
    d = need("d")
    last = None

    async def have_rtt():
        nonlocal last
        last = await scrape(d)
        return all(last.value("rtcbotd_peer_round_trip_seconds", peer="1", source=s) is not None
                   for s in ("camera", "tone"))
    t0 = time.monotonic()
    try:
        await wait_until(have_rtt, 20, interval=0.5)
    except asyncio.TimeoutError:
        raise TestFailure(f"no RTT for both tracks within 20 s:\n{last.text}") from None
    note(f"RTT for both tracks {time.monotonic() - t0:.1f} s after the first frame")
    rtt = last.need("rtcbotd_peer_round_trip_seconds", peer="1", source="camera", kind="video")
    check(0 <= rtt < 0.5, f"RTT on loopback {rtt} s")
    check(last.need("rtcbotd_peer_fraction_lost", peer="1", source="camera") == 0, "loss")
    check(last.need("rtcbotd_peer_packets_lost", peer="1", source="camera") == 0, "lost")

    async def have_rate():
        nonlocal last
        last = await scrape(d)
        return last.value("rtcbotd_peer_send_bitrate_bits_per_second", peer="1",
                          source="camera") is not None
    await wait_until(have_rate, 10, interval=0.5)
    check_types(last, PEER_FAMILIES)
    b0 = last.need("rtcbotd_peer_sent_bytes_total", peer="1", source="camera", kind="video")
    rate = last.need("rtcbotd_peer_send_bitrate_bits_per_second", peer="1", source="camera")
    audio = last.need("rtcbotd_peer_send_bitrate_bits_per_second", peer="1", source="tone")
    note(f"sent: video {rate / 1000:.0f} kbit/s, audio {audio / 1000:.0f} kbit/s")
    # The test camera is set to 1500 kbit/s, Opus to its default: apart, and in range.
    check(200e3 < rate < 5e6, f"video bitrate {rate}")
    check(8e3 < audio < 200e3, f"audio bitrate {audio}")

    async def bytes_rose():
        return (await scrape(d)).need("rtcbotd_peer_sent_bytes_total", peer="1",
                                      source="camera") > b0
    await wait_until(bytes_rose, 10, interval=0.5)


async def test_messages():
    d, c = need("d"), need("c")
    a = await scrape(d)
    for i in range(20):
        c.send({"n": i})
    got = [(await c.recv())[1] for _ in range(20)]
    check(got == [{"n": i} for i in range(20)], f"echo: {got}")
    b = await scrape(d)
    published = b.need("rtcbotd_messages_published_total") - a.need("rtcbotd_messages_published_total")
    received = (b.need("rtcbotd_route_messages_received_total", route="echo")
                - a.need("rtcbotd_route_messages_received_total", route="echo"))
    delivered = (b.need("rtcbotd_route_messages_delivered_total", route="echo")
                 - a.need("rtcbotd_route_messages_delivered_total", route="echo"))
    check(published == 20 and received == 20 and delivered == 20,
          f"after 20 messages: published +{published}, echo in +{received}, out +{delivered}")
    h = await d.healthz()
    check(h["messages"] == b.need("rtcbotd_messages_published_total"),
          f"/healthz messages {h['messages']} != /metrics")


async def test_peer_leaves():
    d, c = need("d"), need("c")
    await c.close()
    await d.wait_peers(0)
    sc = await scrape(d)
    check(sc.need("rtcbotd_peers") == 0 and sc.need("rtcbotd_peers_connected") == 0, "peers")
    left = [f"{s.name}{s.labels}" for s in sc.samples("rtcbotd_peer_")]
    check(not left, f"per-peer series after the peer left: {left}")
    check(sc.need("rtcbotd_source_viewers", source="camera", codec="H264") == 0, "viewers")
    check(sc.need("rtcbotd_peers_accepted_total") == 1, "accepted is a counter")


async def test_refused():
    d = need("d")
    r = await raw_http(d.host, d.port, "POST", "/connect", body=b"not json")
    check(r.status == 400, f"bad offer: {r}")
    sc = await scrape(d)
    check(sc.need("rtcbotd_peers_refused_total", reason="bad-offer") == 1, "bad-offer count")
    check(sc.need("rtcbotd_peers_refused_total", reason="busy") == 0, "busy count")


async def test_methods():
    d = need("d")
    async with aiohttp.ClientSession() as s:
        async with s.head(d.url + "metrics") as r:
            check(r.status == 200 and r.headers.get("Content-Type") == CONTENT_TYPE
                  and await r.read() == b"", f"HEAD: {r.status} {r.headers}")
    r = await raw_http(d.host, d.port, "POST", "/metrics", body=b"x")
    check(r.status == 405 and r.headers.get("allow") == "GET, HEAD", f"POST: {r}")
    await d.stop()


# --------------------------------------------------------------------------
# a sink that is down
# --------------------------------------------------------------------------

async def test_degraded():
    """A serial sink without its device: /healthz says degraded (still 200),
    the endpoint's counters in /metrics are the ones /healthz shows."""
    with tempfile.TemporaryDirectory() as tmp:
        missing = f"{tmp}/ttyACM9"
        cfg = make_config() + f"""
[sink arduino]
type = serial
device = {missing}
write-format = <hh
write-keys = forward;leftright

[route drive]
from = peers.messages
to = arduino
failsafe = 300ms {{"forward":0,"leftright":0}}
"""
        async with Daemon(cfg, name="degraded") as d:
            h = await d.healthz()  # get_json checks HTTP 200
            check(h["status"] == "degraded", f"status {h['status']!r} with a missing device")
            ep = h["endpoints"]["arduino"]
            check(ep["state"] == "down" and missing in ep["reason"], f"endpoint {ep}")
            check(all(s["state"] == "up" for s in h["source-states"].values()), f"{h}")
            async with RTCBotClient(d.url, video=False, audio=False) as c:
                await c.connect()
                await c.wait_open()
                c.send({"forward": 1, "leftright": 2})       # dropped: no device
                c.send({"forward": 99999, "leftright": 0})   # refused: out of range for h

                async def failsafe_sent():
                    sc = await scrape(d)
                    return sc.need("rtcbotd_route_failsafes_total", route="drive") >= 1
                await wait_until(failsafe_sent, 5, interval=0.2)
            sc = await scrape(d)
            h = await d.healthz()
            ep = h["endpoints"]["arduino"]
            labels = dict(endpoint="arduino", type="serial")
            check(sc.need("rtcbotd_healthy") == 0, "healthy with a sink down")
            check(sc.need("rtcbotd_endpoint_up", **labels) == 0, "endpoint_up")
            check(sc.need("rtcbotd_serial_ready", endpoint="arduino") == 0, "serial ready")
            check(sc.need("rtcbotd_serial_opens_total", endpoint="arduino") == 0, "opens")
            for key in ("received", "sent", "dropped", "errors"):
                v = sc.need(f"rtcbotd_endpoint_messages_{key}_total", **labels)
                check(v == ep[key], f"{key}: /metrics {v}, /healthz {ep[key]}")
            check(ep["dropped"] >= 2 and ep["errors"] == 1, f"endpoint counters {ep}")
            for key in ("bytes-discarded", "frames-dropped"):
                name = {"bytes-discarded": "rtcbotd_serial_discarded_bytes_total",
                        "frames-dropped": "rtcbotd_serial_frames_dropped_total"}[key]
                check(sc.need(name, endpoint="arduino") == ep[key], f"{key}")
            route = h["routes"]["drive"]
            check(sc.need("rtcbotd_route_messages_received_total", route="drive") == route["in"]
                  and sc.need("rtcbotd_route_messages_delivered_total", route="drive")
                  == route["out"]
                  and sc.need("rtcbotd_route_failsafes_total", route="drive")
                  == route["failsafes"], f"route drive: {route} vs /metrics")


run_tap([
    ("idle: every family with its type; no peer series; process and build info; sources up",
     test_idle),
    ("frames and bytes encoded rise between two scrapes without a peer",
     test_encoders_count_without_peers),
    ("aiortc client: peers 1, viewers 1, frames rising", test_connected_peer),
    ("per-peer RTT, loss, bytes and bitrate from webrtcbin's stats", test_peer_rtt),
    ("20 data-channel messages: published, route in and out +20", test_messages),
    ("the client leaves: peer series gone, peers 0", test_peer_leaves),
    ("a bad offer counts as refused (bad-offer)", test_refused),
    ("HEAD /metrics 200, POST 405", test_methods),
    ("serial sink without device: /healthz degraded (200), endpoint and route series",
     test_degraded),
], timeout=60)
