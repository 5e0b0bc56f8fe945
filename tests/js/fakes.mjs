// Minimal stand-ins for the browser objects web/rtcbot.mjs touches, so its
// logic runs under node's test runner: RTCPeerConnection and RTCDataChannel
// (only what the library calls), window (key listeners), navigator
// (getGamepads) and MediaStream. install() puts them on globalThis.

/** A data channel that opens, receives and closes when the test says so. */
export class FakeChannel {
  constructor(label, init = {}) {
    this.label = label;
    this.ordered = init.ordered ?? true;
    this.init = init;
    this.readyState = "connecting";
    this.bufferedAmount = 0;
    this.sent = [];
    this.listeners = {};
  }
  send(msg) {
    if (this.readyState !== "open") {
      throw new Error("InvalidStateError: not open");
    }
    this.sent.push(msg);
  }
  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }
  open() {
    this.readyState = "open";
    this.onopen?.({});
  }
  receive(data) {
    const event = { data };
    this.onmessage?.(event);
    for (const fn of this.listeners.message || []) fn(event);
  }
  close() {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.onclose?.({});
  }
}

/** A peer connection whose offer lists its transceivers and channels, one m-line each. */
export class FakePeerConnection {
  static instances = [];
  constructor(config) {
    this.config = config;
    this.channels = [];
    this.transceivers = [];
    this.connectionState = "new";
    this.iceGatheringState = "complete";
    this.localDescription = null;
    this.remoteDescription = null;
    this.listeners = {};
    this.statsReports = [];
    FakePeerConnection.instances.push(this);
  }
  createDataChannel(label, init) {
    const chan = new FakeChannel(label, init);
    this.channels.push(chan);
    return chan;
  }
  addTransceiver(kind, init) {
    const t = { kind, direction: init.direction, sender: { track: null } };
    this.transceivers.push(t);
    return t;
  }
  addTrack(track) {
    this.transceivers.push({ kind: track.kind, direction: "sendrecv", sender: { track } });
  }
  getTransceivers() {
    return this.transceivers;
  }
  async createOffer() {
    const lines = this.transceivers.map((t) => `m=${t.kind} ${t.direction}`);
    if (this.channels.length > 0) lines.push("m=application");
    return { type: "offer", sdp: lines.join("\r\n") };
  }
  async createAnswer() {
    return { type: "answer", sdp: "fake answer" };
  }
  async setLocalDescription(desc) {
    this.localDescription = desc;
  }
  async setRemoteDescription(desc) {
    this.remoteDescription = desc;
  }
  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }
  removeEventListener(type, fn) {
    this.listeners[type] = (this.listeners[type] || []).filter((f) => f !== fn);
  }
  emit(type, event = {}) {
    this["on" + type]?.(event);
    for (const fn of this.listeners[type] || []) fn(event);
  }
  setState(state) {
    this.connectionState = state;
    this.emit("connectionstatechange");
  }
  close() {
    this.connectionState = "closed";
  }
  async getStats() {
    return this.statsReports.shift();
  }
}

/** window: key and blur listeners, fired by the test. */
export class FakeWindow {
  constructor() {
    this.listeners = {};
  }
  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }
  removeEventListener(type, fn) {
    this.listeners[type] = (this.listeners[type] || []).filter((f) => f !== fn);
  }
  fire(type, props = {}) {
    const event = { type, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; }, ...props };
    for (const fn of (this.listeners[type] || []).slice()) fn(event);
    return event;
  }
}

export class FakeMediaStream {
  constructor(tracks) {
    this.tracks = tracks;
  }
}

/** Puts the fakes on globalThis; returns them. */
export function install() {
  const window = new FakeWindow();
  const pads = [];
  const navigator = { polls: 0, getGamepads: () => (navigator.polls++, pads) };
  globalThis.RTCPeerConnection = FakePeerConnection;
  globalThis.MediaStream = FakeMediaStream;
  globalThis.window = window;
  Object.defineProperty(globalThis, "navigator", { value: navigator, configurable: true, writable: true });
  return { window, navigator, pads };
}

/** Polls `cond` every few ms until it is true, failing after `ms`. */
export async function until(cond, ms = 2000, what = "condition") {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
