// The convergence soak, short variant (tests/harness/soak.mjs): three devices with the official
// client library edit, rename and delete pages and assets concurrently for a few rounds each,
// with D1 commit, R2 put and websocket-hub faults, dropped websockets and one worker restart.
// Every device and the server must end file by file identical, and no acknowledged write may be
// lost (current, or one of its path's kept versions). The long variant: `npm run soak`.
// Starts its own worker (it restarts it), from the build `npm test` made.

import { test } from "node:test";
import assert from "node:assert/strict";

import { runSoak } from "../harness/soak.mjs";
import { ensureWranglerNode } from "../../scripts/lib/tools.mjs";

const SEED = Number(process.env.SOAK_SEED ?? 20261201);

test(`three devices converge under faults and lose nothing (seed ${SEED})`, { timeout: 8 * 60_000 }, async () => {
  const report = await runSoak({ node: ensureWranglerNode(), seed: SEED, rounds: 20, restarts: 1 });
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
});
