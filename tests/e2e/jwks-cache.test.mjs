// The user pool's keys as the Worker caches them (src/auth/jwks.rs), on a private worker so that
// isolates can be restarted: a warm isolate verifies Logseq-account tokens without any fetch,
// and a fresh isolate (the worker restarted on the same state) takes the keys from D1 and keeps
// working while the JWKS is down: one fetch in all.

import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { appCall } from "../harness/client.mjs";
import { cognitoUser, idToken, makeSigningKey, startJwksServer } from "../harness/cognito.mjs";
import { mintToken } from "../../scripts/lib/jwt.mjs";
import { ensureWranglerNode } from "../../scripts/lib/tools.mjs";
import { freePort, prepareWorker, startDevServer, stopDevServer } from "../../scripts/lib/devserver.mjs";

const STEP = { timeout: 180_000 };

let prepared; // the worker's snapshot and state (devserver.mjs prepareWorker)
let secret;
const key = makeSigningKey();
const user = cognitoUser("cache");
let jwks;
let child;

async function start(vars) {
  const s = await startDevServer({
    node: ensureWranglerNode(),
    port: await freePort(),
    persistTo: prepared.state,
    config: prepared.config,
    vars,
    logFile: join(prepared.dir, "worker.log"),
    timeoutMs: 120_000,
  });
  child = s.child;
  return s.url;
}

after(
  async () => {
    if (child) await stopDevServer(child);
    await jwks?.close();
    prepared?.cleanup();
  },
  { timeout: 30_000 },
);

describe("the JWKS cache", () => {
  test("warm: no fetch per request; a fresh isolate uses the D1 copy while the JWKS is down", STEP, async () => {
    jwks = await startJwksServer([key.jwk]);
    prepared = prepareWorker(ensureWranglerNode(), { prefix: "logseq-sync-jwks-" });
    secret = prepared.secrets.JWT_SECRET;
    const vars = {
      ...prepared.secrets,
      TEST_COGNITO_JWKS_URL: jwks.jwksUrl,
      TEST_COGNITO_JWKS_INTERVAL_SECS: "1",
      ALLOWED_LOGSEQ_ACCOUNTS: user.email,
    };
    let url = await start(vars);
    for (let i = 0; i < 5; i++) {
      const r = await appCall(url, "list_graphs", null, idToken(user, { key }));
      assert.equal(r.status, 200, r.text);
    }
    assert.equal(jwks.state.fetches, 1, "one fetch for five requests");

    await stopDevServer(child);
    child = null;
    jwks.state.mode = "down";
    url = await start(vars);
    const r = await appCall(url, "list_graphs", null, idToken(user, { key }));
    assert.equal(r.status, 200, `a fresh isolate verifies from the D1 copy: ${r.text}`);
    const own = await appCall(url, "list_graphs", null, mintToken(secret, "own@example.com"));
    assert.equal(own.status, 200);
    assert.equal(jwks.state.fetches, 1, "no fetch from the fresh isolate: the D1 copy is fresh");
  });
});
