// Scale-out through an SFU: the daemon's rtp sink sends its one encoded
// stream to Janus's Streaming plugin, and three Chromium viewers watch it
// there, while the daemon itself has no WebRTC peer at all. Two namespaces
// made here: the robot (10.96.0.1) and the SFU host (10.96.0.2) where Janus
// and the viewers run (Janus does not gather on loopback). Janus's config is
// written by the test (docs/scaling.md shows the same mountpoint). Needs
// root, ip netns and Debian's janus; skipped otherwise.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as e2e from "./lib.mjs";
import * as netns from "./netns.mjs";

const ID = String(process.pid % 10000);
const NS = { robot: `rtcbotd-sr${ID}`, sfu: `rtcbotd-ss${ID}` };
const JANUS_LIB = "/usr/lib/x86_64-linux-gnu/janus";
const PORT = 19500 + (process.pid % 400);
const VIEWERS = 3;
const CONFIG = `[daemon]
listen = 10.96.0.1:${PORT}
token = sfu-test-token-0042

[source camera]
type = test-video
width = 320
height = 240
framerate = 30
encoder = vp8

[sink janus]
type = rtp
host = 10.96.0.2
video-port = 5004

[route scale-out]
from = camera
to = janus
`;

const { test, failures } = e2e.createSuite();
const { sh } = netns;
let daemon;
let janus;
let browser;
let tmp;
let skip = null;

/** robot —— sfu, one veth pair. */
function makeNetwork() {
  netns.makeNamespaces(Object.values(NS));
  netns.link(NS.robot, `sr${ID}`, "10.96.0.1/24", NS.sfu, `ss${ID}`, "10.96.0.2/24");
}

/** Janus with only the Streaming plugin and the HTTP transport, on 10.96.0.2. */
async function writeJanusConfig(dir) {
  await mkdir(path.join(dir, "plugins"));
  await mkdir(path.join(dir, "transports"));
  await symlink(path.join(JANUS_LIB, "plugins/libjanus_streaming.so"), path.join(dir, "plugins/libjanus_streaming.so"));
  await symlink(path.join(JANUS_LIB, "transports/libjanus_http.so"), path.join(dir, "transports/libjanus_http.so"));
  await writeFile(path.join(dir, "janus.jcfg"), `general: {
  configs_folder = "${dir}"
  plugins_folder = "${dir}/plugins"
  transports_folder = "${dir}/transports"
  events_folder = "${dir}/none"
  loggers_folder = "${dir}/none"
  debug_level = 4
  log_to_stdout = true
}
nat: {
  ice_enforce_list = "10.96.0.2"
  ignore_mdns = true
}
media: {
  rtp_port_range = "30000-31000"
}
`);
  await writeFile(path.join(dir, "janus.transport.http.jcfg"), `general: {
  json = "indented"
  base_path = "/janus"
  http = true
  port = 8088
  ip = "10.96.0.2"
}
admin: {
  admin_http = false
}
`);
  await writeFile(path.join(dir, "janus.plugin.streaming.jcfg"), `rtcbotd: {
  type = "rtp"
  id = 1
  description = "rtcbotd camera"
  media = (
    { type = "video", mid = "v", port = 5004, pt = 96, codec = "vp8" }
  )
}
`);
}

before(async () => {
  if (process.getuid() !== 0 || !existsSync("/usr/bin/janus") || !existsSync(`${JANUS_LIB}/plugins/libjanus_streaming.so`)) {
    skip = "needs root, ip netns and Debian's janus";
    return;
  }
  makeNetwork();
  tmp = await mkdtemp(path.join(os.tmpdir(), "rtcbotd-sfu-"));
  await writeJanusConfig(tmp);
  janus = netns.spawnIn(NS.sfu, ["janus", "-F", tmp, "-C", path.join(tmp, "janus.jcfg")]);
  await e2e.waitFor("Janus's HTTP transport", () => janus.log.includes("HTTP webserver started"), { timeoutMs: 20000 });
  daemon = await e2e.startDaemon({ name: "sfu", config: CONFIG, listen: `10.96.0.1:${PORT}`,
    prefix: ["ip", "netns", "exec", NS.robot] });
  browser = await netns.launchChromiumIn(NS.sfu, tmp, "10.96.0.2");
});

