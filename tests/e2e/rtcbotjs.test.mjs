// rtcbot.js (built from web/rtcbot.mjs) on its own, in real Chromium, without the daemon: two
// RTCConnections in one page (the offerer as a viewer page uses it, the
// answerer as RTCBot's robot side would) checked against RTCBot's API and
// wire behaviour (shared/RTCBOT.md §1).

import { after, before } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import * as e2e from "./lib.mjs";

// The classic build, generated next to the daemon (build/src/rtcbot.js) from web/rtcbot.mjs.
const LIBRARY = path.join(path.dirname(e2e.RTCBOTD), "rtcbot.js");
const { test, failures } = e2e.createSuite();
let viewer;
let page;

before(async () => {
  viewer = await e2e.launchViewer("rtcbotjs");
  page = viewer.page;
  await page.setContent("<!DOCTYPE html><title>rtcbot.js</title><body></body>");
  await page.addScriptTag({ path: LIBRARY });
});

after(async () => {
  await e2e.saveArtifacts("rtcbotjs", { viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
});

test("a classic script defining the global rtcbot", async () => {
  const names = await page.evaluate(() => Object.keys(window.rtcbot).sort());
  for (const name of ["RTCConnection", "Queue", "Keyboard", "Gamepad", "setGamepadRate"]) {
    assert.ok(names.includes(name), `rtcbot.${name} exported (got ${names})`);
  }
});

test("Queue: FIFO, pending getters resolved in order", async () => {
  const got = await page.evaluate(async () => {
    const q = new rtcbot.Queue();
    q.put_nowait(1);
    const a = q.get();
    const b = q.get();
    const c = q.get();
    const put = q.put_nowait; // bound
    put("two");
    put({ three: 3 });
    return Promise.all([a, b, c]);
  });
  assert.deepEqual(got, [1, "two", { three: 3 }]);
});

test("offer shape: recvonly audio+video via transceivers, one ordered 'default' channel, no ICE server", async () => {
  const offer = await page.evaluate(async () => {
    const conn = new rtcbot.RTCConnection();
    conn.video.subscribe(() => {});
    conn.audio.subscribe(() => {});
    const desc = await conn.getLocalDescription();
    const config = conn.pc.getConfiguration();
    const result = { desc, iceServers: config.iceServers, label: conn._defaultChannel.label, ordered: conn._defaultChannel.ordered };
    await conn.close();
    return result;
  });
  assert.equal(offer.desc.type, "offer");
  assert.deepEqual(Object.keys(offer.desc).sort(), ["sdp", "type"]);
  assert.deepEqual(offer.iceServers, []);
  assert.equal(offer.label, "default");
  assert.equal(offer.ordered, true);
  const mlines = offer.desc.sdp.split(/\r?\n/).filter((l) => l.startsWith("m="));
  assert.deepEqual(mlines.map((l) => l.split(" ")[0]), ["m=audio", "m=video", "m=application"]);
  assert.match(mlines[2], /UDP\/DTLS\/SCTP webrtc-datachannel/);
  const sections = offer.desc.sdp.split(/\r?\nm=/).slice(1);
  assert.match(sections[0], /a=recvonly/);
  assert.match(sections[1], /a=recvonly/);
});

test("unordered default channel and video only when asked", async () => {
  const offer = await page.evaluate(async () => {
    const conn = new rtcbot.RTCConnection(false);
    conn.video.offerToReceive();
    const desc = await conn.getLocalDescription();
    const ordered = conn._defaultChannel.ordered;
    await conn.close();
    return { sdp: desc.sdp, ordered };
  });
  assert.equal(offer.ordered, false);
  const kinds = offer.sdp.split(/\r?\n/).filter((l) => l.startsWith("m=")).map((l) => l.split(" ")[0]);
  assert.deepEqual(kinds, ["m=video", "m=application"]);
});

test("offerer <-> answerer: media, raw messages, queueing, JSON, close()", { timeout: 60000 }, async () => {
  const result = await page.evaluate(async () => {
    const withTimeout = (p, ms, what) =>
      Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms))]);

    // The "robot": answers, sends a canvas video track.
    const canvas = document.createElement("canvas");
    canvas.width = 160;
    canvas.height = 120;
    const ctx = canvas.getContext("2d");
    const paint = setInterval(() => {
      ctx.fillStyle = `hsl(${Date.now() % 360}, 80%, 50%)`;
      ctx.fillRect(0, 0, 160, 120);
    }, 30);
    const robot = new rtcbot.RTCConnection();
    robot.video.putSubscription(canvas.captureStream(30).getVideoTracks()[0]);
    const robotInbox = new rtcbot.Queue();
    robot.subscribe(robotInbox.put_nowait);

    // The "viewer": offers, receives video, sends before the channel opens.
    const viewer = new rtcbot.RTCConnection();
    const streams = new rtcbot.Queue();
    viewer.video.subscribe(streams.put_nowait);
    const viewerInbox = new rtcbot.Queue();
    viewer.subscribe(viewerInbox.put_nowait);
    const states = [];
    viewer.onConnectionStateChange((s) => states.push(s));
    const send = viewer.put_nowait; // bound, as kb.subscribe(conn.put_nowait) needs
    send("queued before open");
    send({ a: 1 });

    const offer = await viewer.getLocalDescription();
    const answer = await robot.getLocalDescription(JSON.parse(JSON.stringify(offer)));
    await viewer.setRemoteDescription(answer);

    const stream = await withTimeout(streams.get(), 15000, "video stream");
    const first = await withTimeout(robotInbox.get(), 15000, "first message");
    const second = await withTimeout(robotInbox.get(), 15000, "second message");
    robot.put_nowait("plain");
    robot.put_nowait([1, 2]);
    const back1 = await withTimeout(viewerInbox.get(), 15000, "reply 1");
    const back2 = await withTimeout(viewerInbox.get(), 15000, "reply 2");

    // A second, non-default channel: RTCBot's close() threw on it.
    const extraOpened = new Promise((resolve) => {
      const chan = robot.pc.createDataChannel("extra");
      chan.onopen = resolve;
    });
    await withTimeout(extraOpened, 15000, "extra channel");
    await withTimeout(
      new Promise((resolve) => {
        const check = () => (viewer._dataChannels.extra ? resolve() : setTimeout(check, 20));
        check();
      }),
      15000,
      "extra channel on the viewer"
    );

    const video = document.createElement("video");
    video.muted = true;
    video.srcObject = stream;
    await video.play();
    await withTimeout(
      new Promise((resolve) => {
        const check = () => (video.videoWidth > 0 ? resolve() : setTimeout(check, 20));
        check();
      }),
      15000,
      "video dimensions"
    );

    let closeError = null;
    try {
      await viewer.close();
      await robot.close();
    } catch (err) {
      closeError = String(err);
    }
    clearInterval(paint);
    return {
      isStream: stream instanceof MediaStream,
      tracks: stream.getTracks().map((t) => t.kind),
      first,
      second,
      back1,
      back2,
      width: video.videoWidth,
      states,
      closeError,
      pcState: viewer.pc.connectionState,
    };
  });
  assert.ok(result.isStream, "video.subscribe gets a MediaStream");
  assert.deepEqual(result.tracks, ["video"]);
  assert.equal(result.first, "queued before open", "strings are sent raw, queued until open");
  assert.equal(result.second, '{"a":1}', "objects are JSON.stringify'd; subscribe gets the raw text");
  assert.equal(result.back1, "plain");
  assert.equal(result.back2, "[1,2]");
  assert.equal(result.width, 160);
  assert.ok(result.states.includes("connected"), `onConnectionStateChange saw connected: ${result.states}`);
  assert.equal(result.states.at(-1), "closed", "close() reports closed");
  assert.equal(result.closeError, null, "close() with a non-default channel does not throw");
  assert.equal(result.pcState, "closed");
});

