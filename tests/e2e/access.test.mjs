// The built-in page against a robot with tokens, in a real headless
// Chromium: without a token it says so and stops retrying; opened as
// /?token=VIEWER it goes live and watches ("this token may only watch");
// opened as /?token=DRIVER it drives, the token leaves the address bar, and
// a reload of the bare address goes live again on the cookie.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";

const DRIVER = "driver-0123456789abcdef";
const VIEWER = "viewer-fedcba9876543210";
const CONFIG = `[daemon]
listen = 127.0.0.1:0
control = single
token = ${DRIVER}
viewer-token = ${VIEWER}

[source camera]
type = test-video
width = 320
height = 240
framerate = 15

[route media]
from = camera
to = peers

[route journal]
from = peers.messages
to = log
`;

const { test, failures } = e2e.createSuite();
let daemon;
let viewer;

before(async () => {
  daemon = await e2e.startDaemon({ name: "access", config: CONFIG });
  viewer = await e2e.launchViewer("access-viewer");
});

after(async () => {
  await e2e.saveArtifacts("access", { daemon, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  await daemon?.stop();
});

function connects() {
  return viewer.requests.filter((url) => new URL(url).pathname === "/connect").length;
}

async function openAndWait(url, wanted) {
  await viewer.page.goto(url, { waitUntil: "load", timeout: 30000 });
  await viewer.page.waitForFunction((s) => window.rtcbotdApp && window.rtcbotdApp.state === s, wanted, {
    timeout: 45000,
    polling: 100,
  });
}

test("without a token the page says it needs one and stops retrying", { timeout: 60000 }, async () => {
  await openAndWait(daemon.url, "locked");
  assert.match(await viewer.page.textContent("#state"), /needs a token/);
  assert.match(await viewer.page.textContent("#overlay-text"), /open the page as http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  const tried = connects();
  // A retrying page would have posted again within its first backoff (about 1 s).
  await new Promise((resolve) => setTimeout(resolve, 3000)); // measurement window
  assert.equal(connects(), tried, "the page kept posting /connect");
  assert.equal(await viewer.page.evaluate(() => window.rtcbotdApp.state), "locked");
});

test("a wrong token is refused, and said so", { timeout: 60000 }, async () => {
  await openAndWait(new URL("?token=not-the-token", daemon.url).href, "locked");
  assert.match(await viewer.page.textContent("#overlay-text"), /This token is not accepted/);
});

test("opened with the viewer token the page watches", { timeout: 90000 }, async () => {
  await openAndWait(new URL(`?token=${VIEWER}`, daemon.url).href, "live");
  await e2e.waitFramesRising(viewer.page, { rise: 10 });
  await viewer.page.waitForFunction(() => window.rtcbotdApp.role === "viewer", null, { timeout: 10000 });
  assert.match(await viewer.page.textContent("#drive-role"), /this token may only watch/);
  assert.match(await viewer.page.textContent("#state"), /viewer only, this token may only watch/);
  assert.equal(new URL(viewer.page.url()).search, "", "the token stayed in the address bar");
  const cookies = await viewer.browser.contexts()[0].cookies(daemon.url);
  const cookie = cookies.find((c) => c.name === "rtcbotd-token");
  assert.ok(cookie && cookie.value === VIEWER && cookie.httpOnly && cookie.sameSite === "Strict", JSON.stringify(cookies));
});

test("opened with the driver token it drives; a reload goes live on the cookie", { timeout: 90000 }, async () => {
  await openAndWait(new URL(`?token=${DRIVER}`, daemon.url).href, "live");
  await viewer.page.waitForFunction(() => window.rtcbotdApp.role === "driver", null, { timeout: 10000 });
  assert.match(await viewer.page.textContent("#drive-role"), /Driving/);
  await viewer.page.reload({ waitUntil: "load" });
  assert.equal(new URL(viewer.page.url()).search, "");
  await viewer.page.waitForFunction(() => window.rtcbotdApp.state === "live", null, { timeout: 45000, polling: 100 });
  await viewer.page.waitForFunction(() => window.rtcbotdApp.role === "driver", null, { timeout: 10000 });
});
