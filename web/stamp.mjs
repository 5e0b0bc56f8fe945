/*
 * stamp.mjs — reads rtcbotd's glass-to-glass latency stamp (DESIGN.md
 * "Latency stamp") from the RGBA pixels of a decoded video frame, as a page
 * gets them from a canvas (getImageData). A test-video source with
 * `stamp = yes` draws S = (Unix ms at capture) mod 2^32 into the top 2B rows
 * (B = width / 40): band A (rows 0..B-1) has block 0 white, block 1 black and
 * blocks 2..33 the bits 31..0 of S (white = 1); band B (rows B..2B-1) the same
 * blocks inverted. A viewer on the same clock gets latency = now − S.
 * No imports, no globals; served by the daemon as /stamp.mjs.
 */

/** Blocks across the width: B = width / BLOCKS pixels. */
export const BLOCKS = 40;

const DATA_BITS = 32;
/* Blocks 0 and 1 must differ by this much (of 255) between the bands. */
const SYNC_MARGIN = 64;

/**
 * Rows of the frame that carry the stamp (2B), or 0 when the width cannot
 * carry one (not a positive multiple of 40).
 * @param {number} width frame width in pixels
 * @returns {number}
 */
export function stampRows(width) {
  return width >= BLOCKS && width % BLOCKS === 0 ? (2 * width) / BLOCKS : 0;
}

/* Mean luma of the middle half of block k of the band whose first row is top. */
function blockMean(data, width, b, top, k) {
  const inset = Math.floor(b / 4);
  const size = b - 2 * inset;
  let sum = 0;
  for (let y = top + inset; y < top + inset + size; y++) {
    for (let x = k * b + inset; x < k * b + inset + size; x++) {
      const i = 4 * (y * width + x);
      sum += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    }
  }
  return sum / (size * size);
}

/**
 * Reads S from a frame's top rows.
 * @param {{data: ArrayLike<number>, width: number, height: number}} image
 *   RGBA pixels (an ImageData, or the same shape) of at least the top
 *   stampRows(width) rows of a frame, as wide as the frame
 * @returns {number|null} S (0 .. 2^32-1), or null when blocks 0/1 show no stamp
 */
export function readStamp(image) {
  const { data, width, height } = image;
  const rows = stampRows(width);
  if (!rows || height < rows || data.length < 4 * width * rows) {
    return null;
  }
  const b = rows / 2;
  const mean = (top, k) => blockMean(data, width, b, top, k);
  if (mean(0, 0) < mean(b, 0) + SYNC_MARGIN || mean(b, 1) < mean(0, 1) + SYNC_MARGIN) {
    return null;
  }
  let s = 0;
  for (let k = 2; k < 2 + DATA_BITS; k++) {
    s = s * 2 + (mean(0, k) > mean(b, k) ? 1 : 0);
  }
  return s;
}

/**
 * Milliseconds from capture (S) to `nowMs` (Unix ms, default Date.now()),
 * across the 2^32 wrap; negative when S is ahead of the clock.
 * @param {number} s a stamp from readStamp()
 * @param {number} [nowMs]
 * @returns {number}
 */
export function stampLatency(s, nowMs = Date.now()) {
  const d = (((nowMs % 2 ** 32) - s) % 2 ** 32 + 2 ** 32) % 2 ** 32;
  return d >= 2 ** 31 ? d - 2 ** 32 : d;
}
