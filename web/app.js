// rtcbotd's built-in page: it asks GET /api/robot what the robot offers, then
// shows live video of every camera (cameras.js: a grid or one camera) with
// sound, push-to-talk when the robot hears peers (talk.js), a statistics
// overlay, connection state with automatic reconnect, a Drive panel
// (drive.js: keyboard, gamepad, touch joystick) for the inputs the robot
// routes, and the robot's messages (telemetry.js) with a message box on the
// "default" data channel. Uses the global `rtcbot` from /rtcbot.js. Exposes
// window.rtcbotdApp.conn (the current RTCConnection, or null between
// attempts), .state, .role, .driving, .robot, .talk (the rtcbot.PushToTalk)
// and .view for tests and tinkering. A robot with a token is opened as
// /?token=…: the daemon keeps the token in a cookie, and the page sends it
// with /connect.

import { Cameras, FALLBACK_ROBOT } from "./cameras.js";
import { Drive } from "./drive.js";
import { TalkButton } from "./talk.js";
import { logMessage } from "./telemetry.js";

const POST_TIMEOUT_MS = 15000; // the robot answers after ICE gathering: fast
const CONNECT_TIMEOUT_MS = 20000; // from the answer to ICE/DTLS "connected"
const DISCONNECT_GRACE_MS = 5000; // "disconnected" often heals by itself
const STALL_TIMEOUT_MS = 15000; // video that decoded frames, then stopped
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 15000;
const ROBOT_TIMEOUT_MS = 5000;

const LABELS = {
  connecting: "connecting",
  live: "live",
  reconnecting: "reconnecting",
  offline: "robot offline",
  locked: "needs a token",
};

const el = {
  body: document.body,
  state: document.getElementById("state"),
  stateLabel: document.getElementById("state-label"),
  video: document.getElementById("video"),
  overlayText: document.getElementById("overlay-text"),
  audioToggle: document.getElementById("audio-toggle"),
  audioLabel: document.getElementById("audio-label"),
  detail: document.getElementById("detail"),
  stats: document.getElementById("stats"),
  form: document.getElementById("message-form"),
  message: document.getElementById("message"),
  send: document.getElementById("send"),
  log: document.getElementById("log"),
  fullscreen: document.getElementById("fullscreen"),
  stage: document.getElementById("stage"),
  drivePanel: document.getElementById("drive"),
  keysPanel: document.getElementById("drive-keys"),
  padPanel: document.getElementById("gamepad-info"),
  messagesTitle: document.getElementById("messages-title"),
};

const cameras = new Cameras({
  grid: document.getElementById("screens"),
  first: document.getElementById("screen-0"),
  video: el.video,
  hud: document.getElementById("hud"),
  views: document.getElementById("views"),
  fields: {
    fps: document.getElementById("hud-fps"),
    bitrate: document.getElementById("hud-bitrate"),
    rtt: document.getElementById("hud-rtt"),
    latency: document.getElementById("hud-latency"),
  },
});

const drive = new Drive({
  panel: document.getElementById("drive"),
  role: document.getElementById("drive-role"),
  keys: document.getElementById("drive-keys"),
  stick: document.getElementById("stick"),
  knob: document.getElementById("stick-knob"),
  pad: document.getElementById("gamepad"),
  axes: document.getElementById("gamepad-axes"),
}, { onRole: () => renderStateLabel() });

const talk = new TalkButton({
  button: document.getElementById("talk"),
  label: document.getElementById("talk-label"),
  status: document.getElementById("talk-status"),
});

/**
 * A failed connection attempt; `offline` means the robot did not answer at
 * all, `locked` that it wants a (different) token: trying again cannot help.
 */
class AttemptError extends Error {
  constructor(message, { offline = false, retryAfterMs = null, locked = false } = {}) {
    super(message);
    this.offline = offline;
    this.retryAfterMs = retryAfterMs;
    this.locked = locked;
  }
}

/** The token the page was opened with (?token=…), taken out of the address bar. */
function takeUrlToken() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (token != null) {
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return token;
}

const urlToken = takeUrlToken();

let session = null; // the current attempt: {conn, media, timers, done, ...}
let failures = 0; // consecutive failed attempts, for the backoff
let retryTimer = null;
let state = "connecting";
let robot = FALLBACK_ROBOT; // what GET /api/robot said last

window.rtcbotdApp = {
  get conn() {
    return session ? session.conn : null;
  },
  get state() {
    return state;
  },
  /** "driver", "viewer", or null when the daemon sent no role (shared control). */
  get role() {
    return drive.role;
  },
  /** Whether the Drive panel's inputs are being sent. */
  get driving() {
    return drive.driving;
  },
  /** What GET /api/robot said (or the fallback for a robot without it). */
  get robot() {
    return robot;
  },
  /** The push-to-talk microphone (rtcbot.PushToTalk): .talking, .track. */
  get talk() {
    return talk.talk;
  },
  /** "grid" or the name of the camera shown alone. */
  get view() {
    return cameras.view;
  },
};

