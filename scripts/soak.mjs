// `npm run soak`: the long convergence soak (tests/harness/soak.mjs; its short variant runs in
// `npm test` as tests/e2e/soak.test.mjs). Desktop devices use the official client library; the
// browser device runs the web app's own writing code (web/src/write, graphcrypto.js) in Node,
// not in Chromium (tests/harness/browser-device.mjs). Builds the worker, starts one of its own on
// 127.0.0.1 with fresh state, and prints the report; exits 1 unless every device converged
// with the server and no acknowledged write was lost.

import { writeFile } from "node:fs/promises";
import { parseCli, numberOption } from "./lib/cli.mjs";
import { setup, log } from "./lib/tools.mjs";

const USAGE = `usage: npm run soak [-- options]
Three (or --devices) devices of one user edit, rename and delete pages and assets of one
encrypted graph concurrently with the official client library, and one (or --browsers) browser
device edits blocks of its pages with the web app's own commit code (run in Node), under
injected faults (D1
commit batches, R2 puts, the websocket hub, dropped websockets, worker restarts); then checks
that all devices and the server agree file by file and that no acknowledged write was lost.
Options (default in brackets):
  --seed N          PRNG seed [20261201]
  --rounds N        sync rounds per device, 1-3 local edits each [200]
  --devices N       desktop devices (official client library), 2-8 [3]
  --browsers N      browser devices (the web app's commit code in Node), 0-4 [1]
  --fault-rate X    probability of a fault per commit and per upload [0.08]
  --restarts N      worker restarts spread over the run [3]
  --ws-drop-rate X  probability per round that a device's websocket drops [0.05]
  --json FILE       also write the report there [none]
Output: progress on stderr, the report (JSON) on stdout; exit 1 if anything diverged or was lost.`;

const { values } = parseCli(process.argv.slice(2), {
  usage: USAGE,
  options: {
    seed: { type: "string", default: "20261201" },
    rounds: { type: "string", default: "200" },
    devices: { type: "string", default: "3" },
    browsers: { type: "string", default: "1" },
    "fault-rate": { type: "string", default: "0.08" },
    restarts: { type: "string", default: "3" },
    "ws-drop-rate": { type: "string", default: "0.05" },
    json: { type: "string" },
  },
});
const n = (k) => numberOption(USAGE, values, k);
const opts = {
  seed: n("seed") >>> 0,
  rounds: Math.max(1, Math.floor(n("rounds"))),
  devices: Math.min(8, Math.max(2, Math.floor(n("devices")))),
  browsers: Math.min(4, Math.max(0, Math.floor(n("browsers")))),
  faultRate: Math.min(1, n("fault-rate")),
  restarts: Math.floor(n("restarts")),
  wsDropRate: Math.min(1, n("ws-drop-rate")),
};

// The soak loads the official client library (node_modules): install first, then import.
const { node } = setup();
const { runSoak } = await import("../tests/harness/soak.mjs");
log(
  `soak: seed ${opts.seed}, ${opts.devices} desktop + ${opts.browsers} browser devices x ${opts.rounds} rounds, fault rate ${opts.faultRate}, ${opts.restarts} restarts`,
);
const report = await runSoak({ node, ...opts, log: (line) => log(`soak: ${line}`) });
const text = JSON.stringify(report, null, 2);
process.stdout.write(`${text}\n`);
if (values.json) await writeFile(values.json, text);
const ok = report.settled && report.agreement.every((a) => a.differing === 0) && report.lost.length === 0;
log(ok ? "soak: converged, nothing lost" : "soak: FAILED (see the report)");
process.exit(ok ? 0 : 1);
