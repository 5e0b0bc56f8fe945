// An unmodified RTCBot-style tutorial page works against rtcbotd: the page
// below is written exactly as RTCBot's README and its streaming /
// remotecontrol tutorials write theirs (a classic <script src="/rtcbot.js">,
// the global `rtcbot`, conn.video.subscribe, Keyboard -> conn.put_nowait,
// the one fetch("/connect") round trip, conn.subscribe getting raw text that
// the page JSON.parses itself). It is served from `[daemon] web-root`, with
// the daemon's own rtcbot.js copied next to it (see userpage.mjs).

import { after, before } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "./lib.mjs";
import * as user from "./userpage.mjs";

const TUTORIAL_PAGE = `<html>
  <head>
    <title>RTCBot: Remote Control</title>
    <script crossorigin src="/rtcbot.js"></script>
  </head>
  <body style="text-align: center;padding-top: 30px;">
    <video autoplay playsinline muted controls></video>
    <p>
      Open the browser's developer tools to see console messages (CTRL+SHIFT+C)
    </p>
    <p id="fromrobot"></p>
    <script>
      var conn = new rtcbot.RTCConnection();

      conn.video.subscribe(function(stream) {
        document.querySelector("video").srcObject = stream;
      });

      var kb = new rtcbot.Keyboard();
      kb.subscribe(conn.put_nowait);

      var received = [];
      conn.subscribe(function(m) {
        received.push(m);
        var msg = JSON.parse(m);
        document.querySelector("#fromrobot").innerHTML = "Robot says: " + msg.key;
        console.log("Received from python:", m);
      });

      async function connect() {
        let offer = await conn.getLocalDescription();

        // POST the information to /connect
        let response = await fetch("/connect", {
          method: "POST",
          cache: "no-cache",
          body: JSON.stringify(offer)
        });

        await conn.setRemoteDescription(await response.json());

        console.log("Ready!");
      }
      connect();
    </script>
  </body>
</html>
`;

const { test, failures } = e2e.createSuite();
let webRoot;
let daemon;
let viewer;
let consoleErrors;

before(async () => {
  webRoot = await user.makeWebRoot({ "index.html": TUTORIAL_PAGE });
  const config = e2e.DEFAULT_CONFIG.replace(
    "max-peers = 8",
    `max-peers = 8\nweb-root = ${webRoot.dir}`
  ) + `
[route journal]
from = peers.messages
to = log
`;
  daemon = await e2e.startDaemon({ name: "tutorial", config });
  viewer = await e2e.launchViewer("tutorial");
  consoleErrors = user.collectConsoleErrors(viewer.page);
  await user.recordPeerConnections(viewer.page);
});

after(async () => {
  await e2e.saveArtifacts("tutorial", { daemon, viewers: [viewer], failed: failures.length > 0 });
  await viewer?.close();
  await daemon?.stop();
  await webRoot?.remove();
});

test("the page and the daemon's rtcbot.js are served from web-root", async () => {
  const index = await fetch(daemon.url);
  assert.equal(index.status, 200);
  assert.equal(await index.text(), TUTORIAL_PAGE);
  const lib = await fetch(new URL("rtcbot.js", daemon.url));
  assert.equal(lib.status, 200);
  assert.equal(await lib.text(), webRoot.rtcbotJs);
  assert.match(webRoot.rtcbotJs, /rtcbot/, "a non-empty rtcbot.js");
});

