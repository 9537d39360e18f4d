// The status page at `/`, in a real browser (Debian's headless Chromium):
// version, health of D1/R2/hub, today's budget, and nothing private.

import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CHROMIUM_FLAGS } from "../harness/chromium.mjs";
import { appCall, raw } from "../harness/client.mjs";
import { mintToken } from "../../scripts/lib/jwt.mjs";

const BASE = process.env.WORKER_URL;
const CHROMIUM = process.env.CHROMIUM_BIN;
const run = promisify(execFile);

/** Headless Chromium with the flags this closed network needs (no background traffic). */
async function chromium(args) {
  const profile = mkdtempSync(join(tmpdir(), "chromium-"));
  try {
    const { stdout } = await run(
      CHROMIUM,
      [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, "--window-size=1000,1100", ...args],
      { timeout: 60_000, maxBuffer: 8 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

describe("status page", () => {
  const email = `status-${Date.now()}@example.com`;
  const graphName = `private graph ${Date.now()}`;

  before(async () => {
    const token = mintToken(process.env.JWT_SECRET, email);
    const r = await appCall(BASE, "create_graph", { GraphName: graphName }, token);
    assert.equal(r.status, 200);
  });

  test("answers HTML without login and shows nothing private", async () => {
    const r = await raw(BASE, "/", {});
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers["content-type"], /^text\/html/);
    assert.ok(!r.text.includes(email), "no user email");
    assert.ok(!r.text.includes(graphName), "no graph name");
    assert.ok(!r.text.includes(process.env.ADMIN_TOKEN), "no admin token");
    // The test Worker presigns against wrangler's local R2 S3 endpoint (scripts/lib/devserver.mjs).
    assert.match(r.text, /<p id="bytes">File bodies: <b>presigned URLs straight to R2<\/b>/);
  });

  test("renders in headless Chromium: version, healthy D1/R2/hub, budget meter; screenshot", {
    skip: CHROMIUM ? false : "chromium is not installed and could not be installed (needs root + apt-get)",
  }, async () => {
    const dom = await chromium(["--dump-dom", `${BASE}/`]);
    assert.match(dom, /Logseq Sync server/);
    assert.match(dom, /id="version">v\d+\.\d+\.\d+/);
    for (const part of ["D1", "R2", "Hub"]) {
      assert.match(dom, new RegExp(`<td>${part}</td><td class="ok">OK</td>`), `${part} healthy`);
    }
    for (const row of [
      "Worker requests",
      "D1 rows read",
      "D1 rows written",
      "R2 class A",
      "R2 class B",
      "Durable Object requests",
    ]) {
      assert.ok(dom.includes(row), row);
    }
    assert.ok(!dom.includes(email) && !dom.includes(graphName), "nothing private in the rendered page");

    const dir = mkdtempSync(join(tmpdir(), "status-shot-"));
    const shot = join(dir, "status.png");
    try {
      await chromium([`--screenshot=${shot}`, `${BASE}/`]);
      assert.ok(existsSync(shot), "screenshot written");
      const png = readFileSync(shot);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
      assert.ok(png.length > 10_000, `a real picture, ${png.length} bytes`);
      if (process.env.STATUS_SCREENSHOT) copyFileSync(shot, process.env.STATUS_SCREENSHOT);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the budget meter counts requests (flushed about once a minute per isolate)", async () => {
    const before = await raw(BASE, "/", {});
    const used = (html) => Number(/<td>Worker requests<\/td><td class="num">(\d+)<\/td>/.exec(html)?.[1]);
    assert.ok(used(before.text) >= 1, "this very request is counted");
  });
});
