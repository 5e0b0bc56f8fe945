/*
 * rtcbot.mjs — rtcbotd's browser library, as an ES module (/rtcbot.mjs, with
 * its parts in /rtcbot/*.mjs) and, joined from these files at build time by
 * scripts/js-classic.py, as the classic script /rtcbot.js that defines the
 * global `rtcbot` as RTCBot's UMD build did. This file only re-exports: the
 * names in its `export { ... }` list are the public API and the members of
 * the global. The parts use only `import { A, B } from "./x.mjs";` and
 * plain `export class|function|const NAME`; the generator refuses anything
 * else. A new part goes in src/rtcbotd.gresource.xml and in src/meson.build
 * (rtcbot_modules).
 *
 * API-compatible with RTCBot's rtcbot.js: pages written for RTCBot work
 * unchanged against rtcbotd. Differences, all additive or bug fixes:
 *   - the default rtcConfiguration has no ICE server (RTCBot used a public
 *     STUN server); pass your own as the second constructor argument;
 *   - receive-only media is offered with addTransceiver(kind, recvonly), not the
 *     legacy createOffer options that Safari ignores;
 *   - ICE gathering is awaited for at most 5 s;
 *   - close() closes every data channel (RTCBot called close() on the keys);
 *   - extras: conn.pc, conn.onConnectionStateChange(cb), which also reports
 *     "closed" when the robot closes the "default" channel (it does so when
 *     it drops the peer);
 *   - extra: conn.addDataChannel(label, options) before getLocalDescription()
 *     opens another channel (RTCBot's JS had no way to send on one) and
 *     returns {label, name, readyState, channel, put_nowait, subscribe,
 *     close}; its put_nowait drops, never queues, while the channel is not
 *     open (it is meant for high-rate state); its messages also reach
 *     conn.subscribe(), as every channel's do in RTCBot;
 *   - Keyboard ignores keys typed into text fields instead of swallowing
 *     them, takes an optional {filter(event)} to leave other keys to the
 *     page, always sends the keyup of a key whose keydown it sent (even
 *     from a text field), and sends a keyup for every held key when the
 *     window loses focus;
 *   - the gamepad poller runs only while a Gamepad is open;
 *   - new: connect(url, options) does the whole POST /connect handshake,
 *     decodes JSON messages, exposes every received track, reconnects with
 *     backoff (backoffDelay) and measures the link (stats(), summarizeStats);
 *   - new: push-to-talk (PushToTalk, connect(url, {talk: true}) and
 *     conn.talk(on)) on an audio m-line offered sendrecv from the start;
 *   - new: whep(source, options) watches one source over WHEP (POST
 *     /whep/SOURCE), the standard alternative to /connect.
 *
 * The built-in page (app.js, drive.js) uses two channels: "default"
 * (reliable, ordered: keyboard edges, text messages, and the daemon's
 * {"rtcbotd":"role"} and {"rtcbotd":"error"} messages) and "control"
 * ({ordered: false, maxRetransmits: 0}: gamepad and touch-joystick axes and
 * buttons, re-sent every 100 ms while away from neutral, and
 * {"rtcbotd":"alive"} every 100 ms while anything is held, which keeps the
 * daemon's route failsafes from firing). See docs/protocol.md and
 * docs/rtcbot-js.md.
 */

import { Queue } from "./rtcbot/queue.mjs";
import { RTCConnection } from "./rtcbot/connection.mjs";
import { Keyboard } from "./rtcbot/keyboard.mjs";
import { Gamepad, setGamepadRate } from "./rtcbot/gamepad.mjs";
import { summarizeStats } from "./rtcbot/stats.mjs";
import { connect, Connection, backoffDelay, decodeMessage } from "./rtcbot/connect.mjs";
import { PushToTalk } from "./rtcbot/talk.mjs";
import { whep, WhepSession } from "./rtcbot/whep.mjs";

export {
  RTCConnection,
  Queue,
  Keyboard,
  Gamepad,
  setGamepadRate,
  connect,
  Connection,
  backoffDelay,
  decodeMessage,
  summarizeStats,
  PushToTalk,
  whep,
  WhepSession,
};

export default {
  RTCConnection,
  Queue,
  Keyboard,
  Gamepad,
  setGamepadRate,
  connect,
  Connection,
  backoffDelay,
  decodeMessage,
  summarizeStats,
  PushToTalk,
  whep,
  WhepSession,
};
