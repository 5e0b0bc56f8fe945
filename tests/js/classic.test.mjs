// The classic build (build/src/rtcbot.js, joined from web/rtcbot.mjs and its parts by
// scripts/js-classic.py): it parses as a script, defines the global rtcbot
// with every export of the module, and works.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import * as mod from "../../web/rtcbot.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLASSIC = process.env.RTCBOT_JS || path.join(HERE, "../../build/src/rtcbot.js");

test("rtcbot.js is a classic script defining window.rtcbot with the module's exports", async () => {
  const source = readFileSync(CLASSIC, "utf8");
  assert.doesNotMatch(source, /^\s*(export|import)\b/m);
  const window = { console };
  window.window = window; // a page's global object
  vm.createContext(window);
  vm.runInContext(source, window, { filename: CLASSIC });
  const named = Object.keys(mod).filter((k) => k !== "default").sort();
  assert.deepEqual(Object.keys(window.rtcbot).sort(), named);
  assert.equal(typeof window.rtcbot.RTCConnection, "function");
  assert.equal(window.rtcbot.backoffDelay(3, {}, () => 0), 4000);
  const q = new window.rtcbot.Queue();
  q.put_nowait("x");
  assert.equal(await q.get(), "x");
});

test("a second load keeps what the global rtcbot already had", () => {
  const window = { rtcbot: { mine: 1 } };
  vm.createContext(window);
  vm.runInContext(readFileSync(CLASSIC, "utf8"), window);
  assert.equal(window.rtcbot.mine, 1);
  assert.equal(typeof window.rtcbot.connect, "function");
});

test("every part of the library is served and rebuilds rtcbot.js", () => {
  const root = path.join(HERE, "../..");
  const parts = readdirSync(path.join(root, "web/rtcbot")).filter((f) => f.endsWith(".mjs"));
  assert.ok(parts.length > 1, "web/rtcbot/ holds the library's parts");
  const gresource = readFileSync(path.join(root, "src/rtcbotd.gresource.xml"), "utf8");
  const meson = readFileSync(path.join(root, "src/meson.build"), "utf8");
  for (const part of parts) {
    assert.match(gresource, new RegExp(`<file>rtcbot/${part}</file>`), `${part} in rtcbotd.gresource.xml`);
    assert.match(meson, new RegExp(`'\\.\\./web/rtcbot/${part}'`), `${part} in src/meson.build rtcbot_modules`);
  }
});
