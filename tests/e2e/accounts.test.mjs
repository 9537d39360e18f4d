// Logseq-account sign-in (RS256 ID tokens of Logseq's Cognito user pool, served by the local
// stand-in JWKS of tests/harness/cognito.mjs), who may use the server (the deploy var and
// `npm run admin -- allow/allowed/disallow`), and per-user revocation (`revoke-all`) for
// every kind of credential. docs/SECURITY.md "Credentials and revocation".

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { appCall, raw } from "../harness/client.mjs";
import { mintToken, signJwt } from "../../scripts/lib/jwt.mjs";
import { cognitoUser, idToken, jwksControl, makeSigningKey, testKey } from "../harness/cognito.mjs";

const BASE = process.env.WORKER_URL;
const ADMIN = process.env.ADMIN_TOKEN;
const DEPLOY_ALLOWED = process.env.COGNITO_DEPLOY_ALLOWED;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `npm run admin` itself; resolves { code, json, stderr }. */
function admin(...args) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["scripts/admin.mjs", "--url", BASE, "--token", ADMIN, ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        let json = null;
        try {
          json = JSON.parse(stdout);
        } catch {}
        resolve({ code: err ? err.code : 0, json, stderr });
      },
    );
  });
}

async function userIds() {
  const r = await admin("users");
  return new Set(r.json.users.map((u) => u.id));
}

function refresh(refreshToken) {
  return raw(BASE, "/oauth2/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", client_id: "x", refresh_token: refreshToken }).toString(),
  });
}

function unauthorized(r, what) {
  assert.equal(r.status, 401, `${what}: ${r.status} ${r.text}`);
  assert.deepEqual(r.json, { message: "Unauthorized" }, what);
}

