// glass.js — the page's "glass-to-glass" figure: while the main video's
// frames carry the latency stamp of a `stamp = yes` test-video source
// (stamp.mjs), shows the median of (Date.now() at presentation − S) over the
// last second. The browser and the robot must share a clock (same machine,
// or NTP-synchronised: an offset shows up one-to-one in the figure). Reads
// one frame in three (a canvas copy of the top 2B rows), so it costs little.

import { readStamp, stampLatency, stampRows } from "./stamp.mjs";

const SAMPLE_EVERY = 3; // frames
const SHOW_EVERY_MS = 1000;
const HIDE_AFTER_MS = 3000; // without a stamped frame

export class GlassToGlass {
  /**
   * @param {HTMLVideoElement} video the element showing the stamped stream
   * @param {HTMLElement} row shown while frames carry a stamp, hidden otherwise
   * @param {HTMLElement} field gets "≈ N ms"
   */
  constructor(video, row, field) {
    this._video = video;
    this._row = row;
    this._field = field;
    this._canvas = document.createElement("canvas");
    this._ctx = this._canvas.getContext("2d", { willReadFrequently: true });
    this._samples = [];
    this._frames = 0;
    this._lastStamped = 0;
    this._lastShown = 0;
  }

  /** Starts watching (once; a no-op where requestVideoFrameCallback is missing). */
  start() {
    if (typeof this._video.requestVideoFrameCallback !== "function") {
      return;
    }
    this._video.requestVideoFrameCallback((now, md) => this._onFrame(md));
  }

  _onFrame(md) {
    const wall = Date.now();
    this._frames += 1;
    if (this._frames % SAMPLE_EVERY === 0) {
      const s = this._read(md.width);
      if (s !== null) {
        this._samples.push(stampLatency(s, wall));
        this._lastStamped = wall;
      }
    }
    if (wall - this._lastShown >= SHOW_EVERY_MS) {
      this._show(wall);
    }
    this._video.requestVideoFrameCallback((n, m) => this._onFrame(m));
  }

  _read(width) {
    const rows = stampRows(width);
    if (!rows) {
      return null;
    }
    if (this._canvas.width !== width || this._canvas.height !== rows) {
      this._canvas.width = width;
      this._canvas.height = rows;
    }
    this._ctx.drawImage(this._video, 0, 0, width, rows, 0, 0, width, rows);
    return readStamp(this._ctx.getImageData(0, 0, width, rows));
  }

  _show(wall) {
    this._lastShown = wall;
    if (this._samples.length) {
      const sorted = this._samples.sort((a, b) => a - b);
      this._field.textContent = `≈ ${sorted[Math.floor(sorted.length / 2)]} ms`;
      this._samples = [];
    }
    this._row.hidden = wall - this._lastStamped > HIDE_AFTER_MS;
  }
}