test("Keyboard sends RTCBot's five keys, drops repeats, leaves text fields alone", async () => {
  const messages = await page.evaluate(() => {
    document.body.innerHTML = '<input id="field">';
    const kb = new rtcbot.Keyboard();
    const seen = [];
    kb.subscribe((m) => seen.push(m));
    window.dispatchEvent(new KeyboardEvent("keydown", { key: "w", keyCode: 87 }));
    window.dispatchEvent(new KeyboardEvent("keydown", { key: "w", keyCode: 87, repeat: true }));
    window.dispatchEvent(new KeyboardEvent("keyup", { key: "w", keyCode: 87, shiftKey: true }));
    document
      .getElementById("field")
      .dispatchEvent(new KeyboardEvent("keydown", { key: "x", keyCode: 88, bubbles: true }));
    kb.close();
    window.dispatchEvent(new KeyboardEvent("keydown", { key: "q", keyCode: 81 }));
    return seen;
  });
  assert.deepEqual(messages, [
    { type: "keydown", altKey: false, shiftKey: false, keyCode: 87, key: "w" },
    { type: "keyup", altKey: false, shiftKey: true, keyCode: 87, key: "w" },
  ]);
});

test("addDataChannel: named channels both ways, dropped before open, close() with several", { timeout: 60000 }, async () => {
  const result = await page.evaluate(async () => {
    const withTimeout = (p, ms, what) =>
      Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms))]);
    const until = (what, fn) =>
      withTimeout(
        new Promise((resolve) => {
          const check = () => (fn() ? resolve() : setTimeout(check, 20));
          check();
        }),
        15000,
        what
      );

    const errors = {};
    const viewer = new rtcbot.RTCConnection();
    const control = viewer.addDataChannel("control", { ordered: false, maxRetransmits: 0 });
    const legacy = viewer.addDataChannel("legacy", false); // RTCBot's Python (name, ordered)
    for (const [name, fn] of [
      ["default", () => viewer.addDataChannel("default")],
      ["duplicate", () => viewer.addDataChannel("control")],
    ]) {
      try {
        fn();
      } catch (err) {
        errors[name] = String(err);
      }
    }
    const beforeOpen = { readyState: control.readyState, sent: control.put_nowait({ early: true }) };
    const viewerInbox = new rtcbot.Queue();
    viewer.subscribe(viewerInbox.put_nowait);
    const controlInbox = new rtcbot.Queue();
    control.subscribe(controlInbox.put_nowait);

    // The robot side: plain RTCBot-style answerer; sees the channels by label.
    const robot = new rtcbot.RTCConnection();
    const robotInbox = new rtcbot.Queue();
    robot.subscribe(robotInbox.put_nowait);

    const offer = await viewer.getLocalDescription();
    try {
      viewer.addDataChannel("late");
    } catch (err) {
      errors.late = String(err);
    }
    await viewer.setRemoteDescription(await robot.getLocalDescription(offer));
    await until("control open", () => control.readyState === "open");
    await until("robot sees control and legacy", () => robot._dataChannels.control && robot._dataChannels.legacy);

    const sent = control.put_nowait({ type: "axis0", value: 0.5 });
    legacy.put_nowait("raw text");
    const atRobot = [await withTimeout(robotInbox.get(), 15000, "robot 1"), await withTimeout(robotInbox.get(), 15000, "robot 2")];

    robot._dataChannels.control.send('{"type":"state","n":1}');
    const onControl = await withTimeout(controlInbox.get(), 15000, "control.subscribe");
    const onConn = await withTimeout(viewerInbox.get(), 15000, "conn.subscribe");
    const robotControl = robot._dataChannels.control;

    let closeError = null;
    try {
      legacy.close();
      await viewer.close();
      await robot.close();
    } catch (err) {
      closeError = String(err);
    }
    return {
      labels: [control.label, control.name, legacy.label],
      options: {
        controlOrdered: control.channel.ordered,
        controlRetransmits: control.channel.maxRetransmits,
        legacyOrdered: legacy.channel.ordered,
        robotOrdered: robotControl.ordered,
        robotRetransmits: robotControl.maxRetransmits,
      },
      errors,
      beforeOpen,
      sent,
      atRobot: atRobot.sort(),
      onControl,
      onConn,
      closeError,
      afterClose: { readyState: control.readyState, sent: control.put_nowait("after close") },
    };
  });
  assert.deepEqual(result.labels, ["control", "control", "legacy"]);
  assert.deepEqual(result.options, {
    controlOrdered: false,
    controlRetransmits: 0,
    legacyOrdered: false,
    robotOrdered: false,
    robotRetransmits: 0,
  });
  assert.match(result.errors.default || "", /already exists/);
  assert.match(result.errors.duplicate || "", /already exists/);
  assert.match(result.errors.late || "", /before getLocalDescription/);
  assert.deepEqual(result.beforeOpen, { readyState: "connecting", sent: false }, "dropped, not queued, before open");
  assert.equal(result.sent, true);
  assert.deepEqual(result.atRobot, ["raw text", '{"type":"axis0","value":0.5}'], "objects JSON, strings raw; the early one never arrives");
  assert.equal(result.onControl, '{"type":"state","n":1}', "the channel's subscribe gets raw data");
  assert.equal(result.onConn, '{"type":"state","n":1}', "so does the connection's, as in RTCBot");
  assert.equal(result.closeError, null);
  assert.deepEqual(result.afterClose.sent, false);
  assert.match(result.afterClose.readyState, /closing|closed/);
});

