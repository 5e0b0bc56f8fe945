/*
 * rtcbot.mjs — rtcbotd's browser library, as an ES module (/rtcbot.mjs) and,
 * generated from this file at build time by scripts/js-classic.py, as the
 * classic script /rtcbot.js that defines the global `rtcbot` as RTCBot's UMD
 * build did. Write only plain `export class|function|const NAME` and the
 * final `export default`; the generator refuses anything else. No imports.
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
 *     backoff (backoffDelay) and measures the link (stats(), summarizeStats).
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
"use strict";

/** How long getLocalDescription waits for ICE gathering to complete. */
const ICE_GATHERING_TIMEOUT_MS = 5000;

/**
 * A FIFO queue imitating Python's asyncio.Queue: turns callbacks into
 * awaitable values (`conn.subscribe(q.put_nowait)`, then `await q.get()`).
 */
export class Queue {
  constructor() {
    this._items = [];
    this._getters = [];
    this.put_nowait = this.put_nowait.bind(this);
  }

  /**
   * Adds an element; wakes the oldest pending get() if there is one.
   * @param {*} elem
   */
  put_nowait(elem) {
    if (this._getters.length > 0) {
      this._getters.shift()(elem);
    } else {
      this._items.push(elem);
    }
  }

  /**
   * Removes and returns the oldest element, waiting for one if empty.
   * @returns {Promise<*>}
   */
  async get() {
    if (this._items.length > 0) {
      return this._items.shift();
    }
    return new Promise((resolve) => this._getters.push(resolve));
  }

  /** @returns {number} the number of queued elements. */
  qsize() {
    return this._items.length;
  }

  /** @returns {boolean} true when no element is queued. */
  empty() {
    return this._items.length === 0;
  }
}

/**
 * One media kind ("video" or "audio") of an RTCConnection: `conn.video`,
 * `conn.audio`.
 */
class ConnectionStreamHandler {
  /**
   * @param {RTCConnection} conn the owning connection
   * @param {"video"|"audio"} kind
   */
  constructor(conn, kind) {
    this._conn = conn;
    this._kind = kind;
    this._callback = null;
    this._offerToReceive = false;
    /** @type {MediaStream|null} the last stream received from the remote side */
    this.incomingStream = null;
    /** @type {MediaStreamTrack|null} the track given to putSubscription */
    this.outgoingStream = null;
  }

  /**
   * Sets the callback receiving the remote MediaStream of this kind (one
   * callback; a new call replaces it), and asks the remote side to send
   * this kind. Must be called before getLocalDescription().
   * @param {function(MediaStream): void} callback
   */
  subscribe(callback) {
    this._callback = callback;
    this.offerToReceive();
  }

  /**
   * Sends a local track (e.g. from getUserMedia) to the remote side.
   * Must be called before getLocalDescription().
   * @param {MediaStreamTrack} track
   */
  putSubscription(track) {
    this.outgoingStream = track;
    this._conn._pc.addTrack(track);
  }

  /** Asks the remote side to send this kind, without a callback. */
  offerToReceive() {
    this._offerToReceive = true;
  }

  /**
   * Makes the offer match RTCBot's legacy createOffer options: a sending
   * transceiver becomes sendrecv if this kind is received and sendonly
   * otherwise; a receive-only transceiver is added if none exists.
   */
  _prepareOffer() {
    const pc = this._conn._pc;
    const own = pc
      .getTransceivers()
      .filter((t) => t.sender.track && t.sender.track.kind === this._kind);
    for (const t of own) {
      t.direction = this._offerToReceive ? "sendrecv" : "sendonly";
    }
    if (this._offerToReceive && own.length === 0) {
      pc.addTransceiver(this._kind, { direction: "recvonly" });
    }
  }

  /** @param {RTCTrackEvent} event */
  _onTrack(event) {
    const stream =
      event.streams && event.streams[0]
        ? event.streams[0]
        : new MediaStream([event.track]);
    this.incomingStream = stream;
    if (this._callback != null) {
      this._callback(stream);
    }
  }
}

/**
 * Past this many bytes waiting in a named channel's send buffer, its
 * put_nowait() drops messages: a congested link gets no backlog of stale
 * state.
 */
const DATA_CHANNEL_MAX_BUFFERED = 64 * 1024;

/**
 * A named data channel made by `conn.addDataChannel(label, options)`, for
 * state sent at a high rate (joystick positions, heartbeats) where a late
 * message is worth less than none: nothing is ever queued.
 */
class DataChannel {
  /**
   * @param {RTCDataChannel} chan
   * @param {function(DataChannel): void} onClose called once by close()
   */
  constructor(chan, onClose) {
    this._chan = chan;
    this._onClose = onClose;
    this._callback = null;
    chan.addEventListener("message", (event) => {
      if (this._callback != null) {
        this._callback(event.data);
      }
    });
    this.put_nowait = this.put_nowait.bind(this);
  }

  /** @type {string} the channel's label */
  get label() {
    return this._chan.label;
  }

