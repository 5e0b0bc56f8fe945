// rtcbot.mjs's connect() against the daemon in Chromium: the page imports the
// ES module /rtcbot.mjs, asks for audio and video, gets frames, JSON-decoded
// echoes and stats() figures from real getStats() reports; with videoTracks: 2
// both cameras arrive as separate streams.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";

const CONFIG = `[daemon]
listen = 127.0.0.1:0

[source front]
type = test-video
width = 320
height = 240
framerate = 30

[source back]
type = test-video
width = 320
height = 240
framerate = 30

[source tone]
type = test-audio

[route media]
from = front;back;tone
to = peers

[route echo]
from = peers.messages
to = peers
`;

const { test, failures } = e2e.createSuite();
let daemon;
let viewer;

before(async () => {
  daemon = await e2e.startDaemon({ name: "connect", config: CONFIG });
  viewer = await e2e.launchViewer("connect");
  await viewer.page.goto(new URL("healthz", daemon.url).href); // same origin as /connect
});

after(async () => {
  await e2e.saveArtifacts("connect", { daemon, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  await daemon?.stop();
});

test("connect(): video, audio, JSON-decoded echo, stats()", { timeout: 90000 }, async () => {
  const result = await viewer.page.evaluate(async () => {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const until = async (what, fn, ms = 30000) => {
      const deadline = Date.now() + ms;
      while (!(await fn())) {
        if (Date.now() > deadline) throw new Error(`timeout: ${what}`);
        await sleep(50);
      }
    };
    const rtcbot = await import("/rtcbot.mjs");
    const states = [];
    const conn = await rtcbot.connect("/connect", { audio: true, onState: (s) => states.push(s) });
    const inbox = [];
    conn.subscribe((m) => inbox.push(m));
    await until("connected", () => conn.state === "connected");
    const decoded = async () => {
      const report = await conn.rtc.pc.getStats();
      return Array.from(report.values()).filter((s) => s.type === "inbound-rtp" && s.kind === "video" && s.framesDecoded > 10).length;
    };
    await until("frames", async () => (await decoded()) === 1);
    conn.put_nowait({ ping: [1, 2] });
    await until("the echo", () => inbox.some((m) => m && typeof m === "object" && Array.isArray(m.ping)));
    await conn.stats();
    await sleep(1500);
    const stats = await conn.stats();
    const result = {
      states,
      videoStreams: conn.videoStreams.length,
      distinct: new Set(conn.videoStreams.map((s) => s.id)).size,
      audioStreams: conn.audioStreams.length,
      echo: inbox.find((m) => m && typeof m === "object" && Array.isArray(m.ping)),
      stats,
    };
    await conn.close();
    result.closedAs = conn.state;
    return result;
  });
  console.log("# stats", JSON.stringify(result.stats));
  assert.deepEqual(result.states.slice(0, 1), ["connecting"]);
  assert.ok(result.states.includes("connected"), `states ${result.states}`);
  assert.equal(result.videoStreams, 1);
  assert.equal(result.audioStreams, 1);
  assert.deepEqual(result.echo, { ping: [1, 2] });
  assert.ok(result.stats.fps > 5, `fps ${result.stats.fps}`);
  assert.ok(result.stats.bitrateKbps > 10, `bitrate ${result.stats.bitrateKbps}`);
  assert.ok(result.stats.rttMs != null && result.stats.rttMs >= 0, `rtt ${result.stats.rttMs}`);
  assert.ok(result.stats.latencyEstimateMs > 0, `latency ${result.stats.latencyEstimateMs}`);
  assert.equal(result.closedAs, "closed");
});

test("connect({videoTracks: 2}): one stream per camera", { timeout: 60000 }, async () => {
  const result = await viewer.page.evaluate(async () => {
    const rtcbot = await import("/rtcbot.mjs");
    const seen = [];
    const conn = await rtcbot.connect("/connect", { videoTracks: 2, onTrack: (s, track, i) => seen.push(`${track.kind}${i}`) });
    const sdp = conn.rtc.pc.remoteDescription.sdp;
    const result = {
      videoStreams: conn.videoStreams.length,
      distinct: new Set(conn.videoStreams.map((s) => s.getVideoTracks()[0].id)).size,
      seen,
      sendonly: sdp.split(/\r?\nm=/).filter((m) => m.startsWith("video") && /a=sendonly/.test(m)).length,
    };
    await conn.close();
    return result;
  });
  assert.equal(result.sendonly, 2, "the daemon answers both video m-lines sendonly");
  assert.equal(result.videoStreams, 2);
  assert.equal(result.distinct, 2);
  assert.deepEqual(result.seen, ["video0", "video1"]);
});
