// Driving a robot from the built-in page, down to the bytes on its serial
// port: a socat pty pair stands in for an Arduino (the daemon writes to one
// end, the test reads the other), the daemon maps WASD/arrow/axis messages to
// struct.pack("<hh", forward, leftright) with a 500 ms failsafe, and headless
// Chromium presses keys, drags the touch joystick and moves a (fake) gamepad.
// With `control = single` a second page only watches.

import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";
import { startPtyPair } from "./pty.mjs";

const MAP =
  "forward=key.w*255+key.ArrowUp*255-key.s*255-key.ArrowDown*255+axis.1*-255,deadzone=20,clamp=-255:255,round " +
  "leftright=key.d*255+key.ArrowRight*255-key.a*255-key.ArrowLeft*255+axis.0*255,deadzone=20,clamp=-255:255,round";
const FAILSAFE_MS = 500;
const HOLD_MS = 1500; // longer than the failsafe: only the alive heartbeat keeps it going

const config = (robot) => `[daemon]
listen = 127.0.0.1:0
max-peers = 4
control = single

[source camera]
type = test-video
width = 320
height = 240
framerate = 15

[route media]
from = camera
to = peers

[sink arduino]
type = serial
device = ${robot}
write-format = <hh
write-keys = forward;leftright

[route drive]
from = peers.messages
to = arduino
map = ${MAP}
failsafe = ${FAILSAFE_MS}ms {"forward":0,"leftright":0}
`;

// A gamepad the page can see: navigator.getGamepads() returns window.__pad.
const FAKE_GAMEPAD = () => {
  window.__pad = null;
  Object.defineProperty(navigator, "getGamepads", { value: () => [window.__pad], configurable: true });
};

const { test, failures } = e2e.createSuite();
let pty;
let daemon;
let driver;
let watcher;

before(async () => {
  pty = await startPtyPair();
  daemon = await e2e.startDaemon({ name: "drive", config: config(pty.robot) });
  driver = await e2e.launchViewer("driver");
  watcher = await e2e.launchViewer("watcher");
  await watcher.page.addInitScript(FAKE_GAMEPAD);
});

after(async () => {
  await e2e.saveArtifacts("drive", { daemon, viewers: [driver, watcher], failed: failures.length > 0 });
  if (failures.length > 0 && pty) {
    console.error(`---- pty records ----\n${pty.describe()}`);
  }
  await Promise.all([driver?.close(), watcher?.close()]);
  await daemon?.stop();
  await pty?.close();
});

const hex = (r) => r.bytes.toString("hex").replace(/(..)(?!$)/g, "$1 ");
const timeline = (records, t0) => records.map((r) => `+${r.at - t0}ms ${hex(r)}`).join(", ");

/** Records the page's long tasks (a stalled page misses heartbeats): for failure messages. */
function watchLongTasks(page) {
  return page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        window.__longTasks.push(`${Math.round(e.duration)} ms at ${Math.round(e.startTime)}`);
      }
    }).observe({ type: "longtask" });
  });
}

async function longTasks(page) {
  const tasks = await page.evaluate(() => window.__longTasks.splice(0)).catch(() => []);
  return tasks.length ? `; long tasks in the page: ${tasks.join(", ")}` : "; no long task in the page";
}
const isNeutral = (r) => r.forward === 0 && r.leftright === 0;

async function role(viewer) {
  return viewer.page.evaluate(() => ({
    role: window.rtcbotdApp.role,
    driving: window.rtcbotdApp.driving,
    text: document.getElementById("drive-role").textContent,
  }));
}

/** Waits until nothing has arrived on the pty for `quietMs`, then forgets what did. */
async function settle(quietMs = FAILSAFE_MS + 400) {
  await e2e.waitFor(`${quietMs} ms without bytes on the pty`, () => pty.quietFor(quietMs), { timeoutMs: 15000, intervalMs: 50 });
  pty.skip();
}

