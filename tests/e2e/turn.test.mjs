// TURN across networks with no route between them. Three namespaces made
// here: the robot (10.97.1.1), a TURN host reachable from both sides
// (10.97.1.3 and 10.97.2.3; it does not forward packets), and the viewer
// (10.97.2.2), whose only way to the robot's page is a TCP relay (socat) on
// the TURN host. The daemon's [daemon] ice-servers names coturn with
// ice-transport-policy = relay; rtcbot.js's connect() in Chromium takes the
// servers and the policy from GET /api/robot, decodes the camera, and its selected
// candidate pair's local candidate is "relay". Needs root, ip netns, coturn
// and socat; skipped otherwise.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as e2e from "./lib.mjs";
import * as netns from "./netns.mjs";

const ID = String(process.pid % 10000);
const NS = { robot: `rtcbotd-tr${ID}`, turn: `rtcbotd-tt${ID}`, viewer: `rtcbotd-tv${ID}` };
const PORT = 19000 + (process.pid % 1000);
const CONFIG = `[daemon]
listen = 10.97.1.1:${PORT}
token = turn-test-token-42
ice-servers = turn:robot:secret@10.97.1.3:3478
ice-transport-policy = relay

[source camera]
type = test-video
width = 320
height = 240
framerate = 30

[route media]
from = camera
to = peers
`;

const { test, failures } = e2e.createSuite();
const { sh } = netns;
let daemon;
let browser;
let helpers = [];
let tmp;
let skip = null;

/** robot —— turn —— viewer, two veth pairs; turn owns an address on each side. */
function makeNetwork() {
  netns.makeNamespaces(Object.values(NS));
  netns.link(NS.robot, `ar${ID}`, "10.97.1.1/24", NS.turn, `br${ID}`, "10.97.1.3/24");
  netns.link(NS.viewer, `av${ID}`, "10.97.2.2/24", NS.turn, `bv${ID}`, "10.97.2.3/24");
  // The viewer reaches the TURN server's robot-side address (the one the
  // robot's config names) through the TURN host, which owns it; packets for
  // the robot itself stop there: the TURN host does not forward.
  sh("ip", "-n", NS.viewer, "route", "add", "10.97.1.0/24", "via", "10.97.2.3");
  sh("ip", "netns", "exec", NS.turn, "sysctl", "-qw", "net.ipv4.ip_forward=0");
}

function startHelper(argv) {
  const child = netns.spawnIn(NS.turn, argv);
  helpers.push(child);
  return child;
}

before(async () => {
  if (process.getuid() !== 0 || !netns.have("ip") || !netns.have("turnserver") || !netns.have("socat")) {
    skip = "needs root, ip netns, coturn (turnserver) and socat";
    return;
  }
  makeNetwork();
  tmp = await mkdtemp(path.join(os.tmpdir(), "rtcbotd-turn-"));
  startHelper(["turnserver", "-n", "--listening-ip=10.97.1.3", "--listening-ip=10.97.2.3",
    "--relay-ip=10.97.1.3", "--listening-port=3478", "--lt-cred-mech", "--user=robot:secret",
    "--realm=robot.test", "--no-cli", "--no-tls", "--no-dtls", "--no-tcp-relay",
    `--pidfile=${tmp}/turn.pid`, "--log-file=stdout", "--simple-log"]);
  startHelper(["socat", `TCP-LISTEN:8080,bind=10.97.2.3,fork,reuseaddr`, `TCP:10.97.1.1:${PORT}`]);
  daemon = await e2e.startDaemon({ name: "turn", config: CONFIG, listen: `10.97.1.1:${PORT}`,
    prefix: ["ip", "netns", "exec", NS.robot] });
  // Chromium in the viewer's namespace, driven over a pipe (no TCP to it).
  browser = await netns.launchChromiumIn(NS.viewer, tmp, "10.97.2.3");
});

after(async () => {
  if (failures.length) {
    for (const h of helpers) {
      process.stderr.write(`--- helper ${h.spawnargs.slice(3, 4)} ---\n${h.log.slice(-3000)}\n`);
    }
    process.stderr.write(`--- rtcbotd ---\n${daemon?.log().slice(-5000)}\n`);
  }
  await browser?.close().catch(() => {});
  await daemon?.stop();
  for (const h of helpers) h.kill("SIGKILL");
  netns.removeNamespaces(Object.values(NS));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("no route between robot and viewer: video through TURN, relay candidates only", { timeout: 120000 }, async (t) => {
  if (skip) {
    t.skip(skip);
    return;
  }
  assert.throws(() => sh("ip", "netns", "exec", NS.viewer, "ping", "-c1", "-W1", "10.97.1.1"),
    "the viewer must not reach the robot directly");
  const page = await browser.newPage();
  await page.goto("http://10.97.2.3:8080/healthz");
  // The library's connect() takes the robot's servers and policy from /api/robot itself.
  const result = await page.evaluate(async () => {
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const rtcbot = await import("/rtcbot.mjs");
    const token = "turn-test-token-42";
    const robot = await (await fetch(`/api/robot?token=${token}`)).json();
    const conn = await rtcbot.connect("/connect", { token });
    const pc = conn.rtc.pc;
    let frames = 0;
    let local = null;
    for (let i = 0; i < 300 && frames < 60; i++) {
      await sleep(100);
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") frames = s.framesDecoded || 0;
        if (s.type === "transport" && s.selectedCandidatePairId) {
          const pair = stats.get(s.selectedCandidatePairId);
          local = pair && stats.get(pair.localCandidateId);
        }
      });
    }
    const config = pc.getConfiguration();
    await conn.close();
    return { frames, localType: local?.candidateType, policy: config.iceTransportPolicy,
      servers: config.iceServers.map((s) => [].concat(s.urls)[0]), robotPolicy: robot.iceTransportPolicy };
  });
  t.diagnostic(JSON.stringify(result));
  assert.equal(result.policy, "relay");
  assert.equal(result.robotPolicy, "relay");
  assert.deepEqual(result.servers, ["turn:10.97.1.3:3478"]);
  assert.ok(result.frames >= 60, `frames decoded through TURN: ${result.frames}`);
  assert.equal(result.localType, "relay");
});
