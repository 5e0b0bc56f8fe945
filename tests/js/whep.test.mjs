// rtcbot.whep(): the WHEP handshake (RFC 9725) against a fake robot — the
// offer POSTed as application/sdp with the bearer token, the 201's answer
// applied, Location resolved, Link ice-server headers read, errors with the
// robot's reason, and DELETE on close. Fake peer connection: fakes.mjs.

import { test } from "node:test";
import assert from "node:assert/strict";
import { install, FakePeerConnection } from "./fakes.mjs";

install();
const rtcbot = await import("../../web/rtcbot.mjs");

function headers(map) {
  return { get: (name) => map[name] ?? null };
}

test("whep(): POST application/sdp with the token, answer applied, DELETE on close", async () => {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    if (init.method === "DELETE") return { status: 200 };
    return {
      status: 201,
      headers: headers({
        Location: "/whep/camera/abc",
        Link: '<stun:10.0.0.1:3478>; rel="ice-server", <turn:10.0.0.1:3478?transport=udp>; rel="ice-server"; username="r"; credential="s"; credential-type="password"',
      }),
      text: async () => "v=0 fake answer",
    };
  };
  const session = await rtcbot.whep("camera", { base: "http://robot:8080", token: "t0ken", audio: true, fetch });
  const pc = FakePeerConnection.instances.at(-1);
  assert.deepEqual(pc.transceivers.map((t) => [t.kind, t.direction]), [["video", "recvonly"], ["audio", "recvonly"]]);
  assert.equal(pc.channels.length, 0, "WHEP has no data channel");
  assert.equal(calls[0].url, "http://robot:8080/whep/camera");
  assert.equal(calls[0].init.headers["Content-Type"], "application/sdp");
  assert.equal(calls[0].init.headers.Authorization, "Bearer t0ken");
  assert.equal(calls[0].init.body, pc.localDescription.sdp);
  assert.deepEqual(pc.remoteDescription, { type: "answer", sdp: "v=0 fake answer" });
  assert.equal(session.location, "http://robot:8080/whep/camera/abc");
  assert.deepEqual(session.iceServers, [
    { urls: "stun:10.0.0.1:3478" },
    { urls: "turn:10.0.0.1:3478?transport=udp", username: "r", credential: "s" },
  ]);
  await session.close();
  assert.equal(calls[1].url, "http://robot:8080/whep/camera/abc");
  assert.equal(calls[1].init.method, "DELETE");
  assert.equal(pc.connectionState, "closed");
});

test("whep(): a refusal rejects with the robot's reason and its status", async () => {
  const fetch = async () => ({
    status: 404,
    headers: headers({}),
    json: async () => ({ error: 'no source "cam" is sent to peers; WHEP serves: camera' }),
  });
  await assert.rejects(rtcbot.whep("cam", { fetch }), (err) => {
    assert.equal(err.status, 404);
    assert.match(err.message, /POST \/whep\/cam: no source "cam" is sent to peers/);
    return true;
  });
  assert.equal(FakePeerConnection.instances.at(-1).connectionState, "closed");
});
