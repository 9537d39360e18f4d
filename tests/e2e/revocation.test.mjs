// A credential revoked between two requests: the second request changes nothing and gets 401, for
// every API that writes, for this server's tokens (a minted token revoked by id; revoke-all) and
// for Logseq-account tokens (revoke-all; removal from the allow-list). The credential row is read
// concurrently with the handler (docs/SECURITY.md "Credentials and revocation"), so this is the
// proof that no write goes out before the verdict: the state is read back afterwards with a valid
// token of the same user (graph list, txid, file list, keys, salt), and D1's own count of rows the
// refused request wrote (x-d1-rows-written) is 0.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { execFile } from "node:child_process";
import { appCall, raw } from "../harness/client.mjs";
import { cognitoUser, idToken } from "../harness/cognito.mjs";

const BASE = process.env.WORKER_URL;
const ADMIN = process.env.ADMIN_TOKEN;
const RUN = crypto.randomBytes(3).toString("hex");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const md5 = (data) => crypto.createHash("md5").update(data).digest("hex");
/** A file name as the client sends it (`e.` + hex of an encrypted path). */
const fileName = () => `e.${crypto.randomBytes(24).toString("hex")}`;
const cipher = (plain) => Buffer.concat([Buffer.from("age-encryption.org/v1\n-> X25519 test\n"), Buffer.from(plain)]);

/** Runs `npm run admin` itself; resolves the JSON it prints. */
function admin(...args) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["scripts/admin.mjs", "--url", BASE, "--token", ADMIN, ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`admin ${args[0]}: ${stderr}`)) : resolve(JSON.parse(stdout))),
    );
  });
}

async function ok(r, what) {
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
  return r.json;
}

/** A graph with two committed files and one uploaded, uncommitted key; no keys, no salt. */
async function setUp(token, label) {
  const call = (api, body) => appCall(BASE, api, body, token);
  const graph = (await ok(await call("create_graph", { GraphName: `revocation ${label} ${RUN}` }), "create")).GraphUUID;
  const urls = await ok(await call("get_upload_urls", { GraphUUID: graph, Count: 3 }), "get_upload_urls");
  const plains = ["- first page\n\tid:: 6581a3f2-0000-4000-8000-000000000001\n", "- [[first page]]\n", "- later\n"];
  for (const [i, u] of urls.Uploads.entries()) {
    const m = /^(https?:\/\/[^/]+)(\/.*)$/.exec(u.URL);
    const put = await raw(m[1], m[2], {
      method: "PUT",
      body: cipher(plains[i]),
      headers: { "Content-Type": "application/octet-stream" },
    });
    assert.equal(put.status, 200, `PUT: ${put.text}`);
  }
  const [f1, f2] = [fileName(), fileName()];
  const Files = { [f1]: [urls.Uploads[0].Key, md5(plains[0])], [f2]: [urls.Uploads[1].Key, md5(plains[1])] };
  assert.equal((await ok(await call("update_files", { GraphUUID: graph, TXId: 0, Files }), "commit")).TXId, 1);
  return { graph, f1, f2, pending: [urls.Uploads[2].Key, md5(plains[2])] };
}

/** What a refused request must not change, read with `token` (each answer as status and body). */
async function snapshot(token, graph) {
  const call = async (api, body) => {
    const r = await appCall(BASE, api, body, token);
    return [r.status, r.json ?? r.text];
  };
  return {
    graphs: await call("list_graphs", undefined),
    txid: await call("get_txid", { GraphUUID: graph }),
    files: await call("get_all_files", { GraphUUID: graph }),
    keys: await call("get_graph_encrypt_keys", { GraphUUID: graph }),
    salt: await call("get_graph_salt", { GraphUUID: graph }),
    usage: (await call("user_info", {}))[1].StorageUsage,
  };
}

