/*
 * rtcbot/connection.mjs — RTCConnection, RTCBot's connection class, and its
 * per-kind media handlers (conn.video, conn.audio). Part of rtcbotd's
 * browser library (web/rtcbot.mjs re-exports RTCConnection).
 */

import { DataChannel } from "./channel.mjs";

/** How long getLocalDescription waits for ICE gathering to complete. */
const ICE_GATHERING_TIMEOUT_MS = 5000;

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
