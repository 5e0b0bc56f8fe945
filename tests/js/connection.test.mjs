// RTCConnection's message encoding and queueing (RTCBot's behaviour), and
// connect(): the POST handshake, JSON-decoded messages, several video
// tracks, the token, reconnection with backoff. Fake peer connection and
// fetch: fakes.mjs.

import { test } from "node:test";
import assert from "node:assert/strict";
import { install, until, FakePeerConnection } from "./fakes.mjs";

install();
const rtcbot = await import("../../web/rtcbot.mjs");

test("put_nowait: strings raw, everything else JSON, queued in order until 'default' opens", async () => {
  const conn = new rtcbot.RTCConnection();
  const send = conn.put_nowait; // bound, as kb.subscribe(conn.put_nowait) needs
  send("plain text");
  send({ a: 1, b: [true, null] });
  const offer = await conn.getLocalDescription();
  assert.deepEqual(Object.keys(offer).sort(), ["sdp", "type"]);
  const pc = FakePeerConnection.instances.at(-1);
  assert.equal(pc.channels.length, 1);
  const chan = pc.channels[0];
  assert.equal(chan.label, "default");
  assert.equal(chan.ordered, true);
  send(42);
  assert.deepEqual(chan.sent, [], "nothing sent before open");
  chan.open();
  send("after open");
  assert.deepEqual(chan.sent, ["plain text", '{"a":1,"b":[true,null]}', "42", "after open"]);
});

test("subscribe on RTCConnection gets messages raw (no JSON decoding, as RTCBot)", async () => {
  const conn = new rtcbot.RTCConnection(false);
  const got = [];
  conn.subscribe((m) => got.push(m));
  await conn.getLocalDescription();
  const chan = FakePeerConnection.instances.at(-1).channels[0];
  assert.equal(chan.ordered, false);
  chan.receive('{"x":1}');
  assert.deepEqual(got, ['{"x":1}']);
});

test("decodeMessage: JSON decoded, other strings and binary as they came", () => {
  assert.deepEqual(rtcbot.decodeMessage('{"rtcbotd":"role","role":"driver"}'), { rtcbotd: "role", role: "driver" });
  assert.equal(rtcbot.decodeMessage("42"), 42);
  assert.equal(rtcbot.decodeMessage("Button Clicked!"), "Button Clicked!");
  const buf = new ArrayBuffer(2);
  assert.equal(rtcbot.decodeMessage(buf), buf);
});

/** A fetch answering each POST with the next of `replies` (an Error is thrown). */
function fakeFetch(replies) {
  const calls = [];
  const fn = async (url, init) => {
    if (init.method !== "POST") {
      fn.gets.push(url); // GET /api/robot: an RTCBot server has none
      return { ok: false, status: 404, headers: new Map(), json: async () => ({}) };
    }
    calls.push({ url, init, offer: JSON.parse(init.body) });
    const r = replies.length > 1 ? replies.shift() : replies[0];
    if (r instanceof Error) throw r;
    return {
      ok: r.status === 200,
      status: r.status,
      headers: new Map(Object.entries(r.headers || {})),
      json: async () => r.body,
    };
  };
  fn.calls = calls;
  fn.gets = [];
  return fn;
}
const ANSWER = { status: 200, body: { type: "answer", sdp: "v=0 fake" } };

test("connect(): one POST with the offer, the answer set, JSON-decoded messages, queued sends", async () => {
  const fetch = fakeFetch([ANSWER]);
  const states = [];
  const conn = await rtcbot.connect("/connect", { fetch, token: "s3cret&x", onState: (s) => states.push(s) });
  assert.equal(fetch.calls.length, 1);
  assert.equal(fetch.calls[0].url, "/connect?token=s3cret%26x");
  assert.equal(fetch.calls[0].init.method, "POST");
  assert.equal(fetch.calls[0].offer.type, "offer");
  assert.equal(fetch.calls[0].offer.sdp, "m=video recvonly\r\nm=application");
  const pc = conn.rtc.pc;
  assert.deepEqual(pc.remoteDescription, ANSWER.body);
  assert.deepEqual(pc.config.iceServers, []);

  const got = [];
  conn.subscribe((m) => got.push(m));
  conn.put_nowait({ hello: "robot" });
  const chan = pc.channels[0];
  chan.open();
  chan.receive('{"rtcbotd":"role","role":"viewer"}');
  chan.receive("plain");
  assert.deepEqual(got, [{ rtcbotd: "role", role: "viewer" }, "plain"]);
  assert.deepEqual(chan.sent, ['{"hello":"robot"}']);
  pc.setState("connected");
  assert.deepEqual(states, ["connecting", "connected"]);
  await conn.close();
  assert.equal(conn.state, "closed");
});

