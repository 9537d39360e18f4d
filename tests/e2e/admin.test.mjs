// The admin interface and the client's token refresh: users, revocable
// tokens, refresh grant (PROTOCOL.md §3.3), and `npm run admin` itself.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { appCall, raw } from "../harness/client.mjs";
import { mintToken } from "../../scripts/lib/jwt.mjs";

const BASE = process.env.WORKER_URL;
const ADMIN = process.env.ADMIN_TOKEN;
const run = promisify(execFile);

/** Runs `npm run admin` (the script itself) against the test worker. */
async function admin(...args) {
  const { stdout } = await run(process.execPath, ["scripts/admin.mjs", "--url", BASE, "--token", ADMIN, ...args], {
    timeout: 30_000,
  });
  return JSON.parse(stdout);
}

async function refresh(refreshToken, grant = "refresh_token") {
  const body = new URLSearchParams({ grant_type: grant, client_id: "logseq", refresh_token: refreshToken }).toString();
  return raw(BASE, "/oauth2/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
}

describe("admin interface", () => {
  const email = `admin-${Date.now()}@example.com`;

  test("refuses a missing or wrong admin token, in constant-time comparison", async () => {
    for (const headers of [{}, { authorization: "Bearer nope" }, { authorization: `Bearer ${ADMIN}x` }]) {
      const r = await raw(BASE, "/admin/users", { method: "GET", headers });
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, { message: "Unauthorized" });
    }
  });

  test("create-user is idempotent per email", async () => {
    const a = await admin("create-user", email);
    const b = await admin("create-user", email.toUpperCase());
    assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(b.id, a.id);
    const users = await admin("users");
    assert.ok(users.users.some((u) => u.id === a.id && u.email === email));
  });

  test("a minted token works, refreshes, and stops working when revoked", async () => {
    const minted = await admin("mint", email, "laptop");
    const info = await appCall(BASE, "user_info", {}, minted.id_token);
    assert.equal(info.status, 200);
    assert.ok(info.json.UserGroups.includes("beta-tester"));

    const graph = await appCall(BASE, "create_graph", { GraphName: "admin graph" }, minted.id_token);
    assert.equal(graph.status, 200);
    const graphs = await admin("graphs");
    assert.ok(graphs.graphs.some((g) => g.id === graph.json.GraphUUID && g.name === "admin graph"));
    const usage = await admin("usage");
    assert.ok(usage.users >= 1 && usage.graphs >= 1);

    const r = await refresh(minted.refresh_token);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.json.token_type, "Bearer");
    assert.ok(r.json.expires_in > 3600, "long-lived: the app refreshes when under an hour is left");
    const again = await appCall(BASE, "list_graphs", undefined, r.json.id_token);
    assert.equal(again.status, 200);
    assert.equal(again.json.Graphs.length, 1);

    const listed = await admin("tokens", email);
    assert.ok(listed.tokens.some((t) => t.id === minted.id && t.label === "laptop" && t.revoked_at === null));
    assert.ok(!JSON.stringify(listed).includes(minted.refresh_token.split(".").pop()), "secrets are never listed");

    await admin("revoke", minted.id);
    for (const t of [minted.id_token, r.json.id_token]) {
      const denied = await appCall(BASE, "list_graphs", undefined, t);
      assert.equal(denied.status, 401);
      assert.deepEqual(denied.json, { message: "Unauthorized" });
    }
    const dead = await refresh(minted.refresh_token);
    assert.equal(dead.status, 400);
    assert.deepEqual(dead.json, { error: "invalid_grant" });
  });

  test("the refresh grant refuses forged tokens and other grants", async () => {
    const minted = await admin("mint", email);
    const [, id, secret] = minted.refresh_token.split(".");
    const forged = await refresh(`lsrt.${id}.${secret.replace(/^./, secret[0] === "a" ? "b" : "a")}`);
    assert.equal(forged.status, 400);
    assert.deepEqual(forged.json, { error: "invalid_grant" });
    assert.deepEqual((await refresh("garbage")).json, { error: "invalid_grant" });
    const grant = await refresh(minted.refresh_token, "password");
    assert.equal(grant.status, 400);
    assert.deepEqual(grant.json, { error: "unsupported_grant_type" });
  });

  test("refresh tokens start with a letter (the app reads them with cljs.reader)", async () => {
    const minted = await admin("mint", email);
    assert.match(minted.refresh_token, /^lsrt\.[0-9a-f-]{36}\.[0-9a-f]{64}$/);
  });

  test("a self-issued ID token pasted as the refresh token refreshes to a new one", async () => {
    const pasted = mintToken(process.env.JWT_SECRET, `pasted-${Date.now()}@example.com`);
    const r = await refresh(pasted);
    assert.equal(r.status, 200, r.text);
    const info = await appCall(BASE, "user_info", {}, r.json.id_token);
    assert.equal(info.status, 200);
    const expired = mintToken(process.env.JWT_SECRET, "x@example.com", { now: 1_000_000, lifetimeSecs: 60 });
    assert.deepEqual((await refresh(expired)).json, { error: "invalid_grant" });
  });

  test("the credentialed refresh XHR from file:// (Origin: null) gets a CORS answer it may read", async () => {
    const minted = await admin("mint", email);
    const pre = await raw(BASE, "/oauth2/token", {
      method: "OPTIONS",
      headers: { origin: "null", "access-control-request-method": "POST" },
    });
    assert.equal(pre.headers["access-control-allow-origin"], "null");
    assert.equal(pre.headers["access-control-allow-credentials"], "true");
    const body = new URLSearchParams({ grant_type: "refresh_token", refresh_token: minted.refresh_token }).toString();
    const r = await raw(BASE, "/oauth2/token", {
      method: "POST",
      headers: { origin: "null", "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers["access-control-allow-origin"], "null");
    assert.equal(r.headers["access-control-allow-credentials"], "true");
  });

  test("minting for an unknown email is a clear 404", async () => {
    await assert.rejects(admin("mint", `nobody-${Date.now()}@example.com`), /404: no such user/);
  });
});
