/*
 * rtcbot.js — browser library served by rtcbotd at /rtcbot.js.
 *
 * API-compatible with RTCBot's rtcbot.js (global `rtcbot`, classic script):
 * pages written for RTCBot work unchanged against rtcbotd. Differences, all
 * additive or bug fixes:
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
 *     window loses focus.
 *
 * The built-in page (app.js, drive.js) uses two channels: "default"
 * (reliable, ordered: keyboard edges, text messages, and the daemon's
 * {"rtcbotd":"role"} and {"rtcbotd":"error"} messages) and "control"
 * ({ordered: false, maxRetransmits: 0}: gamepad and touch-joystick axes and
 * buttons, re-sent every 100 ms while away from neutral, and
 * {"rtcbotd":"alive"} every 100 ms while anything is held, which keeps the
 * daemon's route failsafes from firing). See docs/protocol.md.
 */
(function (global) {
  "use strict";

  /** How long getLocalDescription waits for ICE gathering to complete. */
  const ICE_GATHERING_TIMEOUT_MS = 5000;

  /**
   * A FIFO queue imitating Python's asyncio.Queue: turns callbacks into
   * awaitable values (`conn.subscribe(q.put_nowait)`, then `await q.get()`).
   */
  class Queue {
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
  class RTCConnection {
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
  class Keyboard {
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

  function restartGamepadPoller() {
    if (gamepadPoller.timer != null) {
      clearInterval(gamepadPoller.timer);
    }
    gamepadPoller.timer = setInterval(pollGamepads, gamepadPoller.intervalMs);
  }

  /**
   * Sets how often all gamepads are polled (default 10 Hz).
   * @param {number} hz
   */
  function setGamepadRate(hz) {
    gamepadPoller.intervalMs = Math.round(1000 / hz);
    restartGamepadPoller();
  }

  /**
   * A gamepad, polled at the rate set by setGamepadRate. Only changes are
   * sent, as RTCBot does: `{type: "btn<i>", value: bool}` and
   * `{type: "axis<i>", value: -1..1}`. The browser exposes a pad only after
   * a button has been pressed.
   */
  class Gamepad {
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

  global.rtcbot = Object.assign(global.rtcbot || {}, {
    RTCConnection,
    Queue,
    Keyboard,
    Gamepad,
    setGamepadRate,
  });
})(typeof globalThis !== "undefined" ? globalThis : this);
