// rtcbot.Gamepad and rtcbot.setGamepadRate as an RTCBot page uses them
// (`gp.subscribe(conn.put_nowait)`), against a real daemon whose
// peers.messages go to the log. The browser's navigator.getGamepads() is
// replaced by a fake pad (page.addInitScript) whose axes and buttons the test
// moves; what counts is what arrives at the daemon: RTCBot's
// {"value":…,"type":"axisN"|"btnN"} messages, only on change, at no more than
// the poll rate (10 Hz by default, setGamepadRate(hz) to change it).

import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";
import * as user from "./userpage.mjs";

const GAMEPAD_PAGE = `<html>
  <head>
    <title>RTCBot: Gamepad</title>
    <script crossorigin src="/rtcbot.js"></script>
  </head>
  <body>
    <p>Press a button on your gamepad to start.</p>
    <script>
      var conn = new rtcbot.RTCConnection();

      var gp = new rtcbot.Gamepad();
      gp.subscribe(conn.put_nowait);

      async function connect() {
        let offer = await conn.getLocalDescription();
        let response = await fetch("/connect", {
          method: "POST",
          cache: "no-cache",
          body: JSON.stringify(offer)
        });
        await conn.setRemoteDescription(await response.json());
        console.log("Ready!");
      }
      connect();
    </script>
  </body>
</html>
`;

const CONFIG = `[daemon]
listen = 127.0.0.1:0
web-root = WEBROOT

[route pads]
from = peers.messages
to = log
`;

const { test, failures } = e2e.createSuite();
let webRoot;
let daemon;
let viewer;
let page;
let consoleErrors;

before(async () => {
  webRoot = await user.makeWebRoot({ "index.html": GAMEPAD_PAGE });
  daemon = await e2e.startDaemon({ name: "gamepad", config: CONFIG.replace("WEBROOT", webRoot.dir) });
  viewer = await e2e.launchViewer("gamepad");
  page = viewer.page;
  consoleErrors = user.collectConsoleErrors(page);
  // A standard-mapping pad in slot 0; each getGamepads() call returns a
  // fresh snapshot, as Chromium does.
  await page.addInitScript(() => {
    const pad = {
      axes: [0, 0, 0, 0],
      buttons: Array.from({ length: 17 }, () => ({ pressed: false, touched: false, value: 0 })),
    };
    window.__pad = pad;
    Object.defineProperty(navigator, "getGamepads", {
      configurable: true,
      value: () => [
        {
          id: "e2e fake pad (STANDARD GAMEPAD)",
          index: 0,
          connected: true,
          mapping: "standard",
          timestamp: performance.now(),
          axes: pad.axes.slice(),
          buttons: pad.buttons.map((b) => ({ ...b })),
        },
        null,
        null,
        null,
      ],
    });
  });
});

after(async () => {
  await e2e.saveArtifacts("gamepad", { daemon, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  await daemon?.stop();
  await webRoot?.remove();
});

/** `[route pads]` messages logged after character `from` of the daemon log, with log times (ms). */
function padMessages(from) {
  const out = [];
  for (const line of daemon.log().slice(from).split("\n")) {
    const m = line.match(/(\d\d):(\d\d):(\d\d)\.(\d\d\d): \[route pads\]: (.*)$/);
    if (m) {
      const ms = ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]);
      out.push({ ms, text: m[5], json: JSON.parse(m[5]) });
    }
  }
  return out;
}

function setButton(index, pressed, value = pressed ? 1 : 0) {
  return page.evaluate(([i, p, v]) => Object.assign(window.__pad.buttons[i], { pressed: p, touched: p, value: v }), [
    index,
    pressed,
    value,
  ]);
}

