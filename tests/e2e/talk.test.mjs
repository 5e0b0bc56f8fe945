// Push-to-talk on the built-in page. A robot with a media route from
// peers.audio says "talk": true in GET /api/robot; the page then offers its
// audio m-line sendrecv from the start and shows the hold-to-talk button.
// Held (mouse, touch, the T key, Space on the focused button), the sender's
// track is the (fake) microphone, live, and outbound-rtp audio packets rise;
// let go, the sender has no track and the packets stop. A robot without such
// a route shows no button and offers audio recvonly. What the daemon does
// with the audio it receives (recording it) is tested on the daemon side.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as e2e from "./lib.mjs";

const RECORDINGS = mkdtempSync(path.join(os.tmpdir(), "rtcbotd-talk-"));

const CONFIG = `[daemon]
listen = 127.0.0.1:0

[source camera]
type = test-video
width = 320
height = 240
framerate = 15

[source tone]
type = test-audio

[sink voice]
type = record
path = ${RECORDINGS}/voice-%Y%m%d-%H%M%S.mkv

[route media]
from = camera;tone
to = peers

[route talk]
from = peers.audio
to = voice

[route echo]
from = peers.messages
to = peers
`;

const { test, failures } = e2e.createSuite();
let daemon; // hears peers
let plain; // DEFAULT_CONFIG: no talk-back
let viewer;

before(async () => {
  daemon = await e2e.startDaemon({ name: "talk", config: CONFIG });
  plain = await e2e.startDaemon({ name: "talk-plain" });
  viewer = await e2e.launchViewer("talk-viewer", { flags: ["--use-fake-device-for-media-stream"] });
});

after(async () => {
  await e2e.saveArtifacts("talk", { daemon, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  await daemon?.stop();
  await plain?.stop();
  rmSync(RECORDINGS, { recursive: true, force: true });
});

/** The audio transceiver's state and its sender's outbound-rtp packets. */
function audioSide(page) {
  return page.evaluate(async () => {
    const pc = window.rtcbotdApp.conn.pc;
    const t = pc.getTransceivers().find((x) => x.receiver.track.kind === "audio");
    let packetsSent = 0;
    (await t.sender.getStats()).forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "audio") {
        packetsSent += s.packetsSent || 0;
      }
    });
    const track = t.sender.track;
    return {
      direction: t.direction,
      currentDirection: t.currentDirection,
      track: track ? { kind: track.kind, readyState: track.readyState, enabled: track.enabled } : null,
      packetsSent,
      talking: window.rtcbotdApp.talk.talking,
      pressed: document.getElementById("talk").getAttribute("aria-pressed"),
    };
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether the daemon's answer lets the page send audio (its talk-back side is built). */
let daemonHears = false;

test("GET /api/robot says talk-back exists only with a route from peers.audio", async () => {
  const robot = await (await fetch(new URL("api/robot", daemon.url))).json();
  assert.equal(robot.talk, true);
  const other = await (await fetch(new URL("api/robot", plain.url))).json();
  assert.equal(other.talk, false);
});

test("without talk-back: no button, audio offered recvonly", { timeout: 60000 }, async () => {
  await e2e.openApp(viewer, plain.url);
  assert.equal(await viewer.page.isVisible("#talk"), false);
  const side = await audioSide(viewer.page);
  assert.equal(side.direction, "recvonly");
  await viewer.page.keyboard.down("t");
  assert.equal((await audioSide(viewer.page)).talking, false, "T does nothing without talk-back");
  await viewer.page.keyboard.up("t");
});

test("with talk-back: the button, labelled, and a sendrecv audio m-line without a track", { timeout: 60000 }, async () => {
  const page = viewer.page;
  await e2e.openApp(viewer, daemon.url);
  const button = page.locator("#talk");
  await button.waitFor({ state: "visible" });
  assert.equal(await button.isEnabled(), true);
  assert.match(await button.textContent(), /Hold to talk/);
  assert.equal(await button.getAttribute("aria-keyshortcuts"), "T");
  const description = await page.evaluate(
    () => document.getElementById(document.getElementById("talk").getAttribute("aria-describedby")).textContent
  );
  assert.match(description, /T key/);
  const side = await audioSide(page);
  console.log(`# audio m-line: offered ${side.direction}, negotiated ${side.currentDirection}`);
  assert.equal(side.direction, "sendrecv", "offered sendrecv from the start");
  assert.equal(side.track, null, "silent until pressed");
  assert.equal(side.pressed, "false");
  // sendonly from the page's side: the robot answered recvonly (it has no sound to send).
  daemonHears = side.currentDirection === "sendrecv" || side.currentDirection === "sendonly";
});

/** Holds talk with `press`, checks the sender and the packets, lets go with `release`. */
async function holdAndCheck(how, press, release) {
  const page = viewer.page;
  await press();
  const held = await e2e.waitFor(`${how}: talking with a live track`, () =>
    audioSide(page).then((s) => (s.talking && s.track && s.track.readyState === "live" ? s : null))
  );
  assert.deepEqual(held.track, { kind: "audio", readyState: "live", enabled: true }, how);
  assert.equal(held.pressed, "true", `${how}: aria-pressed`);
  assert.match(await page.textContent("#talk-label"), /Talking/);
  if (daemonHears) {
    const rising = await e2e.waitFor(`${how}: outbound audio packets rising`, () =>
      audioSide(page).then((s) => (s.packetsSent >= held.packetsSent + 25 ? s : null))
    );
    console.log(`# ${how}: packetsSent ${held.packetsSent} -> ${rising.packetsSent} while held`);
  }
  await release();
  const let_go = await e2e.waitFor(`${how}: silent again`, () =>
    audioSide(page).then((s) => (!s.talking && s.track == null ? s : null))
  );
  assert.equal(let_go.pressed, "false");
  if (daemonHears) {
    await sleep(300); // packets in flight
    const a = (await audioSide(page)).packetsSent;
    await sleep(1000);
    const b = (await audioSide(page)).packetsSent;
    assert.ok(b - a <= 2, `${how}: no audio sent once let go (${a} -> ${b})`);
  }
}

test("held with the mouse: the microphone goes out, let go: silence", { timeout: 60000 }, async (t) => {
  const page = viewer.page;
  const box = await page.locator("#talk").boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await e2e.ensureArtifactsDir();
  const release = async () => {
    await page.screenshot({ path: e2e.artifactPath("talk-held.png") }); // for a look at the pressed state
    await page.mouse.up();
  };
  await holdAndCheck("mouse", () => page.mouse.down(), release);
  if (!daemonHears) {
    t.todo("the daemon answers the talk m-line without receiving: outbound packets not checked");
  }
});

test("held with the T key, not when typing in the message box; Space on the focused button", { timeout: 60000 }, async () => {
  const page = viewer.page;
  await page.locator("#stage").click({ position: { x: 5, y: 5 } }); // focus out of any field
  await holdAndCheck("T key", () => page.keyboard.down("t"), () => page.keyboard.up("t"));
  await page.focus("#message");
  await page.keyboard.down("t");
  await sleep(300);
  assert.equal((await audioSide(page)).talking, false, "a t typed in the message box does not talk");
  await page.keyboard.up("t");
  assert.equal(await page.inputValue("#message"), "t", "and it reaches the field");
  await page.fill("#message", "");
  await page.focus("#talk");
  assert.equal(await page.evaluate(() => document.activeElement.matches(":focus-visible")), true, "visible focus");
  await holdAndCheck("Space", () => page.keyboard.down(" "), () => page.keyboard.up(" "));
});

test("held with a finger (touch events)", { timeout: 60000 }, async () => {
  const page = viewer.page;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Emulation.setTouchEmulationEnabled", { enabled: true, maxTouchPoints: 1 });
  const box = await page.locator("#talk").boundingBox();
  const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  try {
    await holdAndCheck(
      "touch",
      () => cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [point] }),
      () => cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] })
    );
  } finally {
    await cdp.send("Emulation.setTouchEmulationEnabled", { enabled: false }).catch(() => {});
    await cdp.detach().catch(() => {});
  }
});