  /** @type {string} the label, under the name RTCBot's Python DataChannel uses */
  get name() {
    return this._chan.label;
  }

  /**
   * @type {"connecting"|"open"|"closing"|"closed"} the RTCDataChannel's
   *   readyState
   */
  get readyState() {
    return this._chan.readyState;
  }

  /** @type {RTCDataChannel} the underlying channel */
  get channel() {
    return this._chan;
  }

  /**
   * Sends a message at once: strings as they are, anything else
   * JSON-encoded. While the channel is not open, or its send buffer is
   * congested, the message is dropped, not queued. Bound, so it can be
   * passed as a callback.
   * @param {*} msg
   * @returns {boolean} whether the message was handed to the channel
   */
  put_nowait(msg) {
    const chan = this._chan;
    if (chan.readyState !== "open" || chan.bufferedAmount > DATA_CHANNEL_MAX_BUFFERED) {
      return false;
    }
    try {
      chan.send(typeof msg === "string" ? msg : JSON.stringify(msg));
      return true;
    } catch (err) {
      return false; // closed in the meantime, or the buffer is full
    }
  }

  /**
   * Sets the callback receiving this channel's messages, raw (one
   * callback; a new call replaces it). The connection's subscribe()
   * callback gets them as well, as in RTCBot.
   * @param {function(string|ArrayBuffer): void} callback
   */
  subscribe(callback) {
    this._callback = callback;
  }

  /** Closes the channel. */
  close() {
    this._chan.close();
    this._onClose(this);
  }
}

/**
 * A WebRTC connection to an RTCBot/rtcbotd peer, mirroring RTCBot's
 * RTCConnection. Typical use (the browser offers, the robot answers):
 *
 *   const conn = new rtcbot.RTCConnection();
 *   conn.video.subscribe((stream) => (video.srcObject = stream));
 *   conn.subscribe((msg) => console.log(msg));
 *   const offer = await conn.getLocalDescription();
 *   const res = await fetch("/connect", {method: "POST", body: JSON.stringify(offer)});
 *   await conn.setRemoteDescription(await res.json());
 *   conn.put_nowait({hello: "robot"});
 */
export class RTCConnection {
  /**
   * @param {boolean} [defaultOrdered=true] whether the "default" data
   *   channel is ordered
   * @param {RTCConfiguration} [rtcConfiguration={iceServers: []}] passed
   *   verbatim to RTCPeerConnection (add STUN/TURN servers here)
   */
  constructor(defaultOrdered = true, rtcConfiguration = { iceServers: [] }) {
    this._defaultOrdered = defaultOrdered;
    this._pc = new RTCPeerConnection(rtcConfiguration);
    this._pc.ondatachannel = (event) => this._onDataChannel(event.channel);
    this._pc.ontrack = (event) => this._onTrack(event);
    this._pc.addEventListener("connectionstatechange", () =>
      this._emitConnectionState()
    );

    /** @type {ConnectionStreamHandler} */
    this.video = new ConnectionStreamHandler(this, "video");
    /** @type {ConnectionStreamHandler} */
    this.audio = new ConnectionStreamHandler(this, "audio");

    this._defaultChannel = null;
    this._dataChannels = {}; // channels the remote side opened, by label
    this._ownChannels = []; // DataChannels made by addDataChannel
    this._queuedMessages = [];
    this._hasRemoteDescription = false;
    this._described = false; // getLocalDescription() was called
    this._msgcallback = (msg) => console.log(msg);
    this._stateCallbacks = [];
    this._closed = false;

    this.put_nowait = this.put_nowait.bind(this);
  }

  /**
   * The underlying RTCPeerConnection (for getStats() and the like).
   * @type {RTCPeerConnection}
   */
  get pc() {
    return this._pc;
  }

  /**
   * Calls `callback(state)` on every change of the peer connection's
   * connectionState ("new", "connecting", "connected", "disconnected",
   * "failed", "closed"), and with "closed" when the robot closes the
   * "default" data channel.
   * @param {function(string): void} callback
   * @returns {function(): void} a function that removes the callback
   */
  onConnectionStateChange(callback) {
    this._stateCallbacks.push(callback);
    return () => {
      this._stateCallbacks = this._stateCallbacks.filter((c) => c !== callback);
    };
  }

