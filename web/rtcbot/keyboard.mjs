/*
 * rtcbot/keyboard.mjs — Keyboard: key events as RTCBot sends them. Part of
 * rtcbotd's browser library (web/rtcbot.mjs re-exports it).
 */

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
