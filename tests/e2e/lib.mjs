// Shared helpers of rtcbotd's end-to-end tests: start a daemon with its own
// config, start headless Chromium viewers (one process each), poll with
// deadlines, read WebRTC stats and pixels. Loopback only: the daemon listens on
// 127.0.0.1, the page passes no ICE server, and Chromium resolves no host name.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inflateSync } from "node:zlib";
import { test } from "node:test";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, "../..");
export const RTCBOTD = path.resolve(process.env.RTCBOTD || path.join(REPO, "build/src/rtcbotd"));
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const BUILD_DIR = path.dirname(path.dirname(RTCBOTD));
/** Where screenshots and logs go: $E2E_ARTIFACTS, else BUILD/e2e-artifacts. */
export const ARTIFACTS = path.resolve(
  process.env.E2E_ARTIFACTS ||
    (existsSync(BUILD_DIR) ? path.join(BUILD_DIR, "e2e-artifacts") : path.join(os.tmpdir(), "rtcbotd-e2e-artifacts"))
);
const VERBOSE = Boolean(process.env.E2E_VERBOSE);

/** A small demo-shaped config: test video + tone to every peer, and an echo route. */
export const DEFAULT_CONFIG = `[daemon]
listen = 127.0.0.1:0
max-peers = 8

[source camera]
type = test-video
width = 640
height = 480
framerate = 30

[source tone]
type = test-audio

[route media]
from = camera;tone
to = peers

[route echo]
from = peers.messages
to = peers
`;

// Only the last --disable-features switch counts, so every feature goes here.
const DISABLED_FEATURES = [
  "WebRtcHideLocalIpsWithMdns", // real host candidates instead of .local names
  "Translate",
  "MediaRouter",
  "DialMediaRouteProvider",
  "OptimizationHints",
  "AutofillServerCommunication",
  "CertificateTransparencyComponentUpdater",
  "InterestFeedContentSuggestions",
  "PrivacySandboxSettings4",
].join(",");

export const CHROMIUM_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--autoplay-policy=no-user-gesture-required",
  "--allow-loopback-in-peer-connection",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-breakpad",
  "--disable-domain-reliability",
  "--disable-client-side-phishing-detection",
  "--no-first-run",
  "--no-default-browser-check",
  "--no-pings",
  "--metrics-recording-only",
  "--password-store=basic",
  "--disable-quic",
  "--use-fake-ui-for-media-stream",
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
  // Belt and braces: no name resolves, so nothing but 127.0.0.1 can be reached.
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
  "--window-size=1280,900",
  `--disable-features=${DISABLED_FEATURES}`,
];

/* ------------------------------------------------------------- utilities */

/**
 * Polls `fn` until it returns a truthy value (returned) or the deadline
 * passes (throws, naming `what` and the last value or error seen).
 */
export async function waitFor(what, fn, { timeoutMs = 30000, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) {
        return value;
      }
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves with the first match of `regex` in the child's `stream`, or rejects. */
function waitForOutput(child, stream, regex, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    let seen = "";
    const cleanup = () => {
      clearTimeout(timer);
      stream.off("data", onData);
      child.off("exit", onExit);
    };
    const onData = (chunk) => {
      seen += chunk.toString();
      const m = seen.match(regex);
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (code, signal) => {
      cleanup();
      reject(new Error(`${what} exited (code ${code}, signal ${signal}) before printing ${regex}:\n${seen}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} did not print ${regex} within ${timeoutMs} ms:\n${seen}`));
    }, timeoutMs);
    stream.on("data", onData);
    child.on("exit", onExit);
  });
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitExit(child, timeoutMs) {
  if (exited(child)) {
    return true;
  }
  const timer = new Promise((resolve) => setTimeout(resolve, timeoutMs, false));
  return Promise.race([once(child, "exit").then(() => true), timer]);
}

/**
 * node:test's `test` that remembers failures, so `after` hooks can dump
 * logs only when something went wrong.
 */
export function createSuite() {
  const failures = [];
  const e2eTest = (name, options, fn) => {
    if (typeof options === "function") {
      fn = options;
      options = {};
    }
    return test(name, options, async (t) => {
      try {
        await fn(t);
      } catch (err) {
        failures.push(name);
        throw err;
      }
    });
  };
  return { test: e2eTest, failures };
}

/* ---------------------------------------------------------------- daemon */

/**
 * Starts rtcbotd with `config` written to a temp dir, on `listen` (default:
 * an ephemeral loopback port). Resolves once it printed "listening on http://...".
 */
