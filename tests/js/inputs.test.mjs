// Keyboard and Gamepad messages, byte for byte as RTCBot's rtcbot.js sends
// them (shared/RTCBOT.md §1), with a fake window and navigator.getGamepads,
// and node's fake timers for the gamepad poller.

import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { install } from "./fakes.mjs";

const fakes = install();
const rtcbot = await import("../../web/rtcbot.mjs");

const BODY = { tagName: "BODY" };
const W = { key: "w", code: "KeyW", keyCode: 87, altKey: false, shiftKey: false, ctrlKey: false, repeat: false, timeStamp: 1234.5, target: BODY };

function keyboard(options) {
  const kb = new rtcbot.Keyboard(options);
  const sent = [];
  kb.subscribe((msg) => sent.push(JSON.stringify(msg)));
  return { kb, sent };
}

test("Keyboard: RTCBot's five fields, keydown then keyup, repeats skipped, events kept from the page", () => {
  const { kb, sent } = keyboard();
  const down = fakes.window.fire("keydown", W);
  fakes.window.fire("keydown", { ...W, repeat: true });
  const up = fakes.window.fire("keyup", W);
  fakes.window.fire("keydown", { ...W, key: "A", keyCode: 65, code: "KeyA", shiftKey: true, altKey: true });
  kb.close();
  fakes.window.fire("keyup", { ...W, key: "A", keyCode: 65 }); // closed: not sent
  assert.deepEqual(sent, [
    '{"type":"keydown","altKey":false,"shiftKey":false,"keyCode":87,"key":"w"}',
    '{"type":"keyup","altKey":false,"shiftKey":false,"keyCode":87,"key":"w"}',
    '{"type":"keydown","altKey":true,"shiftKey":true,"keyCode":65,"key":"A"}',
  ]);
  assert.equal(down.defaultPrevented, true);
  assert.equal(up.defaultPrevented, true);
});

test("Keyboard: keys typed into form fields are neither sent nor swallowed", () => {
  const { kb, sent } = keyboard();
  for (const tagName of ["INPUT", "TEXTAREA", "SELECT"]) {
    const e = fakes.window.fire("keydown", { ...W, target: { tagName } });
    fakes.window.fire("keyup", { ...W, target: { tagName } });
    assert.equal(e.defaultPrevented, false, tagName);
  }
  fakes.window.fire("keydown", { ...W, target: { tagName: "DIV", isContentEditable: true } });
  assert.deepEqual(sent, []);
  // A key pressed outside and released in a field still gets its keyup.
  fakes.window.fire("keydown", W);
  fakes.window.fire("keyup", { ...W, target: { tagName: "INPUT" } });
  assert.equal(sent.length, 2);
  assert.match(sent[1], /^\{"type":"keyup",/);
  kb.close();
});

test("Keyboard: filter leaves keys to the page; losing focus releases held keys", () => {
  const { kb, sent } = keyboard({ filter: (e) => e.key !== "Tab" });
  const tab = fakes.window.fire("keydown", { ...W, key: "Tab", keyCode: 9, code: "Tab" });
  assert.equal(tab.defaultPrevented, false);
  fakes.window.fire("keydown", W);
  fakes.window.fire("blur");
  assert.deepEqual(sent, [
    '{"type":"keydown","altKey":false,"shiftKey":false,"keyCode":87,"key":"w"}',
    '{"type":"keyup","altKey":false,"shiftKey":false,"keyCode":87,"key":"w"}',
  ]);
  fakes.window.fire("keydown", W); // held again after the blur's release: a new keydown
  assert.equal(sent.length, 3);
  kb.close();
});

function pad(buttons, axes) {
  return { buttons: buttons.map((pressed) => ({ pressed, value: pressed ? 1 : 0 })), axes };
}

test("Gamepad: only changes, {value, type} as RTCBot, at the rate set", () => {
  mock.timers.enable({ apis: ["setInterval"] });
  try {
    fakes.pads[0] = pad([false, false], [0, 0]);
    const gp = new rtcbot.Gamepad();
    const sent = [];
    gp.subscribe((msg) => sent.push(JSON.stringify(msg)));
    rtcbot.setGamepadRate(20); // every 50 ms
    mock.timers.tick(50); // baseline: nothing sent
    assert.deepEqual(sent, []);
    fakes.pads[0] = pad([true, false], [0, -0.28]);
    mock.timers.tick(49);
    assert.deepEqual(sent, [], "not polled before 50 ms");
    mock.timers.tick(1);
    assert.deepEqual(sent, ['{"value":true,"type":"btn0"}', '{"value":-0.28,"type":"axis1"}']);
    assert.equal(gp.state, fakes.pads[0]);
    mock.timers.tick(500); // no change: nothing more
    assert.equal(sent.length, 2);
    fakes.pads[0] = pad([false, false], [0.5, -0.28]);
    mock.timers.tick(50);
    assert.deepEqual(sent.slice(2), ['{"value":false,"type":"btn0"}', '{"value":0.5,"type":"axis0"}']);

    // Closed: the poller stops (no more getGamepads calls).
    gp.close();
    const polls = fakes.navigator.polls;
    mock.timers.tick(500);
    assert.equal(fakes.navigator.polls, polls);
  } finally {
    mock.timers.reset();
  }
});

test("Gamepad: the i-th open Gamepad reports navigator.getGamepads()[i]; a missing pad sends nothing", () => {
  mock.timers.enable({ apis: ["setInterval"] });
  try {
    rtcbot.setGamepadRate(10);
    fakes.pads[0] = pad([false], [0]);
    fakes.pads[1] = null;
    const a = new rtcbot.Gamepad();
    const b = new rtcbot.Gamepad();
    const sentA = [];
    const sentB = [];
    a.subscribe((m) => sentA.push(m));
    b.subscribe((m) => sentB.push(m));
    mock.timers.tick(100);
    fakes.pads[0] = pad([true], [0]);
    mock.timers.tick(100);
    assert.deepEqual(sentA, [{ value: true, type: "btn0" }]);
    assert.deepEqual(sentB, []);
    assert.equal(b.state, null);
    a.close();
    b.close();
  } finally {
    mock.timers.reset();
  }
});
