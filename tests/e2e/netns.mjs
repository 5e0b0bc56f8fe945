// Network namespaces for the e2e tests that need more than one "host" (turn,
// sfu): made by the test, joined by veth pairs, removed after it; helpers run
// in one with their output kept, and Chromium is launched inside one (driven
// over a pipe, so no TCP reaches it). Only these namespaces and loopback are
// ever used. Needs root and iproute2.

import { execFileSync, spawn } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";
import * as e2e from "./lib.mjs";

/** Runs @argv and returns its stdout; throws when it fails. */
export function sh(...argv) {
  return execFileSync(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] }).toString();
}

/** True when the shell finds the command @cmd. */
export function have(cmd) {
  try {
    sh("sh", "-c", `command -v ${cmd}`);
    return true;
  } catch {
    return false;
  }
}

/** Deletes the namespaces @names (those that are not there are skipped). */
export function removeNamespaces(names) {
  for (const ns of names) {
    try {
      sh("ip", "netns", "del", ns);
    } catch {
      // not there
    }
  }
}

/** Makes the namespaces @names afresh, each with its loopback up. */
export function makeNamespaces(names) {
  removeNamespaces(names);
  for (const ns of names) {
    sh("ip", "netns", "add", ns);
    sh("ip", "-n", ns, "link", "set", "lo", "up");
  }
}

/** A veth pair from namespace @a (interface @aIf, address @aAddr, CIDR) to @b (@bIf, @bAddr). */
export function link(a, aIf, aAddr, b, bIf, bAddr) {
  sh("ip", "link", "add", aIf, "type", "veth", "peer", "name", bIf);
  sh("ip", "link", "set", aIf, "netns", a);
  sh("ip", "link", "set", bIf, "netns", b);
  sh("ip", "-n", a, "addr", "add", aAddr, "dev", aIf);
  sh("ip", "-n", b, "addr", "add", bAddr, "dev", bIf);
  sh("ip", "-n", a, "link", "set", aIf, "up");
  sh("ip", "-n", b, "link", "set", bIf, "up");
}

/** Spawns @argv in namespace @ns; the child's stdout and stderr collect in its `log`. */
export function spawnIn(ns, argv) {
  const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  child.log = "";
  child.stdout.on("data", (c) => (child.log += c));
  child.stderr.on("data", (c) => (child.log += c));
  return child;
}

/** Headless Chromium inside namespace @ns (a wrapper script in @dir starts it there), resolving
 * no host name but the address @reachable. */
export async function launchChromiumIn(ns, dir, reachable) {
  const wrapper = path.join(dir, `chromium-in-${ns}`);
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${e2e.CHROMIUM} "$@"\n`);
  await chmod(wrapper, 0o755);
  const flags = e2e.CHROMIUM_FLAGS.filter((f) => !f.startsWith("--host-resolver-rules") && f !== "--headless=new");
  return chromium.launch({ executablePath: wrapper, headless: true,
    args: [...flags, `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${reachable}`] });
}
