// Chromium through `rtcbotd relay`: a daemon holds ws://RELAY/ID ([daemon]
// relay); (1) the relay's own page at GET /ID POSTs its offer to /ID and
// decodes video and an echoed data-channel message; (2) a page served by
// another origin (the daemon's) uses rtcbot.js as RTCBot's tutorials do and
// POSTs cross-origin to the relay (CORS), and decodes video too.

import { spawn } from "node:child_process";
import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";

const ID = "e2e-robot";
const { test, failures } = e2e.createSuite();
let relay;
let daemon;
let viewers = [];

/** `rtcbotd relay` on an ephemeral loopback port; resolves with its URL. */
function startRelay() {
  const child = spawn(e2e.RTCBOTD, ["relay", "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start:\n${log}`)), 15000);
    const collect = (chunk) => {
      log += chunk.toString();
      const m = log.match(/listening on (http:\/\/[^\s/]+\/)/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child, log: () => log });
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
  });
}

async function relayRobots() {
  const res = await fetch(new URL("healthz", relay.url), { cache: "no-store" });
  return (await res.json()).robots;
}

/** inbound-rtp video framesDecoded of @pc, evaluated in the page. */
function framesOf(page, expression) {
  return page.evaluate(async (expr) => {
    // eslint-disable-next-line no-eval
    const pc = eval(expr);
    if (!pc) {
      return 0;
    }
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") {
        frames += s.framesDecoded || 0;
      }
    });
    return frames;
  }, expression);
}

before(async () => {
  relay = await startRelay();
  daemon = await e2e.startDaemon({
    name: "relay-robot",
    config: `${e2e.DEFAULT_CONFIG.replace("[daemon]\n", `[daemon]\ncontrol = shared\nrelay = ${relay.url.replace("http://", "ws://")}${ID}\n`)}`,
  });
  await e2e.waitFor("the robot to hold its id on the relay", async () => (await relayRobots()) === 1, {
    timeoutMs: 15000,
  });
});

after(async () => {
  await e2e.saveArtifacts("relay", { daemon, viewers, failed: failures.length > 0 });
  for (const v of viewers) {
    await v.close();
  }
  await daemon?.stop();
  relay?.child.kill("SIGTERM");
});

test("the relay's page at GET /ID: video and an echo through the relay", { timeout: 90000 }, async () => {
  const viewer = await e2e.launchViewer("relay-page");
  viewers.push(viewer);
  const t0 = Date.now();
  await viewer.page.goto(new URL(ID, relay.url).href, { waitUntil: "load" });
  const first = await e2e.waitFor("a decoded frame through the relay", () => framesOf(viewer.page, "window.rtcbotdRelay && window.rtcbotdRelay.pc"), {
    timeoutMs: 45000,
    intervalMs: 50,
  });
  const elapsed = Date.now() - t0;
  await e2e.waitFor("framesDecoded rising", async () => (await framesOf(viewer.page, "window.rtcbotdRelay.pc")) >= first + 30, {
    timeoutMs: 30000,
  });
  await viewer.page.evaluate(() => {
    const { channel } = window.rtcbotdRelay;
    const send = () => channel.send(JSON.stringify({ via: "relay" }));
    if (channel.readyState === "open") {
      send();
    } else {
      channel.addEventListener("open", send, { once: true });
    }
  });
  await e2e.waitFor("the echo in the page's log", () =>
    viewer.page.evaluate(() => document.getElementById("log").textContent.includes('message: {"via":"relay"}'))
  );
  const shot = await viewer.page.locator("#video").screenshot();
  assert.ok(shot.length > 1000, "a screenshot of the video element");
  console.log(`# page load -> first frame through the relay: ${elapsed} ms`);
});

test("rtcbot.js on another origin POSTs to the relay (CORS) and decodes video", { timeout: 90000 }, async () => {
  const viewer = await e2e.launchViewer("relay-rtcbotjs");
  viewers.push(viewer);
  await viewer.page.goto(new URL("healthz", daemon.url).href);
  await viewer.page.addScriptTag({ url: new URL("rtcbot.js", daemon.url).href });
  const answered = await viewer.page.evaluate(async (target) => {
    const conn = new rtcbot.RTCConnection();
    window.relayConn = conn;
    conn.video.subscribe(() => {});
    const offer = await conn.getLocalDescription();
    const response = await fetch(target, { method: "POST", cache: "no-cache", body: JSON.stringify(offer) });
    if (!response.ok) {
      return `HTTP ${response.status}`;
    }
    await conn.setRemoteDescription(await response.json());
    return "ok";
  }, new URL(ID, relay.url).href);
  assert.equal(answered, "ok");
  await e2e.waitFor("a decoded frame (rtcbot.js through the relay)", () => framesOf(viewer.page, "window.relayConn && window.relayConn.pc"), {
    timeoutMs: 45000,
  });
  const health = await daemon.healthz();
  assert.equal(health.relay.state, "connected");
  assert.equal(health.relay.connects, 1, "one socket served both pages");
});
