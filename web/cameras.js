// The page's video: one tile per camera the robot offers (GET /api/robot),
// each fed by its own receive-only video transceiver, and the overlay of
// numbers from getStats. The first tile is #video, which also carries the
// robot's sound (the only element that is ever unmuted).

const HUD_FIELDS = ["fps", "bitrate", "rtt", "latency"];

/** What a robot that does not answer /api/robot (RTCBot, an older rtcbotd) offers. */
export const FALLBACK_ROBOT = {
  cameras: [{ name: "camera" }],
  audio: true,
  talk: false,
  controls: { keyboard: true, gamepad: true, channels: [] },
  control: "single",
  telemetry: true,
  iceServers: [],
};

function formatBitrate(bitsPerSecond) {
  if (bitsPerSecond >= 1e6) {
    return `${(bitsPerSecond / 1e6).toFixed(1)} Mbit/s`;
  }
  return `${Math.round(bitsPerSecond / 1e3)} kbit/s`;
}

/** The tiles, the tracks that go into them and the statistics overlay. */
export class Cameras {
  /**
   * @param {object} el grid (the tile container), first (the #video tile),
   *   video (#video), hud (the overlay), fields ({fps, bitrate, rtt, latency})
   */
  constructor(el) {
    this._el = el;
    this._tiles = [{ tile: el.first, video: el.video, media: null, caption: el.first.querySelector("figcaption") }];
    this._last = null; // {at, bytes} of the previous getStats, for the bit rate
  }

  /** @returns {number} how many cameras are shown */
  get count() {
    return this._tiles.length;
  }

  /** Makes one tile per camera of @robot; the first is always #video. */
  setRobot(robot) {
    const cameras = robot.cameras.length > 0 ? robot.cameras : [{ name: "no camera" }];
    while (this._tiles.length > cameras.length) {
      this._tiles.pop().tile.remove();
    }
    while (this._tiles.length < cameras.length) {
      this._tiles.push(this._makeTile(this._tiles.length));
    }
    cameras.forEach((cam, i) => {
      const size = cam.width ? ` · ${cam.width}×${cam.height}` : "";
      this._tiles[i].caption.textContent = `${cam.name}${size}`;
      this._tiles[i].video.setAttribute("aria-label", `Camera ${cam.name}`);
    });
    this._el.grid.dataset.count = String(cameras.length);
  }

  _makeTile(index) {
    const tile = document.createElement("figure");
    tile.className = "screen";
    const video = document.createElement("video");
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.dataset.camera = String(index);
    const caption = document.createElement("figcaption");
    tile.append(video, caption);
    this._el.grid.append(tile);
    // A tile made after attach() (the robot learnt mid-connection) needs its stream too.
    return { tile, video, media: new MediaStream(), caption };
  }

  /**
   * Offers sound (first, where RTCBot's own offer has it) and one
   * receive-only video transceiver per camera, in camera order; call before
   * getLocalDescription. The library adds none of its own (no offerToReceive).
   */
  addTransceivers(pc, robot) {
    if (robot.audio) {
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
    for (let i = 0; i < robot.cameras.length; i++) {
      pc.addTransceiver("video", { direction: "recvonly" });
    }
  }

  /** Starts a new connection: empty streams, tracks routed by their transceiver. */
  attach(pc, isDone) {
    this._last = null;
    // srcObject waits for a first track: a media element with an empty
    // stream delays the document's load event until it plays, forever.
    for (const t of this._tiles) {
      t.media = new MediaStream();
      t.video.srcObject = null;
    }
    pc.addEventListener("track", (event) => {
      if (!isDone()) {
        this._addTrack(pc, event);
      }
    });
  }

  _addTrack(pc, event) {
    let index = 0;
    if (event.track.kind === "video") {
      const videos = pc.getTransceivers().filter((t) => t.receiver.track && t.receiver.track.kind === "video");
      index = Math.max(0, videos.indexOf(event.transceiver));
    }
    const tile = this._tiles[Math.min(index, this._tiles.length - 1)];
    if (!tile.media.getTrackById(event.track.id)) {
      tile.media.addTrack(event.track);
    }
    if (tile.video.srcObject !== tile.media) {
      tile.video.srcObject = tile.media;
    }
    tile.video.play().catch(() => {});
  }

  /**
   * Reads getStats: fills the overlay and each tile's caption; returns the
   * sum of framesDecoded (for the stall check), or null without video.
   */
  async poll(pc) {
    const report = await pc.getStats();
    const videos = [];
    let bytes = 0;
    let rtt = null;
    report.forEach((r) => {
      if (r.type === "inbound-rtp") {
        bytes += r.bytesReceived || 0;
        if (r.kind === "video") {
          videos.push(r);
        }
      } else if (r.type === "candidate-pair" && r.nominated && r.currentRoundTripTime != null) {
        rtt = r.currentRoundTripTime;
      }
    });
    if (videos.length === 0) {
      this.clear();
      return null;
    }
    this._show(this._numbers(videos, bytes, rtt));
    return videos.reduce((sum, v) => sum + (v.framesDecoded || 0), 0);
  }

  _numbers(videos, bytes, rtt) {
    const now = performance.now();
    const first = videos[0];
    const fps = videos.map((v) => (v.framesPerSecond != null ? Math.round(v.framesPerSecond) : "–")).join(" / ");
    let bitrate = "–";
    if (this._last && now > this._last.at) {
      bitrate = formatBitrate(((bytes - this._last.bytes) * 8 * 1000) / (now - this._last.at));
    }
    this._last = { at: now, bytes };
    // Glass-to-glass is not measurable from here: network one way (RTT/2),
    // the jitter buffer and decoding are; capture, encoding and display are not.
    let latency = "–";
    if (rtt != null && first.jitterBufferEmittedCount && first.framesDecoded) {
      const ms =
        (rtt / 2 + first.jitterBufferDelay / first.jitterBufferEmittedCount + first.totalDecodeTime / first.framesDecoded) *
        1000;
      latency = `≈ ${Math.round(ms)} ms`;
    }
    return {
      fps,
      bitrate,
      rtt: rtt != null ? `${Math.round(rtt * 1000)} ms` : "–",
      latency,
    };
  }

  _show(values) {
    for (const name of HUD_FIELDS) {
      this._el.fields[name].textContent = values[name];
    }
    this._el.hud.hidden = false;
  }

  /** Hides the overlay (not live, or no video). */
  clear() {
    this._el.hud.hidden = true;
  }
}
