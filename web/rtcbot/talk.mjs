/*
 * rtcbot/talk.mjs — PushToTalk: the browser's microphone on an audio m-line
 * offered sendrecv from the start, switched on and off with replaceTrack()
 * so that talking never renegotiates. Part of rtcbotd's browser library
 * (web/rtcbot.mjs re-exports it; connect.mjs uses it for {talk: true}).
 */

/**
 * Push-to-talk on one audio sender. The microphone is asked for once, on
 * the first set(true), and kept (muted between presses, so the next press
 * is instant); close() stops it. The sender survives reconnections through
 * attach(): a new connection's sender gets the track if talk is on.
 *
 *   const talk = new rtcbot.PushToTalk();
 *   talk.addTransceiver(conn.pc); // before getLocalDescription()
 *   button.onpointerdown = () => talk.set(true);
 *   button.onpointerup = () => talk.set(false);
 */
export class PushToTalk {
  /**
   * @param {object} [options]
   * @param {MediaStreamConstraints} [options.constraints={audio: true}]
   *   passed to getUserMedia
   * @param {function(MediaStreamConstraints): Promise<MediaStream>} [options.getUserMedia]
   *   default navigator.mediaDevices.getUserMedia
   */
  constructor(options = {}) {
    this._constraints = options.constraints || { audio: true };
    this._getUserMedia = options.getUserMedia || ((c) => navigator.mediaDevices.getUserMedia(c));
    this._sender = null;
    this._track = null;
    this._asking = null; // the pending getUserMedia, shared by overlapping presses
    this._on = false;
    this._serial = 0; // set() calls so far
    this._closed = false;
    this._chain = Promise.resolve(); // applies one state change at a time, in order
  }

  /** @type {boolean} whether talk is on (set(true) was the last call) */
  get talking() {
    return this._on;
  }

  /** @type {?MediaStreamTrack} the microphone track, once asked for */
  get track() {
    return this._track;
  }

  /**
   * Offers audio both ways on `pc` (call before the offer): the robot's
   * sound comes in on it, if it has any, and the microphone goes out once
   * talk is on. The robot answers sendrecv, or recvonly without sound.
   * @param {RTCPeerConnection} pc
   * @returns {RTCRtpTransceiver}
   */
  addTransceiver(pc) {
    const transceiver = pc.addTransceiver("audio", { direction: "sendrecv" });
    this.attach(transceiver.sender);
    return transceiver;
  }

  /**
   * Uses `sender` from now on (a new connection's); it gets the microphone
   * at once if talk is on. null forgets the old one.
   * @param {?RTCRtpSender} sender
   */
  attach(sender) {
    this._sender = sender;
    this._apply().catch(() => {});
  }

  /**
   * Turns talk on (the microphone goes to the robot) or off (silence: the
   * sender has no track). Calls are applied in order; a release that comes
   * while the browser still asks for the microphone wins.
   * @param {boolean} on
   * @returns {Promise<void>} rejects when the microphone is refused
   *   (talk is then off)
   */
  async set(on) {
    const serial = ++this._serial;
    this._on = Boolean(on) && !this._closed;
    if (this._on && this._track == null) {
      try {
        await this._microphone();
      } catch (err) {
        if (serial === this._serial) {
          this._on = false; // a later call decides for itself
        }
        throw err;
      }
    }
    return this._apply();
  }

  /** Stops the microphone and forgets the sender. */
  close() {
    this._closed = true;
    this._on = false;
    this._sender = null;
    if (this._track != null) {
      this._track.stop();
      this._track = null;
    }
  }

  /** Asks for the microphone, once: overlapping presses share the request. */
  _microphone() {
    if (this._asking == null) {
      this._asking = (async () => {
        try {
          const stream = await this._getUserMedia(this._constraints);
          const track = stream.getAudioTracks()[0] || null;
          if (this._closed || track == null) {
            stream.getTracks().forEach((t) => t.stop()); // closed while asking
            if (track == null) {
              throw new Error("rtcbot: getUserMedia gave no audio track");
            }
            return;
          }
          this._track = track;
        } finally {
          this._asking = null;
        }
      })();
    }
    return this._asking;
  }

  _apply() {
    const run = this._chain.then(() => this._applyNow());
    this._chain = run.catch(() => {});
    return run;
  }

  async _applyNow() {
    const want = this._on ? this._track : null;
    if (this._track != null) {
      this._track.enabled = this._on;
    }
    if (this._sender != null && this._sender.track !== want) {
      await this._sender.replaceTrack(want);
    }
  }
}
