// The page's glass-to-glass figure: with a `stamp = yes` camera the HUD shows
// "glass-to-glass ≈ N ms" read from the decoded frames (web/glass.js,
// web/stamp.mjs), a plausible N for loopback; without a stamp the row stays
// hidden.

import { after } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";

const { test, failures } = e2e.createSuite();
const config = (stamp) => e2e.DEFAULT_CONFIG.replace("framerate = 30\n", `framerate = 30\nstamp = ${stamp}\n`);
let daemon;
let viewer;

after(async () => {
  await e2e.saveArtifacts("stamp", { daemon, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  await daemon?.stop();
});

const hudRow = (page) =>
  page.evaluate(() => ({
    hidden: document.getElementById("hud-g2g-row").hidden,
    text: document.getElementById("hud-g2g").textContent,
  }));

test("a stamped camera: the HUD shows glass-to-glass ≈ N ms", { timeout: 120000 }, async () => {
  daemon = await e2e.startDaemon({ name: "stamp", config: config("yes") });
  viewer = await e2e.launchViewer("stamp-viewer");
  await e2e.openApp(viewer, daemon.url);
  const row = await e2e.waitFor("the glass-to-glass row with a figure", async () => {
    const r = await hudRow(viewer.page);
    return !r.hidden && /^≈ -?\d+ ms$/.test(r.text) ? r : null;
  });
  const ms = Number(row.text.match(/-?\d+/)[0]);
  assert.ok(ms >= 0 && ms < 1000, `loopback glass-to-glass ${ms} ms within [0, 1000)`);
  await viewer.close();
  await daemon.stop();
  viewer = daemon = null;
});

test("no stamp: the glass-to-glass row stays hidden", { timeout: 120000 }, async () => {
  daemon = await e2e.startDaemon({ name: "nostamp", config: config("no") });
  viewer = await e2e.launchViewer("nostamp-viewer");
  await e2e.openApp(viewer, daemon.url);
  await e2e.waitFramesRising(viewer.page, { rise: 90 }); // three seconds of frames
  assert.deepEqual(await hudRow(viewer.page), { hidden: true, text: "–" });
});
