/*
 * rtcbot/whep.mjs — watch one source over WHEP (POST /whep/SOURCE), the
 * standard alternative to RTCBot's /connect: no data channel, receive-only
 * media, and a session URL that DELETE ends. Part of rtcbotd's browser
 * library (web/rtcbot.mjs re-exports whep and WhepSession).
 */

/** Resolves when `pc` has gathered its candidates, or after `ms` (non-trickle, as /connect). */
function gathered(pc, ms) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, ms);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** RFC 9725 Link headers: `<turn:h:p>; rel="ice-server"; username="u"; credential="c"`. */
export function parseIceServerLinks(header) {
  if (!header) {
    return [];
  }
  const servers = [];
  for (const link of header.split(/,\s*(?=<)/)) {
    const m = link.match(/^<([^>]+)>(.*)$/);
    if (!m || !/rel="?ice-server"?/.test(m[2])) {
      continue;
    }
    const server = { urls: m[1] };
    for (const [, key, value] of m[2].matchAll(/;\s*([a-z-]+)="([^"]*)"/g)) {
      if (key === "username" || key === "credential") {
        server[key] = value;
      }
    }
    servers.push(server);
  }
  return servers;
}

/** One WHEP session: its peer connection, the streams it receives, its resource URL. */
export class WhepSession {
  constructor(pc, location, headers, fetchImpl) {
    /** @type {RTCPeerConnection} */
    this.pc = pc;
    /** The session's resource (absolute URL), for PATCH and DELETE. */
    this.location = location;
    /** @type {MediaStream[]} one per received track, in arrival order */
    this.streams = [];
    this._headers = headers;
    // Called as a plain function: window.fetch refuses any other `this`.
    this._fetch = (...args) => fetchImpl(...args);
  }

  /** Ends the session: DELETE on its resource, then closes the peer connection. */
  async close() {
    try {
      await this._fetch(this.location, { method: "DELETE", headers: this._headers });
    } catch {
      // the robot may be gone already; the peer connection closes anyway
    }
    this.pc.close();
  }
}

/**
 * Watches `source` of the robot at `base` (default: this page's origin) over
 * WHEP: offers receive-only video (and audio), POSTs the offer as
 * application/sdp with `Authorization: Bearer token`, applies the 201's
 * answer. Rejects with the robot's {"error"} text (err.status is the HTTP
 * status) when refused.
 *
 * @param {string} source the source's name, as in [source NAME]
 * @param {object} [options]
 * @param {string} [options.base=""] the robot's URL prefix ("https://robot:8080")
 * @param {string} [options.token] the driver's or viewer's token
 * @param {boolean} [options.audio=false] also offer to receive audio
 * @param {RTCIceServer[]} [options.iceServers=[]]
 * @param {function(MediaStream, MediaStreamTrack): void} [options.onTrack]
 * @param {function} [options.fetch=globalThis.fetch]
 * @returns {Promise<WhepSession>}
 */
export async function whep(source, options = {}) {
  const fetchImpl = options.fetch || globalThis.fetch;
  const url = `${options.base || ""}/whep/${encodeURIComponent(source)}`;
  const headers = options.token ? { Authorization: `Bearer ${options.token}` } : {};
  const pc = new RTCPeerConnection({ iceServers: options.iceServers || [] });
  const streams = [];
  pc.addEventListener("track", (event) => {
    const stream = event.streams[0] || new MediaStream([event.track]);
    streams.push(stream);
    if (options.onTrack) {
      options.onTrack(stream, event.track);
    }
  });
  pc.addTransceiver("video", { direction: "recvonly" });
  if (options.audio) {
    pc.addTransceiver("audio", { direction: "recvonly" });
  }
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, 5000);
  const res = await fetchImpl(url, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/sdp" },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) {
    let reason = `HTTP ${res.status}`;
    try {
      reason = (await res.json()).error || reason;
    } catch {
      // not JSON
    }
    pc.close();
    const err = new Error(`rtcbot: POST ${url}: ${reason}`);
    err.status = res.status;
    throw err;
  }
  const location = new URL(res.headers.get("Location"), new URL(url, globalThis.location?.href || "http://robot/")).href;
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
  const session = new WhepSession(pc, location, headers, fetchImpl);
  session.streams = streams;
  session.iceServers = parseIceServerLinks(res.headers.get("Link"));
  return session;
}
