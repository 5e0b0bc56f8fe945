// The page fits the robot: with two cameras GET /api/robot lists both, the
// page offers a video transceiver for each, the daemon answers both and the
// page shows a tile per camera, and both play (framesDecoded rising on each:
// the answer's a=ssrc lines let Chromium tell the two VP8 tracks apart). On a
// one-camera robot the statistics overlay shows numbers and telemetry
// objects show as key/value tables. With two cameras the view buttons (and
// the V key) show the grid or one camera, remembered in localStorage; a
// route from peers.audio adds the push-to-talk button (talk.test.mjs).
// Screenshots at phone (one camera) and desktop (two) size go to page-phone.png and
// page-desktop.png among the e2e artifacts (to docs/ with
// RTCBOTD_UPDATE_SCREENSHOTS=1, which refreshes the README's pictures).

import { after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as e2e from "./lib.mjs";

const RECORDINGS = mkdtempSync(path.join(os.tmpdir(), "rtcbotd-robot-page-"));

const CONFIG = `[daemon]
listen = 127.0.0.1:0
max-peers = 4

[source front]
type = test-video
width = 640
height = 480
framerate = 30
pattern = smpte

[source rear]
type = test-video
width = 320
height = 240
framerate = 15
pattern = ball

[source tone]
type = test-audio

[route media]
from = front;rear;tone
to = peers

[sink voice]
type = record
path = ${RECORDINGS}/voice-%Y%m%d-%H%M%S.mkv

[route talk]
from = peers.audio
to = voice

[route echo]
from = peers.messages
to = peers
`;

const { test, failures } = e2e.createSuite();
let daemon; // two cameras
let single; // one camera (DEFAULT_CONFIG)
let viewer;

before(async () => {
  daemon = await e2e.startDaemon({ name: "robot-page", config: CONFIG });
  single = await e2e.startDaemon({ name: "robot-page-single" });
  viewer = await e2e.launchViewer("robot-page-viewer");
});

after(async () => {
  await e2e.saveArtifacts("robot-page", { daemon, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  await daemon?.stop();
  await single?.stop();
  rmSync(RECORDINGS, { recursive: true, force: true });
});

/** framesDecoded of each inbound video, in the order of the page's video transceivers. */
function framesPerCamera(page) {
  return page.evaluate(async () => {
    const pc = window.rtcbotdApp.conn && window.rtcbotdApp.conn.pc;
    if (!pc) {
      return [];
    }
    const report = await pc.getStats();
    const mids = pc
      .getTransceivers()
      .filter((t) => t.receiver.track.kind === "video")
      .map((t) => t.mid);
    const byMid = {};
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") {
        byMid[s.mid] = s.framesDecoded || 0;
      }
    });
    return mids.map((m) => byMid[m] ?? 0);
  });
}

test("GET /api/robot lists both cameras, sound and the inputs", async () => {
  const res = await fetch(new URL("api/robot", daemon.url));
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") || "", /application\/json/);
  const robot = await res.json();
  assert.deepEqual(robot.cameras, [
    { name: "front", width: 640, height: 480, framerate: 30 },
    { name: "rear", width: 320, height: 240, framerate: 15 },
  ]);
  assert.equal(robot.audio, true);
  assert.equal(robot.talk, true, "a route takes peers.audio");
  assert.deepEqual(robot.controls, { keyboard: true, gamepad: true, channels: [] });
  assert.equal(robot.control, "single");
  assert.equal(robot.telemetry, true);
  assert.deepEqual(robot.iceServers, []);
  assert.equal(robot.iceTransportPolicy, "all");
});

test("the page offers a video m-line per camera and shows a tile for each", { timeout: 90000 }, async () => {
  await viewer.page.setViewportSize({ width: 1280, height: 800 });
  await e2e.openApp(viewer, daemon.url);
  const media = await viewer.page.evaluate(() =>
    window.rtcbotdApp.conn.pc.getTransceivers().map((t) => `${t.receiver.track.kind}:${t.direction}`)
  );
  // The audio m-line also carries push-to-talk (talk.test.mjs): sendrecv from the start.
  assert.deepEqual(media, ["audio:sendrecv", "video:recvonly", "video:recvonly"]);

  const captions = await viewer.page.$$eval("#screens figcaption", (cs) => cs.map((c) => c.textContent));
  assert.deepEqual(captions, ["front · 640×480", "rear · 320×240"]);
});

test("the page plays both cameras", { timeout: 90000 }, async () => {
  const start = await e2e.waitFor("frames decoded on two videos", () =>
    framesPerCamera(viewer.page).then((f) => (f.length === 2 && f.every((n) => n > 0) ? f : null))
  );
  const later = await e2e.waitFor("framesDecoded rising on both videos", () =>
    framesPerCamera(viewer.page).then((f) => (f.every((n, i) => n >= start[i] + 20) ? f : null))
  );
  console.log(`# framesDecoded per camera: ${JSON.stringify(start)} -> ${JSON.stringify(later)}`);
  const sizes = await viewer.page.$$eval("#screens video", (vs) =>
    vs.map((v) => ({ w: v.videoWidth, h: v.videoHeight, playing: !v.paused }))
  );
  assert.deepEqual(sizes, [
    { w: 640, h: 480, playing: true },
    { w: 320, h: 240, playing: true },
  ]);
});

