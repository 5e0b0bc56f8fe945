/*
 * rtcbot/channel.mjs — the handle conn.addDataChannel() returns: a named
 * data channel for high-rate state, which drops instead of queueing. Part of
 * rtcbotd's browser library (web/rtcbot.mjs); used by connection.mjs.
 */

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
export class DataChannel {
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
