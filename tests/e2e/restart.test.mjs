// A daemon restart (stop, start again at once on the same address, as
// `systemctl restart rtcbotd` does) while the built-in page is open: the page
// is live again on a new connection within 10 s, with nobody touching it.
// reconnect.test.mjs covers a daemon that stays away until the page says
// "robot offline"; this is the quick restart, with a deadline.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";

const LIVE_AGAIN_MS = 10000;
const { test, failures } = e2e.createSuite();
let daemon;
let viewer;
const daemonLogs = [];

before(async () => {
  daemon = await e2e.startDaemon({ name: "restart" });
  viewer = await e2e.launchViewer("restart");
});

after(async () => {
  const log = { log: () => daemonLogs.concat(daemon ? [daemon.log()] : []).join("\n---- restarted ----\n") };
  await e2e.saveArtifacts("restart", { daemon: log, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  await daemon?.stop();
});

/** The page's state, and whether its connection is the one marked before the restart. */
function pageState() {
  return viewer.page.evaluate(() => {
    const app = window.rtcbotdApp;
    return { state: app.state, oldConn: Boolean(app.conn && app.conn.__e2eBeforeRestart) };
  });
}

test("restarting the daemon on the same port: the page is live again within 10 s", { timeout: 120000 }, async () => {
  await e2e.openApp(viewer, daemon.url);
  await e2e.waitFramesRising(viewer.page, { rise: 15 });
  await viewer.page.evaluate(() => {
    window.rtcbotdApp.conn.__e2eBeforeRestart = true;
  });

  for (let round = 1; round <= 2; round++) {
    const address = new URL(daemon.url).host;
    const stopped = await daemon.stop();
    daemonLogs.push(daemon.log());
    daemon = null;
    daemon = await e2e.startDaemon({ name: `restart-${round}`, listen: address });
    const backAt = Date.now();
    console.log(`# round ${round}: rtcbotd stopped (code ${stopped.code}, signal ${stopped.signal}), back on ${address}`);

    const seen = [];
    await e2e.waitFor(
      `the page live on a new connection within ${LIVE_AGAIN_MS} ms`,
      async () => {
        const s = await pageState();
        if (seen.at(-1) !== s.state) {
          seen.push(s.state);
        }
        return s.state === "live" && !s.oldConn && (await daemon.healthz()).peers === 1;
      },
      { timeoutMs: LIVE_AGAIN_MS, intervalMs: 100 }
    );
    const tookMs = Date.now() - backAt;
    console.log(`# round ${round}: live again ${tookMs} ms after the daemon returned (states: ${seen.join(" -> ")})`);
    assert.match(daemon.log(), /peer 1: connected/, "the new daemon has the page as its peer 1");
    const { first, last } = await e2e.waitFramesRising(viewer.page, { rise: 15, timeoutMs: 15000 });
    console.log(`# round ${round}: framesDecoded ${first} -> ${last} on the new connection`);
    await viewer.page.evaluate(() => {
      window.rtcbotdApp.conn.__e2eBeforeRestart = true;
    });
  }
  assert.deepEqual(viewer.pageErrors, [], "uncaught page errors");
});
