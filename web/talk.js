// The page's push-to-talk button, shown when GET /api/robot says "talk": true
// (a media route takes peers.audio). Held with the mouse, a finger, Space or
// Enter while it has the focus, or the T key anywhere but a text field (not
// Space, which scrolls and presses buttons; not W A S D or the arrows, which
// drive). While held, rtcbot.PushToTalk hands the microphone to the audio
// m-line the offer made sendrecv; released, the sender goes silent. The
// microphone is asked for on the first press only.

const KEY = "t";

function isEditable(target) {
  const tag = target && target.tagName ? target.tagName.toLowerCase() : "";
  return tag === "input" || tag === "textarea" || tag === "select" || Boolean(target && target.isContentEditable);
}

/** The button, its label and status line, and the microphone behind them. */
export class TalkButton {
  /**
   * @param {object} el button, label (the button's text), status (a
   *   role=status line for a refused microphone)
   */
  constructor(el) {
    this._el = el;
    /** @type {rtcbot.PushToTalk} */
    this.talk = new rtcbot.PushToTalk();
    this._held = new Set(); // what holds it: "pointer", "key" (focused), "t"
    this._available = false;
    this._live = false;

    const button = el.button;
    button.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || button.disabled) {
        return;
      }
      e.preventDefault(); // no focus-stealing text selection, no long-press menu
      button.setPointerCapture?.(e.pointerId);
      this._hold("pointer", true);
    });
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      button.addEventListener(type, () => this._hold("pointer", false));
    }
    button.addEventListener("contextmenu", (e) => e.preventDefault());
    button.addEventListener("keydown", (e) => {
      if (e.key === " " || e.key === "Enter") {
        e.preventDefault(); // a hold, not a click
        if (!e.repeat) {
          this._hold("key", true);
        }
      }
    });
    button.addEventListener("keyup", (e) => {
      if (e.key === " " || e.key === "Enter") {
        e.preventDefault();
        this._hold("key", false);
      }
    });
    button.addEventListener("blur", () => this._hold("key", false));
    window.addEventListener("keydown", (e) => {
      if (this._isShortcut(e) && !e.repeat) {
        e.preventDefault();
        this._hold(KEY, true);
      }
    });
    window.addEventListener("keyup", (e) => {
      if (e.key.toLowerCase() === KEY) {
        this._hold(KEY, false); // even from a text field: a release is harmless
      }
    });
    window.addEventListener("blur", () => this._releaseAll());
    this._render();
  }

  /** @returns {boolean} whether the microphone is on its way to the robot */
  get talking() {
    return this.talk.talking;
  }

  /**
   * Shows or hides the button: whether the robot hears peers.
   * @param {boolean} available
   */
  setAvailable(available) {
    this._available = available;
    if (!available) {
      this._releaseAll();
    }
    this._render();
  }

  /** Whether the connection is up: talking needs it. */
  setLive(live) {
    this._live = live;
    if (!live) {
      this._releaseAll();
    }
    this._render();
  }

  /**
   * Offers the audio m-line sendrecv on a new connection's `pc` (before the
   * offer). Returns false, adding nothing, when the robot does not hear peers.
   */
  addTransceiver(pc) {
    if (!this._available) {
      return false;
    }
    this.talk.addTransceiver(pc);
    return true;
  }

  /** The connection is gone: its sender is of no use any more. */
  detach() {
    this.talk.attach(null);
  }

  _isShortcut(e) {
    return e.key.toLowerCase() === KEY && !e.ctrlKey && !e.metaKey && !e.altKey && !isEditable(e.target);
  }

  _hold(source, on) {
    if (on && (!this._available || !this._live)) {
      return;
    }
    const before = this._held.size > 0;
    if (on) {
      this._held.add(source);
    } else {
      this._held.delete(source);
    }
    const now = this._held.size > 0;
    if (now !== before) {
      this._switch(now);
    }
  }

  _releaseAll() {
    if (this._held.size > 0) {
      this._held.clear();
      this._switch(false);
    }
  }

  _switch(on) {
    this._el.status.textContent = "";
    this._render(on);
    this.talk.set(on).then(
      () => this._render(),
      (err) => {
        this._held.clear();
        this._el.status.textContent = `Microphone not available: ${err.message || err.name || err}`;
        this._render();
      }
    );
  }

  _render(pressed = this._held.size > 0) {
    const { button, label } = this._el;
    button.hidden = !this._available;
    button.disabled = !this._live;
    button.setAttribute("aria-pressed", String(pressed));
    label.textContent = pressed ? "Talking…" : "Hold to talk";
  }
}
