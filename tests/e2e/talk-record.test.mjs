// Talk-back, the daemon side (talk.test.mjs is the page's side): Chromium
// sends its (fake) microphone to the robot. With `peers.audio → record` the
// daemon answers the audio m-line so the browser
// may send, and ~3 s of it become a file that gst-discoverer-1.0 reports as
// Opus of about that length. Without such a route the browser's audio is not
// taken (the m-line is answered as before), and a viewer-token peer's never is.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import * as e2e from "./lib.mjs";

const run = promisify(execFile);
const DRIVER = "driver-0123456789abcdef";
const VIEWER = "viewer-fedcba9876543210";
const TALK_MS = 3000;

function config({ dir, route = true, tokens = false }) {
  return `[daemon]
listen = 127.0.0.1:0
${tokens ? `token = ${DRIVER}\nviewer-token = ${VIEWER}\n` : ""}
[source camera]
type = test-video
width = 320
height = 240

[source tone]
type = test-audio

[route media]
from = camera;tone
to = peers

[sink talk]
type = record
path = ${dir}/talk-%H%M%S.mkv
${route ? "\n[route talk]\nfrom = peers.audio\nto = talk\n" : ""}`;
}

const { test, failures } = e2e.createSuite();
let viewer;
let dir;
const daemons = [];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "rtcbotd-talk-"));
  viewer = await e2e.launchViewer("talk-record", { flags: ["--use-fake-device-for-media-stream"] });
});

after(async () => {
  await e2e.saveArtifacts("talk-record", { daemon: daemons.at(-1), viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  for (const d of daemons) {
    await d.stop();
  }
  await rm(dir, { recursive: true, force: true });
});

async function start(options) {
  const daemon = await e2e.startDaemon({ name: "talk-record", config: config({ dir, ...options }) });
  daemons.push(daemon);
  await viewer.page.goto(new URL("healthz", daemon.url).href); // same origin as /connect
  return daemon;
}

// In the page: the microphone on a sendrecv audio transceiver (as the page
// does for push-to-talk) and a recvonly video one; sends for `ms`, then closes.
// Returns the answer's audio direction.
function talk(page, { ms, token = null }) {
  return page.evaluate(
    async ({ ms, token }) => {
      const sleep = (t) => new Promise((resolve) => setTimeout(resolve, t));
      const pc = new RTCPeerConnection({ iceServers: [] });
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
      pc.addTransceiver(mic.getAudioTracks()[0], { direction: "sendrecv", streams: [mic] });
      pc.addTransceiver("video", { direction: "recvonly" });
      pc.createDataChannel("default");
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === "complete") resolve();
        pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
      });
      const headers = token ? { Authorization: `Bearer ${token}` } : {};
      const res = await fetch("/connect", {
        method: "POST",
        headers,
        body: JSON.stringify({ sdp: pc.localDescription.sdp, type: "offer" }),
      });
      if (!res.ok) throw new Error(`POST /connect: ${res.status} ${await res.text()}`);
      const answer = await res.json();
      await pc.setRemoteDescription(answer);
      const deadline = Date.now() + 20000;
      while (pc.connectionState !== "connected") {
        if (Date.now() > deadline) throw new Error(`not connected: ${pc.connectionState}`);
        await sleep(50);
      }
      await sleep(ms); // the length of the talk: what the file must hold
      let sent = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.type === "outbound-rtp" && s.kind === "audio") sent += s.packetsSent;
      });
      pc.close();
      mic.getTracks().forEach((t) => t.stop());
      const audio = answer.sdp.split("m=audio")[1] || "";
      const direction = (audio.match(/a=(sendrecv|sendonly|recvonly|inactive)/) || [])[1];
      return { direction, sent };
    },
    { ms, token }
  );
}