/** Moves axis `axis` to sign*(k+1)/100 every `periodMs` for `durationMs`; returns the values set. */
function sweepAxis(axis, sign, periodMs, durationMs) {
  return page.evaluate(
    ([axis, sign, periodMs, durationMs]) =>
      new Promise((resolve) => {
        const values = [];
        const started = performance.now();
        const timer = setInterval(() => {
          const v = (sign * (values.length + 1)) / 100;
          window.__pad.axes[axis] = v;
          values.push(v);
          if (performance.now() - started >= durationMs - periodMs / 2) {
            clearInterval(timer);
            resolve(values);
          }
        }, periodMs);
      }),
    [axis, sign, periodMs, durationMs]
  );
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

/** Sweeps an axis, waits for its last value at the daemon; returns {values, got, gaps}. */
async function sweepAndCollect(axis, sign) {
  const from = daemon.log().length;
  const values = await sweepAxis(axis, sign, 50, 2000);
  const last = values.at(-1);
  const got = await e2e.waitFor(`axis${axis} = ${last} at the daemon`, () => {
    const msgs = padMessages(from).filter((m) => m.json.type === `axis${axis}`);
    return msgs.length && Math.abs(msgs.at(-1).json.value - last) < 1e-9 ? msgs : null;
  });
  const gaps = got.slice(1).map((m, i) => m.ms - got[i].ms);
  console.log(
    `# axis${axis}: ${values.length} changes in 2 s -> ${got.length} messages, median gap ${median(gaps)} ms`
  );
  // Each message is a change, in order, of a value the pad really had.
  const index = got.map((m) => values.findIndex((v) => Math.abs(v - m.json.value) < 1e-9));
  assert.ok(index.every((i) => i >= 0), `values the pad had: ${got.map((m) => m.text)}`);
  assert.ok(index.every((i, k) => k === 0 || i > index[k - 1]), `each message a new value: ${index}`);
  assert.deepEqual(Object.keys(got[0].json), ["value", "type"], `RTCBot's shape: ${got[0].text}`);
  return { values, got, gaps };
}

test("the page connects; a button press arrives as RTCBot's btnN message", { timeout: 60000 }, async () => {
  await page.goto(daemon.url, { waitUntil: "load" });
  await e2e.waitFor("console 'Ready!'", () => viewer.consoleLines.includes("log: Ready!"));
  const from = daemon.log().length;
  // The first poll only records a baseline, so keep pressing until the
  // press arrives (the channel opens after the page's first polls).
  await setButton(0, true);
  const pressed = await e2e.waitFor("btn0 pressed at the daemon", () =>
    padMessages(from).find((m) => m.json.type === "btn0")
  );
  assert.equal(pressed.text, '{"value":true,"type":"btn0"}');
  await setButton(0, false);
  await setButton(3, true);
  const more = await e2e.waitFor("btn0 released and btn3 pressed", () => {
    const msgs = padMessages(from);
    return msgs.length >= 3 ? msgs : null;
  });
  assert.deepEqual(
    more.map((m) => m.text),
    ['{"value":true,"type":"btn0"}', '{"value":false,"type":"btn0"}', '{"value":true,"type":"btn3"}']
  );
  await setButton(3, false);
  await e2e.waitFor("btn3 released", () => padMessages(from).some((m) => m.text === '{"value":false,"type":"btn3"}'));
});

test("default 10 Hz: an axis changing every 50 ms for 2 s gives ~20 messages, not 40", { timeout: 60000 }, async () => {
  const { got, gaps } = await sweepAndCollect(0, 1);
  assert.ok(got.length >= 15 && got.length <= 25, `about 20 axis0 messages at 10 Hz, got ${got.length}`);
  const gap = median(gaps);
  assert.ok(gap >= 70 && gap <= 140, `median gap about 100 ms, got ${gap}`);
});

test("setGamepadRate(5): the same sweep gives ~10 messages", { timeout: 60000 }, async () => {
  await page.evaluate(() => rtcbot.setGamepadRate(5));
  const { got, gaps } = await sweepAndCollect(1, -1);
  assert.ok(got.length >= 7 && got.length <= 13, `about 10 axis1 messages at 5 Hz, got ${got.length}`);
  const gap = median(gaps);
  assert.ok(gap >= 150 && gap <= 260, `median gap about 200 ms, got ${gap}`);
});

test("nothing is sent while nothing changes, nor for an analog button value alone", { timeout: 60000 }, async () => {
  await page.evaluate(() => rtcbot.setGamepadRate(20));
  const from = daemon.log().length;
  // A half-pulled trigger that does not count as pressed: RTCBot sends only
  // `pressed`, so no message. Then a marker change proves the poller ran.
  await setButton(7, false, 0.4);
  await page.waitForTimeout(1000); // 20 polls of a pad that does not change
  await page.evaluate(() => {
    window.__pad.axes[2] = 0.75;
  });
  const msgs = await e2e.waitFor("the marker axis2 change", () => {
    const m = padMessages(from);
    return m.some((x) => x.json.type === "axis2") ? m : null;
  });
  assert.deepEqual(
    msgs.map((m) => m.text),
    ['{"value":0.75,"type":"axis2"}'],
    "only the marker: no message for an unchanged pad or an analog value"
  );
});

test("no console errors, no page errors", async () => {
  assert.deepEqual(viewer.pageErrors, [], "uncaught page errors");
  // Chromium asks for /favicon.ico by itself; the web root has none.
  const errors = consoleErrors.filter((e) => new URL(e.url || "about:blank").pathname !== "/favicon.ico");
  assert.deepEqual(errors, [], "console errors");
});