/** Which tiles show, the view, and the view buttons' labels and states. */
function views(page) {
  return page.evaluate(() => ({
    view: window.rtcbotdApp.view,
    shown: Array.from(document.querySelectorAll("#screens figure"), (f) => f.checkVisibility()),
    widths: Array.from(document.querySelectorAll("#screens figure"), (f) => Math.round(f.getBoundingClientRect().width)),
    buttons: Array.from(document.querySelectorAll("#views button"), (b) => ({
      text: b.textContent,
      label: b.getAttribute("aria-label"),
      pressed: b.getAttribute("aria-pressed"),
    })),
    group: document.getElementById("views").getAttribute("aria-label"),
  }));
}

test("camera views: the grid or one camera, by button, keyboard or V, remembered", { timeout: 90000 }, async () => {
  const page = viewer.page;
  const grid = await views(page);
  assert.equal(grid.view, "grid");
  assert.deepEqual(grid.shown, [true, true]);
  assert.match(grid.group, /Camera view/);
  assert.deepEqual(grid.buttons, [
    { text: "All cameras", label: "All cameras in a grid", pressed: "true" },
    { text: "front", label: "Camera front alone", pressed: "false" },
    { text: "rear", label: "Camera rear alone", pressed: "false" },
  ]);
  assert.equal(await page.isVisible("#talk"), true, "push-to-talk: a route takes peers.audio");

  await page.click("#views button[data-view=rear]");
  const rear = await views(page);
  assert.equal(rear.view, "rear");
  assert.deepEqual(rear.shown, [false, true]);
  assert.ok(rear.widths[1] > grid.widths[1] * 1.5, `one camera is shown large: ${grid.widths[1]} -> ${rear.widths[1]} px`);
  assert.deepEqual(rear.buttons.map((b) => b.pressed), ["false", "false", "true"]);

  // Remembered: a new visit opens with the rear camera alone.
  await e2e.openApp(viewer, daemon.url);
  assert.equal((await views(page)).view, "rear");
  assert.deepEqual((await views(page)).shown, [false, true]);

  // V cycles: rear -> grid -> front; Enter on a focused button picks it.
  await page.locator("#stage").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("v");
  assert.deepEqual((await views(page)).shown, [true, true]);
  await page.keyboard.press("v");
  assert.equal((await views(page)).view, "front");
  await page.focus("#views button[data-view=grid]");
  assert.equal(await page.evaluate(() => document.activeElement.matches(":focus-visible")), true, "visible focus");
  await page.keyboard.press("Enter");
  const back = await views(page);
  assert.equal(back.view, "grid");
  assert.deepEqual(back.shown, [true, true]);
  assert.equal(await page.evaluate(() => localStorage.getItem("rtcbotd.view")), "grid");
});

test("Tab reaches every control; each has a name and a visible focus ring", { timeout: 30000 }, async () => {
  const page = viewer.page;
  await page.click("h1.brand"); // the start of the page: Tab goes on from there
  const seen = [];
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press("Tab");
    const el = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) {
        return null;
      }
      const byId = (ids) => ids.split(/\s+/).map((id) => document.getElementById(id)?.textContent || "").join(" ");
      const name = (
        e.getAttribute("aria-label") ||
        (e.getAttribute("aria-labelledby") && byId(e.getAttribute("aria-labelledby"))) ||
        (e.labels && e.labels[0] && e.labels[0].textContent) ||
        e.textContent
      ).replace(/\s+/g, " ").trim();
      const style = getComputedStyle(e);
      return { id: e.id || e.dataset.view, name, focusVisible: e.matches(":focus-visible"), outline: `${style.outlineStyle} ${style.outlineWidth}` };
    });
    if (el == null || seen.some((s) => s.id === el.id && s.name === el.name)) {
      break;
    }
    seen.push(el);
  }
  console.log(`# tab order: ${seen.map((e) => `${e.id} "${e.name}"`).join(", ")}`);
  const ids = seen.map((e) => e.id);
  for (const id of ["grid", "front", "rear", "audio-toggle", "talk", "fullscreen", "message"]) {
    assert.ok(ids.includes(id), `${id} is reachable with Tab: ${ids}`);
  }
  for (const e of seen) {
    assert.ok(e.name.length > 0, `${e.id} has a name`);
    assert.ok(e.focusVisible && e.outline === "solid 2px", `${e.id} shows its focus: ${JSON.stringify(e)}`);
  }
});

