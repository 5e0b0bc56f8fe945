// PushToTalk and connect({talk: true}): the audio m-line is offered sendrecv
// from the start, the microphone is asked for once, press and release only
// swap the sender's track (no renegotiation), a release while the browser
// still asks wins, a refusal turns talk off. Fakes: fakes.mjs.

import { test } from "node:test";
import assert from "node:assert/strict";
import { install, FakePeerConnection } from "./fakes.mjs";

install();
const rtcbot = await import("../../web/rtcbot.mjs");

function fakeMic() {
  const track = { kind: "audio", enabled: true, stopped: false, stop() { this.stopped = true; } };
  const mic = { asked: 0, track, pending: null };
  mic.getUserMedia = (constraints) => {
    mic.asked++;
    mic.constraints = constraints;
    return new Promise((resolve, reject) => {
      mic.pending = { resolve: () => resolve({ getAudioTracks: () => [track], getTracks: () => [track] }), reject };
    });
  };
  return mic;
}

function fakeSender() {
  return {
    track: null,
    calls: [],
    async replaceTrack(t) {
      this.calls.push(t);
      this.track = t;
    },
  };
}

test("press asks for the microphone once; press and release swap the sender's track", async () => {
  const mic = fakeMic();
  const talk = new rtcbot.PushToTalk({ getUserMedia: mic.getUserMedia });
  const sender = fakeSender();
  talk.attach(sender);
  const pressed = talk.set(true);
  assert.equal(talk.talking, true);
  await new Promise((r) => setImmediate(r));
  mic.pending.resolve();
  await pressed;
  assert.deepEqual(mic.constraints, { audio: true });
  assert.equal(sender.track, mic.track);
  assert.equal(mic.track.enabled, true);
  await talk.set(false);
  assert.equal(sender.track, null);
  assert.equal(mic.track.enabled, false, "muted between presses");
  await talk.set(true);
  assert.equal(sender.track, mic.track);
  assert.equal(mic.asked, 1, "getUserMedia once");
  assert.deepEqual(sender.calls, [mic.track, null, mic.track]);
  talk.close();
  assert.equal(mic.track.stopped, true);
  assert.equal(talk.talking, false);
});

test("a release while the browser still asks for the microphone wins", async () => {
  const mic = fakeMic();
  const talk = new rtcbot.PushToTalk({ getUserMedia: mic.getUserMedia });
  const sender = fakeSender();
  talk.attach(sender);
  const pressed = talk.set(true);
  await new Promise((r) => setImmediate(r));
  assert.equal(mic.asked, 1, "asking");
  const released = talk.set(false);
  mic.pending.resolve();
  await pressed;
  await released;
  assert.equal(sender.track, null, "nothing sent after the release");
  assert.equal(mic.track.enabled, false);
});

test("a refused microphone rejects set(true) and leaves talk off", async () => {
  const talk = new rtcbot.PushToTalk({ getUserMedia: async () => { throw new Error("NotAllowedError"); } });
  const sender = fakeSender();
  talk.attach(sender);
  await assert.rejects(talk.set(true), /NotAllowedError/);
  assert.equal(talk.talking, false);
  assert.equal(sender.track, null);
});

test("connect({talk: true}) offers audio sendrecv first; conn.talk() needs it", async () => {
  const mic = fakeMic();
  const fetch = async (url, init) => ({ ok: true, status: 200, json: async () => ({ type: "answer", sdp: "x" }) });
  const conn = await rtcbot.connect("/connect", { talk: true, fetch, talkOptions: { getUserMedia: mic.getUserMedia } });
  const pc = FakePeerConnection.instances.at(-1);
  assert.deepEqual(pc.transceivers.map((t) => `${t.kind} ${t.direction}`), ["audio sendrecv", "video recvonly"]);
  assert.match(pc.localDescription.sdp, /^m=audio sendrecv/);
  const sender = pc.transceivers[0].sender;
  sender.replaceTrack = async (t) => (sender.track = t);
  const pressed = conn.talk(true);
  await new Promise((r) => setImmediate(r));
  mic.pending.resolve();
  await pressed;
  assert.equal(conn.talking, true);
  assert.equal(sender.track, mic.track);
  await conn.close();
  assert.equal(mic.track.stopped, true);

  const plain = await rtcbot.connect("/connect", { audio: true, fetch });
  assert.equal(FakePeerConnection.instances.at(-1).transceivers[0].direction, "recvonly");
  await assert.rejects(plain.talk(true), /talk: true/);
  assert.equal(plain.talking, false);
  await plain.close();
});
