// Chromium's REMB reaches the shared encoder: the answer offers goog-remb
// (and no transport-cc), so Chromium estimates what it receives and reports
// it; /metrics shows the estimate per peer, and with bitrate-mode = min-peer
// the encoder's bitrate stays within [100 kbit/s, bitrate] and follows it.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";

const CONFIG = `[daemon]
listen = 127.0.0.1:0

[source camera]
type = test-video
width = 640
height = 480
framerate = 30
pattern = snow
overlay = none
bitrate = 1500
bitrate-mode = min-peer

[route media]
from = camera
to = peers
`;

const { test, failures } = e2e.createSuite();
let daemon;
let viewer;

before(async () => {
  daemon = await e2e.startDaemon({ config: CONFIG, name: "congestion" });
  viewer = await e2e.launchViewer("viewer");
});

after(async () => {
  await e2e.saveArtifacts("congestion", { daemon, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  await daemon?.stop();
});

async function sample(name, labels) {
  const res = await fetch(new URL("metrics", daemon.url), { cache: "no-store" });
  const text = await res.text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.split(" ")[1]) : null;
}

test("Chromium sends REMB; min-peer keeps the encoder within its bounds", { timeout: 120000 }, async () => {
  await e2e.openApp(viewer, daemon.url);
  await e2e.waitFramesRising(viewer.page, { rise: 30 });
  const estimate = await e2e.waitFor(
    "rtcbotd_peer_bitrate_estimate_kbps for peer 1",
    () => sample("rtcbotd_peer_bitrate_estimate_kbps", 'peer="1",source="camera",kind="video"'),
    { timeoutMs: 30000 }
  );
  const bitrate = await sample("rtcbotd_source_bitrate_kbps", 'source="camera",codec="H264",encoder="x264enc"');
  console.log(`Chromium's REMB: ${estimate} kbit/s; encoder at ${bitrate} kbit/s`);
  assert.ok(bitrate >= 100 && bitrate <= 1500, `encoder bitrate ${bitrate}`);
  assert.ok(bitrate <= Math.max(estimate, 100) * 1.16 || bitrate === 1500, `bitrate ${bitrate} vs estimate ${estimate}`);
});