  /**
   * Opens a data channel besides "default" (rtcbotd routes what it carries
   * as `peers.messages` and `peers.channel.LABEL`). Must be called before
   * getLocalDescription(). Its messages reach the returned object's
   * subscribe() callback and the connection's.
   *
   *   const control = conn.addDataChannel("control", {ordered: false, maxRetransmits: 0});
   *   control.put_nowait({type: "axis0", value: 0.5}); // dropped until open
   *
   * @param {string} label not "default", and not a label already added
   * @param {RTCDataChannelInit|boolean} [options={}] passed to
   *   createDataChannel; a boolean means `{ordered: options}` (the second
   *   argument of RTCBot's Python addDataChannel)
   * @returns {DataChannel}
   */
  addDataChannel(label, options = {}) {
    if (this._described || this._closed) {
      throw new Error(`rtcbot: addDataChannel("${label}") must be called before getLocalDescription()`);
    }
    if (label === "default" || this._ownChannels.some((c) => c.label === label)) {
      throw new Error(`rtcbot: a data channel "${label}" already exists`);
    }
    const init = typeof options === "boolean" ? { ordered: options } : options;
    const chan = this._pc.createDataChannel(label, init);
    chan.addEventListener("message", (event) => this._msgcallback(event.data));
    const handle = new DataChannel(chan, (c) => {
      this._ownChannels = this._ownChannels.filter((other) => other !== c);
    });
    this._ownChannels.push(handle);
    return handle;
  }

  /**
   * Creates the offer (when called without a description and no remote
   * description is set) or the answer to `description`, waits for ICE
   * gathering, and returns the description with its candidates inline,
   * ready to be sent in one HTTP request.
   * @param {?RTCSessionDescriptionInit} [description=null] a remote offer
   * @returns {Promise<{type: string, sdp: string}>}
   */
  async getLocalDescription(description = null) {
    this._described = true;
    if (this._hasRemoteDescription || description != null) {
      if (!this._hasRemoteDescription) {
        await this.setRemoteDescription(description);
      }
      await this._pc.setLocalDescription(await this._pc.createAnswer());
    } else {
      this._setDefaultChannel(
        this._pc.createDataChannel("default", { ordered: this._defaultOrdered })
      );
      this.audio._prepareOffer();
      this.video._prepareOffer();
      await this._pc.setLocalDescription(await this._pc.createOffer());
    }
    await this._waitForIceGathering(ICE_GATHERING_TIMEOUT_MS);
    const local = this._pc.localDescription;
    return { type: local.type, sdp: local.sdp };
  }

  /**
   * Sets the remote side's description (the robot's answer, or an offer).
   * @param {RTCSessionDescriptionInit} description `{type, sdp}`
   */
  async setRemoteDescription(description) {
    await this._pc.setRemoteDescription(description);
    this._hasRemoteDescription = true;
  }

  /**
   * Sets the callback receiving every data-channel message, raw (strings
   * are not JSON-decoded; rtcbotd JSON-encodes what it sends). One
   * callback; a new call replaces it. Default: console.log.
   * @param {function(string|ArrayBuffer): void} callback
   */
  subscribe(callback) {
    this._msgcallback = callback;
  }

  /**
   * Sends a message on the "default" data channel: strings as they are,
   * anything else JSON-encoded. Messages are queued until the channel
   * opens. Bound, so `keyboard.subscribe(conn.put_nowait)` works.
   * @param {*} msg
   */
  put_nowait(msg) {
    if (typeof msg !== "string") {
      msg = JSON.stringify(msg);
    }
    const chan = this._defaultChannel;
    if (chan != null && chan.readyState === "open" && this._queuedMessages.length === 0) {
      chan.send(msg);
    } else {
      this._queuedMessages.push(msg);
    }
  }

  /** Closes every data channel and the peer connection. */
  async close() {
    if (this._closed) {
      return;
    }
    this._closed = true;
    for (const chan of Object.values(this._dataChannels)) {
      chan.close();
    }
    for (const chan of this._ownChannels.slice()) {
      chan.close();
    }
    if (this._defaultChannel != null) {
      this._defaultChannel.close();
    }
    this._pc.close();
    // RTCPeerConnection.close() fires no connectionstatechange event.
    this._emitConnectionState();
  }

  async _waitForIceGathering(timeoutMs) {
    const pc = this._pc;
    if (pc.iceGatheringState === "complete") {
      return;
    }
    await new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      };
      const check = () => {
        if (pc.iceGatheringState === "complete") {
          done();
        }
      };
      const timer = setTimeout(done, timeoutMs);
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  _setDefaultChannel(chan) {
    this._defaultChannel = chan;
    chan.onmessage = (event) => this._msgcallback(event.data);
    chan.onopen = () => this._sendQueuedMessages();
    // rtcbotd closes "default" when it drops the peer (shutdown, timeout):
    // report it at once instead of waiting for ICE to notice.
    chan.onclose = () => {
      if (!this._closed && this._pc.connectionState !== "closed") {
        this._emitConnectionState("closed");
      }
    };
  }

  _onDataChannel(chan) {
    if (chan.label === "default") {
      this._setDefaultChannel(chan);
      return;
    }
    this._dataChannels[chan.label] = chan;
    chan.onmessage = (event) => this._msgcallback(event.data);
    chan.onclose = () => {
      if (this._dataChannels[chan.label] === chan) {
        delete this._dataChannels[chan.label];
      }
    };
  }

  _sendQueuedMessages() {
    const queued = this._queuedMessages;
    this._queuedMessages = [];
    for (const msg of queued) {
      this._defaultChannel.send(msg);
    }
  }

