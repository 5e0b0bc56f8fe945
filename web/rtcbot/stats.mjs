/*
 * rtcbot/stats.mjs — summarizeStats: fps, bitrate, RTT and a latency
 * estimate from getStats() reports. Part of rtcbotd's browser library
 * (web/rtcbot.mjs re-exports summarizeStats; connect.mjs uses statsValues).
 */

/** The values of a getStats() report (a Map-like RTCStatsReport, an array or a plain object). */
export function statsValues(report) {
  if (report == null) {
    return [];
  }
  if (typeof report.values === "function") {
    return Array.from(report.values());
  }
  return Array.isArray(report) ? report : Object.values(report);
}

function delta(cur, prev, field) {
  if (cur == null || typeof cur[field] !== "number") {
    return null;
  }
  const before = prev != null && typeof prev[field] === "number" ? prev[field] : 0;
  return cur[field] - before;
}

/** cur[num]/cur[den] over the interval since prev (since the start without prev), ×1000. */
function ratioMs(cur, prev, num, den) {
  const n = delta(cur, prev, num);
  const d = delta(cur, prev, den);
  return n == null || d == null || d <= 0 ? null : (n / d) * 1000;
}

function round1(x) {
  return x == null ? null : Math.round(x * 10) / 10;
}

function selectedPair(values) {
  const byId = new Map(values.map((s) => [s.id, s]));
  for (const s of values) {
    if (s.type === "transport" && s.selectedCandidatePairId && byId.has(s.selectedCandidatePairId)) {
      return byId.get(s.selectedCandidatePairId);
    }
  }
  return values.find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded") || null;
}

/**
 * Link figures from two getStats() reports of one receiving peer connection
 * (`prev` the older, or null for figures since the start). Pure, so it can be
 * tested with made-up reports. Video figures are those of the first video
 * inbound-rtp in the report (`conn.videoStreams[0]`, usually); null where the
 * reports do not tell.
 * @param {?(RTCStatsReport|object[])} prev
 * @param {RTCStatsReport|object[]} cur
 * @returns {{fps: ?number, bitrateKbps: ?number, rttMs: ?number,
 *   packetsLost: number, jitterBufferMs: ?number, decodeMs: ?number,
 *   latencyEstimateMs: ?number}} fps: frames decoded per second;
 *   bitrateKbps: every inbound-rtp's received bytes; rttMs: the selected
 *   ICE candidate pair's current round trip; packetsLost: total over every
 *   inbound-rtp since the start; jitterBufferMs and decodeMs: average per
 *   frame over the interval; latencyEstimateMs: rttMs / 2 + jitterBufferMs
 *   + decodeMs (the robot's capture and encoding are not seen here)
 */
export function summarizeStats(prev, cur) {
  const now = statsValues(cur);
  const before = new Map(statsValues(prev).map((s) => [s.id, s]));
  const inbound = now.filter((s) => s.type === "inbound-rtp");
  const video = inbound.find((s) => s.kind === "video" || s.mediaType === "video") || null;
  const videoPrev = video ? before.get(video.id) || null : null;

  let fps = null;
  if (video && videoPrev && video.timestamp > videoPrev.timestamp) {
    fps = (delta(video, videoPrev, "framesDecoded") * 1000) / (video.timestamp - videoPrev.timestamp);
  } else if (video && typeof video.framesPerSecond === "number") {
    fps = video.framesPerSecond;
  }

  let bits = 0;
  let ms = 0;
  let packetsLost = 0;
  for (const s of inbound) {
    packetsLost += typeof s.packetsLost === "number" ? s.packetsLost : 0;
    const p = before.get(s.id);
    if (p && s.timestamp > p.timestamp && typeof s.bytesReceived === "number") {
      bits += (s.bytesReceived - (p.bytesReceived || 0)) * 8;
      ms = Math.max(ms, s.timestamp - p.timestamp);
    }
  }
  const bitrateKbps = ms > 0 ? bits / ms : null;

  const pair = selectedPair(now);
  const rttMs = pair && typeof pair.currentRoundTripTime === "number" ? pair.currentRoundTripTime * 1000 : null;
  const jitterBufferMs = ratioMs(video, videoPrev, "jitterBufferDelay", "jitterBufferEmittedCount");
  const decodeMs = ratioMs(video, videoPrev, "totalDecodeTime", "framesDecoded");
  const latencyEstimateMs =
    rttMs == null && jitterBufferMs == null ? null : (rttMs || 0) / 2 + (jitterBufferMs || 0) + (decodeMs || 0);
  return {
    fps: round1(fps),
    bitrateKbps: round1(bitrateKbps),
    rttMs: round1(rttMs),
    packetsLost,
    jitterBufferMs: round1(jitterBufferMs),
    decodeMs: round1(decodeMs),
    latencyEstimateMs: round1(latencyEstimateMs),
  };
}