/* ---------------------------------------------------------------- state */

function setState(next, detail = "") {
  state = next;
  el.body.dataset.state = next;
  el.state.dataset.state = next;
  renderStateLabel();
  el.detail.textContent = detail;
  el.send.disabled = next !== "live";
  drive.setLive(next === "live");
  talk.setLive(next === "live");
  el.overlayText.textContent = overlayText(next, detail);
}

/** "live" says whether this page drives: a viewer must not wonder why nothing moves. */
function renderStateLabel() {
  let label = LABELS[state];
  if (state === "live" && drive.role === "viewer") {
    label = drive.watchOnly ? "live — viewer only, this token may only watch" : "live — viewer only, someone else is driving";
  }
  el.stateLabel.textContent = label;
}

function overlayText(next, detail) {
  switch (next) {
    case "connecting":
      return "Connecting to the robot…";
    case "reconnecting":
      return "Reconnecting…";
    case "offline":
      return "The robot is offline. Retrying…";
    case "locked":
      return detail;
    default:
      return detail;
  }
}

function backoffMs(n) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, n - 1));
  return Math.round(base * (0.8 + 0.4 * Math.random()));
}

/* ------------------------------------------------------------- connection */

function startSession() {
  retryTimer = null;
  const conn = new rtcbot.RTCConnection(true, { iceServers: [] });
  const s = { conn, timers: {}, done: false, framesDecoded: 0, lastProgress: 0 };
  session = s;

  cameras.attach(conn.pc, () => s.done);
  conn.subscribe((data) => {
    if (!drive.handleMessage(data)) {
      logMessage(el.log, data);
    }
  });
  drive.attach(conn);
  conn.onConnectionStateChange((pcState) => onPeerState(s, pcState));

  negotiate(s).catch((err) => endSession(s, err));
}

async function negotiate(s) {
  robot = await fetchRobot();
  if (s.done) {
    return;
  }
  applyRobot();
  // The robot's STUN/TURN servers, before the offer starts ICE gathering.
  s.conn.pc.setConfiguration({
    iceServers: Array.isArray(robot.iceServers) ? robot.iceServers : [],
    iceTransportPolicy: robot.iceTransportPolicy === "relay" ? "relay" : "all",
  });
  // The push-to-talk m-line is sendrecv from the start: talking never
  // renegotiates. It also receives the robot's sound.
  const talking = talk.addTransceiver(s.conn.pc);
  cameras.addTransceivers(s.conn.pc, robot, robot.audio && !talking);
  const offer = await s.conn.getLocalDescription();
  const answer = await postOffer(offer);
  if (s.done) {
    return;
  }
  await s.conn.setRemoteDescription(answer);
  s.timers.connect = setTimeout(
    () => endSession(s, new AttemptError("the connection did not come up")),
    CONNECT_TIMEOUT_MS
  );
}

/**
 * Asks the robot what it offers. A refusal (401/403) or no answer is left to
 * /connect, which explains it; a robot without the endpoint (RTCBot, an older
 * rtcbotd) gets the fallback: one camera, sound, every input.
 */
async function fetchRobot() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ROBOT_TIMEOUT_MS);
  try {
    const path = urlToken ? `/api/robot?token=${encodeURIComponent(urlToken)}` : "/api/robot";
    const res = await fetch(path, { cache: "no-cache", signal: abort.signal });
    const body = res.ok ? await res.json() : null;
    if (body && Array.isArray(body.cameras) && body.controls) {
      return body;
    }
  } catch {
    // the robot is not answering: /connect will say so
  } finally {
    clearTimeout(timer);
  }
  return FALLBACK_ROBOT;
}

/** Fits the page to the robot: camera tiles, sound button, input panels. */
function applyRobot() {
  cameras.setRobot(robot);
  el.audioToggle.hidden = !robot.audio;
  talk.setAvailable(robot.talk === true);
  el.keysPanel.hidden = !robot.controls.keyboard;
  el.padPanel.hidden = !robot.controls.gamepad;
  el.drivePanel.hidden = !robot.controls.keyboard && !robot.controls.gamepad;
  el.messagesTitle.textContent = robot.telemetry ? "Telemetry and messages" : "Messages";
}