export async function startDaemon({ config = DEFAULT_CONFIG, name = "rtcbotd", listen = "127.0.0.1:0", prefix = [] } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "rtcbotd-e2e-"));
  const configPath = path.join(dir, "rtcbotd.conf");
  await writeFile(configPath, config);
  // `prefix` runs the daemon under a command, e.g. ["ip", "netns", "exec", NS].
  const argv = [...prefix, RTCBOTD, "--config", configPath, "--listen", listen];
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const collect = (chunk) => {
    log += chunk.toString();
    if (VERBOSE) {
      process.stderr.write(`[${name}] ${chunk}`);
    }
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const spawnError = once(child, "error").then(([err]) => {
    throw new Error(`cannot start ${RTCBOTD}: ${err.message} (build it with ninja -C build, or set RTCBOTD)`);
  });

  let url;
  try {
    const m = await Promise.race([
      waitForOutput(child, child.stderr, /listening on (http:\/\/[^\s/]+\/)/, 20000, "rtcbotd"),
      spawnError,
    ]);
    url = m[1];
  } catch (err) {
    if (!exited(child)) {
      child.kill("SIGKILL");
    }
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    url,
    child,
    name,
    log: () => log,
    /** true while the daemon process is still running */
    alive: () => !exited(child),
    /** GET /healthz as JSON. */
    async healthz() {
      const res = await fetch(new URL("healthz", url), { cache: "no-store" });
      if (!res.ok) {
        throw new Error(`GET /healthz: HTTP ${res.status}`);
      }
      return res.json();
    },
    /** SIGTERM, then SIGKILL after 10 s; returns {code, signal}. */
    async stop() {
      if (!exited(child)) {
        child.kill("SIGTERM");
        if (!(await waitExit(child, 10000))) {
          log += "\n[e2e] rtcbotd ignored SIGTERM for 10 s: SIGKILL\n";
          child.kill("SIGKILL");
          await waitExit(child, 5000);
        }
      }
      await rm(dir, { recursive: true, force: true });
      return { code: child.exitCode, signal: child.signalCode };
    },
  };
}

/* ---------------------------------------------------------------- viewer */

/**
 * Starts one headless Chromium process (its own profile, its own process
 * group) and attaches Playwright to it over CDP: we start it ourselves so
 * that our single --disable-features switch is the one that counts. `flags`
 * are added to CHROMIUM_FLAGS (e.g. --use-fake-device-for-media-stream).
 */
export async function launchViewer(name = "viewer", { flags = [] } = {}) {
  const profile = await mkdtemp(path.join(os.tmpdir(), "rtcbotd-chromium-"));
  const args = [
    ...CHROMIUM_FLAGS,
    ...flags,
    `--user-data-dir=${profile}`,
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "about:blank",
  ];
  const child = spawn(CHROMIUM, args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk.toString();
    if (VERBOSE) {
      process.stderr.write(`[${name}] ${chunk}`);
    }
  });

  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };

  let browser;
  try {
    const m = await waitForOutput(child, child.stderr, /DevTools listening on (ws:\/\/\S+)/, 30000, `chromium (${name})`);
    browser = await chromium.connectOverCDP(m[1], { timeout: 30000 });
  } catch (err) {
    killGroup("SIGKILL");
    await waitExit(child, 5000);
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  const context = browser.contexts()[0];
  const page = await context.newPage();
  const consoleLines = [];
  const pageErrors = [];
  const requests = [];
  page.on("console", (msg) => consoleLines.push(`${msg.type()}: ${msg.text()}`));
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  page.on("request", (req) => requests.push(req.url()));

  return {
    name,
    browser,
    page,
    child,
    pid: child.pid,
    consoleLines,
    pageErrors,
    requests,
    stderr: () => stderr,
    /** SIGKILL to the whole browser process group: no goodbye to anyone. */
    async kill() {
      killGroup("SIGKILL");
      await waitExit(child, 10000);
    },
    /** Disconnects Playwright, stops the browser, removes its profile. */
    async close() {
      await browser.close().catch(() => {});
      if (!exited(child)) {
        killGroup("SIGTERM");
        if (!(await waitExit(child, 5000))) {
          killGroup("SIGKILL");
          await waitExit(child, 5000);
        }
      } else {
        killGroup("SIGKILL"); // leftover helpers, if any
      }
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/* ------------------------------------------------------------------ page */

/** Opens the daemon's page and waits until it reports "live". */
export async function openApp(viewer, daemonUrl, { timeoutMs = 45000 } = {}) {
  await viewer.page.goto(daemonUrl, { waitUntil: "load", timeout: timeoutMs });
  await viewer.page.waitForFunction(
    () => window.rtcbotdApp && window.rtcbotdApp.state === "live",
    null,
    { timeout: timeoutMs, polling: 100 }
  );
}

/** Sum of inbound-rtp video framesDecoded of the page's current connection. */
export function framesDecoded(page) {
  return page.evaluate(async () => {
    const conn = window.rtcbotdApp && window.rtcbotdApp.conn;
    if (!conn) {
      return 0;
    }
    const report = await conn.pc.getStats();
    let frames = 0;
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") {
        frames += s.framesDecoded || 0;
      }
    });
    return frames;
  });
}