test("the overlay shows fps, bitrate, RTT and a latency estimate", { timeout: 90000 }, async () => {
  await e2e.openApp(viewer, single.url);
  await e2e.waitFramesRising(viewer.page, { rise: 30 });
  const hud = await e2e.waitFor("numbers in every overlay field", () =>
    viewer.page
      .$$eval("#hud dd", (dds) => dds.map((d) => d.textContent))
      .then((t) => (t.length === 5 && t.slice(0, 4).every((x) => /\d/.test(x)) ? t : null))
  );
  console.log(`# overlay: ${JSON.stringify(hud)}`);
  assert.match(hud[0], /^\d+$/, "fps of the one camera");
  assert.match(hud[1], /^\d+(\.\d)? [kM]bit\/s$/);
  assert.match(hud[2], /^\d+ ms$/);
  assert.match(hud[3], /^≈ \d+ ms$/);
  assert.equal(hud[4], "–", "glass-to-glass needs stamped frames (stamp = yes), which this camera has not");
  assert.match(await viewer.page.textContent("#hud"), /latency \(estimate\)/);
});

test("a telemetry object is shown as a key/value table", { timeout: 30000 }, async () => {
  const page = viewer.page;
  await page.fill("#message", '{"battery":12.5,"mode":"auto"}');
  await page.click("#send");
  const rows = await e2e.waitFor("the echoed object as a table", () =>
    page
      .$$eval("#log li:first-child table.kv tr", (trs) => trs.map((tr) => tr.textContent))
      .then((r) => (r.length > 0 ? r : null))
  );
  assert.deepEqual(rows, ["battery12.5", "modeauto"]);
});

test("screenshots at desktop and phone size", { timeout: 90000 }, async () => {
  const page = viewer.page;
  // docs/ keeps the published pair; a normal run writes beside the other artifacts.
  const docs = process.env.RTCBOTD_UPDATE_SCREENSHOTS ? path.join(e2e.REPO, "docs") : e2e.ARTIFACTS;
  mkdirSync(docs, { recursive: true });
  // The desktop picture shows the most: two cameras, talk-back, telemetry.
  await page.setViewportSize({ width: 1280, height: 800 });
  await e2e.openApp(viewer, daemon.url);
  await e2e.waitFor("both cameras playing", () =>
    framesPerCamera(page).then((f) => (f.length === 2 && f.every((n) => n > 30) ? f : null))
  );
  await page.fill("#message", '{"battery":12.5,"mode":"auto"}');
  await page.click("#send");
  await page.locator("#log li table.kv").first().waitFor();
  await page.locator("#stage").click({ position: { x: 5, y: 5 } }); // no focus ring in the picture
  await page.screenshot({ path: path.join(docs, "page-desktop.png") });
  await e2e.openApp(viewer, single.url);
  await e2e.waitFramesRising(page, { rise: 30 });
  await page.waitForFunction(() => /\d/.test(document.getElementById("hud-bitrate").textContent));
  await page.setViewportSize({ width: 390, height: 844 });
  const stick = page.locator("#stick");
  await stick.waitFor({ state: "visible" });
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= 390, `no horizontal scrolling at 390 px: ${scrollWidth}`);
  const box = await stick.boundingBox(); // relative to the viewport, before any scrolling
  console.log(`# joystick at 390x844: ${JSON.stringify(box)}`);
  assert.ok(box && box.width > 50 && box.x >= 0 && box.x + box.width <= 390, `the joystick fits across: ${JSON.stringify(box)}`);
  assert.ok(box.y + box.height <= 844, `the joystick is on the first screen: ${JSON.stringify(box)}`);
  await page.screenshot({ path: path.join(docs, "page-phone.png") });
});

test("the page takes the robot's ICE servers and transport policy from /api/robot", { timeout: 60000 }, async () => {
  // A robot with [daemon] ice-servers, as /api/robot describes it (a STUN
  // server nobody answers is fine: with "relay" the page does not use it).
  const page = viewer.page;
  await page.route("**/api/robot", async (route) => {
    const response = await route.fetch();
    const json = { ...(await response.json()), iceServers: [{ urls: "stun:127.0.0.1:9" }], iceTransportPolicy: "relay" };
    await route.fulfill({ response, json });
  });
  try {
    await page.goto(single.url);
    const config = await e2e.waitFor("the connection's configuration from /api/robot", () =>
      page.evaluate(() => {
        const conn = window.rtcbotdApp.conn;
        const c = conn && conn.pc.getConfiguration();
        return c && c.iceServers.length > 0 ? { servers: c.iceServers, policy: c.iceTransportPolicy } : null;
      })
    );
    assert.deepEqual(config.servers.map((s) => [s.urls].flat()), [["stun:127.0.0.1:9"]]);
    assert.equal(config.policy, "relay");
  } finally {
    await page.unroute("**/api/robot");
  }
});