async function postOffer(offer) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), POST_TIMEOUT_MS);
  let res;
  try {
    const path = urlToken ? `/connect?token=${encodeURIComponent(urlToken)}` : "/connect";
    res = await fetch(path, {
      method: "POST",
      cache: "no-cache",
      body: JSON.stringify(offer),
      signal: abort.signal,
    });
  } catch (err) {
    throw new AttemptError("no answer from the robot", { offline: true });
  } finally {
    clearTimeout(timer);
  }
  const body = await res.json().catch(() => null);
  if (res.ok && body && body.type === "answer") {
    return body;
  }
  const reason = body && body.error ? body.error : `HTTP ${res.status}`;
  if (res.status === 401 || res.status === 403) {
    throw new AttemptError(tokenAdvice(res.status), { locked: true });
  }
  if (res.status === 503) {
    const retryAfter = Number(res.headers.get("Retry-After"));
    throw new AttemptError(`the robot is busy: ${reason}`, {
      retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 60) * 1000 : null,
    });
  }
  if (res.status >= 500) {
    throw new AttemptError(`the robot is not answering (${reason})`, { offline: true });
  }
  throw new AttemptError(`the robot refused the connection: ${reason}`);
}

function tokenAdvice(status) {
  const example = `${window.location.origin}/?token=…`;
  if (status === 401) {
    return `This robot needs a token: open the page as ${example}`;
  }
  return `This token is not accepted: open the page as ${example} with the robot's token`;
}

function onPeerState(s, pcState) {
  if (s.done) {
    return;
  }
  clearTimeout(s.timers.grace);
  switch (pcState) {
    case "connected":
      clearTimeout(s.timers.connect);
      failures = 0;
      setState("live");
      break;
    case "disconnected":
      setState("reconnecting", "connection interrupted");
      s.timers.grace = setTimeout(
        () => endSession(s, new AttemptError("connection lost")),
        DISCONNECT_GRACE_MS
      );
      break;
    case "failed":
    case "closed":
      endSession(s, new AttemptError(`connection ${pcState}`));
      break;
    default:
      break;
  }
}

/** Tears the attempt down and schedules the next one with backoff. */
function endSession(s, err) {
  if (s.done) {
    return;
  }
  s.done = true;
  for (const t of Object.values(s.timers)) {
    clearTimeout(t);
  }
  s.conn.close();
  if (session === s) {
    session = null;
    drive.detach();
    talk.detach();
  }
  if (err.locked) {
    setState("locked", err.message);
    return;
  }
  failures += 1;
  const delay = err.retryAfterMs != null ? err.retryAfterMs : backoffMs(failures);
  const seconds = Math.max(1, Math.round(delay / 1000));
  setState(err.offline ? "offline" : "reconnecting", `${err.message}; retrying in ${seconds} s`);
  console.warn("rtcbotd:", err.message);
  retryTimer = setTimeout(startSession, delay);
}

/* ------------------------------------------------------------------ media */

function toggleAudio() {
  el.video.muted = !el.video.muted;
  if (!el.video.muted) {
    el.video.play().catch(() => {});
  }
  renderAudio();
}

function renderAudio() {
  const on = !el.video.muted;
  el.audioToggle.setAttribute("aria-pressed", String(on));
  el.audioLabel.textContent = on ? "Sound on" : "Sound off";
}

/** Fills the statistics overlay and restarts a stalled video. */
async function pollStats() {
  const s = session;
  if (!s || s.done || state !== "live") {
    cameras.clear();
    el.stats.textContent = "";
    return;
  }
  const framesDecoded = await cameras.poll(s.conn.pc);
  el.stats.textContent = framesDecoded == null ? "" : `${cameras.count} camera${cameras.count === 1 ? "" : "s"}`;
  if (framesDecoded != null) {
    checkStall(s, framesDecoded);
  }
}

function checkStall(s, framesDecoded) {
  const now = performance.now();
  if (framesDecoded > s.framesDecoded || s.framesDecoded === 0) {
    s.framesDecoded = framesDecoded;
    s.lastProgress = now;
  } else if (now - s.lastProgress > STALL_TIMEOUT_MS) {
    endSession(s, new AttemptError("the video stopped"));
  }
}

function toggleFullscreen() {
  if (document.fullscreenElement) {
    document.exitFullscreen().catch(() => {});
  } else if (el.stage.requestFullscreen) {
    el.stage.requestFullscreen().catch(() => {});
  }
}

/* --------------------------------------------------------------- messages */

function sendMessage(event) {
  event.preventDefault();
  const text = el.message.value;
  if (!text || !session || state !== "live") {
    return;
  }
  session.conn.put_nowait(text);
  el.message.value = "";
  el.message.focus();
}

/* ------------------------------------------------------------------ start */

el.audioToggle.addEventListener("click", toggleAudio);
el.fullscreen.addEventListener("click", toggleFullscreen);
document.addEventListener("fullscreenchange", () =>
  el.fullscreen.setAttribute("aria-pressed", String(document.fullscreenElement != null))
);
el.form.addEventListener("submit", sendMessage);
el.video.addEventListener("volumechange", renderAudio);
window.addEventListener("pagehide", () => {
  clearTimeout(retryTimer);
  if (session) {
    session.done = true;
    session.conn.close();
    session = null;
    drive.detach();
    talk.detach();
  }
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted && !session) {
    startSession();
  }
});
setInterval(() => pollStats().catch(() => {}), 1000);

renderAudio();
setState("connecting");
startSession();