/** Every API that writes, with a body that would succeed for a live credential. */
function writes(s) {
  const newName = fileName();
  return [
    ["create_graph", { GraphName: `should not exist ${RUN}` }],
    ["create_graph_salt", { GraphUUID: s.graph }],
    [
      "upload_graph_encrypt_keys",
      {
        GraphUUID: s.graph,
        "public-key": `age1${"q".repeat(58)}`,
        "encrypted-private-key": `-----BEGIN AGE ENCRYPTED FILE-----\n${crypto.randomBytes(90).toString("base64")}\n-----END AGE ENCRYPTED FILE-----\n`,
      },
    ],
    ["update_files", { GraphUUID: s.graph, TXId: 1, Files: { [newName]: s.pending } }],
    ["delete_files", { GraphUUID: s.graph, TXId: 1, Files: [s.f2] }],
    ["rename_file", { GraphUUID: s.graph, TXId: 1, SrcFile: s.f2, DstFile: newName }],
    ["get_upload_urls", { GraphUUID: s.graph, Count: 2 }],
    ["get_temp_credential", undefined],
    ["user_info", {}],
    ["delete_graph", { GraphUUID: s.graph }],
  ];
}

/**
 * The scenario: `token` works (setup and one more request), `revoke()` closes it, every write
 * with it is then 401 with nothing written, and `reader()` (a valid credential of the same user,
 * obtained after the revocation) sees exactly the state from before.
 */
async function revokedBetweenRequests(token, label, revoke, reader) {
  const s = await setUp(token, label);
  const before = await snapshot(token, s.graph);
  assert.equal(before.txid[0], 200);
  assert.equal(before.files[1].Objects.length, 2);
  assert.equal(before.keys[0], 404);
  assert.equal(before.salt[0], 410);
  await revoke();
  // Every endpoint is tried (and every problem listed) before the test fails.
  const problems = [];
  for (const [api, body] of writes(s)) {
    const r = await appCall(BASE, api, body, token);
    if (r.status !== 401 || r.text !== '{"message":"Unauthorized"}')
      problems.push(`${api}: answered ${r.status} ${r.text}`);
    if (r.headers["x-d1-rows-written"] !== "0") problems.push(`${api}: wrote ${r.headers["x-d1-rows-written"]} rows`);
  }
  const after = await snapshot(await reader(), s.graph);
  for (const k of Object.keys(before))
    if (!isDeepStrictEqual(after[k], before[k])) problems.push(`state changed: ${k}`);
  assert.deepEqual(problems, [], `${label}: a revoked credential`);
}

describe("a credential revoked between two requests changes nothing", () => {
  test("own token minted by the admin, revoked by id", async () => {
    const email = `revoked-one-${RUN}@example.com`;
    await admin("create-user", email);
    const minted = await admin("mint", email, "phone");
    const other = await admin("mint", email, "laptop");
    await revokedBetweenRequests(
      minted.id_token,
      "revoke",
      () => admin("revoke", minted.id),
      async () => other.id_token,
    );
  });

  test("own tokens, revoke-all", async () => {
    const email = `revoked-all-${RUN}@example.com`;
    await admin("create-user", email);
    const minted = await admin("mint", email, "phone");
    await revokedBetweenRequests(
      minted.id_token,
      "revoke-all",
      () => admin("revoke-all", email),
      async () => {
        await sleep(1100); // "not before" is the second after revoke-all
        return (await admin("mint", email, "after")).id_token;
      },
    );
  });

  test("Logseq-account token, revoke-all", async () => {
    const user = cognitoUser("revokedla");
    await admin("allow", user.email);
    await revokedBetweenRequests(
      idToken(user),
      "logseq revoke-all",
      () => admin("revoke-all", user.email),
      async () => {
        await sleep(1100);
        return idToken(user); // a new sign-in at Cognito
      },
    );
  });

  test("Logseq-account token, removed from the allow-list", async () => {
    const user = cognitoUser("disallowed");
    await admin("allow", user.email);
    const token = idToken(user);
    await revokedBetweenRequests(
      token,
      "logseq disallow",
      () => admin("disallow", user.email),
      async () => {
        await admin("allow", user.email);
        return token;
      },
    );
  });
});
