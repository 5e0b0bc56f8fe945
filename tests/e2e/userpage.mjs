// Helpers for tests that serve a user's own page, as RTCBot users write
// them, from the daemon's `[daemon] web-root` directory.
//
// web-root replaces the built-in assets entirely (docs/config.md "web-root"):
// the directory's /rtcbot.js is served, not the built-in one. So the page
// directory gets the exact bytes this daemon build serves as /rtcbot.js,
// fetched from a short-lived daemon with the built-in web root: whatever
// web/rtcbot.js turns into at build time, the test uses what users get.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as e2e from "./lib.mjs";

/** GET /rtcbot.js from a daemon with the built-in web root. */
export async function builtinRtcbotJs() {
  const daemon = await e2e.startDaemon({ name: "rtcbotjs-source" });
  try {
    const res = await fetch(new URL("rtcbot.js", daemon.url), { cache: "no-store" });
    if (!res.ok) {
      throw new Error(`GET /rtcbot.js from the built-in web root: HTTP ${res.status}`);
    }
    return await res.text();
  } finally {
    await daemon.stop();
  }
}

/**
 * Writes `files` ({name: text}) plus the daemon's rtcbot.js to a new temp
 * dir and returns {dir, rtcbotJs, remove()}.
 */
export async function makeWebRoot(files) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "rtcbotd-webroot-"));
  const rtcbotJs = await builtinRtcbotJs();
  await writeFile(path.join(dir, "rtcbot.js"), rtcbotJs);
  for (const [name, text] of Object.entries(files)) {
    await writeFile(path.join(dir, name), text);
  }
  return { dir, rtcbotJs, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Records every RTCPeerConnection the page creates in window.__e2ePcs, so
 * the test can read stats without knowing rtcbot.js's internals.
 */
export async function recordPeerConnections(page) {
  await page.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    window.__e2ePcs = [];
    window.RTCPeerConnection = function (...args) {
      const pc = new Native(...args);
      window.__e2ePcs.push(pc);
      return pc;
    };
    window.RTCPeerConnection.prototype = Native.prototype;
    Object.setPrototypeOf(window.RTCPeerConnection, Native);
  });
}

/** framesDecoded of the inbound video of every recorded peer connection. */
export function recordedFramesDecoded(page) {
  return page.evaluate(async () => {
    let frames = 0;
    for (const pc of window.__e2ePcs || []) {
      const report = await pc.getStats();
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") {
          frames += s.framesDecoded || 0;
        }
      });
    }
    return frames;
  });
}

/** Message-route lines `[route NAME]: JSON` in `log`, parsed. */
export function routeLines(log, route) {
  const prefix = `[route ${route}]: `;
  const out = [];
  for (const line of log.split("\n")) {
    const at = line.indexOf(prefix);
    if (at < 0) {
      continue;
    }
    const text = line.slice(at + prefix.length).trim();
    try {
      out.push({ text, json: JSON.parse(text) });
    } catch {
      // a route's own notices (failsafe, released ...) are not messages
    }
  }
  return out;
}

/** Console messages of type error, with their source URL. */
export function collectConsoleErrors(page) {
  const errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") {
      errors.push({ text: msg.text(), url: msg.location().url || "" });
    }
  });
  return errors;
}