  _onTrack(event) {
    if (event.track.kind === "video") {
      this.video._onTrack(event);
    } else if (event.track.kind === "audio") {
      this.audio._onTrack(event);
    } else {
      console.error("rtcbot: unknown track kind", event.track.kind);
    }
  }

  _emitConnectionState(state = this._pc.connectionState) {
    for (const cb of this._stateCallbacks.slice()) {
      try {
        cb(state);
      } catch (err) {
        console.error(err);
      }
    }
  }
}

/* ---- Input devices: same messages as RTCBot's Keyboard and Gamepad ---- */

function isEditable(target) {
  if (!target || !target.tagName) {
    return false;
  }
  const tag = target.tagName.toLowerCase();
  return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
}

/**
 * Keyboard events as RTCBot sends them:
 * `{type: "keydown"|"keyup", altKey, shiftKey, keyCode, key}`.
 * Key repeats are dropped; keys typed into form fields are ignored. A key
 * whose keydown was sent always gets its keyup, even when it is released
 * in a form field, and every held key gets one when the window loses focus
 * (the browser would send none), so a robot never misses a release.
 */
export class Keyboard {
  /**
   * @param {{filter?: function(KeyboardEvent): boolean}} [options]
   *   `filter(event)` chooses the key events to take (default: all, as
   *   RTCBot). The others are neither sent nor kept from the page, so Tab,
   *   Enter and browser shortcuts keep working.
   */
  constructor(options = {}) {
    this._callback = (msg) => console.log(msg);
    this._filter = options.filter || null;
    this._held = new Map(); // key id -> the keydown message sent
    this._handler = (event) => this._onKey(event);
    this._blurHandler = () => this._releaseAll();
    window.addEventListener("keydown", this._handler);
    window.addEventListener("keyup", this._handler);
    window.addEventListener("blur", this._blurHandler);
  }

  /**
   * Sets the callback receiving key messages (replaces the previous one).
   * @param {function(object): void} callback e.g. conn.put_nowait
   */
  subscribe(callback) {
    this._callback = callback;
  }

  /** Stops listening to the keyboard. */
  close() {
    window.removeEventListener("keydown", this._handler);
    window.removeEventListener("keyup", this._handler);
    window.removeEventListener("blur", this._blurHandler);
    this._held.clear();
  }

  _onKey(event) {
    const id = keyId(event);
    const releasing = event.type === "keyup" && this._held.has(id);
    if (!releasing && (isEditable(event.target) || (this._filter && !this._filter(event)))) {
      return;
    }
    if (!isEditable(event.target)) {
      event.preventDefault();
    }
    if (event.type === "keydown" && (event.repeat || this._held.has(id))) {
      return;
    }
    const msg = {
      type: event.type,
      altKey: event.altKey,
      shiftKey: event.shiftKey,
      keyCode: event.keyCode,
      key: event.key,
    };
    if (event.type === "keydown") {
      this._held.set(id, msg);
    } else {
      this._held.delete(id);
    }
    this._callback(msg);
  }

  _releaseAll() {
    const held = Array.from(this._held.values());
    this._held.clear();
    for (const down of held) {
      this._callback({ type: "keyup", altKey: false, shiftKey: false, keyCode: down.keyCode, key: down.key });
    }
  }
}

/** Identifies a physical key across Shift: "w" and "W" share keyCode 87. */
function keyId(event) {
  return event.keyCode || event.code || event.key;
}

const gamepadPoller = {
  intervalMs: 100,
  timer: null,
  pads: [],
};

function pollGamepads() {
  const states = navigator.getGamepads ? navigator.getGamepads() : [];
  gamepadPoller.pads.forEach((pad, i) => {
    if (pad != null) {
      pad._poll(states[i] || null);
    }
  });
}

function stopGamepadPoller() {
  if (gamepadPoller.timer != null) {
    clearInterval(gamepadPoller.timer);
    gamepadPoller.timer = null;
  }
}

function restartGamepadPoller() {
  stopGamepadPoller();
  gamepadPoller.timer = setInterval(pollGamepads, gamepadPoller.intervalMs);
}

/**
 * Sets how often all gamepads are polled (default 10 Hz), for every
 * Gamepad, open or opened later. As in RTCBot, one poller serves all pads;
 * unlike RTCBot's, it runs only while a Gamepad is open.
 * @param {number} hz polls per second
 */
export function setGamepadRate(hz) {
  gamepadPoller.intervalMs = Math.round(1000 / hz);
  if (gamepadPoller.timer != null) {
    restartGamepadPoller();
  }
}

/**
 * A gamepad, polled at the rate set by setGamepadRate. Only changes are
 * sent, as RTCBot does: `{type: "btn<i>", value: bool}` and
 * `{type: "axis<i>", value: -1..1}`. The browser exposes a pad only after
 * a button has been pressed.
 */
