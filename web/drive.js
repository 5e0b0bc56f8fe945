// The page's Drive panel: keyboard (WASD, arrows), gamepad and touch joystick
// turned into RTCBot-shaped messages for the daemon's routes.
//
// - Keys go as rtcbot.Keyboard messages on the reliable "default" channel:
//   a lost edge would leave the robot driving.
// - Gamepad and joystick axes and buttons go on "control" (unordered, no
//   retransmits): a late position is worth nothing. Because a packet may be
//   lost, every input away from neutral is re-sent every 100 ms, and a few
//   more times once it is back at neutral.
// - {"rtcbotd":"alive"} goes on "control" every 100 ms while anything is
//   held, so the daemon's failsafes (no input for 500 ms) do not stop a
//   robot whose driver holds a key down.
// - The page asks with {"rtcbotd":"role"} (roles are opt-in, so RTCBot pages
//   never see them); the daemon then says
//   {"rtcbotd":"role","role":"driver"|"viewer"} with `control = single`, and
//   again on every change; a viewer sends nothing. No role message (`control =
//   shared`, or an RTCBot robot) means driving. A page opened with the
//   viewer token hears "viewer" with "watch-only": true in every mode.
// - An input that was held while it could not be sent (watching, connecting,
//   connection lost) drives only after it has been let go once, so nothing
//   moves by itself when control arrives or the link comes back.

import { Joystick } from "./joystick.js";

const TICK_MS = 100;
const NEUTRAL_RESENDS = 3; // extra sends of a value that went back to neutral
const AXIS_NEUTRAL = 0.08; // |axis| below this counts as centred (stick drift)
const SHOWN_AXES = 4;

/** The keys the page drives with, and the key-state display element of each. */
const DRIVE_KEYS = {
  w: "w",
  a: "a",
  s: "s",
  d: "d",
  ArrowUp: "ArrowUp",
  ArrowLeft: "ArrowLeft",
  ArrowDown: "ArrowDown",
  ArrowRight: "ArrowRight",
};

const ALIVE = { rtcbotd: "alive" };
const ASK_ROLE = { rtcbotd: "role" };

function driveKey(key) {
  const name = key.length === 1 ? key.toLowerCase() : key;
  return Object.prototype.hasOwnProperty.call(DRIVE_KEYS, name) ? DRIVE_KEYS[name] : null;
}

function isNeutral(type, value) {
  return type.startsWith("btn") ? !value : Math.abs(value) < AXIS_NEUTRAL;
}

/**
 * The latest value of each axis/button of one input device, with the
 * re-send rule of the "control" channel.
 */
class InputState {
  constructor() {
    this._entries = new Map(); // type -> {value, resends, blocked}
  }

  /**
   * Records a value; returns whether it may be sent now. A value that
   * arrives while `canSend` is false blocks its input until it is neutral.
   */
  set(type, value, canSend) {
    const neutral = isNeutral(type, value);
    const entry = this._entries.get(type) || { blocked: false };
    entry.value = value;
    entry.resends = NEUTRAL_RESENDS;
    if (neutral) {
      entry.blocked = false;
    } else if (!canSend) {
      entry.blocked = true;
    }
    this._entries.set(type, entry);
    return canSend && !entry.blocked;
  }

  /** The messages to send on this tick; drops entries that are done. */
  refresh() {
    const out = [];
    for (const [type, entry] of this._entries) {
      if (entry.blocked) {
        continue;
      }
      if (isNeutral(type, entry.value)) {
        if (entry.resends <= 0) {
          this._entries.delete(type);
          continue;
        }
        entry.resends -= 1;
      }
      out.push({ type, value: entry.value });
    }
    return out;
  }

  /** @returns {boolean} whether an input away from neutral is being sent */
  driving() {
    for (const [type, entry] of this._entries) {
      if (!entry.blocked && !isNeutral(type, entry.value)) {
        return true;
      }
    }
    return false;
  }

  /** Blocks every input that is away from neutral (it must let go first). */
  blockHeld() {
    for (const [type, entry] of this._entries) {
      if (isNeutral(type, entry.value)) {
        this._entries.delete(type);
      } else {
        entry.blocked = true;
      }
    }
  }