/** Presses `key`, checks the first record, holds, checks nothing neutral came, releases. */
async function pressAndHold(page, key, expected) {
  await settle();
  const pressedAt = Date.now();
  await page.keyboard.down(key);
  let during;
  let first;
  try {
    first = await pty.next({ timeoutMs: 5000 });
    assert.equal(hex(first), expected, `first bytes after pressing ${key}`);
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    during = pty.take();
    assert.deepEqual(
      during.filter(isNeutral).map(hex),
      [],
      `no neutral command while ${key} is held for ${HOLD_MS} ms (${timeline(during, first.at)}${await longTasks(page)})`
    );
  } catch (err) {
    await page.keyboard.up(key);
    throw err;
  }
  const latency = first.at - pressedAt;
  const releasedAt = Date.now();
  await page.keyboard.up(key);
  const release = await pty.next({ timeoutMs: 5000 });
  assert.equal(hex(release), "00 00 00 00", `bytes after releasing ${key}`);
  return { latency, releaseLatency: release.at - releasedAt, during: during.length };
}

test("the driver page goes live and is told it drives", { timeout: 90000 }, async () => {
  await e2e.openApp(driver, daemon.url);
  const r = await e2e.waitFor("role driver", async () => {
    const v = await role(driver);
    return v.role === "driver" ? v : null;
  });
  assert.match(r.text, /^Driving/);
  assert.equal(r.driving, true);
  await watchLongTasks(driver.page);
  const logged = await driver.page.$$eval("#log li code", (codes) => codes.map((c) => c.textContent));
  assert.deepEqual(logged, [], "role messages are not shown in the message log");
});

test("w: ff 00 00 00 at once, kept for 1.5 s by the heartbeat, 00 00 00 00 on release", { timeout: 60000 }, async () => {
  const held = driver.page.locator('#drive-keys [data-key="w"]');
  const w = await pressAndHold(driver.page, "w", "ff 00 00 00");
  console.log(`# w: first bytes ${w.latency} ms after keydown, release bytes ${w.releaseLatency} ms after keyup; ${w.during} records while held`);
  assert.equal(await held.evaluate((k) => k.classList.contains("held")), false, "the W key display is off again");

  const arrow = await pressAndHold(driver.page, "ArrowLeft", "00 00 01 ff");
  console.log(`# ArrowLeft: first bytes ${arrow.latency} ms after keydown`);
});

test("the key display lights while a key is held", { timeout: 30000 }, async () => {
  const page = driver.page;
  await page.keyboard.down("d");
  const lit = await page.$$eval("#drive-keys .held", (keys) => keys.map((k) => k.dataset.key));
  await e2e.ensureArtifactsDir();
  await page.locator("#drive").screenshot({ path: e2e.artifactPath("drive-panel-d-held.png"), animations: "disabled" });
  await page.keyboard.up("d");
  assert.deepEqual(lit, ["d"]);
  await pty.next({ timeoutMs: 5000 }); // 00 00 ff 00
  await pty.next({ timeoutMs: 5000 }); // 00 00 00 00
});

test("keys typed into the message box do not drive", { timeout: 30000 }, async () => {
  await settle();
  await driver.page.click("#message");
  await driver.page.keyboard.type("wasd");
  await new Promise((resolve) => setTimeout(resolve, 700));
  assert.deepEqual(pty.take().map(hex), [], "typing wrote nothing");
  assert.equal(await driver.page.inputValue("#message"), "wasd");
  await driver.page.fill("#message", "");
  await driver.page.locator("#message").blur();
});

test("the touch joystick dragged up drives forward, and back to neutral when let go", { timeout: 60000 }, async () => {
  const page = driver.page;
  await settle();
  const box = await page.locator("#stick").boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  let during;
  try {
    await page.mouse.move(cx, cy - box.height, { steps: 6 });
    const full = await pty.next({ timeoutMs: 5000, match: (r) => r.forward === 255 });
    assert.equal(full.leftright, 0, "straight up: no turn");
    assert.equal(hex(full), "ff 00 00 00");
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    during = pty.take();
    const seen = timeline(during, full.at) + (await longTasks(page));
    assert.ok(during.length >= 5, `the position is re-sent while held (${seen})`);
    assert.deepEqual(during.filter(isNeutral).map(hex), [], `no neutral command while the stick is held up (${seen})`);
  } catch (err) {
    await page.mouse.up();
    throw err;
  }
  const releasedAt = Date.now();
  await page.mouse.up();
  const release = await pty.next({ timeoutMs: 5000, match: isNeutral });
  console.log(`# joystick: neutral ${release.at - releasedAt} ms after the mouse was let go; ${during.length} records while held`);
  await new Promise((resolve) => setTimeout(resolve, 800));
  assert.deepEqual(pty.take().filter((r) => !isNeutral(r)).map(hex), [], "only neutral commands after the release");
  const knob = await page.$eval("#stick-knob", (k) => k.style.transform);
  assert.match(knob, /translate\(0px, 0px\)/, "the knob is back in the centre");
});

