// A Chromium WHEP player: rtcbot.js's whep() against the daemon's
// POST /whep/camera decodes the camera, the daemon counts the peer in
// /healthz, and close() (DELETE) frees it.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";

const { test, failures } = e2e.createSuite();
let daemon;
let viewer;

before(async () => {
  daemon = await e2e.startDaemon({ name: "whep" });
  viewer = await e2e.launchViewer("whep");
  await viewer.page.goto(new URL("healthz", daemon.url).href);
});

after(async () => {
  await e2e.saveArtifacts("whep", { daemon, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  await daemon?.stop();
});

test("whep(): Chromium watches over WHEP; DELETE frees the peer", { timeout: 90000 }, async () => {
  const frames = await viewer.page.evaluate(async () => {
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const rtcbot = await import("/rtcbot.mjs");
    window.session = await rtcbot.whep("camera", { audio: true });
    let decoded = 0;
    for (let i = 0; i < 200 && decoded < 30; i++) {
      await sleep(100);
      (await window.session.pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") decoded = s.framesDecoded || 0;
      });
    }
    return decoded;
  });
  assert.ok(frames >= 30, `frames decoded over WHEP: ${frames}`);
  assert.equal((await daemon.healthz()).peers, 1);
  const location = await viewer.page.evaluate(() => window.session.location);
  assert.match(location, /\/whep\/camera\/[0-9a-f-]{36}$/);
  await viewer.page.evaluate(() => window.session.close());
  await e2e.waitFor("the WHEP peer to be gone", async () => (await daemon.healthz()).peers === 0, { timeoutMs: 15000 });
  assert.deepEqual(viewer.pageErrors, []);
});
