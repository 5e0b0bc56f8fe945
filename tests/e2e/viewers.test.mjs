// Three viewers at once, each in its own Chromium process (tabs of one
// browser get throttled): all three go live and keep decoding video, exactly
// one of them drives (`control = single`, the default), and a message from
// the driver reaches every viewer.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";

const VIEWERS = 3;
const { test, failures } = e2e.createSuite();
let daemon;
let viewers = [];

before(async () => {
  daemon = await e2e.startDaemon({ name: "viewers" });
  // Start the browsers one after the other: three cold starts at once on a
  // 2-core machine only make each of them slower.
  for (let i = 0; i < VIEWERS; i++) {
    viewers.push(await e2e.launchViewer(`viewer${i + 1}`));
  }
});

after(async () => {
  await e2e.saveArtifacts("viewers", { daemon, viewers, failed: failures.length > 0 });
  await Promise.all(viewers.map((v) => v.close()));
  await daemon?.stop();
});

test(`${VIEWERS} Chromium processes are separate browsers`, () => {
  const pids = new Set(viewers.map((v) => v.pid));
  assert.equal(pids.size, VIEWERS);
});

test(`${VIEWERS} viewers go live at once`, { timeout: 120000 }, async () => {
  await Promise.all(viewers.map((v) => e2e.openApp(v, daemon.url, { timeoutMs: 60000 })));
  const health = await e2e.waitFor(`healthz peers == ${VIEWERS}`, async () => {
    const h = await daemon.healthz();
    return h.peers === VIEWERS ? h : null;
  });
  assert.equal(health.peers, VIEWERS);
});

test(`all ${VIEWERS} viewers keep decoding video`, { timeout: 120000 }, async () => {
  const results = await Promise.all(
    viewers.map((v) => e2e.waitFramesRising(v.page, { rise: 30, timeoutMs: 60000 }))
  );
  results.forEach((r, i) => console.log(`# viewer${i + 1}: framesDecoded ${r.first} -> ${r.last}`));
  // Once more, all together: every viewer still advances after the others did.
  const before = await Promise.all(viewers.map((v) => e2e.framesDecoded(v.page)));
  await Promise.all(
    viewers.map((v, i) =>
      e2e.waitFor(`viewer${i + 1} framesDecoded > ${before[i] + 15}`, async () => {
        return (await e2e.framesDecoded(v.page)) > before[i] + 15;
      }, { timeoutMs: 30000 })
    )
  );
});

test("one viewer drives, the others watch", { timeout: 60000 }, async () => {
  const roles = await e2e.waitFor("every viewer told its role", async () => {
    const all = await Promise.all(viewers.map((v) => v.page.evaluate(() => window.rtcbotdApp.role)));
    return all.every((r) => r != null) ? all : null;
  });
  assert.deepEqual(roles.slice().sort(), ["driver", ...Array(VIEWERS - 1).fill("viewer")], `roles: ${roles}`);
});

test("a message from the driver reaches every viewer", { timeout: 60000 }, async () => {
  const text = `broadcast ${Date.now()}`;
  const roles = await Promise.all(viewers.map((v) => v.page.evaluate(() => window.rtcbotdApp.role)));
  const sender = viewers[Math.max(0, roles.indexOf("driver"))];
  await sender.page.fill("#message", text);
  await sender.page.click("#send");
  const expected = JSON.stringify(text);
  await Promise.all(
    viewers.map((v) =>
      e2e.waitFor(`${expected} in ${v.name}'s #log`, () =>
        v.page.$$eval("#log li code", (codes) => codes.map((c) => c.textContent)).then((all) => all.includes(expected))
      )
    )
  );
  assert.ok(daemon.alive(), "rtcbotd is still running");
});