export class Gamepad {
  /** Takes the first free pad slot: the i-th open Gamepad reports navigator.getGamepads()[i]. */
  constructor() {
    let slot = gamepadPoller.pads.indexOf(null);
    if (slot < 0) {
      slot = gamepadPoller.pads.length;
      gamepadPoller.pads.push(null);
    }
    gamepadPoller.pads[slot] = this;
    this._slot = slot;
    this._callback = (msg) => console.log(msg);
    /** @type {?Gamepad} the latest snapshot of the pad */
    this.state = null;
    this._last = null;
    if (gamepadPoller.timer == null) {
      restartGamepadPoller();
    }
  }

  /**
   * Sets the callback receiving changes (replaces the previous one).
   * @param {function(object): void} callback e.g. conn.put_nowait
   */
  subscribe(callback) {
    this._callback = callback;
  }

  /** Stops reporting this pad. */
  close() {
    if (gamepadPoller.pads[this._slot] === this) {
      gamepadPoller.pads[this._slot] = null;
    }
    if (gamepadPoller.pads.every((pad) => pad == null)) {
      stopGamepadPoller();
    }
  }

  _poll(snapshot) {
    this.state = snapshot;
    // Copies: some browsers hand out live objects that change in place.
    const current =
      snapshot == null
        ? null
        : { pressed: snapshot.buttons.map((b) => b.pressed), axes: snapshot.axes.slice() };
    const previous = this._last;
    this._last = current;
    if (previous == null || current == null) {
      return;
    }
    current.pressed.forEach((pressed, j) => {
      if (j < previous.pressed.length && previous.pressed[j] !== pressed) {
        this._callback({ value: pressed, type: "btn" + j });
      }
    });
    current.axes.forEach((value, j) => {
      if (j < previous.axes.length && previous.axes[j] !== value) {
        this._callback({ value: value, type: "axis" + j });
      }
    });
  }
}

/* ---- Beyond RTCBot: connect(), reconnection, every track, link stats ---- */

/**
 * The delay before reconnection attempt `attempt` (0 for the first retry):
 * `initialMs` doubling up to `maxMs`, then scaled by a random factor in
 * [1 - jitter, 1] so that many viewers dropped at once do not come back in
 * step. Pure: pass `random` to make it deterministic.
 * @param {number} attempt how many attempts failed since the last success, minus one
 * @param {{initialMs?: number, maxMs?: number, jitter?: number}} [options]
 *   defaults 500, 10000, 0.5
 * @param {function(): number} [random=Math.random] returns a number in [0, 1)
 * @returns {number} milliseconds, rounded
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const initialMs = options.initialMs ?? 500;
  const maxMs = options.maxMs ?? 10000;
  const jitter = options.jitter ?? 0.5;
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(base * (1 - jitter * random()));
}

/**
 * What connect()'s subscribe() hands over for one data-channel message: a
 * string holding JSON is decoded (rtcbotd JSON-encodes what it sends, as
 * RTCBot's Python side does); any other string, or binary data, is passed
 * as it came.
 * @param {string|ArrayBuffer|Blob} data
 * @returns {*}
 */
export function decodeMessage(data) {
  if (typeof data !== "string") {
    return data;
  }
  try {
    return JSON.parse(data);
  } catch (err) {
    return data;
  }
}

/** The values of a getStats() report (a Map-like RTCStatsReport, an array or a plain object). */
function statsValues(report) {
  if (report == null) {
    return [];
  }
  if (typeof report.values === "function") {
    return Array.from(report.values());
  }
  return Array.isArray(report) ? report : Object.values(report);
}

function delta(cur, prev, field) {
  if (cur == null || typeof cur[field] !== "number") {
    return null;
  }
  const before = prev != null && typeof prev[field] === "number" ? prev[field] : 0;
  return cur[field] - before;
}

/** cur[num]/cur[den] over the interval since prev (since the start without prev), ×1000. */
function ratioMs(cur, prev, num, den) {
  const n = delta(cur, prev, num);
  const d = delta(cur, prev, den);
  return n == null || d == null || d <= 0 ? null : (n / d) * 1000;
}

function round1(x) {
  return x == null ? null : Math.round(x * 10) / 10;
}

function selectedPair(values) {
  const byId = new Map(values.map((s) => [s.id, s]));
  for (const s of values) {
    if (s.type === "transport" && s.selectedCandidatePairId && byId.has(s.selectedCandidatePairId)) {
      return byId.get(s.selectedCandidatePairId);
    }
  }
  return values.find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded") || null;
}

/**
 * Link figures from two getStats() reports of one receiving peer connection
 * (`prev` the older, or null for figures since the start). Pure, so it can be
 * tested with made-up reports. Video figures are those of the first video
 * inbound-rtp in the report (`conn.videoStreams[0]`, usually); null where the
 * reports do not tell.
 * @param {?(RTCStatsReport|object[])} prev
 * @param {RTCStatsReport|object[]} cur
 * @returns {{fps: ?number, bitrateKbps: ?number, rttMs: ?number,
 *   packetsLost: number, jitterBufferMs: ?number, decodeMs: ?number,
 *   latencyEstimateMs: ?number}} fps: frames decoded per second;
 *   bitrateKbps: every inbound-rtp's received bytes; rttMs: the selected
 *   ICE candidate pair's current round trip; packetsLost: total over every
 *   inbound-rtp since the start; jitterBufferMs and decodeMs: average per
 *   frame over the interval; latencyEstimateMs: rttMs / 2 + jitterBufferMs
 *   + decodeMs (the robot's capture and encoding are not seen here)
 */
