/*
 * rtcbot/connect.mjs — connect() and its Connection: the POST handshake,
 * JSON-decoded messages, every received track, reconnection with backoff
 * and link statistics. Part of rtcbotd's browser library (web/rtcbot.mjs
 * re-exports connect, Connection, backoffDelay and decodeMessage).
 */

import { RTCConnection } from "./connection.mjs";
import { statsValues, summarizeStats } from "./stats.mjs";
import { PushToTalk } from "./talk.mjs";

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

/** The robot's GET /api/robot next to its `connect` URL ("/connect?x" → "/api/robot"). */
function robotInfoUrl(url) {
  const path = url.split("?")[0];
  return path.endsWith("connect") ? path.slice(0, -"connect".length) + "api/robot" : null;
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
    /** @type {?PushToTalk} with options.talk: the microphone's sender, across reconnections */
    this.pushToTalk = options.talk ? new PushToTalk(options.talkOptions || {}) : null;
    this.put_nowait = this.put_nowait.bind(this);
  }

  /**
   * Push-to-talk (needs `connect(url, {talk: true})`): on, the browser's
   * microphone goes to the robot (asked for on the first call); off,
   * silence. No renegotiation: the audio m-line was offered sendrecv.
   * Whether the robot plays it: GET /api/robot says `"talk": true`.
   * @param {boolean} on
   * @returns {Promise<void>} rejects when the microphone is refused
   */
  talk(on) {
    if (this.pushToTalk == null) {
      return Promise.reject(new Error("rtcbot: talk() needs connect(url, {talk: true})"));
    }
    return this.pushToTalk.set(on);
  }

  /** @type {boolean} whether talk is on */
  get talking() {
    return this.pushToTalk != null && this.pushToTalk.talking;
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
    if (this.pushToTalk != null) {
      this.pushToTalk.close();
    }
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

  /**
   * The attempt's RTCConfiguration: `iceServers` (and `iceTransportPolicy`)
   * as given, else the robot's own from GET /api/robot, so that both ends
   * use the STUN/TURN servers of [daemon] ice-servers; none when the server
   * has no such endpoint (RTCBot's Python side).
   */
  async _rtcConfiguration() {
    const opts = this.options;
    const infoUrl = robotInfoUrl(this.url);
    if (opts.iceServers != null || infoUrl == null) {
      const config = { iceServers: opts.iceServers || [] };
      if (opts.iceTransportPolicy) {
        config.iceTransportPolicy = opts.iceTransportPolicy;
      }
      return config;
    }
    try {
      const res = await (opts.fetch || globalThis.fetch)(withToken(infoUrl, opts.token), { method: "GET" });
      if (res.ok) {
        const info = await res.json();
        return {
          iceServers: Array.isArray(info.iceServers) ? info.iceServers : [],
          iceTransportPolicy: info.iceTransportPolicy === "relay" ? "relay" : "all",
        };
      }
    } catch {
      // no robot description: connect without ICE servers, as RTCBot does
    }
    return { iceServers: [] };
  }

  /** One attempt: offer, POST, answer. Rejects with the attempt's error. */
  async _attemptOnce() {
    const opts = this.options;
    const rtc = new RTCConnection(opts.ordered ?? true, await this._rtcConfiguration());
    this.rtc = rtc;
    this.videoStreams = [];
    this.audioStreams = [];
    this._tracks = new Map();
    this._lastStats = null;
    rtc.subscribe((data) => this._messageCallback && this._messageCallback(decodeMessage(data)));
    rtc.pc.addEventListener("track", (event) => this._onTrack(rtc, event));
    rtc.onConnectionStateChange((state) => this._onRtcState(rtc, state));
    // Audio first, then video, then the channel: the order RTCBot's offers had.
    if (this.pushToTalk != null) {
      this.pushToTalk.addTransceiver(rtc.pc); // sendrecv: also the robot's sound
    } else if (opts.audio) {
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
 * @param {boolean} [options.talk=false] offer the audio m-line sendrecv
 *   (it then also receives the robot's sound, if any), for conn.talk(on)
 * @param {object} [options.talkOptions] passed to new PushToTalk()
 * @param {string} [options.token] sent as `?token=`
 * @param {RTCIceServer[]} [options.iceServers] STUN/TURN servers; by
 *   default those of the robot, from GET /api/robot next to `url` (none
 *   when it has no such endpoint)
 * @param {string} [options.iceTransportPolicy] "all" or "relay", with iceServers
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
