// Device pairing (docs/API.md "Device pairing"): a new browser gets its own refresh token
// without a terminal. Drives the routes exactly as the web app does (JSON bodies over plain
// HTTP), approval by a signed-in user's ID token, by `npm run admin -- pair`, and sign-out by
// /oauth2/revoke; then checks that none of the secrets reached the worker's log.
// Needs WORKER_URL, JWT_SECRET and ADMIN_TOKEN (and WORKER_LOG for the last test).
//
// Expiry (10 minutes) is tested in the Rust unit tests (src/pairing.rs, `now` passed in), not
// here: waiting it out is too slow and a test-only TTL would be one more thing to deploy wrong.
// The wrong-code limit is hit for real (5 per user per 10 minutes); the global limits (30 wrong
// codes, 20 starts per 10 minutes) are not exhausted here, as that would refuse every other
// test's pairing for 10 minutes: their arithmetic is unit-tested.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { appCall, raw } from "../harness/client.mjs";
import { newUser, uniqueEmail } from "../harness/auth.mjs";

const BASE = process.env.WORKER_URL;
const ADMIN = process.env.ADMIN_TOKEN;
const WORKER_LOG = process.env.WORKER_LOG;
const run = promisify(execFile);
const CODE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;
const DAY_MS = 24 * 3600 * 1000;

/** Every secret value this file saw, checked against the worker's log at the end. */
const secrets = new Map();
function keep(value, what) {
  if (value) secrets.set(value, what);
  return value;
}

/** A JSON POST as the web app sends it. */
async function post(path, body, headers = {}) {
  const r = await raw(BASE, path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return r;
}

/** Starts a pairing and keeps its secrets. */
async function start(label) {
  const r = await post("/pair/start", label === undefined ? {} : { label });
  assert.equal(r.status, 200, r.text);
  keep(r.json.code, "pairing code");
  keep(r.json.code.replace("-", ""), "pairing code without dash");
  keep(r.json.poll, "poll secret");
  return r.json;
}

const poll = (secret) => post("/pair/poll", { poll: secret });
const approve = (code, token) =>
  post("/pair/approve", { code }, token === undefined ? {} : { authorization: `Bearer ${token}` });

async function refresh(refreshToken) {
  return raw(BASE, "/oauth2/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }).toString(),
  });
}

