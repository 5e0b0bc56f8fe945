// The built-in page in a real headless Chromium: it is served with its
// scripts, goes live, plays video that is not black, carries audio, and
// echoes a typed message back through the daemon's `peers.messages -> peers`
// route.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import * as e2e from "./lib.mjs";

const { test, failures } = e2e.createSuite();
let daemon;
let viewer;

before(async () => {
  daemon = await e2e.startDaemon({ name: "page" });
  viewer = await e2e.launchViewer("page-viewer");
});

after(async () => {
  await e2e.saveArtifacts("page", { daemon, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  const stopped = await daemon?.stop();
  if (stopped) {
    console.log(`# rtcbotd stopped: code ${stopped.code}, signal ${stopped.signal}`);
  }
});

test("GET / and the page's assets are served", async () => {
  const assets = {
    "": /text\/html/,
    "rtcbot.js": /javascript/,
    "app.js": /javascript/,
    "style.css": /text\/css/,
  };
  for (const [file, type] of Object.entries(assets)) {
    const res = await fetch(new URL(file, daemon.url));
    assert.equal(res.status, 200, `GET /${file}`);
    assert.match(res.headers.get("content-type") || "", type, `Content-Type of /${file}`);
    assert.ok((await res.text()).length > 100, `/${file} has a body`);
  }
});

test("the page goes live and decodes video", { timeout: 90000 }, async () => {
  await e2e.openApp(viewer, daemon.url);
  const label = await viewer.page.textContent("#state");
  assert.match(label, /live/);
  const { first, last } = await e2e.waitFramesRising(viewer.page, { rise: 30 });
  console.log(`# framesDecoded rose from ${first} to ${last}`);
  const health = await daemon.healthz();
  assert.equal(health.status, "ok");
  assert.equal(health.peers, 1, "healthz counts the page as one peer");
});

test("the video is not black (decoded frame and screenshot)", { timeout: 60000 }, async () => {
  const frame = await e2e.waitFor("a video frame with pixels", () => e2e.videoFrameLuma(viewer.page));
  console.log(`# decoded frame: ${JSON.stringify(frame)}`);
  assert.equal(frame.width, 640);
  assert.equal(frame.height, 480);
  assert.ok(frame.mean > 20 || frame.brightFraction > 0.05, `decoded frame is black: ${JSON.stringify(frame)}`);

  await e2e.ensureArtifactsDir();
  const png = await viewer.page.locator("#video").screenshot({ animations: "disabled" });
  await writeFile(e2e.artifactPath("page-video.png"), png);
  await viewer.page.screenshot({ path: e2e.artifactPath("page-full.png"), animations: "disabled" });
  const shot = e2e.pngLuma(e2e.decodePng(png));
  console.log(`# screenshot of #video: ${JSON.stringify(shot)}`);
  assert.ok(shot.mean > 20 || shot.brightFraction > 0.05, `screenshot of #video is black: ${JSON.stringify(shot)}`);
});

test("audio arrives in the stream and the toggle unmutes it", { timeout: 60000 }, async () => {
  const page = viewer.page;
  assert.equal(await page.$eval("#video", (v) => v.muted), true, "video starts muted");
  await e2e.waitFor("inbound audio packets", () =>
    page.evaluate(async () => {
      const report = await window.rtcbotdApp.conn.pc.getStats();
      let packets = 0;
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") {
          packets += s.packetsReceived || 0;
        }
      });
      return packets > 10;
    })
  );
  const tracks = await page.$eval("#video", (v) => v.srcObject.getTracks().map((t) => `${t.kind}:${t.readyState}`));
  assert.ok(tracks.includes("audio:live"), `the video element's stream has a live audio track: ${tracks}`);
  assert.ok(tracks.includes("video:live"), `the video element's stream has a live video track: ${tracks}`);

  await page.click("#audio-toggle");
  assert.equal(await page.$eval("#video", (v) => v.muted), false, "unmuted after a click");
  assert.equal(await page.getAttribute("#audio-toggle", "aria-pressed"), "true");
  await page.click("#audio-toggle");
  assert.equal(await page.$eval("#video", (v) => v.muted), true, "muted again after a second click");
});

test("a typed message comes back through the echo route", { timeout: 60000 }, async () => {
  const page = viewer.page;
  const text = `hello from e2e ${Date.now()}`;
  await page.fill("#message", text);
  await page.click("#send");
  assert.equal(await page.inputValue("#message"), "", "the input is cleared after sending");
  // The daemon JSON-encodes what it sends (RTCBot semantics): quotes included.
  const expected = JSON.stringify(text);
  await e2e.waitFor(`${expected} in #log`, () =>
    page.$$eval("#log li code", (codes) => codes.map((c) => c.textContent)).then((all) => all.includes(expected))
  );
  const objectMessage = { a: 1, text: "ünïcode ✓" };
  await page.evaluate((msg) => window.rtcbotdApp.conn.put_nowait(msg), objectMessage);
  await e2e.waitFor("the object message echoed first in #log", () =>
    page.$eval("#log li code", (c) => c.textContent).then((t) => {
      try {
        return JSON.stringify(JSON.parse(t)) === JSON.stringify(objectMessage);
      } catch {
        return false;
      }
    })
  );
  await page.screenshot({ path: e2e.artifactPath("page-messages.png"), animations: "disabled" });
});

test("the page made no request outside the daemon and threw no error", async () => {
  const origin = new URL(daemon.url).origin;
  const foreign = viewer.requests.filter(
    (u) => !u.startsWith(origin) && !u.startsWith("data:") && !u.startsWith("blob:") && u !== "about:blank"
  );
  assert.deepEqual(foreign, [], "requests outside the daemon");
  assert.deepEqual(viewer.pageErrors, [], "uncaught page errors");
  assert.ok(daemon.alive(), "rtcbotd is still running");
});