test("the tutorial page connects and its video plays", { timeout: 90000 }, async () => {
  const started = Date.now();
  await viewer.page.goto(daemon.url, { waitUntil: "load" });
  await e2e.waitFor("console 'Ready!'", () => viewer.consoleLines.some((l) => l === "log: Ready!"), {
    timeoutMs: 30000,
  });
  const first = await e2e.waitFor("a first decoded frame", () => user.recordedFramesDecoded(viewer.page), {
    timeoutMs: 30000,
  });
  const last = await e2e.waitFor(
    `framesDecoded to rise by 30 from ${first}`,
    async () => {
      const n = await user.recordedFramesDecoded(viewer.page);
      return n >= first + 30 ? n : 0;
    },
    { timeoutMs: 30000 }
  );
  console.log(`# framesDecoded ${first} -> ${last}, ${Date.now() - started} ms after goto`);

  const video = await viewer.page.evaluate(() => {
    const v = document.querySelector("video");
    return {
      paused: v.paused,
      width: v.videoWidth,
      height: v.videoHeight,
      isStream: v.srcObject instanceof MediaStream,
      tracks: v.srcObject.getTracks().map((t) => t.kind),
    };
  });
  // The robot has a camera and a tone; the page asked for video only.
  assert.deepEqual(video, { paused: false, width: 640, height: 480, isStream: true, tracks: ["video"] });

  await e2e.ensureArtifactsDir();
  const png = await viewer.page.locator("video").screenshot({ path: e2e.artifactPath("tutorial-video.png") });
  const shot = e2e.pngLuma(e2e.decodePng(png));
  console.log(`# screenshot of the <video>: ${JSON.stringify(shot)}`);
  assert.ok(shot.mean > 40 && shot.brightFraction > 0.3, `the video is not black: ${JSON.stringify(shot)}`);
});

test("pressing w sends RTCBot's keydown to the daemon; the robot's echo arrives raw", { timeout: 60000 }, async () => {
  const logBefore = daemon.log().length;
  await viewer.page.locator("body").click(); // focus, as a user clicks the page
  await viewer.page.keyboard.press("w");
  const lines = await e2e.waitFor("[route journal] keydown and keyup of w", () => {
    const got = user.routeLines(daemon.log().slice(logBefore), "journal");
    const down = got.find((l) => l.json.type === "keydown");
    const up = got.find((l) => l.json.type === "keyup");
    return down && up ? { down, up } : null;
  });
  console.log(`# daemon log: [route journal]: ${lines.down.text}`);
  assert.match(
    daemon.log(),
    /rtcbotd-Message: [\d:.]+: \[route journal\]: \{"type":"keydown","altKey":false,"shiftKey":false,"keyCode":87,"key":"w"\}\n/,
    "one log line at level message, RTCBot's five fields in RTCBot's order"
  );
  assert.deepEqual(lines.down.json, { type: "keydown", altKey: false, shiftKey: false, keyCode: 87, key: "w" });
  assert.deepEqual(Object.keys(lines.down.json).sort(), ["altKey", "key", "keyCode", "shiftKey", "type"]);
  assert.deepEqual(lines.up.json, { type: "keyup", altKey: false, shiftKey: false, keyCode: 87, key: "w" });

  // [route echo] peers.messages -> peers: the robot's message reaches the
  // page's conn.subscribe callback as the raw JSON text.
  const received = await e2e.waitFor("the echo of both keys in conn.subscribe", async () => {
    const r = await viewer.page.evaluate(() => window.received.slice());
    return r.length >= 2 ? r : null;
  });
  console.log(`# conn.subscribe got: ${JSON.stringify(received)}`);
  assert.ok(received.every((m) => typeof m === "string"), `raw strings: ${JSON.stringify(received)}`);
  // With control = single (the default) the daemon drives by one peer, but
  // tells roles only to pages that ask ({"rtcbotd":"role"}, docs/protocol.md):
  // an RTCBot page gets nothing but what the routes send.
  // The channel is ordered: a role told when it opened would come first.
  assert.deepEqual(received, [lines.down.text, lines.up.text], "the echo, verbatim, and no {\"rtcbotd\":...} message");
  const echoed = received;
  assert.deepEqual(JSON.parse(echoed[0]), lines.down.json);
  assert.deepEqual(JSON.parse(echoed[1]), lines.up.json);
  assert.equal(await viewer.page.textContent("#fromrobot"), "Robot says: w");
});

test("no console errors, no page errors", async () => {
  assert.deepEqual(viewer.pageErrors, [], "uncaught page errors");
  // Chromium asks for /favicon.ico by itself; RTCBot's tutorial servers
  // 404 it as well. Anything else is the page's or rtcbot.js's doing.
  const favicon = consoleErrors.filter((e) => new URL(e.url || "about:blank").pathname === "/favicon.ico");
  if (favicon.length) {
    console.log(`# ignored: ${favicon.length} favicon.ico 404 from the browser`);
  }
  assert.deepEqual(consoleErrors.filter((e) => !favicon.includes(e)), [], "console errors");
});