/** `npm run admin` (the script itself) against the test worker: { code, stdout, stderr }. */
async function admin(...args) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["scripts/admin.mjs", "--url", BASE, "--token", ADMIN, ...args],
      { timeout: 30_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A user known to the admin interface (create-user), with an admin-minted token pair. */
async function adminUser(name) {
  const email = uniqueEmail(name);
  assert.equal((await admin("create-user", email)).code, 0);
  const minted = JSON.parse((await admin("mint", email, "laptop")).stdout);
  keep(minted.id_token, "CLI ID token");
  keep(minted.refresh_token, "CLI refresh token");
  return { email, ...minted };
}

/** Polls until approved (the browser's loop, at the server's interval). */
async function pollUntilApproved(secret) {
  for (let i = 0; i < 20; i++) {
    const r = await poll(secret);
    assert.equal(r.status, 200, r.text);
    if (r.json.status === "approved") return r.json;
    await sleep(100);
  }
  throw new Error("never approved");
}

describe("device pairing", () => {
  test("start, approve from a signed-in device, take the token once, use it, list it, sign out", async () => {
    const owner = await adminUser("pair-owner");
    const label = "Chrome 156 on Android";
    const began = Date.now();
    const s = await start(label);
    assert.match(s.code, CODE);
    assert.match(s.poll, /^[A-Za-z0-9_-]{43,}$/);
    assert.equal(s.interval_ms, 2000);
    assert.ok(Math.abs(s.expires_at - (began + 10 * 60_000)) < 60_000, `expires_at ${s.expires_at}`);

    const pending = await poll(s.poll);
    assert.equal(pending.status, 200);
    assert.deepEqual(pending.json, { status: "pending", expires_at: s.expires_at });

    // Typed the way a person reads it: lower case, no dash, O for 0 and I/L for 1.
    const typed = s.code.replace("-", "").toLowerCase().replaceAll("0", "o").replaceAll("1", "l");
    const ok = await approve(typed, owner.id_token);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.label, label);
    assert.ok(Math.abs(ok.json.created_at - began) < 60_000);

    const taken = await poll(s.poll);
    assert.equal(taken.status, 200, taken.text);
    assert.equal(taken.json.status, "approved");
    assert.equal(taken.json.email, owner.email);
    assert.match(taken.json.refresh_token, /^lsrt\.[0-9a-f-]{36}\.[0-9a-f]{64}$/);
    assert.ok(taken.json.expires_in > 3600);
    keep(taken.json.refresh_token, "paired refresh token");
    keep(taken.json.id_token, "paired ID token");

    // Once: the row is consumed.
    const again = await poll(s.poll);
    assert.equal(again.status, 404);
    assert.deepEqual(again.json, { message: "pairing not found or expired" });
    // And the code cannot be approved a second time.
    const reused = await approve(s.code, owner.id_token);
    assert.equal(reused.status, 404);
    assert.deepEqual(reused.json, { message: "no pending pairing with that code" });

    // The browser's tokens work like any other: the sync API with the ID token, the refresh grant.
    const info = await appCall(BASE, "user_info", {}, taken.json.id_token);
    assert.equal(info.status, 200, info.text);
    const graphs = await appCall(BASE, "list_graphs", undefined, taken.json.id_token);
    assert.equal(graphs.status, 200, graphs.text);
    const r = await refresh(taken.json.refresh_token);
    assert.equal(r.status, 200, r.text);
    keep(r.json.id_token, "refreshed ID token");
    assert.equal((await appCall(BASE, "list_graphs", undefined, r.json.id_token)).status, 200);

    // Listed by `admin tokens` with its label, and a 30-day life (the CLI's is 365).
    const listed = JSON.parse((await admin("tokens", owner.email)).stdout).tokens;
    const id = taken.json.refresh_token.split(".")[1];
    const row = listed.find((t) => t.id === id);
    assert.ok(row, JSON.stringify(listed));
    assert.equal(row.label, `web: ${label}`);
    assert.equal(row.revoked_at, null);
    assert.ok(Math.abs(row.expires_at - row.created_at - 30 * DAY_MS) < 1000, JSON.stringify(row));
    const cli = listed.find((t) => t.id === owner.id);
    assert.ok(Math.abs(cli.expires_at - cli.created_at - 365 * DAY_MS) < 1000, JSON.stringify(cli));

    // Sign out: RFC 7009, form-encoded; then the refresh token and every ID token from it are dead.
    const out = await raw(BASE, "/oauth2/revoke", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: taken.json.refresh_token, token_type_hint: "refresh_token" }).toString(),
    });
    assert.equal(out.status, 200, out.text);
    assert.deepEqual(out.json, {});
    const dead = await refresh(taken.json.refresh_token);
    assert.equal(dead.status, 400);
    assert.deepEqual(dead.json, { error: "invalid_grant" }, "the same answer as a token revoked by the admin");
    for (const t of [taken.json.id_token, r.json.id_token]) {
      const denied = await appCall(BASE, "list_graphs", undefined, t);
      assert.equal(denied.status, 401);
      assert.deepEqual(denied.json, { message: "Unauthorized" });
    }
    const after = JSON.parse((await admin("tokens", owner.email)).stdout).tokens.find((t) => t.id === id);
    assert.ok(after.revoked_at >= row.created_at);
    // The owner's own session is untouched.
    assert.equal((await appCall(BASE, "list_graphs", undefined, owner.id_token)).status, 200);
  });

  test("a token revoked by /oauth2/revoke answers like one revoked by the admin", async () => {
    const owner = await adminUser("pair-compare");
    const other = JSON.parse((await admin("mint", owner.email, "other")).stdout);
    keep(other.refresh_token, "CLI refresh token");
    keep(other.id_token, "CLI ID token");
    assert.equal((await admin("revoke", other.id)).code, 0);
    const byAdmin = await refresh(other.refresh_token);
    // JSON body this time, as the contract allows.
    const out = await post("/oauth2/revoke", { token: owner.refresh_token });
    assert.equal(out.status, 200);
    const bySignOut = await refresh(owner.refresh_token);
    assert.deepEqual([bySignOut.status, bySignOut.json], [byAdmin.status, byAdmin.json]);
  });

  test("/oauth2/revoke answers 200 {} for unknown, forged and malformed tokens and revokes nothing", async () => {
    const owner = await adminUser("pair-forged");
    const [, id, secret] = owner.refresh_token.split(".");
    const forged = `lsrt.${id}.${secret.replace(/^./, secret[0] === "a" ? "b" : "a")}`;
    for (const body of [
      `token=${encodeURIComponent(forged)}`,
      "token=lsrt.00000000-0000-4000-8000-000000000000." + "a".repeat(64),
      "token=garbage",
      "",
      "{}",
    ]) {
      const r = await raw(BASE, "/oauth2/revoke", { method: "POST", body });
      assert.equal(r.status, 200, `${body}: ${r.text}`);
      assert.deepEqual(r.json, {});
    }
    assert.equal((await refresh(owner.refresh_token)).status, 200, "the real token still works");
  });

  test("wrong codes are 404, then 429 after five; the limit is the user's, not everyone's", async () => {
    const guesser = newUser("pair-guesser");
    keep(guesser.token, "self-issued ID token");
    const s = await start("victim's browser");
    // Five well-formed codes that are not the one shown (the alphabet has 32 letters).
    const wrong = [];
    for (let i = 0; wrong.length < 5; i++) {
      const c = `${"0123456789ABCDEF"[i]}${s.code.slice(1)}`;
      if (c !== s.code) wrong.push(c);
    }
    for (const c of wrong) {
      const r = await approve(c, guesser.token);
      assert.equal(r.status, 404, r.text);
      assert.deepEqual(r.json, { message: "no pending pairing with that code" });
    }
    const limited = await approve(s.code, guesser.token);
    assert.equal(limited.status, 429, "even the right code, once the guesser is over the limit");
    assert.match(limited.json.message, /^too many wrong pairing codes, try again in \d+ s$/);
    const secs = Number(limited.json.message.match(/(\d+) s$/)[1]);
    assert.ok(secs >= 1 && secs <= 600, limited.json.message);
    assert.equal((await poll(s.poll)).json.status, "pending", "the refused approval changed nothing");

    // Someone else is not held by the guesser's limit, and a right code costs no slot.
    const owner = newUser("pair-owner2");
    keep(owner.token, "self-issued ID token");
    const ok = await approve(s.code, owner.token);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.label, "victim's browser");
    const taken = await pollUntilApproved(s.poll);
    keep(taken.refresh_token, "paired refresh token");
    keep(taken.id_token, "paired ID token");
    assert.equal(taken.email, owner.email);
    const info = await appCall(BASE, "user_info", {}, taken.id_token);
    assert.equal(info.status, 200);
  });

  test("approval needs a live token: none, forged or revoked is 401 and the pairing stays pending", async () => {
    const owner = await adminUser("pair-revoked");
    const s = await start("Safari 19 on iPhone");
    assert.equal((await admin("revoke", owner.id)).code, 0);
    for (const token of [undefined, "garbage", `${owner.id_token}x`, owner.id_token]) {
      const r = await approve(s.code, token);
      assert.equal(r.status, 401, `${token?.slice(0, 10)}: ${r.text}`);
      assert.deepEqual(r.json, { message: "Unauthorized" });
    }
    assert.equal((await poll(s.poll)).json.status, "pending");
  });

  test("npm run admin -- pair <code> <email> approves for that user; errors exit 1 with the server's message", async () => {
    const email = uniqueEmail("pair-cli");
    assert.equal((await admin("create-user", email)).code, 0);
    const s = await start("Firefox 140 on Linux");

    const noUser = await admin("pair", s.code, uniqueEmail("nobody"));
    assert.equal(noUser.code, 1);
    assert.match(noUser.stderr, /404: no such user/);
    const badCode = await admin("pair", s.code === "0000-0000" ? "1111-1111" : "0000-0000", email);
    assert.equal(badCode.code, 1);
    assert.match(badCode.stderr, /404: no pending pairing with that code/);
    const usage = await admin("pair", s.code);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /pair: missing argument/);
    assert.match((await admin("--help")).stdout, /pair <code> <email>/);

    const ok = await admin("pair", s.code.toLowerCase(), email.toUpperCase());
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(Object.keys(JSON.parse(ok.stdout)).sort(), ["created_at", "label"]);
    assert.equal(JSON.parse(ok.stdout).label, "Firefox 140 on Linux");
    const taken = await pollUntilApproved(s.poll);
    keep(taken.refresh_token, "paired refresh token");
    keep(taken.id_token, "paired ID token");
    assert.equal(taken.email, email);
    const listed = JSON.parse((await admin("tokens", email)).stdout).tokens;
    assert.ok(listed.some((t) => t.label === "web: Firefox 140 on Linux"));
    // The admin's route is behind the admin token.
    const r = await post("/admin/pair", { code: s.code, email }, { authorization: "Bearer nope" });
    assert.equal(r.status, 401);
  });

  test("bad input: labels cleaned or defaulted, unknown polls 404, malformed bodies 400", async () => {
    const dirty = await start(`\u001b[31mEvil\u202e\n\tbrowser ${"x".repeat(200)}`);
    const plain = await start();
    const owner = newUser("pair-labels");
    keep(owner.token, "self-issued ID token");
    const a = await approve(dirty.code, owner.token);
    assert.equal(a.status, 200, a.text);
    assert.ok(a.json.label.startsWith("[31mEvil browser xxx"), a.json.label);
    assert.ok([...a.json.label].length <= 80);
    assert.ok(!/[\u0000-\u001f\u202e]/.test(a.json.label));
    const b = await approve(plain.code, owner.token);
    assert.equal(b.json.label, "web browser");
    // An empty body is a start without a label, whatever the Content-Type.
    const empty = await raw(BASE, "/pair/start", { method: "POST", headers: { "content-type": "text/plain" } });
    assert.equal(empty.status, 200, empty.text);
    keep(empty.json.code, "pairing code");
    keep(empty.json.poll, "poll secret");

    assert.equal((await poll("A".repeat(43))).status, 404);
    for (const [path, body] of [
      ["/pair/poll", "{}"],
      ["/pair/poll", "not json"],
      ["/pair/start", "[1,2]"],
    ]) {
      const r = await post(path, body);
      assert.equal(r.status, 400, `${path} ${body}: ${r.text}`);
      assert.ok(r.json.message);
    }
    const big = await post("/pair/start", { label: "x".repeat(5000) });
    assert.equal(big.status, 413);
    const get = await raw(BASE, "/pair/start");
    assert.equal(get.status, 404);
    // A malformed code is refused like a wrong one.
    assert.equal((await approve("not a code", owner.token)).status, 404);
  });

  test("no pairing code, poll secret or token in the worker log", {
    skip: !WORKER_LOG && "WORKER_LOG is not set",
  }, async () => {
    await sleep(1_000); // let wrangler flush the last lines
    const lines = readFileSync(WORKER_LOG, "utf8").split("\n");
    assert.ok(
      lines.some((l) => l.includes('"route":"pair"')),
      "this file's requests are not in WORKER_LOG",
    );
    assert.ok(lines.some((l) => l.includes('"route":"oauth2_revoke"')));
    assert.ok(secrets.size >= 20, `only ${secrets.size} secrets collected`);
    const leaks = [];
    for (const [value, what] of secrets) {
      const at = lines.findIndex((l) => l.includes(value));
      if (at >= 0) leaks.push(`${what} in log line ${at + 1}`);
    }
    assert.deepEqual(leaks, []);
  });
});