export function summarizeStats(prev, cur) {
  const now = statsValues(cur);
  const before = new Map(statsValues(prev).map((s) => [s.id, s]));
  const inbound = now.filter((s) => s.type === "inbound-rtp");
  const video = inbound.find((s) => s.kind === "video" || s.mediaType === "video") || null;
  const videoPrev = video ? before.get(video.id) || null : null;

  let fps = null;
  if (video && videoPrev && video.timestamp > videoPrev.timestamp) {
    fps = (delta(video, videoPrev, "framesDecoded") * 1000) / (video.timestamp - videoPrev.timestamp);
  } else if (video && typeof video.framesPerSecond === "number") {
    fps = video.framesPerSecond;
  }

  let bits = 0;
  let ms = 0;
  let packetsLost = 0;
  for (const s of inbound) {
    packetsLost += typeof s.packetsLost === "number" ? s.packetsLost : 0;
    const p = before.get(s.id);
    if (p && s.timestamp > p.timestamp && typeof s.bytesReceived === "number") {
      bits += (s.bytesReceived - (p.bytesReceived || 0)) * 8;
      ms = Math.max(ms, s.timestamp - p.timestamp);
    }
  }
  const bitrateKbps = ms > 0 ? bits / ms : null;

  const pair = selectedPair(now);
  const rttMs = pair && typeof pair.currentRoundTripTime === "number" ? pair.currentRoundTripTime * 1000 : null;
  const jitterBufferMs = ratioMs(video, videoPrev, "jitterBufferDelay", "jitterBufferEmittedCount");
  const decodeMs = ratioMs(video, videoPrev, "totalDecodeTime", "framesDecoded");
  const latencyEstimateMs =
    rttMs == null && jitterBufferMs == null ? null : (rttMs || 0) / 2 + (jitterBufferMs || 0) + (decodeMs || 0);
  return {
    fps: round1(fps),
    bitrateKbps: round1(bitrateKbps),
    rttMs: round1(rttMs),
    packetsLost,
    jitterBufferMs: round1(jitterBufferMs),
    decodeMs: round1(decodeMs),
    latencyEstimateMs: round1(latencyEstimateMs),
  };
}

/** `url` with `?token=T` (or `&token=T`) appended; the url as it is without a token. */
function withToken(url, token) {
  if (token == null || token === "") {
    return url;
  }
  return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
}

