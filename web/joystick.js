// An on-screen joystick for touch screens (and mice): a round base with a
// knob that follows the pointer while it is held and springs back to the
// centre when it is let go. Reports positions like a gamepad's left stick:
// x and y in -1..1 within the unit circle, y up = -1.

const DECIMALS = 1000; // positions are rounded to 0.001

/** A pointer-driven stick over `base` (its `knob` is moved with a transform). */
export class Joystick {
  /**
   * @param {HTMLElement} base the round area that takes the pointer
   * @param {HTMLElement} knob the element inside base that follows it
   * @param {function(number, number): void} onMove gets (x, y) on every
   *   change, and (0, 0) when the stick is let go
   */
  constructor(base, knob, onMove) {
    this._base = base;
    this._knob = knob;
    this._onMove = onMove;
    this._pointer = null; // the id of the pointer holding the stick
    this._enabled = true;
    this._x = 0;
    this._y = 0;
    base.addEventListener("pointerdown", (e) => this._down(e));
    base.addEventListener("pointermove", (e) => this._move(e));
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      base.addEventListener(type, (e) => this._up(e));
    }
  }

  /** @returns {boolean} whether a pointer holds the stick */
  get held() {
    return this._pointer != null;
  }

  /**
   * Enables or disables the stick; disabling lets it go.
   * @param {boolean} enabled
   */
  setEnabled(enabled) {
    this._enabled = enabled;
    this._base.setAttribute("aria-disabled", String(!enabled));
    if (!enabled) {
      this.release();
    }
  }

  /** Lets the stick go (back to the centre) as if the pointer were lifted. */
  release() {
    const pointer = this._pointer;
    this._pointer = null;
    this._base.classList.remove("held");
    if (pointer != null && this._base.hasPointerCapture(pointer)) {
      this._base.releasePointerCapture(pointer);
    }
    this._set(0, 0);
  }

  _down(event) {
    if (!this._enabled || this._pointer != null || event.button > 0) {
      return;
    }
    event.preventDefault();
    this._pointer = event.pointerId;
    this._base.setPointerCapture(event.pointerId);
    this._base.classList.add("held");
    this._follow(event);
  }

  _move(event) {
    if (event.pointerId === this._pointer) {
      this._follow(event);
    }
  }

  _up(event) {
    if (event.pointerId === this._pointer) {
      this.release();
    }
  }

  _follow(event) {
    const rect = this._base.getBoundingClientRect();
    const radius = (rect.width - this._knob.offsetWidth) / 2 || 1;
    let x = (event.clientX - (rect.left + rect.width / 2)) / radius;
    let y = (event.clientY - (rect.top + rect.height / 2)) / radius;
    const length = Math.hypot(x, y);
    if (length > 1) {
      x /= length;
      y /= length;
    }
    this._set(x, y);
  }

  _set(x, y) {
    x = Math.round(x * DECIMALS) / DECIMALS || 0; // no -0
    y = Math.round(y * DECIMALS) / DECIMALS || 0;
    const radius = (this._base.clientWidth - this._knob.offsetWidth) / 2;
    this._knob.style.transform = `translate(${x * radius}px, ${y * radius}px)`;
    if (x !== this._x || y !== this._y) {
      this._x = x;
      this._y = y;
      this._onMove(x, y);
    }
  }
}
