/*
 * rtcbot/queue.mjs — Queue, RTCBot's asyncio.Queue look-alike. Part of
 * rtcbotd's browser library (web/rtcbot.mjs re-exports it).
 */

/**
 * A FIFO queue imitating Python's asyncio.Queue: turns callbacks into
 * awaitable values (`conn.subscribe(q.put_nowait)`, then `await q.get()`).
 */
export class Queue {
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
