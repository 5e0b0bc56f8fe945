// The page's colours against WCAG 2.1 AA: 4.5:1 for text, 3:1 for what
// outlines a control and for the focus ring (relative luminance, WCAG's
// formula). The colours are read from web/style.css (:root custom
// properties), so changing one there is checked here; the pairs are where
// the page puts them. Translucent layers over video are checked over a
// white frame, the worst case.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CSS = readFileSync(path.join(HERE, "../../web/style.css"), "utf8");

function colours() {
  const root = CSS.match(/:root\s*\{([^}]*)\}/)[1];
  const vars = {};
  for (const m of root.matchAll(/--([\w-]+):\s*(#[0-9a-fA-F]{6})\b/g)) {
    vars[m[1]] = m[2];
  }
  return vars;
}

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const channel = (c) => ((c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const luminance = (c) => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
const blend = (fg, bg, alpha) => fg.map((f, i) => Math.round(f * alpha + bg[i] * (1 - alpha)));

function ratio(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

test("the contrast formula: black on white is 21:1, a colour on itself 1:1", () => {
  assert.equal(Math.round(ratio([0, 0, 0], [255, 255, 255]) * 100) / 100, 21);
  assert.equal(ratio(rgb("#4f9cf9"), rgb("#4f9cf9")), 1);
});

test("text, outlines and focus ring reach WCAG AA", () => {
  const v = colours();
  for (const name of ["bg", "panel", "panel-2", "text", "muted", "accent", "live", "warn", "bad", "ink", "control-line"]) {
    assert.ok(v[name], `--${name} in :root`);
  }
  const c = Object.fromEntries(Object.entries(v).map(([k, hex]) => [k, rgb(hex)]));
  const white = [255, 255, 255];
  const black = [0, 0, 0];
  const text = [];
  for (const bg of ["bg", "panel", "panel-2"]) {
    text.push([`--text on --${bg}`, c.text, c[bg]], [`--muted on --${bg}`, c.muted, c[bg]]);
  }
  for (const state of ["live", "warn", "bad"]) {
    text.push([`--${state} on --panel-2 (state)`, c[state], c["panel-2"]], [`--${state} on --panel (drive role)`, c[state], c.panel]);
  }
  text.push(
    ["--ink on --accent (primary, pressed view, held key)", c.ink, c.accent],
    ["--ink on --bad (talking)", c.ink, c.bad],
    ["#fff caption on 70% black over a white frame", white, blend(black, white, 0.7)],
    ["#c8d0da overlay label on 72% black over a white frame", rgb("#c8d0da"), blend(black, white, 0.72)],
    ["--text overlay message on 80% black over a white frame", c.text, blend(black, white, 0.8)]
  );
  const outlines = [];
  for (const bg of ["bg", "panel", "panel-2"]) {
    outlines.push([`--control-line on --${bg}`, c["control-line"], c[bg]], [`focus ring --accent on --${bg}`, c.accent, c[bg]]);
  }
  const report = [];
  for (const [what, fg, bg, need] of [...text.map((t) => [...t, 4.5]), ...outlines.map((t) => [...t, 3])]) {
    const r = ratio(fg, bg);
    report.push(`${what}: ${r.toFixed(2)}:1`);
    assert.ok(r >= need, `${what}: ${r.toFixed(2)}:1 < ${need}:1`);
  }
  console.log(report.join("\n"));
});

test("every text colour in style.css is one of the checked ones", () => {
  // A new literal colour for text would escape the pairs above.
  const literal = Array.from(CSS.matchAll(/(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6})\b/g), (m) => m[1].toLowerCase());
  assert.deepEqual([...new Set(literal)].sort(), ["#c8d0da", "#fff"]);
});