test("PushToTalk against a peer that answers recvonly, as agreed for the daemon: packets only while held", { timeout: 60000 }, async () => {
  // In the daemon's page (a secure origin with rtcbot loaded), two peer
  // connections: the "robot" answers the sendrecv audio m-line recvonly,
  // the answer the daemon gives when it has no sound of its own.
  const result = await viewer.page.evaluate(async () => {
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const pc = new RTCPeerConnection();
    const robot = new RTCPeerConnection();
    pc.onicecandidate = (e) => e.candidate && robot.addIceCandidate(e.candidate);
    robot.onicecandidate = (e) => e.candidate && pc.addIceCandidate(e.candidate);
    let heard = 0;
    robot.ontrack = () => heard++;
    const talk = new rtcbot.PushToTalk();
    const transceiver = talk.addTransceiver(pc);
    await pc.setLocalDescription(await pc.createOffer());
    await robot.setRemoteDescription(pc.localDescription);
    robot.getTransceivers()[0].direction = "recvonly";
    await robot.setLocalDescription(await robot.createAnswer());
    await pc.setRemoteDescription(robot.localDescription);
    const sent = async () => {
      let n = 0;
      (await transceiver.sender.getStats()).forEach((s) => s.type === "outbound-rtp" && (n += s.packetsSent || 0));
      return n;
    };
    const received = async () => {
      let n = 0;
      (await robot.getStats()).forEach((s) => s.type === "inbound-rtp" && s.kind === "audio" && (n += s.packetsReceived || 0));
      return n;
    };
    for (let i = 0; i < 100 && pc.connectionState !== "connected"; i++) await sleep(100);
    const before = await sent();
    await sleep(500);
    const idle = (await sent()) - before;
    await talk.set(true);
    const start = await sent();
    await sleep(1500);
    const whileHeld = (await sent()) - start;
    const robotGot = await received();
    await talk.set(false);
    await sleep(300);
    const released = await sent();
    await sleep(1000);
    const afterRelease = (await sent()) - released;
    const out = {
      state: pc.connectionState,
      answered: robot.localDescription.sdp.match(/a=(sendrecv|recvonly|sendonly|inactive)/)[1],
      currentDirection: transceiver.currentDirection,
      idle,
      whileHeld,
      robotGot,
      afterRelease,
      heard,
    };
    talk.close();
    pc.close();
    robot.close();
    return out;
  });
  console.log(`# loopback push-to-talk: ${JSON.stringify(result)}`);
  assert.equal(result.state, "connected");
  assert.equal(result.answered, "recvonly");
  assert.equal(result.currentDirection, "sendonly");
  assert.ok(result.idle <= 2, `nothing sent before the press: ${result.idle}`);
  assert.ok(result.whileHeld >= 40, `about 50 packets/s while held (20 ms Opus frames): ${result.whileHeld} in 1.5 s`);
  assert.ok(result.robotGot >= 40, `the robot side received them: ${result.robotGot}`);
  assert.ok(result.afterRelease <= 2, `nothing sent after the release: ${result.afterRelease}`);
});

test("no console errors, no page errors", async () => {
  assert.deepEqual(viewer.pageErrors, [], "uncaught page errors");
  const errors = viewer.consoleLines.filter((l) => l.startsWith("error:") && !/favicon/.test(l));
  assert.deepEqual(errors, [], "console errors");
});