  /**
   * Puts every input that is away from neutral back to neutral (a device
   * that went away); returns the messages to send for those not blocked.
   */
  releaseAll() {
    const out = [];
    for (const [type, entry] of this._entries) {
      if (!isNeutral(type, entry.value)) {
        const value = type.startsWith("btn") ? false : 0;
        if (!entry.blocked) {
          out.push({ type, value });
        }
        this._entries.set(type, { value, resends: NEUTRAL_RESENDS, blocked: false });
      }
    }
    return out;
  }
}

/** The Drive panel: owns the inputs, the "control" channel and the role. */
export class Drive {
  /**
   * @param {object} el the panel's elements: panel, role, keys (the
   *   key-state display), stick, knob, pad, axes
   * @param {object} [hooks] onRole: called when the role changes
   */
  constructor(el, { onRole = () => {} } = {}) {
    this._el = el;
    this._onRole = onRole;
    this._conn = null;
    this._control = null;
    this._live = false;
    this._role = null; // null until the daemon says (or never: shared control)
    this._watchOnly = false; // the token may only watch: control never comes
    this._keys = new Map(); // keyCode -> {key, sent}
    this._pad = new InputState();
    this._stick = new InputState();
    this._padShown = "";

    this._keyboard = new rtcbot.Keyboard({ filter: (e) => this._takesKey(e) });
    this._keyboard.subscribe((msg) => this._onKey(msg));
    this._gamepad = new rtcbot.Gamepad();
    this._gamepad.subscribe((msg) => this._onPad(msg));
    this._joystick = new Joystick(el.stick, el.knob, (x, y) => this._onStick(x, y));
    setInterval(() => this._tick(), TICK_MS);
    this._render();
  }

  /** @returns {?string} "driver", "viewer", or null when the daemon never said */
  get role() {
    return this._role;
  }

  /** @returns {boolean} whether the token may only watch (control never comes) */
  get watchOnly() {
    return this._watchOnly;
  }

  /** @returns {boolean} whether inputs are being sent to the robot */
  get driving() {
    return this._canSend();
  }

  /**
   * Starts a new connection: adds the "control" channel (before
   * getLocalDescription) and forgets everything held.
   * @param {object} conn an rtcbot.RTCConnection
   */
  attach(conn) {
    this.detach();
    this._conn = conn;
    this._control = conn.addDataChannel("control", { ordered: false, maxRetransmits: 0 });
    conn.put_nowait(ASK_ROLE); // queued until "default" opens
  }

  /** Ends the connection's part: nothing is held any more, the role is unknown. */
  detach() {
    this._conn = null;
    this._control = null;
    this._live = false;
    this._role = null;
    this._watchOnly = false;
    this._letGo();
    this._render();
    this._onRole();
  }

  /**
   * Tells the panel whether the connection is up. Going down lets
   * everything go: the connection is gone, so nothing is sent.
   * @param {boolean} live
   */
  setLive(live) {
    if (live === this._live) {
      return;
    }
    this._live = live;
    if (!live) {
      this._letGo();
    }
    this._render();
  }

  /**
   * Looks at a message from the robot: role messages are taken (and
   * return true); everything else, errors included, is for the log.
   * @param {string|ArrayBuffer} data
   * @returns {boolean} true when the message was a role message
   */
  handleMessage(data) {
    if (typeof data !== "string" || !data.startsWith("{") || !data.includes('"rtcbotd"')) {
      return false;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return false;
    }
    if (msg && msg.rtcbotd === "role" && (msg.role === "driver" || msg.role === "viewer")) {
      this._watchOnly = msg["watch-only"] === true;
      this._setRole(msg.role);
      return true;
    }
    return false;
  }

  _setRole(role) {
    if (role === this._role) {
      return;
    }
    this._role = role;
    if (role === "viewer") {
      // The daemon already sent the failsafe of what we drove.
      this._blockHeld();
    }
    this._render();
    this._onRole();
  }

  _canSend() {
    return this._conn != null && this._live && this._role !== "viewer";
  }

  /* ---- keyboard ---- */

  _takesKey(event) {
    return driveKey(event.key) != null && !event.ctrlKey && !event.metaKey && !event.altKey;
  }

  _onKey(msg) {
    const name = driveKey(msg.key);
    if (msg.type === "keydown") {
      const sent = this._canSend();
      this._keys.set(msg.keyCode, { name, sent });
      if (sent) {
        this._conn.put_nowait(msg);
      }
    } else {
      this._keys.delete(msg.keyCode);
      // A release is always harmless: send it even for a key we did not send.
      if (this._canSend()) {
        this._conn.put_nowait(msg);
      }
    }
    this._renderKeys();
  }

