// The convergence soak, short variant (tests/harness/soak.mjs): three devices with the official
// client library edit, rename and delete pages and assets concurrently for a few rounds each,
// and a browser device edits blocks of the same pages with the web app's own writing code
// (web/src/write/splice.js, commit.js, web/src/crypto/graphcrypto.js) run in Node — the app's
// commit code over the browser's HTTP calls, not its UI in Chromium (tests/harness/browser-device.mjs);
// a merge it must confirm is confirmed as a person would. D1 commit, R2 put and websocket-hub
// faults, dropped websockets and one worker restart. Every device (the browser included) and the
// server must end file by file identical, and no acknowledged write (the browser's included) may
// be lost (current, or one of its path's kept versions). The long variant: `npm run soak`.
// Starts its own worker (it restarts it), from the build `npm test` made.
//
// Rounds: 12 per device (20 before the browser device joined: its calls make every round of
// every device slower on this 2-core machine). Measured on 2026-12-07 with other sessions
// running, the soak itself (the child, build excluded): 3 desktops x 20 rounds 32 s at load 7
// and 89 s at load 11; 3 desktops + the browser x 12 rounds 50 s at load 7, 142-155 s at 9-11.
//
// The soak runs in a child process (`scripts/soak.mjs`, the long variant's own entry point): the
// official client library is native code, and on this loaded 2-core machine its process
// occasionally aborted at start-up with glibc's "malloc(): unaligned tcache chunk detected"
// (2 runs of about 12 in `npm test`, none of 8 run alone; 2026-12-07). A child killed by a signal
// is reported and run once more; a second crash, a non-zero exit or any failed check fails.
// The child leads a process group of its own, and that group (its `wrangler dev` and workerd)
// is killed when the child is gone, so a crashed child leaves no worker behind.
//
// The likely cause, from rsapi's source (logseq/rsapi 0162b98): its upload credential is a
// `static mut TEMP_CREDENTIAL` (sync/src/sync.rs) that every upload finding none cached
// assigns, without a lock, on tokio's worker threads; the soak's three devices start uploading
// at once in one process, so their first uploads assign it concurrently (the old value is
// dropped twice, or read while freed) — early in the run, and likelier when the machine is
// loaded. Fixed on our side: the soak makes its first upload alone (tests/harness/soak.mjs), and
// later calls only read the cached credential. Not reproduced on demand: 150 rounds of 8
// concurrent first uploads (the cache reset by setEnv each round) and 80 rounds of 32, with
// glibc's free-memory perturbation, at load 8-11, did not crash, so the cause is argued from
// the code, not proven. Ruled out: setEnv or setProxy while a call is in flight (setEnv runs
// once before any device starts, setProxy(null) after all of them stopped); the graph catalog
// (`static mut GRAPHS`, a HashMap) is written by setEnv only; rsapi makes a fresh HTTP client
// per call, and the connect proxy that keeps connections alive is JavaScript, which cannot
// corrupt the native heap.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const SEED = Number(process.env.SOAK_SEED ?? 20261201);
const SCRIPT = fileURLToPath(new URL("../../scripts/soak.mjs", import.meta.url));

/** Kills what is left of a child's process group (its wrangler and workerd); quiet when none. */
function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/** One soak run in a child: { signal, status, report (parsed stdout, or null), stderr }. */
async function runChild() {
  const child = spawn(process.execPath, [SCRIPT, "--seed", String(SEED), "--rounds", "12", "--restarts", "1"], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // a process group of its own: see killGroup
  });
  const reap = () => killGroup(child.pid, "SIGKILL");
  process.once("exit", reap);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr = (stderr + d).slice(-64 * 1024)));
  const timer = setTimeout(() => killGroup(child.pid, "SIGTERM"), 7 * 60_000);
  const [status, signal] = await new Promise((resolve) => child.on("close", (code, sig) => resolve([code, sig])));
  clearTimeout(timer);
  // The child is gone; a worker it started must not outlive it (after a crash nobody stopped it).
  killGroup(child.pid, "SIGTERM");
  await new Promise((r) => setTimeout(r, 2000));
  reap();
  process.removeListener("exit", reap);
  let report = null;
  try {
    report = JSON.parse(stdout);
  } catch {
    // no report: the child died or failed before printing it
  }
  return { signal, status, report, stderr: stderr.slice(-2000) };
}

test(`three desktops and a browser converge under faults and lose nothing (seed ${SEED})`, {
  timeout: 15 * 60_000,
}, async () => {
  let run = await runChild();
  if (run.signal && run.signal !== "SIGTERM") {
    console.log(`soak child killed by ${run.signal} (native crash), running it once more:\n${run.stderr}`);
    run = await runChild();
  }
  assert.equal(run.signal, null, `soak child killed by ${run.signal}:\n${run.stderr}`);
  const report = run.report;
  assert.ok(report, `the soak printed no report (exit ${run.status}):\n${run.stderr}`);
  console.log(`soak report: ${JSON.stringify(report)}`);
  assert.ok(
    report.settled,
    `devices did not settle: ${JSON.stringify(report.sync)} ${report.sampleErrors.join(" | ")}`,
  );
  for (const a of report.agreement)
    assert.equal(a.differing, 0, `device ${a.device} differs from the server: ${a.differences.join("; ")}`);
  assert.deepEqual(report.lost, [], "acknowledged writes lost");
  assert.ok(report.acknowledgedWrites > 20, `the soak did real work: ${report.acknowledgedWrites} acknowledged writes`);
  const [browser] = report.browsers;
  assert.ok(browser && report.agreement.some((a) => a.device === browser.device), "the browser device took part");
  assert.ok(
    report.acknowledgedByBrowsers >= 5 && browser.blockEdits >= 5,
    `the browser committed block edits: ${JSON.stringify(browser)}`,
  );
  const injected = report.faults["d1-batch"] + report.faults["r2-put"] + report.faults.hub;
  assert.ok(injected > 0 && report.faults.restart === 1, `faults were injected: ${JSON.stringify(report.faults)}`);
  assert.equal(run.status, 0, `scripts/soak.mjs exit ${run.status}:\n${run.stderr}`);
});