/**
 * Waits for a first decoded frame, then for `rise` more: proves frames keep
 * coming (not a single key frame). Returns {first, last}.
 */
export async function waitFramesRising(page, { rise = 30, timeoutMs = 45000 } = {}) {
  const first = await waitFor("a first decoded video frame", () => framesDecoded(page), { timeoutMs });
  const last = await waitFor(
    `framesDecoded to rise by ${rise} from ${first}`,
    async () => {
      const n = await framesDecoded(page);
      return n >= first + rise ? n : 0;
    },
    { timeoutMs }
  );
  return { first, last };
}

/** Draws the current video frame into a canvas; returns luma statistics. */
export function videoFrameLuma(page) {
  return page.evaluate(() => {
    const video = document.getElementById("video");
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) {
      return null;
    }
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, w, h);
    const { data } = ctx.getImageData(0, 0, w, h);
    let sum = 0;
    let bright = 0;
    for (let i = 0; i < data.length; i += 4) {
      const y = 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
      sum += y;
      if (y > 48) {
        bright += 1;
      }
    }
    const n = data.length / 4;
    return { width: w, height: h, mean: sum / n, brightFraction: bright / n };
  });
}

/* ------------------------------------------------------------------- png */

/** Decodes an 8-bit, non-interlaced RGB/RGBA/grey PNG (what Chromium writes). */
export function decodePng(buf) {
  const signature = "89504e470d0a1a0a";
  if (buf.subarray(0, 8).toString("hex") !== signature) {
    throw new Error("not a PNG");
  }
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat = [];
  for (let off = 8; off < buf.length; ) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString("latin1", off + 4, off + 8);
    const body = buf.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8];
      const colorType = body[9];
      channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
      if (depth !== 8 || !channels || body[12] !== 0) {
        throw new Error(`unsupported PNG: depth ${depth}, color type ${colorType}, interlace ${body[12]}`);
      }
    } else if (type === "IDAT") {
      idat.push(body);
    } else if (type === "IEND") {
      break;
    }
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[row + x - channels] : 0;
      const b = y > 0 ? out[row - stride + x] : 0;
      const c = x >= channels && y > 0 ? out[row - stride + x - channels] : 0;
      let v = src[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[row + x] = v & 0xff;
    }
  }
  return { width, height, channels, data: out };
}

/** Mean luma and fraction of pixels brighter than 48 of a decoded PNG. */
export function pngLuma(img) {
  const { data, channels } = img;
  let sum = 0;
  let bright = 0;
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    const y =
      channels >= 3 ? 0.2126 * data[p] + 0.7152 * data[p + 1] + 0.0722 * data[p + 2] : data[p];
    sum += y;
    if (y > 48) {
      bright += 1;
    }
  }
  return { width: img.width, height: img.height, mean: sum / n, brightFraction: bright / n };
}

/* ------------------------------------------------------------- artifacts */

/** Writes logs (and prints their tails when the suite failed). */
export async function saveArtifacts(prefix, { daemon = null, viewers = [], failed = false } = {}) {
  await mkdir(ARTIFACTS, { recursive: true });
  const files = [];
  if (daemon) {
    const file = path.join(ARTIFACTS, `${prefix}-rtcbotd.log`);
    await writeFile(file, daemon.log());
    files.push(file);
  }
  for (const v of viewers.filter(Boolean)) {
    const file = path.join(ARTIFACTS, `${prefix}-${v.name}-console.log`);
    const text = [
      "# page console",
      ...v.consoleLines,
      "# page errors",
      ...v.pageErrors,
      "# requests",
      ...v.requests,
    ].join("\n");
    await writeFile(file, text + "\n");
    files.push(file);
  }
  if (failed) {
    if (daemon) {
      const tail = daemon.log().split("\n").slice(-60).join("\n");
      console.error(`---- last lines of the rtcbotd log ----\n${tail}`);
    }
    for (const v of viewers.filter(Boolean)) {
      console.error(`---- ${v.name} console ----\n${v.consoleLines.slice(-30).join("\n")}`);
    }
    console.error(`logs: ${files.join(" ")}`);
  }
}

export function artifactPath(name) {
  return path.join(ARTIFACTS, name);
}

export async function ensureArtifactsDir() {
  await mkdir(ARTIFACTS, { recursive: true });
}
