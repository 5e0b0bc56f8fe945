// The page's video: one tile per camera the robot offers (GET /api/robot),
// each fed by its own receive-only video transceiver, and the overlay of
// numbers from getStats. The first tile is #video, which also carries the
// robot's sound (the only element that is ever unmuted). With several
// cameras a row of buttons (and the V key) picks the view: all of them in a
// grid, or one camera large; the choice is kept in localStorage.

const HUD_FIELDS = ["fps", "bitrate", "rtt", "latency"];
const VIEW_STORAGE_KEY = "rtcbotd.view"; // "grid" or a camera's name
const GRID = "grid";

/** What a robot that does not answer /api/robot (RTCBot, an older rtcbotd) offers. */
export const FALLBACK_ROBOT = {
  cameras: [{ name: "camera" }],
  audio: true,
  talk: false,
  controls: { keyboard: true, gamepad: true, channels: [] },
  control: "single",
  telemetry: true,
  iceServers: [],
  iceTransportPolicy: "all",
};

function isEditable(target) {
  const tag = target && target.tagName ? target.tagName.toLowerCase() : "";
  return tag === "input" || tag === "textarea" || tag === "select" || Boolean(target && target.isContentEditable);
}

function loadView() {
  try {
    return window.localStorage.getItem(VIEW_STORAGE_KEY) || GRID;
  } catch {
    return GRID;
  }
}

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
   *   video (#video), hud (the overlay), fields ({fps, bitrate, rtt, latency}),
   *   views (the container of the view buttons)
   */
  constructor(el) {
    this._el = el;
    this._tiles = [{ tile: el.first, video: el.video, media: null, caption: el.first.querySelector("figcaption") }];
    this._last = null; // {at, bytes} of the previous getStats, for the bit rate
    this._names = []; // the cameras' names, in tile order
    this._view = loadView();
    window.addEventListener("keydown", (e) => {
      if (e.key.toLowerCase() === "v" && !e.repeat && !e.ctrlKey && !e.metaKey && !e.altKey && !isEditable(e.target)) {
        this.cycleView();
      }
    });
  }

  /** @returns {string} "grid" or the name of the camera shown alone */
  get view() {
    const known = this._view === GRID || this._names.includes(this._view);
    return this._names.length > 1 && known ? this._view : GRID;
  }

  /**
   * Shows every camera ("grid") or one, by name; remembered for the next
   * visit. An unknown name shows the grid.
   * @param {string} view
   */
  setView(view) {
    this._view = view === GRID || this._names.includes(view) ? view : GRID;
    try {
      window.localStorage.setItem(VIEW_STORAGE_KEY, this._view);
    } catch {
      // storage refused (private mode, a sandbox): the choice lasts this visit
    }
    this._applyView();
  }

  /** The next view: grid, then each camera, then the grid again. */
  cycleView() {
    if (this._names.length < 2) {
      return;
    }
    const order = [GRID, ...this._names];
    this.setView(order[(order.indexOf(this.view) + 1) % order.length]);
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
    this._names = robot.cameras.map((cam) => cam.name);
    this._renderViews();
    this._applyView();
  }

  /** One pressed-or-not button per view, shown with two cameras or more. */
  _renderViews() {
    const views = this._el.views;
    const key = JSON.stringify(this._names);
    if (!views || views.dataset.names === key) {
      return; // the same robot again (a reconnection): keep the buttons and their focus
    }
    views.dataset.names = key;
    views.hidden = this._names.length < 2;
    const buttons = [GRID, ...this._names].map((view) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button view";
      button.dataset.view = view;
      button.textContent = view === GRID ? "All cameras" : view;
      button.setAttribute("aria-label", view === GRID ? "All cameras in a grid" : `Camera ${view} alone`);
      button.addEventListener("click", () => this.setView(view));
      return button;
    });
    views.replaceChildren(...(this._names.length < 2 ? [] : buttons));
  }

  _applyView() {
    const view = this.view;
    this._tiles.forEach((t, i) => {
      t.tile.hidden = view !== GRID && this._names[i] !== view;
    });
    this._el.grid.dataset.count = String(view === GRID ? this._tiles.length : 1);
    this._el.grid.dataset.view = view;
    for (const button of this._el.views ? this._el.views.querySelectorAll("button") : []) {
      button.setAttribute("aria-pressed", String(button.dataset.view === view));
    }
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
   * Offers sound (first, where RTCBot's own offer has it; `audio` false when
   * the push-to-talk m-line, sendrecv, receives it) and one receive-only
   * video transceiver per camera, in camera order; call before
   * getLocalDescription. The library adds none of its own (no offerToReceive).
   */
  addTransceivers(pc, robot, audio = robot.audio) {
    if (audio) {
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