describe("Logseq-account tokens", () => {
  test("an account allowed at deploy signs in; its user is keyed by the token's sub", async () => {
    const user = { ...cognitoUser(), email: DEPLOY_ALLOWED };
    const token = idToken(user);
    const info = await appCall(BASE, "user_info", {}, token);
    assert.equal(info.status, 200, info.text);
    const g = await appCall(BASE, "create_graph", { GraphName: "logseq account graph" }, token);
    assert.equal(g.status, 200, g.text);
    const txid = await appCall(BASE, "get_txid", { GraphUUID: g.json.GraphUUID }, token);
    assert.deepEqual(txid.json, { TXId: 0 });
    const users = (await admin("users")).json.users;
    const row = users.find((u) => u.id === user.sub);
    assert.ok(row, "user created with id = sub");
    assert.equal(row.email, DEPLOY_ALLOWED);
    assert.equal(row.graphs, 1);
    const listed = await admin("allowed");
    assert.ok(listed.json.accounts.some((a) => a.account === DEPLOY_ALLOWED && a.source === "deploy"));
  });

  test("an account that is not allowed gets the app's 401 and no user", async () => {
    const user = cognitoUser("stranger");
    unauthorized(await appCall(BASE, "user_info", {}, idToken(user)), "not allowed");
    assert.ok(!(await userIds()).has(user.sub), "no user created");
  });

  test("allow / allowed / disallow: by email and by sub, removal shuts out at once", async () => {
    const byEmail = cognitoUser("allowed");
    const bySub = cognitoUser("bysub");
    assert.equal((await admin("allow", byEmail.email.toUpperCase())).code, 0);
    assert.equal((await admin("allow", bySub.sub)).code, 0);
    const listed = (await admin("allowed")).json.accounts;
    assert.ok(listed.some((a) => a.account === byEmail.email && a.source === "admin"));
    assert.ok(listed.some((a) => a.account === bySub.sub && a.source === "admin"));
    for (const u of [byEmail, bySub]) {
      const r = await appCall(BASE, "list_graphs", null, idToken(u));
      assert.equal(r.status, 200, r.text);
    }
    const token = idToken(byEmail);
    assert.equal((await admin("disallow", byEmail.email)).code, 0);
    unauthorized(await appCall(BASE, "list_graphs", null, token), "removed from the list");
    const again = await admin("disallow", byEmail.email);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /404/);
    const deploy = await admin("disallow", DEPLOY_ALLOWED);
    assert.notEqual(deploy.code, 0);
    assert.match(deploy.stderr, /ALLOWED_LOGSEQ_ACCOUNTS/);
    const bad = await admin("allow", "not an account");
    assert.notEqual(bad.code, 0);
  });

  test("bad tokens: all 401 Unauthorized, never 5xx, never a user", async () => {
    const user = cognitoUser("bad");
    await admin("allow", user.email);
    const other = makeSigningKey();
    const now = Math.floor(Date.now() / 1000);
    const good = idToken(user);
    const [h, p] = good.split(".");
    const cases = {
      malformed: "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",
      "foreign issuer": idToken(user, {
        claims: { iss: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_attacker" },
      }),
      "wrong audience": idToken(user, { claims: { aud: "someotherclient" } }),
      "access token": idToken(user, {
        claims: {
          token_use: "access",
          aud: undefined,
          client_id: "69cs1lgme7p8kbgld8n5kseii6",
          scope: "aws.cognito.signin.user.admin",
          email: undefined,
          email_verified: undefined,
        },
      }),
      "alg none": `${Buffer.from(JSON.stringify({ alg: "none", kid: testKey().kid })).toString("base64url")}.${p}.`,
      "unsigned RS256": `${h}.${p}.`,
      "HS256 with the JWKS modulus as secret": signJwt("x".repeat(32), JSON.parse(Buffer.from(p, "base64url")), {
        alg: "HS256",
        kid: testKey().kid,
      }),
      "RS256 signed by another key, same kid": idToken(user, { key: { ...other, kid: testKey().kid } }),
      "tampered payload": `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url")), sub: cognitoUser().sub })).toString("base64url")}.${good.split(".")[2]}`,
      expired: idToken(user, { claims: { exp: now - 10, iat: now - 3700, auth_time: now - 3700 } }),
      "email not verified": idToken(user, { claims: { email_verified: false } }),
      "unknown kid (even after a refresh)": idToken(user, { key: other }),
    };
    for (const [what, token] of Object.entries(cases)) {
      unauthorized(await appCall(BASE, "user_info", {}, token), what);
    }
    assert.ok(!(await userIds()).has(user.sub), "no user created by any bad token");
    const ok = await appCall(BASE, "user_info", {}, good);
    assert.equal(ok.status, 200, "the good token of the same account works");
  });

  test("a key the pool adds is picked up by an unknown-kid refresh", async () => {
    const user = cognitoUser("rotated");
    await admin("allow", user.email);
    const next = makeSigningKey();
    await jwksControl({ add: next.jwk });
    await sleep(1100); // the worker's test interval between fetches (TEST_COGNITO_JWKS_INTERVAL_SECS=1)
    const r = await appCall(BASE, "user_info", {}, idToken(user, { key: next }));
    assert.equal(r.status, 200, r.text);
  });

  for (const mode of ["down", "garbage"]) {
    test(`a JWKS that is ${mode}: no fetch per request, cached keys and own tokens unaffected`, async () => {
      const user = cognitoUser(mode);
      await admin("allow", user.email);
      const known = idToken(user);
      assert.equal((await appCall(BASE, "user_info", {}, known)).status, 200);
      await sleep(1100);
      const before = await jwksControl({ mode });
      try {
        const stranger = makeSigningKey();
        // A burst of 10 unknown-kid requests at once: one fetch at most per interval (1 s here).
        const burst = await Promise.all(
          Array.from({ length: 10 }, () => appCall(BASE, "user_info", {}, idToken(user, { key: stranger }))),
        );
        for (const [i, r] of burst.entries()) unauthorized(r, `unknown kid #${i} while ${mode}`);
        const fetches = (await jwksControl({})).fetches - before.fetches;
        assert.ok(fetches <= 2, `${fetches} fetches for 10 simultaneous unknown-kid requests`);
        for (let i = 0; i < 3; i++) {
          assert.equal((await appCall(BASE, "user_info", {}, known)).status, 200, "known kid still verifies");
          const own = await appCall(
            BASE,
            "user_info",
            {},
            mintToken(process.env.JWT_SECRET, `own-${mode}@example.com`),
          );
          assert.equal(own.status, 200, "self-issued tokens unaffected");
        }
      } finally {
        await jwksControl({ mode: "ok" });
      }
    });
  }
});

