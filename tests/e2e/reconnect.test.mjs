// The page's reconnect logic against a real daemon: a viewer turned away by
// max-peers (503) retries and gets in once the slot frees up; a page that
// leaves frees its slot at once; when the daemon goes away the page says
// "robot offline", and it comes back live by itself when the daemon returns
// on the same address.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";

const CONFIG = e2e.DEFAULT_CONFIG.replace("max-peers = 8", "max-peers = 1");
const { test, failures } = e2e.createSuite();
let daemon;
let first;
let second;
const daemonLogs = [];

before(async () => {
  daemon = await e2e.startDaemon({ name: "reconnect", config: CONFIG });
  first = await e2e.launchViewer("first");
  second = await e2e.launchViewer("second");
});

after(async () => {
  const log = { log: () => daemonLogs.concat(daemon ? [daemon.log()] : []).join("\n---- restarted ----\n") };
  await e2e.saveArtifacts("reconnect", { daemon: log, viewers: [first, second], failed: failures.length > 0 });
  await Promise.all([first?.close(), second?.close()]);
  await daemon?.stop();
});

function pageState(viewer) {
  return viewer.page.evaluate(() => ({
    state: window.rtcbotdApp.state,
    label: document.getElementById("state").textContent.trim(),
    detail: document.getElementById("detail").textContent,
  }));
}

test("max-peers = 1: a second viewer is told the robot is busy", { timeout: 90000 }, async () => {
  await e2e.openApp(first, daemon.url);
  const res = await fetch(new URL("connect", daemon.url), {
    method: "POST",
    body: JSON.stringify({ type: "offer", sdp: "v=0\r\n" }),
  });
  assert.equal(res.status, 503, "POST /connect beyond max-peers");
  assert.ok(res.headers.get("retry-after"), "503 carries Retry-After");

  await second.page.goto(daemon.url);
  const seen = await e2e.waitFor("the second page to report busy", async () => {
    const s = await pageState(second);
    return s.state === "reconnecting" && /busy/.test(s.detail) ? s : null;
  });
  assert.match(seen.label, /reconnecting/);
  assert.equal((await daemon.healthz()).peers, 1);
});

test("when the first page leaves, the second gets in by itself", { timeout: 120000 }, async () => {
  // Navigating away fires pagehide: the page closes its connection politely.
  await first.page.goto("about:blank");
  await second.page.waitForFunction(() => window.rtcbotdApp.state === "live", null, {
    timeout: 90000,
    polling: 200,
  });
  await e2e.waitFramesRising(second.page, { rise: 15 });
  await e2e.waitFor("healthz peers == 1", async () => (await daemon.healthz()).peers === 1);
});

test("daemon gone: the page says robot offline, then reconnects when it returns", { timeout: 150000 }, async () => {
  const address = new URL(daemon.url).host;
  const stopped = await daemon.stop();
  daemonLogs.push(daemon.log());
  daemon = null;
  console.log(`# rtcbotd stopped: code ${stopped.code}, signal ${stopped.signal}`);

  const offline = await e2e.waitFor(
    "the page to report robot offline",
    async () => {
      const s = await pageState(second);
      return s.state === "offline" ? s : null;
    },
    { timeoutMs: 60000 }
  );
  assert.match(offline.label, /robot offline/);
  assert.equal(await second.page.$eval("#send", (b) => b.disabled), true, "send is disabled while offline");

  daemon = await e2e.startDaemon({ name: "reconnect-2", config: CONFIG, listen: address });
  const backAt = Date.now();
  await second.page.waitForFunction(() => window.rtcbotdApp.state === "live", null, {
    timeout: 60000,
    polling: 200,
  });
  console.log(`# live again ${((Date.now() - backAt) / 1000).toFixed(1)} s after the daemon returned`);
  await e2e.waitFramesRising(second.page, { rise: 15 });
  assert.deepEqual(second.pageErrors, [], "uncaught page errors");
});
