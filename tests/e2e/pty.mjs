// A microcontroller without a microcontroller: `socat` joins two ptys, the
// daemon's serial sink opens one end (`robot`), the test reads the other
// (`mcu`) and splits what arrives into fixed-size records (struct "<hh" is 4
// bytes), each stamped with the time it arrived.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { constants, existsSync, openSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import tty from "node:tty";
import { waitFor } from "./lib.mjs";

/**
 * Starts socat with two linked ptys in a temp dir and opens the `mcu` end.
 * Records are decoded as two little-endian int16: {forward, leftright}.
 */
export async function startPtyPair({ recordSize = 4 } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "rtcbotd-pty-"));
  const robot = path.join(dir, "robot");
  const mcu = path.join(dir, "mcu");
  const socat = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${robot}`, `pty,raw,echo=0,link=${mcu}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  socat.stderr.on("data", (chunk) => (log += chunk.toString()));
  const failed = once(socat, "error").then(([err]) => {
    throw new Error(`cannot start socat: ${err.message}`);
  });
  await Promise.race([
    waitFor("socat's two ptys", () => existsSync(robot) && existsSync(mcu) && /starting data transfer/.test(log), {
      timeoutMs: 10000,
      intervalMs: 50,
    }),
    failed,
  ]);

  // O_NOCTTY: under meson the test has no terminal, and a pty opened without
  // it becomes one, whose hangup (socat exiting) would SIGHUP the test.
  const stream = new tty.ReadStream(openSync(mcu, constants.O_RDWR | constants.O_NOCTTY));
  stream.setRawMode(true);
  let pending = Buffer.alloc(0);
  let lastArrival = Date.now();
  const records = [];
  let cursor = 0;
  let wake = null;
  stream.on("data", (chunk) => {
    const at = Date.now();
    lastArrival = at;
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= recordSize) {
      const bytes = Buffer.from(pending.subarray(0, recordSize));
      pending = pending.subarray(recordSize);
      records.push({ bytes, at, forward: bytes.readInt16LE(0), leftright: bytes.readInt16LE(2) });
    }
    if (wake) {
      wake();
    }
  });
  stream.on("error", () => {}); // EIO once socat is gone

  return {
    robot,
    mcu,
    /** The next record (that satisfies `match`), waiting up to timeoutMs. */
    async next({ timeoutMs = 5000, match = () => true } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (cursor < records.length) {
          const r = records[cursor++];
          if (match(r)) {
            return r;
          }
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`no matching record on the pty within ${timeoutMs} ms (${this.describe()})`);
        }
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            wake = null;
            resolve();
          };
        });
      }
    },
    /** Every record not yet looked at. */
    take() {
      const out = records.slice(cursor);
      cursor = records.length;
      return out;
    },
    /** Forgets every record (and partial record) received so far. */
    skip() {
      cursor = records.length;
    },
    /** true when nothing arrived for `ms`. */
    quietFor(ms) {
      return Date.now() - lastArrival >= ms;
    },
    /** The last records, for failure messages. */
    describe() {
      const t0 = records.length ? records[0].at : 0;
      return records
        .slice(-40)
        .map((r, i) => `${records.length - Math.min(40, records.length) + i}: +${r.at - t0} ms ${r.bytes.toString("hex")}`)
        .join("\n") + `\n(cursor ${cursor}, ${pending.length} bytes pending)`;
    },
    async close() {
      stream.destroy();
      if (socat.exitCode === null && socat.signalCode === null) {
        socat.kill("SIGTERM");
        await once(socat, "exit");
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