describe("revocation: every credential can be closed", () => {
  test("revoke-all refuses the user's self-issued, minted and refreshed tokens; new ones work", async () => {
    const email = `revoke-${Date.now()}@example.com`;
    const own = mintToken(process.env.JWT_SECRET, email);
    assert.equal((await appCall(BASE, "user_info", {}, own)).status, 200);
    const minted = (await admin("mint", email)).json;
    assert.ok(minted.refresh_token, "minted");
    const refreshedOwn = await refresh(own);
    assert.equal(refreshedOwn.status, 200);
    const r = await admin("revoke-all", email);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.json.users >= 1 && r.json.tokens_revoked >= 1, JSON.stringify(r.json));
    for (const [what, t] of [
      ["self-issued", own],
      ["minted", minted.id_token],
      ["refreshed", refreshedOwn.json.id_token],
    ]) {
      unauthorized(await appCall(BASE, "list_graphs", null, t), what);
    }
    assert.deepEqual((await refresh(own)).json, { error: "invalid_grant" }, "the pasted token no longer refreshes");
    assert.deepEqual((await refresh(minted.refresh_token)).json, { error: "invalid_grant" });
    await sleep(1100); // "not before" is the next second
    assert.equal(
      (await appCall(BASE, "list_graphs", null, mintToken(process.env.JWT_SECRET, email))).status,
      200,
      "a new token works",
    );
    const none = await admin("revoke-all", "nobody-at-all@example.com");
    assert.notEqual(none.code, 0);
  });

  test("revoke-all ends a Logseq account's current tokens", async () => {
    const user = cognitoUser("revokela");
    await admin("allow", user.email);
    const token = idToken(user);
    assert.equal((await appCall(BASE, "user_info", {}, token)).status, 200);
    assert.equal((await admin("revoke-all", user.email)).code, 0);
    unauthorized(await appCall(BASE, "user_info", {}, token), "issued before revoke-all");
    await sleep(1100);
    const fresh = idToken(user); // a new sign-in at Cognito
    assert.equal((await appCall(BASE, "user_info", {}, fresh)).status, 200);
  });

  test("a refresh never outlives its source", async () => {
    const email = `short-${Date.now()}@example.com`;
    const source = mintToken(process.env.JWT_SECRET, email, { lifetimeSecs: 3 * 3600 });
    const sourceExp = JSON.parse(Buffer.from(source.split(".")[1], "base64url")).exp;
    const r = await refresh(source);
    assert.equal(r.status, 200, r.text);
    const exp = JSON.parse(Buffer.from(r.json.id_token.split(".")[1], "base64url")).exp;
    assert.ok(exp <= sourceExp, `refreshed exp ${exp} beyond the source's ${sourceExp}`);
    assert.ok(r.json.expires_in <= 3 * 3600);
    // Refreshing the refreshed token cannot extend it either.
    const again = await refresh(r.json.id_token);
    const exp2 = JSON.parse(Buffer.from(again.json.id_token.split(".")[1], "base64url")).exp;
    assert.ok(exp2 <= sourceExp);
  });

  test("a Logseq-account token is not a refresh token of this server", async () => {
    const user = { ...cognitoUser(), email: DEPLOY_ALLOWED };
    const r = await refresh(idToken(user));
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: "invalid_grant" });
  });
});

describe("npm run admin: usage", () => {
  function cli(...args) {
    return new Promise((resolve) => {
      execFile(process.execPath, ["scripts/admin.mjs", ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? err.code : 0, stdout, stderr }),
      );
    });
  }

  test("--help names every command and option with its default; bad arguments: one line plus usage, exit 2", async () => {
    const h = await cli("--help");
    assert.equal(h.code, 0);
    for (const word of [
      "--url",
      "--token",
      "http://127.0.0.1:8787",
      "ADMIN_TOKEN",
      "stdout",
      "stderr",
      "allow",
      "allowed",
      "disallow",
      "revoke-all",
      "mint",
      "export",
      "import",
    ]) {
      assert.ok(h.stdout.includes(word), word);
    }
    for (const args of [
      ["nonsense"],
      ["--frobnicate", "users"],
      ["allow"],
      ["revoke-all"],
      ["users", "extra"],
      ["--url"],
    ]) {
      const r = await cli(...args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, /^admin: [^\n]+\nusage: npm run admin/, args.join(" "));
    }
  });
});