test("a second page watches: its keys and joystick write nothing", { timeout: 90000 }, async () => {
  await e2e.openApp(watcher, daemon.url);
  const r = await e2e.waitFor("role viewer", async () => {
    const v = await role(watcher);
    return v.role === "viewer" ? v : null;
  });
  assert.match(r.text, /Watching — someone else is driving/);
  assert.match(await watcher.page.textContent("#state"), /viewer only, someone else is driving/);
  assert.equal(r.driving, false);
  assert.equal((await role(driver)).role, "driver", "the first page still drives");
  assert.equal(await watcher.page.getAttribute("#stick", "aria-disabled"), "true");

  await settle();
  await watcher.page.keyboard.down("w");
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await watcher.page.keyboard.up("w");
  const box = await watcher.page.locator("#stick").boundingBox();
  await watcher.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await watcher.page.mouse.down();
  await watcher.page.mouse.move(box.x + box.width / 2, box.y - 20, { steps: 4 });
  await new Promise((resolve) => setTimeout(resolve, 700));
  await watcher.page.mouse.up();
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(pty.take().map(hex), [], "the watcher wrote nothing to the robot");
});

test("when the driver leaves, the watcher drives", { timeout: 60000 }, async () => {
  await driver.close();
  driver = null;
  const r = await e2e.waitFor(
    "the watcher's role becomes driver",
    async () => {
      const v = await role(watcher);
      return v.role === "driver" ? v : null;
    },
    { timeoutMs: 30000 }
  );
  assert.match(r.text, /^Driving/);
  await watchLongTasks(watcher.page);
  const w = await pressAndHold(watcher.page, "w", "ff 00 00 00");
  console.log(`# new driver: first bytes ${w.latency} ms after keydown`);
});

test("a gamepad: its id and axes are shown, its stick drives, unplugging it stops", { timeout: 60000 }, async () => {
  const page = watcher.page;
  const pad = (axes, pressed = []) =>
    page.evaluate(
      ([a, p]) => {
        window.__pad = a == null ? null : {
          id: "Fake Gamepad (STANDARD GAMEPAD)",
          axes: a,
          buttons: Array.from({ length: 4 }, (_, i) => ({ pressed: p.includes(i), value: p.includes(i) ? 1 : 0 })),
        };
      },
      [axes, pressed]
    );
  await settle();
  await pad([0, 0, 0, 0]); // the first poll is only a baseline
  await e2e.waitFor("the gamepad's id on the page", () =>
    page.textContent("#gamepad").then((t) => t.includes("Fake Gamepad"))
  );
  await pad([0.5, -1, 0, 0]);
  const first = await pty.next({ timeoutMs: 5000, match: (r) => r.forward === 255 });
  assert.equal(hex(first), "ff 00 80 00", "axis1 -1 and axis0 0.5: forward 255, leftright 128");
  const axes = await page.$$eval("#gamepad-axes li", (items) => items.map((i) => i.textContent));
  assert.deepEqual(axes.slice(0, 2), ["axis 0: +0.50", "axis 1: -1.00"]);
  await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
  const during = pty.take();
  assert.deepEqual(
    during.filter(isNeutral).map(hex),
    [],
    `no neutral command while the stick is held (${timeline(during, first.at)}${await longTasks(page)})`
  );

  await pad([0, 0, 0, 0]);
  await pty.next({ timeoutMs: 5000, match: isNeutral });
  await settle();

  await pad([0, -1, 0, 0]);
  await pty.next({ timeoutMs: 5000, match: (r) => r.forward === 255 });
  await pad(null); // unplugged while held: the page sends the release itself
  await pty.next({ timeoutMs: 5000, match: isNeutral });
  await new Promise((resolve) => setTimeout(resolve, 700));
  assert.deepEqual(pty.take().filter((r) => !isNeutral(r)).map(hex), [], "nothing but neutral after unplugging");
  assert.match(await page.textContent("#gamepad"), /No gamepad/);
});

test("the pages threw no error and the daemon is still running", () => {
  assert.deepEqual(watcher.pageErrors, [], "uncaught page errors");
  assert.ok(daemon.alive(), "rtcbotd is still running");
});