// The sum of @name's samples in the daemon's /metrics (0 when there are none).
async function metric(daemon, name) {
  const text = await (await fetch(new URL("metrics", daemon.url))).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

async function recordings() {
  return (await readdir(dir)).filter((f) => f.endsWith(".mkv")).map((f) => path.join(dir, f));
}

// gst-discoverer-1.0's view of @file: its duration in seconds and its streams' caps.
async function discover(file) {
  const { stdout } = await run("gst-discoverer-1.0", ["-v", file], { timeout: 20000 });
  const m = stdout.match(/Duration: (\d+):(\d+):(\d+\.\d+)/);
  const seconds = m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null;
  return { seconds, text: stdout };
}

test("peers.audio → record: the browser's microphone becomes an Opus file of the talk's length", { timeout: 120000 }, async (t) => {
  const daemon = await start({});
  const { direction, sent } = await talk(viewer.page, { ms: TALK_MS });
  assert.equal(direction, "sendrecv", "the audio m-line lets the browser send (and the tone comes back on it)");
  assert.ok(sent > 100, `the browser sent ${sent} audio packets`);
  assert.match(daemon.log(), /peer 1: receiving audio \(opus/);
  await e2e.waitFor("peer 1 gone", () => /peer 1: gone/.test(daemon.log()), { timeoutMs: 20000 });
  const found = await e2e.waitFor(
    "a finished recording",
    async () => {
      const files = await recordings();
      if (files.length !== 1) return null;
      const d = await discover(files[0]);
      return d.seconds > 0 ? d : null;
    },
    { timeoutMs: 20000, intervalMs: 500 }
  );
  t.diagnostic(`recording: ${found.seconds.toFixed(2)} s of a ${TALK_MS / 1000} s talk`);
  assert.match(found.text, /audio\/x-opus|Opus/, found.text);
  assert.ok(Math.abs(found.seconds - TALK_MS / 1000) <= 1, `the recording lasts ${found.seconds} s, the talk ${TALK_MS / 1000} s`);
  await daemon.stop();
  for (const f of await recordings()) await rm(f);
});

test("push-to-talk: a microphone put on the sender late, paused and resumed is one stream", { timeout: 120000 }, async () => {
  const daemon = await start({});
  const page = viewer.page;
  await page.evaluate(async () => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    window.talk = { pc, mic: await navigator.mediaDevices.getUserMedia({ audio: true }) };
    // As the page does: a sendrecv audio transceiver with no track yet.
    window.talk.sender = pc.addTransceiver("audio", { direction: "sendrecv" }).sender;
    pc.createDataChannel("default");
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    });
    const res = await fetch("/connect", { method: "POST", body: JSON.stringify({ sdp: pc.localDescription.sdp, type: "offer" }) });
    await pc.setRemoteDescription(await res.json());
  });
  await e2e.waitFor("connected", () => /peer 1: connected/.test(daemon.log()), { timeoutMs: 20000 });
  await new Promise((resolve) => setTimeout(resolve, 1000)); // a second of silence: nothing sent yet
  assert.doesNotMatch(daemon.log(), /receiving audio/, "no stream before the button is pressed");
  const press = () => page.evaluate(() => window.talk.sender.replaceTrack(window.talk.mic.getAudioTracks()[0]));
  const release = () => page.evaluate(() => window.talk.sender.replaceTrack(null));
  await press();
  await e2e.waitFor("the stream taken", () => /peer 1: receiving audio \(opus/.test(daemon.log()), { timeoutMs: 10000 });
  const pressed = await e2e.waitFor("frames arriving", async () => {
    const n = await metric(daemon, "rtcbotd_peer_incoming_frames_total");
    return n > 25 ? n : 0;
  });
  await release();
  await new Promise((resolve) => setTimeout(resolve, 1000)); // released: let the last packets land
  const paused = await metric(daemon, "rtcbotd_peer_incoming_frames_total");
  await new Promise((resolve) => setTimeout(resolve, 1000)); // a second held up: nothing may arrive
  assert.ok((await metric(daemon, "rtcbotd_peer_incoming_frames_total")) - paused < 5, "frames kept coming after the release");
  await press();
  await e2e.waitFor("frames again", async () => (await metric(daemon, "rtcbotd_peer_incoming_frames_total")) > paused + 25);
  assert.equal(await metric(daemon, "rtcbotd_peer_incoming_streams"), 1, "one stream across the pause");
  assert.ok(pressed > 0);
  await page.evaluate(() => window.talk.pc.close());
  await daemon.stop();
  for (const f of await recordings()) await rm(f);
});

test("without a peers.audio route the browser's audio is not taken", { timeout: 90000 }, async () => {
  const daemon = await start({ route: false });
  const { direction } = await talk(viewer.page, { ms: 1500 });
  assert.equal(direction, "sendonly", "we only send the tone on the audio m-line");
  assert.doesNotMatch(daemon.log(), /receiving audio/);
  await daemon.stop();
  assert.deepEqual(await recordings(), []);
});

test("a viewer-token peer's audio is not recorded; the driver's is", { timeout: 90000 }, async () => {
  const daemon = await start({ tokens: true });
  const watched = await talk(viewer.page, { ms: 1500, token: VIEWER });
  assert.equal(watched.direction, "sendonly", "a viewer only watches");
  assert.doesNotMatch(daemon.log(), /peer 1: receiving/);
  assert.deepEqual(await recordings(), [], "nothing of the viewer's was recorded");
  const driven = await talk(viewer.page, { ms: 1500, token: DRIVER });
  assert.equal(driven.direction, "sendrecv");
  assert.match(daemon.log(), /peer 2: receiving audio/);
  await daemon.stop();
});
