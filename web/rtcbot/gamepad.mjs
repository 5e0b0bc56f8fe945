/*
 * rtcbot/gamepad.mjs — Gamepad and setGamepadRate: RTCBot's gamepad
 * messages from one shared poller. Part of rtcbotd's browser library
 * (web/rtcbot.mjs re-exports them).
 */

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
