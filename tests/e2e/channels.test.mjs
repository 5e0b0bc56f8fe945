// Named data channels made with rtcbot.js's addDataChannel, against the
// daemon: an unordered, no-retransmit "control" channel reaches a route
// `from = peers.channel.control`, which echoes on `peers.channel.control`;
// "default" traffic does not reach that route.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";

const CONFIG = `[daemon]
listen = 127.0.0.1:0
control = shared

[route control-echo]
from = peers.channel.control
to = peers.channel.control
`;

const { test, failures } = e2e.createSuite();
let daemon;
let viewer;

before(async () => {
  daemon = await e2e.startDaemon({ name: "channels", config: CONFIG });
  viewer = await e2e.launchViewer("channels");
  // A document of the daemon's origin (fetch to /connect is same-origin),
  // with the daemon's own rtcbot.js and no app.js.
  await viewer.page.goto(new URL("healthz", daemon.url).href);
  await viewer.page.addScriptTag({ url: new URL("rtcbot.js", daemon.url).href });
});

after(async () => {
  await e2e.saveArtifacts("channels", { daemon, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  await daemon?.stop();
});

test("a message on an unordered 'control' channel comes back on 'control' only", { timeout: 60000 }, async () => {
  const result = await viewer.page.evaluate(async () => {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const conn = new rtcbot.RTCConnection();
    const control = conn.addDataChannel("control", { ordered: false, maxRetransmits: 0 });
    const onControl = [];
    control.subscribe((m) => onControl.push(m));
    const onConn = [];
    conn.subscribe((m) => onConn.push(m));

    const offer = await conn.getLocalDescription();
    const res = await fetch("/connect", { method: "POST", body: JSON.stringify(offer) });
    await conn.setRemoteDescription(await res.json());
    const deadline = Date.now() + 20000;
    while (control.readyState !== "open" && Date.now() < deadline) {
      await sleep(20);
    }
    const openedAs = control.readyState;

    // No retransmits: send until one comes back (on loopback the first does).
    let sent = 0;
    while (onControl.length === 0 && Date.now() < deadline) {
      control.put_nowait({ type: "axis0", value: 0.25, n: sent++ });
      await sleep(100);
    }
    const echoed = onControl.slice();
    // "default" does not feed peers.channel.control: nothing comes back.
    const before = onConn.length;
    conn.put_nowait({ type: "axis0", value: -1, on: "default" });
    await sleep(700);
    const afterDefault = onConn.slice(before);
    await conn.close();
    return { openedAs, sent, echoed, onConnSawEcho: onConn.includes(echoed[0]), afterDefault };
  });
  assert.equal(result.openedAs, "open");
  assert.ok(result.echoed.length >= 1, `an echo on control after ${result.sent} sends`);
  const first = JSON.parse(result.echoed[0]);
  assert.deepEqual({ type: first.type, value: first.value }, { type: "axis0", value: 0.25 });
  assert.ok(result.onConnSawEcho, "conn.subscribe() gets the control channel's messages too");
  assert.deepEqual(result.afterDefault, [], "a message on default is not routed from peers.channel.control");
  assert.ok(daemon.alive());
});
