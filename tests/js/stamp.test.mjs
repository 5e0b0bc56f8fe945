// web/stamp.mjs: reading DESIGN.md's latency stamp from RGBA pixels, drawn
// here by the spec (independently of src/rtcbotd-stamp.c), clean and with the
// kind of noise a codec adds.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readStamp, stampLatency, stampRows } from "../../web/stamp.mjs";

/* RGBA top 2B rows of a width-wide frame stamped with s (white 255, black 0, grey 128). */
function stamped(width, s, { noise = 0, swapSync = false } = {}) {
  const b = width / 40;
  const data = new Uint8ClampedArray(4 * width * 2 * b);
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  for (let y = 0; y < 2 * b; y++) {
    for (let x = 0; x < width; x++) {
      const k = Math.floor(x / b);
      let v = 128;
      if (k < 34) {
        let white = k === 0 ? true : k === 1 ? false : Boolean((s >>> (31 - (k - 2))) & 1);
        if (swapSync && k < 2) {
          white = !white;
        }
        if (y >= b) {
          white = !white;
        }
        v = white ? 255 : 0;
      }
      const i = 4 * (y * width + x);
      data[i] = v + noise * rand();
      data[i + 1] = v + noise * rand();
      data[i + 2] = v + noise * rand();
      data[i + 3] = 255;
    }
  }
  return { data, width, height: 2 * b };
}

test("stampRows: 2B rows for widths that are multiples of 40, else 0", () => {
  assert.equal(stampRows(640), 32);
  assert.equal(stampRows(40), 2);
  assert.equal(stampRows(1920), 96);
  assert.equal(stampRows(620), 0);
  assert.equal(stampRows(0), 0);
});

test("readStamp: reads back every bit, at several widths", () => {
  for (const width of [40, 120, 640, 1280]) {
    for (const s of [0, 1, 0xffffffff, 0x80000000, 0x5a5a5a5a, 1733053951]) {
      assert.equal(readStamp(stamped(width, s)), s, `width ${width}, S ${s}`);
    }
  }
});

test("readStamp: survives noise of ±60 on every channel", () => {
  assert.equal(readStamp(stamped(640, 0xdeadbeef, { noise: 60 })), 0xdeadbeef);
});

test("readStamp: null without a stamp", () => {
  const grey = stamped(640, 0);
  grey.data.fill(128);
  assert.equal(readStamp(grey), null);
  assert.equal(readStamp(stamped(640, 12345, { swapSync: true })), null);
  const short = stamped(640, 12345);
  assert.equal(readStamp({ ...short, height: 31 }), null);
  assert.equal(readStamp({ data: new Uint8ClampedArray(4 * 620 * 31), width: 620, height: 31 }), null);
});

test("stampLatency: now − S modulo 2^32, negative when S is ahead", () => {
  const now = 1764589000123;
  assert.equal(stampLatency(now % 2 ** 32, now), 0);
  assert.equal(stampLatency((now - 42) % 2 ** 32, now), 42);
  assert.equal(stampLatency((now + 5) % 2 ** 32, now), -5);
  // across the wrap: S just below 2^32, now just past it
  assert.equal(stampLatency(2 ** 32 - 10, 2 ** 32 * 410 + 20), 30);
});
