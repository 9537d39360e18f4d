// Every route's D1 rows reach the access log and the status page's budget meter, the admin
// interface and the token refresh included (src/router.rs writes that glue once for every
// route; before, `/admin/*` and `POST /oauth2/token` logged and metered zero rows).
//
// Needs WORKER_URL, JWT_SECRET, ADMIN_TOKEN and WORKER_LOG (the worker's stdout/stderr).

import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { appCall, raw } from "../harness/client.mjs";
import { mintToken } from "../../scripts/lib/jwt.mjs";

const BASE = process.env.WORKER_URL;
const ADMIN = process.env.ADMIN_TOKEN;
const WORKER_LOG = process.env.WORKER_LOG;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A figure of the status page's budget table ("D1 rows read", "Worker requests", ...). */
async function budget(name) {
  const r = await raw(BASE, "/", {});
  assert.equal(r.status, 200, r.text);
  const m = new RegExp(`<td>${name}</td><td class="num">(\\d+)</td>`).exec(r.text);
  assert.ok(m, `no "${name}" row on the status page`);
  return Number(m[1]);
}

/** The worker's access-log lines for a route (JSON with "route"; wrangler may prefix them). */
function accessLines(route) {
  return readFileSync(WORKER_LOG, "utf8")
    .split("\n")
    .map((l) => l.slice(l.indexOf("{")))
    .filter((l) => l.startsWith("{") && l.includes(`"route":"${route}"`))
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return null;
      }
    })
    .filter(Boolean);
}

describe("metering of every route", { skip: !WORKER_LOG && "WORKER_LOG is not set" }, () => {
  before(async () => {
    // A user and a graph, so that the admin listings read rows.
    const token = mintToken(process.env.JWT_SECRET, `metering-${Date.now()}@example.com`);
    const r = await appCall(BASE, "create_graph", { GraphName: `metering ${Date.now()}` }, token);
    assert.equal(r.status, 200, r.text);
  });

  test("an admin request's D1 rows are in its cost headers, the access log and the budget", async () => {
    const readBefore = await budget("D1 rows read");
    const rows = [];
    for (let i = 0; i < 3; i++) {
      const r = await raw(BASE, "/admin/usage", { headers: { authorization: `Bearer ${ADMIN}` } });
      assert.equal(r.status, 200, r.text);
      const read = Number(r.headers["x-d1-rows-read"]);
      assert.ok(read > 0, `admin usage reads users and graphs, x-d1-rows-read: ${r.headers["x-d1-rows-read"]}`);
      assert.ok(Number(r.headers["x-d1-queries"]) > 0);
      rows.push(read);
    }
    const readAfter = await budget("D1 rows read");
    const adminRows = rows.reduce((a, b) => a + b, 0);
    // The status page counts its own request and any concurrent test's too: at least ours.
    assert.ok(
      readAfter - readBefore >= adminRows,
      `budget rose by ${readAfter - readBefore} rows read, the admin requests read ${adminRows}`,
    );
    await sleep(1_000); // let wrangler flush the last lines
    const logged = accessLines("admin").filter((l) => l.method === "GET" && l.status === 200);
    for (const read of rows) {
      assert.ok(
        logged.some((l) => l.rows_read === read && l.d1_queries > 0),
        `an admin line with rows_read ${read} in WORKER_LOG`,
      );
    }
  });

  test("a token refresh's D1 rows are in the access log", async () => {
    const email = `metering-refresh-${Date.now()}@example.com`;
    const post = (path, body) =>
      raw(BASE, path, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    assert.equal((await post("/admin/users", { email })).status, 200);
    const minted = await post("/admin/tokens", { email, label: "metering" });
    assert.equal(minted.status, 200, minted.text);
    const r = await raw(BASE, "/oauth2/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: minted.json.refresh_token }).toString(),
    });
    assert.equal(r.status, 200, r.text);
    const read = Number(r.headers["x-d1-rows-read"]);
    assert.ok(read > 0, "the refresh reads its token row and user");
    await sleep(1_000);
    assert.ok(
      accessLines("oauth2_token").some((l) => l.status === 200 && l.rows_read === read && l.d1_queries > 0),
      `an oauth2_token line with rows_read ${read} in WORKER_LOG`,
    );
  });
});