  /* ---- gamepad and joystick ---- */

  _onPad(msg) {
    // While the touch stick is held it owns axes 0 and 1.
    const shadowed = this._joystick.held && (msg.type === "axis0" || msg.type === "axis1");
    if (this._pad.set(msg.type, msg.value, this._canSend()) && !shadowed) {
      this._sendState(msg);
    }
  }

  _onStick(x, y) {
    const canSend = this._canSend();
    for (const msg of [{ type: "axis0", value: x }, { type: "axis1", value: y }]) {
      if (this._stick.set(msg.type, msg.value, canSend)) {
        this._sendState(msg);
      }
    }
  }

  _sendState(msg) {
    if (this._control != null && this._canSend()) {
      this._control.put_nowait(msg);
    }
  }

  _tick() {
    this._checkPadGone();
    this._renderPad();
    if (!this._canSend()) {
      return;
    }
    const stickHeld = this._joystick.held;
    for (const msg of this._pad.refresh()) {
      if (!(stickHeld && (msg.type === "axis0" || msg.type === "axis1"))) {
        this._sendState(msg);
      }
    }
    for (const msg of this._stick.refresh()) {
      this._sendState(msg);
    }
    if (this._anythingHeld()) {
      this._sendState(ALIVE);
    }
  }

  _anythingHeld() {
    for (const key of this._keys.values()) {
      if (key.sent) {
        return true;
      }
    }
    return this._pad.driving() || this._stick.driving();
  }

  /** A gamepad unplugged while held sends no release: make one. */
  _checkPadGone() {
    if (this._gamepad.state == null) {
      for (const msg of this._pad.releaseAll()) {
        this._sendState(msg);
      }
    }
  }

  /* ---- letting go ---- */

  /** Held inputs stop driving until they are let go. */
  _blockHeld() {
    for (const key of this._keys.values()) {
      key.sent = false;
    }
    this._pad.blockHeld();
    this._stick.blockHeld();
  }

  /** The connection is gone: forget the keys, centre the stick, block the pad. */
  _letGo() {
    this._keys.clear();
    this._pad.blockHeld();
    this._joystick.release();
    this._stick = new InputState();
    this._renderKeys();
  }

  /* ---- rendering ---- */

  _render() {
    const el = this._el;
    let text;
    let mode;
    if (this._conn == null || !this._live) {
      text = "Not connected";
      mode = "offline";
    } else if (this._role === "viewer") {
      text = this._watchOnly ? "Watching — this token may only watch" : "Watching — someone else is driving";
      mode = "viewer";
    } else {
      text = "Driving";
      mode = "driver";
    }
    el.panel.dataset.mode = mode;
    el.role.textContent = text;
    this._joystick.setEnabled(mode === "driver");
  }

  _renderKeys() {
    const held = new Set();
    for (const key of this._keys.values()) {
      held.add(key.name);
    }
    for (const kbd of this._el.keys.querySelectorAll("[data-key]")) {
      kbd.classList.toggle("held", held.has(kbd.dataset.key));
    }
  }

  _renderPad() {
    const pad = this._gamepad.state;
    const axes = pad ? Array.from(pad.axes.slice(0, SHOWN_AXES), (v) => v.toFixed(2)) : [];
    const shown = pad ? `${pad.id}\n${axes.join(" ")}` : "";
    if (shown === this._padShown) {
      return;
    }
    this._padShown = shown;
    this._el.pad.textContent = pad ? pad.id : "No gamepad. Press a button on one to connect it.";
    this._el.axes.replaceChildren(
      ...axes.map((v, i) => {
        const item = document.createElement("li");
        const label = document.createElement("span");
        label.textContent = `axis ${i}: ${v.startsWith("-") ? v : "+" + v}`;
        // A bar from the centre: left/up negative, right/down positive.
        const bar = document.createElement("span");
        bar.className = "axis-bar";
        bar.setAttribute("aria-hidden", "true");
        const fill = document.createElement("span");
        const x = Math.max(-1, Math.min(1, Number(v)));
        fill.style.left = `${50 + Math.min(0, x) * 50}%`;
        fill.style.width = `${Math.abs(x) * 50}%`;
        bar.append(fill);
        item.append(label, bar);
        return item;
      })
    );
  }
}