after(async () => {
  if (failures.length) {
    process.stderr.write(`--- janus ---\n${janus?.log.slice(-6000)}\n--- rtcbotd ---\n${daemon?.log().slice(-5000)}\n`);
  }
  await browser?.close().catch(() => {});
  await daemon?.stop();
  janus?.kill("SIGKILL");
  netns.removeNamespaces(Object.values(NS));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** In a page on Janus's origin: the Streaming plugin's watch/start dance over HTTP. */
async function watch(page) {
  return page.evaluate(async () => {
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const tx = () => Math.random().toString(36).slice(2);
    const post = async (url, body) => (await fetch(url, { method: "POST", body: JSON.stringify({ ...body, transaction: tx() }) })).json();
    const session = (await post("/janus", { janus: "create" })).data.id;
    const handle = (await post(`/janus/${session}`, { janus: "attach", plugin: "janus.plugin.streaming" })).data.id;
    await post(`/janus/${session}/${handle}`, { janus: "message", body: { request: "watch", id: 1 } });
    let offer = null;
    for (let i = 0; i < 20 && !offer; i++) {
      const events = await (await fetch(`/janus/${session}?maxev=5`)).json();
      for (const ev of [].concat(events)) if (ev.jsep) offer = ev.jsep;
    }
    if (!offer) throw new Error("Janus sent no offer");
    const pc = new RTCPeerConnection();
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    for (let i = 0; i < 50 && pc.iceGatheringState !== "complete"; i++) await sleep(100);
    await post(`/janus/${session}/${handle}`, { janus: "message", body: { request: "start" },
      jsep: { type: "answer", sdp: pc.localDescription.sdp } });
    const keepAlive = setInterval(() => fetch(`/janus/${session}?maxev=1`), 5000);
    let frames = 0;
    for (let i = 0; i < 200 && frames < 60; i++) {
      await sleep(100);
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") frames = s.framesDecoded || 0;
      });
    }
    clearInterval(keepAlive);
    window.janusPc = pc;
    return frames;
  });
}

test(`rtp sink → Janus → ${VIEWERS} Chromium viewers; the daemon sends one stream`, { timeout: 150000 }, async (t) => {
  if (skip) {
    t.skip(skip);
    return;
  }
  // The robot's uplink: bytes its only interface sends, over a few seconds.
  const txBytes = () => Number(sh("ip", "netns", "exec", NS.robot, "cat", `/sys/class/net/sr${ID}/statistics/tx_bytes`));
  const uplink = async () => {
    const before = txBytes();
    await new Promise((r) => setTimeout(r, 3000));
    return ((txBytes() - before) * 8) / 3000; // kbit/s
  };
  const pages = [];
  for (let i = 0; i < VIEWERS; i++) {
    const page = await browser.newPage();
    await page.goto("http://10.96.0.2:8088/janus/info");
    pages.push(page);
  }
  const one = await watch(pages[0]);
  const withOne = await uplink();
  const frames = [one, ...(await Promise.all(pages.slice(1).map(watch)))];
  const withAll = await uplink();
  t.diagnostic(`frames decoded per viewer: ${frames.join(", ")}`);
  t.diagnostic(`robot uplink: ${withOne.toFixed(0)} kbit/s with 1 viewer, ${withAll.toFixed(0)} kbit/s with ${VIEWERS}`);
  for (const f of frames) assert.ok(f >= 60, `every viewer decodes through Janus: ${frames}`);
  // Direct viewers would triple it; the encoder's own variation stays well below 2x.
  assert.ok(withAll < withOne * 2, `the uplink stays flat: ${withOne} → ${withAll} kbit/s`);
  const health = JSON.parse(sh("ip", "netns", "exec", NS.robot, "/usr/bin/python3", "-c",
    "import sys, urllib.request as u; r = u.Request(sys.argv[1], headers={'Authorization': 'Bearer ' + sys.argv[2]}); print(u.urlopen(r).read().decode())",
    `http://10.96.0.1:${PORT}/healthz`, "sfu-test-token-0042"));
  t.diagnostic(`daemon: ${health.peers} peers; sinks: ${JSON.stringify(health.sinks)}`);
  assert.equal(health.peers, 0, "the daemon has no WebRTC peer: Janus serves the viewers");
});
