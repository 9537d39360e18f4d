// The convergence soak, short variant (tests/harness/soak.mjs): three devices with the official
// client library edit, rename and delete pages and assets concurrently for a few rounds each,
// with D1 commit, R2 put and websocket-hub faults, dropped websockets and one worker restart.
// Every device and the server must end file by file identical, and no acknowledged write may be
// lost (current, or one of its path's kept versions). The long variant: `npm run soak`.
// Starts its own worker (it restarts it), from the build `npm test` made.
//
// The soak runs in a child process (`scripts/soak.mjs`, the long variant's own entry point): the
// official client library is native code, and on this loaded 2-core machine its process
// occasionally aborted at start-up with glibc's "malloc(): unaligned tcache chunk detected"
// (2 runs of about 12 in `npm test`, none of 8 run alone; 2026-12-07). A child killed by a signal
// is reported and run once more; a second crash, a non-zero exit or any failed check fails.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const SEED = Number(process.env.SOAK_SEED ?? 20261201);
const SCRIPT = fileURLToPath(new URL("../../scripts/soak.mjs", import.meta.url));

/** One soak run in a child: { signal, status, report (parsed stdout, or null), stderr }. */
function runChild() {
  const r = spawnSync(process.execPath, [SCRIPT, "--seed", String(SEED), "--rounds", "20", "--restarts", "1"], {
    encoding: "utf8",
    timeout: 7 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  let report = null;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    // no report: the child died or failed before printing it
  }
  return { signal: r.signal, status: r.status, report, stderr: String(r.stderr ?? "").slice(-2000) };
}

test(`three devices converge under faults and lose nothing (seed ${SEED})`, { timeout: 15 * 60_000 }, () => {
  let run = runChild();
  if (run.signal && run.signal !== "SIGTERM") {
    console.log(`soak child killed by ${run.signal} (native crash), running it once more:\n${run.stderr}`);
    run = runChild();
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
  const injected = report.faults["d1-batch"] + report.faults["r2-put"] + report.faults.hub;
  assert.ok(injected > 0 && report.faults.restart === 1, `faults were injected: ${JSON.stringify(report.faults)}`);
  assert.equal(run.status, 0, `scripts/soak.mjs exit ${run.status}:\n${run.stderr}`);
});
