// The pure parts of web/rtcbot.mjs: Queue, backoffDelay, summarizeStats,
// and the module's default export.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as rtcbot from "../../web/rtcbot.mjs";

test("Queue: FIFO; pending getters resolved in order; put_nowait bound", async () => {
  const q = new rtcbot.Queue();
  q.put_nowait(1);
  assert.equal(q.qsize(), 1);
  const got = [q.get(), q.get(), q.get()];
  const put = q.put_nowait;
  put("two");
  put({ three: 3 });
  assert.deepEqual(await Promise.all(got), [1, "two", { three: 3 }]);
  assert.equal(q.empty(), true);
});

test("backoffDelay: 0.5 s doubling to 10 s, jittered down by at most half", () => {
  const none = () => 0;
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 40].map((n) => rtcbot.backoffDelay(n, {}, none)),
    [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]
  );
  assert.equal(rtcbot.backoffDelay(2, {}, () => 0.999999), 1000);
  assert.equal(rtcbot.backoffDelay(2, {}, () => 0.5), 1500);
  assert.equal(rtcbot.backoffDelay(3, { initialMs: 100, maxMs: 500, jitter: 0 }), 500);
  for (let i = 0; i < 100; i++) {
    const d = rtcbot.backoffDelay(1);
    assert.ok(d >= 500 && d <= 1000, `${d} within [500, 1000]`);
  }
});

const PREV = [
  { id: "v", type: "inbound-rtp", kind: "video", timestamp: 1000, framesDecoded: 100, bytesReceived: 100000,
    jitterBufferDelay: 5.0, jitterBufferEmittedCount: 100, totalDecodeTime: 0.5, packetsLost: 2 },
  { id: "a", type: "inbound-rtp", kind: "audio", timestamp: 1000, bytesReceived: 10000, packetsLost: 1 },
  { id: "t", type: "transport", selectedCandidatePairId: "p" },
  { id: "p", type: "candidate-pair", currentRoundTripTime: 0.01, state: "succeeded", nominated: true },
];
const CUR = new Map(
  [
    { id: "v", type: "inbound-rtp", kind: "video", timestamp: 2000, framesDecoded: 130, bytesReceived: 225000,
      jitterBufferDelay: 6.2, jitterBufferEmittedCount: 130, totalDecodeTime: 0.65, packetsLost: 5, framesPerSecond: 31 },
    { id: "a", type: "inbound-rtp", kind: "audio", timestamp: 2000, bytesReceived: 12000, packetsLost: 1 },
    { id: "t", type: "transport", selectedCandidatePairId: "p" },
    { id: "p", type: "candidate-pair", currentRoundTripTime: 0.02, state: "succeeded", nominated: true },
    { id: "q", type: "candidate-pair", currentRoundTripTime: 0.5, state: "failed" },
  ].map((s) => [s.id, s])
);

test("summarizeStats: deltas of two reports", () => {
  assert.deepEqual(rtcbot.summarizeStats(PREV, CUR), {
    fps: 30, // 30 frames in 1 s
    bitrateKbps: 1016, // (125000 + 2000) bytes * 8 in 1000 ms
    rttMs: 20,
    packetsLost: 6,
    jitterBufferMs: 40, // 1.2 s over 30 frames
    decodeMs: 5, // 0.15 s over 30 frames
    latencyEstimateMs: 55, // 20 / 2 + 40 + 5
  });
});

test("summarizeStats: without an earlier report, cumulative figures; empty report, nulls", () => {
  const s = rtcbot.summarizeStats(null, CUR);
  assert.equal(s.fps, 31);
  assert.equal(s.bitrateKbps, null);
  assert.equal(s.jitterBufferMs, 47.7); // 6.2 s / 130
  assert.equal(s.decodeMs, 5);
  assert.deepEqual(rtcbot.summarizeStats(null, []), {
    fps: null, bitrateKbps: null, rttMs: null, packetsLost: 0, jitterBufferMs: null, decodeMs: null, latencyEstimateMs: null,
  });
});

test("the default export holds every named export", () => {
  const named = Object.keys(rtcbot).filter((k) => k !== "default").sort();
  assert.deepEqual(Object.keys(rtcbot.default).sort(), named);
  for (const name of named) assert.equal(rtcbot.default[name], rtcbot[name], name);
  for (const name of ["RTCConnection", "Keyboard", "Gamepad", "setGamepadRate", "Queue", "connect"]) {
    assert.ok(named.includes(name), name);
  }
});