/** A refused or failed POST /connect: `status` is the HTTP status, 0 when no answer came. */
class ConnectError extends Error {
  constructor(message, status, retryAfterMs = null) {
    super(message);
    this.name = "ConnectError";
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * A connection made by connect(): an RTCConnection (`conn.rtc`, renewed on
 * every reconnection) plus the handshake, JSON decoding, every received
 * track and optional reconnection. Callbacks set on it survive
 * reconnections; messages put while no channel is open are sent once one is.
 */
export class Connection {
  /**
   * Use connect(), which also starts it.
   * @param {string} url
   * @param {object} options see connect()
   */
  constructor(url, options = {}) {
    this.url = url;
    this.options = options;
    /** @type {?RTCConnection} the current attempt's RTCConnection */
    this.rtc = null;
    /** @type {MediaStream[]} per received video track, in m-line order, a stream of that track alone */
    this.videoStreams = [];
    /** @type {MediaStream[]} one stream per received audio track */
    this.audioStreams = [];
    /**
     * @type {string} "connecting", "connected", "disconnected", "failed",
     *   "retrying" (waiting before the next attempt) or "closed"
     */
    this.state = "new";
    this._messageCallback = options.onMessage || null;
    this._trackCallbacks = options.onTrack ? [options.onTrack] : [];
    this._stateCallbacks = options.onState ? [options.onState] : [];
    this._pending = []; // messages put while no channel was open
    this._attempt = 0; // attempts failed since the last "connected"
    this._timers = new Set();
    this._closed = false;
    this._lastStats = null;
    this._tracks = new Map(); // stream -> the track it was made for
    this.put_nowait = this.put_nowait.bind(this);
  }

  /**
   * Sets the callback receiving every data-channel message, JSON-decoded
   * (decodeMessage). One callback; a new call replaces it.
   * @param {function(*): void} callback
   */
  subscribe(callback) {
    this._messageCallback = callback;
  }

  /**
   * Sends on the "default" channel: strings as they are, anything else
   * JSON-encoded; queued until the channel is open (across reconnections
   * too). Bound, so `keyboard.subscribe(conn.put_nowait)` works.
   * @param {*} msg
   */
  put_nowait(msg) {
    if (this.rtc != null && !this._closed) {
      this.rtc.put_nowait(msg);
    } else if (!this._closed) {
      this._pending.push(msg);
    }
  }

  /**
   * Calls `callback(stream, track, index)` for every received track, of
   * either kind; `index` is its position in videoStreams or audioStreams.
   * Tracks arrive while the answer is set, before connect() resolves, so
   * the streams already received are handed over at once.
   * @param {function(MediaStream, MediaStreamTrack, number): void} callback
   * @returns {function(): void} removes the callback
   */
  onTrack(callback) {
    this._trackCallbacks.push(callback);
    for (const list of [this.videoStreams, this.audioStreams]) {
      list.forEach((stream, i) => callback(stream, this._tracks.get(stream), i));
    }
    return () => (this._trackCallbacks = this._trackCallbacks.filter((c) => c !== callback));
  }

  /**
   * Calls `callback(state, detail)` on every state change (see `state`);
   * detail is `{error}` with "failed", `{delayMs, error}` with "retrying".
   * @param {function(string, object): void} callback
   * @returns {function(): void} removes the callback
   */
  onStateChange(callback) {
    this._stateCallbacks.push(callback);
    return () => (this._stateCallbacks = this._stateCallbacks.filter((c) => c !== callback));
  }

  /**
   * Link figures since the previous call (since the start on the first):
   * see summarizeStats.
   * @returns {Promise<object>}
   */
  async stats() {
    const report = await this.rtc.pc.getStats();
    const values = statsValues(report);
    const summary = summarizeStats(this._lastStats, values);
    this._lastStats = values;
    return summary;
  }

  /** Closes the connection and stops reconnecting. */
  async close() {
    if (this._closed) {
      return;
    }
    this._closed = true;
    for (const timer of this._timers) {
      clearTimeout(timer);
    }
    this._timers.clear();
    const rtc = this.rtc;
    this.rtc = null;
    if (rtc != null) {
      await rtc.close();
    }
    this._setState("closed");
  }

  /** One attempt: offer, POST, answer. Rejects with the attempt's error. */
  async _attemptOnce() {
    const opts = this.options;
    const rtc = new RTCConnection(opts.ordered ?? true, { iceServers: opts.iceServers || [] });
    this.rtc = rtc;
    this.videoStreams = [];
    this.audioStreams = [];
    this._tracks = new Map();
    this._lastStats = null;
    rtc.subscribe((data) => this._messageCallback && this._messageCallback(decodeMessage(data)));
    rtc.pc.addEventListener("track", (event) => this._onTrack(rtc, event));
    rtc.onConnectionStateChange((state) => this._onRtcState(rtc, state));
    // Audio first, then video, then the channel: the order RTCBot's offers had.
    if (opts.audio) {
      rtc.pc.addTransceiver("audio", { direction: "recvonly" });
    }
    const videoTracks = opts.videoTracks ?? (opts.video === false ? 0 : 1);
    for (let i = 0; i < videoTracks; i++) {
      rtc.pc.addTransceiver("video", { direction: "recvonly" });
    }
    for (const msg of this._pending.splice(0)) {
      rtc.put_nowait(msg);
    }
    const offer = await rtc.getLocalDescription();
    const answer = await this._post(offer);
    if (this.rtc !== rtc) {
      throw new ConnectError("closed during the handshake", 0);
    }
    await rtc.setRemoteDescription(answer);
  }

  async _post(offer) {
    const fetchImpl = this.options.fetch || globalThis.fetch;
    let res;
    try {
      res = await fetchImpl(withToken(this.url, this.options.token), {
        method: "POST",
        cache: "no-cache",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(offer),
      });
    } catch (err) {
      throw new ConnectError(`rtcbot: POST ${this.url}: ${err.message}`, 0);
    }
    const body = await res.json().catch(() => null);
    if (res.ok && body && body.type === "answer") {
      return body;
    }
    const reason = body && body.error ? body.error : `HTTP ${res.status}`;
    const retryAfter = Number(res.headers && res.headers.get ? res.headers.get("Retry-After") : NaN);
    throw new ConnectError(
      `rtcbot: POST ${this.url}: ${reason}`,
      res.status,
      Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 60) * 1000 : null
    );
  }

  /** Runs attempts until one gets an answer; resolves then, or rejects when giving up. */
  async _run() {
    for (;;) {
      if (this._closed) {
        throw new ConnectError("rtcbot: connection closed", 0);
      }
      this._setState("connecting");
      try {
        await this._attemptOnce();
        this._watchConnecting(this.rtc);
        return;
      } catch (err) {
        await this._dropRtc();
        // A token refused is not going to be accepted on the next try.
        if (!this.options.reconnect || this._closed || err.status === 401 || err.status === 403) {
          this._setState("failed", { error: err });
          throw err;
        }
        await this._waitBeforeRetry(err);
      }
    }
  }

  _waitBeforeRetry(err) {
    const delayMs = err.retryAfterMs ?? backoffDelay(this._attempt++, this.options.backoff || {});
    this._setState("retrying", { delayMs, error: err });
    return new Promise((resolve) => this._later(delayMs, resolve));
  }

  _later(ms, fn) {
    const timer = setTimeout(() => {
      this._timers.delete(timer);
      fn();
    }, ms);
    this._timers.add(timer);
    return timer;
  }

  /** A connection that does not come up in connectTimeoutMs counts as failed. */
  _watchConnecting(rtc) {
    this._later(this.options.connectTimeoutMs ?? 15000, () => {
      if (this.rtc === rtc && this.state !== "connected") {
        this._lost(rtc, new ConnectError("rtcbot: the connection did not come up", 0));
      }
    });
  }

  async _dropRtc() {
    const rtc = this.rtc;
    this.rtc = null;
    if (rtc != null) {
      // Not sent yet: they go on the next connection's channel.
      this._pending.push(...rtc._queuedMessages.splice(0));
      await rtc.close().catch(() => {});
    }
  }

  _onRtcState(rtc, state) {
    if (this.rtc !== rtc || this._closed) {
      return;
    }
    if (state === "connected") {
      this._attempt = 0;
      this._setState("connected");
    } else if (state === "failed" || state === "closed") {
      this._lost(rtc, new ConnectError(`rtcbot: the connection ${state}`, 0));
    } else if (state === "disconnected") {
      this._setState("disconnected");
      // ICE often recovers from a short outage by itself; give it a while.
      this._later(this.options.disconnectedGraceMs ?? 5000, () => {
        if (this.rtc === rtc && rtc.pc.connectionState === "disconnected") {
          this._lost(rtc, new ConnectError("rtcbot: the connection stayed disconnected", 0));
        }
      });
    }
  }

  /** The current attempt is gone: fail, or reconnect after the backoff. */
  async _lost(rtc, error) {
    if (this.rtc !== rtc || this._closed) {
      return;
    }
    await this._dropRtc();
    if (!this.options.reconnect) {
      this._setState("failed", { error });
      return;
    }
    await this._waitBeforeRetry(error);
    this._run().catch(() => {});
  }

  _onTrack(rtc, event) {
    if (this.rtc !== rtc) {
      return;
    }
    // A stream of the track alone: rtcbotd may put several tracks in one
    // msid stream, and a <video> shows only the first video track of its stream.
    const stream = new MediaStream([event.track]);
    const list = event.track.kind === "audio" ? this.audioStreams : this.videoStreams;
    list.push(stream);
    this._tracks.set(stream, event.track);
    for (const cb of this._trackCallbacks.slice()) {
      cb(stream, event.track, list.length - 1);
    }
  }

  _setState(state, detail = {}) {
    if (this.state === state && state !== "retrying") {
      return;
    }
    this.state = state;
    for (const cb of this._stateCallbacks.slice()) {
      try {
        cb(state, detail);
      } catch (err) {
        console.error(err);
      }
    }
  }
}

/**
 * Connects to rtcbotd (or an RTCBot server) in one call: makes the offer,
 * POSTs it to `url`, sets the answer. Resolves with the Connection once
 * the answer is set (the media and channels come up shortly after: watch
 * onStateChange for "connected"); rejects when the attempt fails, or with
 * `reconnect`, when the token is refused (401, 403) or close() is called.
 *
 *   const conn = await rtcbot.connect("/connect", {audio: true, reconnect: true});
 *   conn.onTrack((stream) => (video.srcObject = stream));
 *   conn.subscribe((msg) => console.log(msg)); // JSON-decoded
 *
 * @param {string} [url="/connect"]
 * @param {object} [options]
 * @param {boolean} [options.video=true] receive one video track
 * @param {number} [options.videoTracks] receive this many video tracks
 *   (one m-line each, for several cameras); overrides `video`
 * @param {boolean} [options.audio=false] receive audio
 * @param {string} [options.token] sent as `?token=`
 * @param {RTCIceServer[]} [options.iceServers=[]]
 * @param {boolean} [options.ordered=true] whether "default" is ordered
 * @param {boolean} [options.reconnect=false] start again, after
 *   backoffDelay(), when an attempt fails or the connection is lost
 * @param {{initialMs?: number, maxMs?: number, jitter?: number}} [options.backoff]
 * @param {number} [options.connectTimeoutMs=15000] an answered attempt
 *   that is not connected by then has failed
 * @param {number} [options.disconnectedGraceMs=5000] how long
 *   "disconnected" may last before the connection counts as lost
 * @param {function(string, object): void} [options.onState] see Connection#onStateChange
 * @param {function(MediaStream, MediaStreamTrack, number): void} [options.onTrack]
 * @param {function(*): void} [options.onMessage] see Connection#subscribe
 * @param {function} [options.fetch=globalThis.fetch]
 * @returns {Promise<Connection>}
 */
export async function connect(url = "/connect", options = {}) {
  const conn = new Connection(url, options);
  await conn._run();
  return conn;
}

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
};