test("connect(): audio and three video m-lines, every track exposed", async () => {
  const fetch = fakeFetch([ANSWER]);
  const conn = await rtcbot.connect("/connect?x=1", { fetch, audio: true, videoTracks: 3, token: "t" });
  assert.equal(fetch.calls[0].url, "/connect?x=1&token=t");
  assert.equal(
    fetch.calls[0].offer.sdp,
    "m=audio recvonly\r\nm=video recvonly\r\nm=video recvonly\r\nm=video recvonly\r\nm=application"
  );
  const pc = conn.rtc.pc;
  for (const id of ["cam0", "cam1"]) {
    pc.emit("track", { track: { kind: "video", id }, streams: [{ id: "s-" + id }] });
  }
  pc.emit("track", { track: { kind: "audio", id: "mic" }, streams: [] }); // no msid
  pc.emit("track", { track: { kind: "video", id: "cam2" }, streams: [{ id: "s-cam2" }] });
  // One stream per track, whatever stream the track came in.
  assert.deepEqual(conn.videoStreams.map((s) => s.tracks.map((t) => t.id)), [["cam0"], ["cam1"], ["cam2"]]);
  assert.equal(conn.audioStreams.length, 1);
  assert.equal(conn.audioStreams[0].tracks[0].id, "mic");
  // A callback added after connect() resolved still hears of every track.
  const seen = [];
  conn.onTrack((stream, track, i) => seen.push(`${track.kind}${i}:${track.id}`));
  assert.deepEqual(seen, ["video0:cam0", "video1:cam1", "video2:cam2", "audio0:mic"]);
  await conn.close();
});

test("connect(): a refused POST rejects with the daemon's error; 401 is not retried", async () => {
  await assert.rejects(
    rtcbot.connect("/connect", { fetch: fakeFetch([{ status: 400, body: { error: "[sdp] no video" } }]) }),
    /POST \/connect: \[sdp\] no video/
  );
  const fetch = fakeFetch([{ status: 401, body: { error: "token required" } }]);
  const states = [];
  await assert.rejects(rtcbot.connect("/connect", { fetch, reconnect: true, onState: (s) => states.push(s) }), (err) => err.status === 401);
  assert.equal(fetch.calls.length, 1);
  assert.deepEqual(states, ["connecting", "failed"]);
});

test("connect({reconnect}): retries with backoff until answered, and again when the link fails", async (t) => {
  const fetch = fakeFetch([new TypeError("Failed to fetch"), { status: 503, body: { error: "busy" } }, ANSWER]);
  const log = [];
  const conn = await rtcbot.connect("/connect", {
    fetch,
    reconnect: true,
    backoff: { initialMs: 4, maxMs: 8, jitter: 0 },
    onState: (s, d) => log.push(s === "retrying" ? `retrying ${d.delayMs}` : s),
  });
  assert.equal(fetch.calls.length, 3);
  assert.deepEqual(log, ["connecting", "retrying 4", "connecting", "retrying 8", "connecting"]);
  t.after(() => conn.close());
  const first = conn.rtc.pc;
  first.setState("connected");
  conn.put_nowait("kept for the next connection");
  first.setState("failed");
  await until(() => fetch.calls.length === 4, 2000, "the reconnection's POST");
  await until(() => conn.rtc && conn.rtc.pc !== first, 2000, "a new peer connection");
  // After "connected" the backoff starts again from its first step.
  assert.deepEqual(log.slice(5), ["connected", "retrying 4", "connecting"]);
  const chan = conn.rtc.pc.channels[0];
  chan.open();
  assert.deepEqual(chan.sent, ["kept for the next connection"]);
  await conn.close();
});

test("stats(): figures from the deltas of successive getStats() reports", async () => {
  const conn = await rtcbot.connect("/connect", { fetch: fakeFetch([ANSWER]) });
  const pc = conn.rtc.pc;
  const report = (ts, frames, bytes) =>
    new Map([["v", { id: "v", type: "inbound-rtp", kind: "video", timestamp: ts, framesDecoded: frames, bytesReceived: bytes, framesPerSecond: 29 }]]);
  pc.statsReports.push(report(1000, 10, 1000), report(3000, 70, 251000));
  const first = await conn.stats();
  assert.equal(first.fps, 29); // no earlier report: the browser's own figure
  assert.equal(first.bitrateKbps, null);
  const second = await conn.stats();
  assert.equal(second.fps, 30);
  assert.equal(second.bitrateKbps, 1000);
  await conn.close();
});

test("connect(): the robot's ICE servers and policy from GET /api/robot, unless given", async () => {
  const servers = [{ urls: "turn:10.0.0.1:3478", username: "r", credential: "s" }];
  const fetch = async (url, init) => {
    if (init.method === "GET") {
      assert.equal(url, "/api/robot?token=t");
      return { ok: true, status: 200, json: async () => ({ iceServers: servers, iceTransportPolicy: "relay" }) };
    }
    return { ok: true, status: 200, headers: new Map(), json: async () => ANSWER.body };
  };
  const conn = await rtcbot.connect("/connect", { fetch, token: "t" });
  assert.deepEqual(FakePeerConnection.instances.at(-1).config, { iceServers: servers, iceTransportPolicy: "relay" });
  await conn.close();
  const mine = [{ urls: "stun:10.0.0.9:3478" }];
  const own = await rtcbot.connect("/connect", { fetch, iceServers: mine });
  assert.deepEqual(FakePeerConnection.instances.at(-1).config, { iceServers: mine });
  await own.close();
});