test("Keyboard: filter leaves other keys to the page; releases always reach the robot", async () => {
  const result = await page.evaluate(() => {
    document.body.innerHTML = '<input id="field">';
    const field = document.getElementById("field");
    const kb = new rtcbot.Keyboard({ filter: (e) => e.key.toLowerCase() === "w" });
    const seen = [];
    kb.subscribe((m) => seen.push(`${m.type}:${m.key}`));
    const key = (type, key, keyCode, target = window, extra = {}) => {
      const event = new KeyboardEvent(type, { key, keyCode, bubbles: true, cancelable: true, ...extra });
      target.dispatchEvent(event);
      return event.defaultPrevented;
    };
    const tabPrevented = key("keydown", "Tab", 9);
    const wPrevented = key("keydown", "w", 87);
    key("keyup", "w", 87, field); // released while the text field has focus
    key("keydown", "W", 87, window, { shiftKey: true });
    key("keyup", "w", 87); // Shift let go first: same key
    key("keydown", "w", 87);
    window.dispatchEvent(new Event("blur")); // the window loses focus mid-press
    key("keyup", "w", 87); // a late keyup after the blur release: RTCBot sends it too
    kb.close();
    return { seen, tabPrevented, wPrevented };
  });
  assert.equal(result.tabPrevented, false, "Tab is left alone");
  assert.equal(result.wPrevented, true);
  assert.deepEqual(result.seen, [
    "keydown:w",
    "keyup:w",
    "keydown:W",
    "keyup:w",
    "keydown:w",
    "keyup:w",
    "keyup:w",
  ]);
});
