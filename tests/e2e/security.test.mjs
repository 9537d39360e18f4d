// Security: bad input on every endpoint, isolation between users down to the object URLs,
// what presigned URLs and upload credentials allow (method, key, lifetime, prefix), bearer and
// admin tokens, and that nothing secret reaches the worker's log.
//
// Extends api.test.mjs (which covers the per-field 400s, the 401 matrix and the JSON-API
// isolation matrix) with: very long arrays and strings, deep nesting, path-like keys and names,
// oversize bodies on every API (declared and chunked), the /s3/ object endpoint, expiry, token
// replay, revocation and secret hygiene. Every refused request must be a 4xx with a JSON
// `{"message"}` (or S3 XML on /s3/), never a 500, and must change nothing.
//
// Needs WORKER_URL, JWT_SECRET, S3_CREDENTIAL_SECRET, ADMIN_TOKEN and WORKER_LOG (the worker's
// stdout/stderr, read by the last test).

import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import { readFileSync } from "node:fs";

import { raw, appCall, rsapiCall, readReply } from "../harness/client.mjs";
import { RSAPI_SIDE, show, ok, md5, fetchUrl as fetchAbsolute, splitUrl, pool } from "../harness/checks.mjs";
import { downloadCredentials as downloadCredentialsWith, mintTempCredentials, presign } from "../harness/s3sign.mjs";
import { mintToken, signJwt, userIdForEmail } from "../../scripts/lib/jwt.mjs";
import { LOCAL_R2_S3 } from "../../scripts/lib/devserver.mjs";
import { ALL_APIS } from "../harness/endpoints.mjs";

const W = process.env.WORKER_URL;
const SECRET = process.env.JWT_SECRET;
const S3_SECRET = process.env.S3_CREDENTIAL_SECRET;
const ADMIN = process.env.ADMIN_TOKEN;
const WORKER_LOG = process.env.WORKER_LOG;
const RUN = crypto.randomBytes(4).toString("hex");
const REQUEST_TIMEOUT_MS = 30_000;
const fetchUrl = (url, opts = {}) => fetchAbsolute(url, { timeoutMs: REQUEST_TIMEOUT_MS, ...opts });
const MAX_BODY = 2 * 1024 * 1024;

/** Every secret value this file sees; none may appear in the worker's log. */
const secrets = new Map(); // value -> what it is
function secret(what, value) {
  if (typeof value === "string" && value.length >= 16) secrets.set(value, what);
  return value;
}
/** Requests sent with bad input (reported at the end). */
let inputs = 0;

// ---------------------------------------------------------------- helpers

/** APIs that read no body (the client sends {}, null or nothing). */
const NO_BODY = new Set(["user_info", "list_graphs", "get_temp_credential"]);

function api(name, body, token, { headers } = {}) {
  const fn = RSAPI_SIDE.has(name) ? rsapiCall : appCall;
  return fn(W, name, body, token, { headers, timeoutMs: REQUEST_TIMEOUT_MS });
}

/** An API call with a raw body (string/Buffer; undefined = none). */
function apiRaw(name, body, token, headers = {}) {
  return raw(W, `/file-sync/${name}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/octet-stream",
      Authorization: token ? `Bearer ${token}` : undefined,
      ...headers,
    },
    body,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
}

/** A refusal: 4xx (or `status`), JSON `{"message": <non-empty string>}`, never a 500. */
function refused(r, label, status) {
  assert.notEqual(r.status, 500, `${label}: a 500 ${show(r)}`);
  if (status) assert.equal(r.status, status, `${label}: ${show(r)}`);
  else assert.ok(r.status >= 400 && r.status < 500, `${label}: expected 4xx, got ${show(r)}`);
  assert.match(String(r.headers["content-type"]), /^application\/json/, `${label}: ${show(r)}`);
  assert.equal(typeof r.json?.message, "string", `${label}: no JSON message: ${show(r)}`);
  assert.ok(
    r.json.message.length > 0 && r.json.message.length <= 300,
    `${label}: message of ${r.json.message.length} characters`,
  );
  return r.json;
}

/** An S3 refusal: `status`, XML `<Error><Code>code</Code>`. */
function s3Refused(r, label, status, code) {
  assert.notEqual(r.status, 500, `${label}: a 500 ${show(r)}`);
  if (status) assert.equal(r.status, status, `${label}: ${show(r)}`);
  else assert.ok(r.status >= 400 && r.status < 500, `${label}: expected 4xx, got ${show(r)}`);
  if (r.text) {
    assert.match(String(r.headers["content-type"]), /xml/, `${label}: ${show(r)}`);
    assert.match(
      r.text,
      code ? new RegExp(`<Error><Code>${code}</Code>`) : /<Error><Code>\w+<\/Code>/,
      `${label}: ${show(r)}`,
    );
  }
}

const UNAUTHORIZED = '{"message":"Unauthorized"}';
function unauthorized(r, label) {
  assert.equal(r.status, 401, `${label}: ${show(r)}`);
  assert.equal(r.text, UNAUTHORIZED, label);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const newName = () => secret("encrypted file name", `e.${crypto.randomBytes(24).toString("hex")}`);
const cipher = (plain) =>
  Buffer.concat([Buffer.from("age-encryption.org/v1\n-> X25519 security-test\n"), Buffer.from(plain)]);
const nowSecs = () => Math.floor(Date.now() / 1000);
const flipLast = (s) => `${s.slice(0, -1)}${s.endsWith("0") ? "1" : "0"}`;

function makeUser(label) {
  const email = `${label}-${RUN}@security-test.invalid`;
  return { email, id: userIdForEmail(SECRET, email), token: secret("JWT", mintToken(SECRET, email)) };
}

/** Remembers a presigned URL's signature and session token as secrets. */
function urlSecrets(url) {
  const q = new URL(url).searchParams;
  secret("X-Amz-Signature", q.get("X-Amz-Signature"));
  secret("X-Amz-Security-Token", q.get("X-Amz-Security-Token"));
  return url;
}

async function createGraph(user, name) {
  return ok(await api("create_graph", { GraphName: name }, user.token)).GraphUUID;
}

async function getTxid(user, graph) {
  return ok(await api("get_txid", { GraphUUID: graph }, user.token)).TXId;
}

async function presignedUploads(user, graph, bodies) {
  const j = ok(await api("get_upload_urls", { GraphUUID: graph, Count: bodies.length }, user.token));
  for (const [i, body] of bodies.entries()) {
    const r = await fetchUrl(urlSecrets(j.Uploads[i].URL), { method: "PUT", body });
    assert.equal(r.status, 200, show(r));
  }
  return j.Uploads.map((u) => u.Key);
}

/** Temporary upload credentials of `user` (get_temp_credential), remembered as secrets. */
async function tempCredentials(user) {
  const j = ok(await api("get_temp_credential", undefined, user.token));
  secret("temp SecretKey", j.Credentials.SecretKey);
  secret("temp SessionToken", j.Credentials.SessionToken);
  return { ...j.Credentials, prefix: j.S3Prefix.replace(/^logseq-file-sync-bucket-prod\//, "") };
}

const randomTail = () => Array.from(crypto.randomBytes(12), (b) => String.fromCharCode(97 + (b % 26))).join("");

/** A presigned /s3/ request path for `key` with credentials `c` ({AccessKeyId, SecretKey, SessionToken}). */
function s3Path(method, key, c, over = {}) {
  return presign({
    method,
    origin: W,
    pathPrefix: "/s3",
    key,
    credentials: c,
    ...over,
  }).path;
}

function s3(method, path, body, headers = {}) {
  return raw(W, path, {
    method,
    body,
    timeoutMs: REQUEST_TIMEOUT_MS,
    headers: body === undefined ? headers : { "Content-Type": "application/octet-stream", ...headers },
  });
}

/** Credentials the Worker signs its own download URLs with. */
const downloadCredentials = (expiresAt) => downloadCredentialsWith(S3_SECRET, expiresAt);
/** Upload credentials as get_temp_credential mints them, with any expiry. */
const uploadCredentials = (user, expiresAt) =>
  mintTempCredentials(Buffer.from(S3_SECRET), user.id, `uploads/${user.id}`, expiresAt);

/** HEAD of an object through wrangler's local R2 S3 endpoint: 200 or 404. */
async function objectStatus(key) {
  const { path } = presign({
    method: "HEAD",
    origin: W,
    key: `cdn-cgi/local/r2/s3/${LOCAL_R2_S3.bucket}/${key}`,
    accessKeyId: LOCAL_R2_S3.accessKeyId,
    secretKey: LOCAL_R2_S3.secretAccessKey,
    region: "auto",
    expires: 600,
  });
  return (await raw(W, path, { method: "HEAD", timeoutMs: REQUEST_TIMEOUT_MS })).status;
}
/** Body of an object through wrangler's local R2 S3 endpoint (null when absent). */
async function objectBody(key) {
  const { path } = presign({
    method: "GET",
    origin: W,
    key: `cdn-cgi/local/r2/s3/${LOCAL_R2_S3.bucket}/${key}`,
    accessKeyId: LOCAL_R2_S3.accessKeyId,
    secretKey: LOCAL_R2_S3.secretAccessKey,
    region: "auto",
    expires: 600,
  });
  const r = await raw(W, path, { timeoutMs: REQUEST_TIMEOUT_MS });
  return r.status === 200 ? r.body : null;
}

/** Everything of alice's that no refused request may change. */
async function aliceState() {
  const g = { GraphUUID: GA };
  const s = {
    txid: await getTxid(A, GA),
    files: ok(await api("get_all_files", g, A.token)).Objects,
    diff: ok(await api("get_diff", { GraphUUID: GA, FromTXId: 0 }, A.token)).Transactions,
    graphs: ok(await api("list_graphs", undefined, A.token)).Graphs,
    keys: ok(await api("get_graph_encrypt_keys", g, A.token)),
    salt: ok(await api("get_graph_salt", g, A.token)),
    versions: ok(await api("get_file_version_list", { GraphUUID: GA, File: FA.f1 }, A.token)).VersionList,
  };
  for (const [n, key] of Object.entries(FA.keys))
    s[`object ${n}`] = (await objectBody(key))?.toString("base64") ?? null;
  return s;
}
async function assertAliceUnchanged(before, label) {
  assert.deepEqual(await aliceState(), before, `alice's state changed by: ${label}`);
}

// ---------------------------------------------------------------- fixture

let A; // alice: the victim, owns GA
let B; // bob: the other user
let GA;
let GB;
const FA = { keys: {} };
let credA;
let credB;

before(async () => {
  assert.ok(W && SECRET && S3_SECRET, "WORKER_URL, JWT_SECRET and S3_CREDENTIAL_SECRET must be set");
  secret("JWT_SECRET", SECRET);
  secret("S3_CREDENTIAL_SECRET", S3_SECRET);
  if (ADMIN) secret("ADMIN_TOKEN", ADMIN);
  A = makeUser("alice");
  B = makeUser("bob");
  GA = await createGraph(A, `alice-${RUN}`);
  GB = await createGraph(B, `bob-${RUN}`);
  [FA.f1, FA.f2] = [newName(), newName()];
  const k1 = await presignedUploads(A, GA, [cipher("alice one"), cipher("alice two")]);
  ok(
    await api(
      "update_files",
      { GraphUUID: GA, TXId: 0, Files: { [FA.f1]: [k1[0], md5("1")], [FA.f2]: [k1[1], md5("2")] } },
      A.token,
    ),
  );
  const k2 = await presignedUploads(A, GA, [cipher("alice one, edited")]);
  ok(await api("update_files", { GraphUUID: GA, TXId: 1, Files: { [FA.f1]: [k2[0], md5("1e")] } }, A.token));
  FA.keys = { f1: k2[0], f1v: k1[0], f2: k1[1] };
  const versions = ok(await api("get_file_version_list", { GraphUUID: GA, File: FA.f1 }, A.token)).VersionList;
  FA.versionId = `${versions[0].FileUUID}/${versions[0].VersionUUID}`;
  ok(
    await api(
      "upload_graph_encrypt_keys",
      {
        GraphUUID: GA,
        "public-key": `age1${crypto.randomBytes(29).toString("hex")}`,
        "encrypted-private-key": secret(
          "encrypted-private-key",
          `-----BEGIN AGE ENCRYPTED FILE-----\n${crypto.randomBytes(180).toString("base64")}\n-----END AGE ENCRYPTED FILE-----\n`,
        ),
      },
      A.token,
    ),
  );
  secret("salt value", ok(await api("create_graph_salt", { GraphUUID: GA }, A.token)).value);
  FA.pending = (await presignedUploads(A, GA, [cipher("pending")]))[0];
  const [kb] = await presignedUploads(B, GB, [cipher("bob one")]);
  FA.bobName = newName();
  ok(await api("update_files", { GraphUUID: GB, TXId: 0, Files: { [FA.bobName]: [kb, md5("b")] } }, B.token));
  FA.bobKey = kb;
  credA = await tempCredentials(A);
  credB = await tempCredentials(B);
});

// ---------------------------------------------------------------- 1. bad input

/** A valid body of `name` for alice on GA. */
async function validBody(name) {
  const txid = await getTxid(A, GA);
  switch (name) {
    case "user_info":
      return {};
    case "list_graphs":
    case "get_temp_credential":
      return null;
    case "create_graph":
      return { GraphName: `sec-${RUN}` };
    case "get_files_meta":
    case "get_files":
      return { GraphUUID: GA, Files: [FA.f1] };
    case "get_diff":
    case "get_deletion_log_v20221212":
      return { GraphUUID: GA, FromTXId: 0 };
    case "get_file_version_list":
      return { GraphUUID: GA, File: FA.f1 };
    case "update_files":
      return { GraphUUID: GA, TXId: txid, Files: { [newName()]: [FA.pending, md5("p")] } };
    case "delete_files":
      return { GraphUUID: GA, TXId: txid, Files: [FA.f2] };
    case "get_version_files":
      return { GraphUUID: GA, Files: [FA.versionId] };
    case "rename_file":
      return { GraphUUID: GA, TXId: txid, SrcFile: FA.f2, DstFile: newName() };
    case "get_upload_urls":
      return { GraphUUID: GA, Count: 1 };
    case "upload_graph_encrypt_keys":
      return {
        GraphUUID: GA,
        "public-key": `age1${"q".repeat(58)}`,
        "encrypted-private-key": "-----BEGIN AGE ENCRYPTED FILE-----\nx\n-----END AGE ENCRYPTED FILE-----\n",
      };
    default:
      return { GraphUUID: GA };
  }
}

const LONG = "x".repeat(1024 * 1024); // 1 MB: under the 2 MB body limit
const HEX_LONG = `e.${"ab".repeat(200_000)}`;
/** Path-like pieces that must never reach a key or a name. */
const PATHY = [
  "..",
  "../..",
  "a/../b",
  "%2e%2e",
  "%2E%2E%2F",
  "%2F",
  "a%2Fb",
  "/",
  "//",
  "\\..\\",
  "\u0000",
  "%00",
  "%",
  "%zz",
  "é",
  " ",
  "\n",
  "?",
  "#",
  "*",
];

/** Bodies that must be refused (4xx JSON) by `name`, from its valid body `v`. */
function badBodies(name, v) {
  const cases = [];
  const add = (label, body) =>
    cases.push([label, typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body)]);
  add("nesting 10,000 arrays deep", `${"[".repeat(10_000)}${"]".repeat(10_000)}`);
  add("nesting 10,000 objects deep", `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`);
  add("a byte-order mark before the JSON", `\uFEFF${JSON.stringify(v ?? {})}`);
  add("a lone surrogate in a string", `{"GraphUUID":"\\ud800${GA.slice(1)}"}`);
  add("NUL bytes", Buffer.from([0x7b, 0x00, 0x7d]));
  add(
    "a duplicated GraphUUID field",
    `{"GraphUUID":"${GA}","GraphUUID":"${GB}","FromTXId":0,"Files":["${FA.f1}"],"File":"${FA.f1}","Count":1}`,
  );
  if (NO_BODY.has(name)) return cases;
  for (const field of Object.keys(v)) {
    add(`${field}: a 1 MB string`, { ...v, [field]: LONG });
    add(`${field}: a 1 MB array`, { ...v, [field]: Array.from({ length: 100_000 }, () => "e.aaaaaaaa") });
    add(`${field}: 1e308`, { ...v, [field]: 1e308 });
    add(
      `${field}: 2^63`,
      `${JSON.stringify({ ...v, [field]: 0 }).replace(`"${field}":0`, `"${field}":9223372036854775808`)}`,
    );
  }
  if ("GraphUUID" in v) {
    for (const p of PATHY) add(`GraphUUID with ${JSON.stringify(p)}`, { ...v, GraphUUID: `${GA.slice(0, 30)}${p}` });
    add("GraphUUID of another user", { ...v, GraphUUID: GB });
  }
  const names = [
    HEX_LONG,
    `e.${"ab".repeat(475)}`,
    "e.",
    "e.g0",
    `e.${"a".repeat(39)}`,
    `E.${"ab".repeat(20)}`,
    ` e.${"ab".repeat(20)}`,
    `e.${"ab".repeat(20)}\n`,
    `e.${"ab".repeat(20)}\u0000`,
    `e.${"ab".repeat(20)}/../e.${"cd".repeat(20)}`,
    `e.${"ＡＢ".repeat(20)}`,
    ...PATHY.map((p) => `e.${"ab".repeat(20)}${p}`),
  ];
  if (name === "get_files" || name === "delete_files") {
    for (const n of names) add(`Files with ${JSON.stringify(n.slice(0, 50))}`, { ...v, Files: [n] });
    add("Files with 40,000 entries", {
      ...v,
      Files: Array.from({ length: 40_000 }, (_, i) => `e.${String(i).padStart(40, "0")}`),
    });
  }
  if (name === "get_file_version_list")
    for (const n of names) add(`File ${JSON.stringify(n.slice(0, 50))}`, { ...v, File: n });
  if (name === "rename_file") {
    for (const n of names) {
      add(`SrcFile ${JSON.stringify(n.slice(0, 50))}`, { ...v, SrcFile: n });
      add(`DstFile ${JSON.stringify(n.slice(0, 50))}`, { ...v, DstFile: n });
    }
  }
  if (name === "get_all_files")
    for (const n of [...names, ...PATHY])
      add(`ContinuationToken ${JSON.stringify(n.slice(0, 50))}`, { ...v, ContinuationToken: n });
  if (name === "get_version_files") {
    for (const p of PATHY)
      add(`an id with ${JSON.stringify(p)}`, { ...v, Files: [`${FA.versionId.slice(0, 40)}${p}`] });
    add("Files with 20,000 ids", { ...v, Files: Array.from({ length: 20_000 }, () => FA.versionId) });
  }
  if (name === "update_files") {
    const [n] = Object.keys(v.Files);
    const keys = [
      ...PATHY.map((p) => `uploads/${A.id}/${p}`),
      ...PATHY.map((p) => `uploads/${A.id}/x${p}y`),
      `uploads/${A.id}/../${B.id}/${randomTail()}`,
      `uploads/${A.id}/%2e%2e/${B.id}/x`,
      `uploads/${A.id}%2F..%2F${B.id}/x`,
      `/uploads/${A.id}/x`,
      `uploads/${A.id}`,
      `uploads/${A.id}/`,
      `UPLOADS/${A.id}/x`,
      `uploads/${B.id}/x`,
      FA.bobKey,
      `uploads/${A.id}/${"k".repeat(2000)}`,
      "",
      LONG,
    ];
    for (const k of keys) add(`upload key ${JSON.stringify(k.slice(0, 60))}`, { ...v, Files: { [n]: [k, md5("x")] } });
    for (const bad of names)
      add(`name ${JSON.stringify(bad.slice(0, 50))}`, { ...v, Files: { [bad]: [FA.pending, md5("x")] } });
    add("101 files", {
      ...v,
      Files: Object.fromEntries(
        Array.from({ length: 101 }, (_, i) => [
          `e.${String(i).padStart(40, "0")}`,
          [`uploads/${A.id}/k${i}`, md5("x")],
        ]),
      ),
    });
    add("10,000 files", {
      ...v,
      Files: Object.fromEntries(
        Array.from({ length: 10_000 }, (_, i) => [
          `e.${String(i).padStart(40, "0")}`,
          [`uploads/${A.id}/k${i}`, md5("x")],
        ]),
      ),
    });
    add("TXId -0.0", `{"GraphUUID":"${GA}","TXId":-0.0,"Files":{"${n}":["${FA.pending}","${md5("x")}"]}}`);
    add(
      "TXId i64::MAX (a conflict)",
      `{"GraphUUID":"${GA}","TXId":9223372036854775807,"Files":{"${n}":["${FA.pending}","${md5("x")}"]}}`,
    );
    add("a checksum with a path", { ...v, Files: { [n]: [FA.pending, "../../../../../../../../etc/passwd"] } });
  }
  if (name === "get_upload_urls")
    for (const c of [0, -1, 101, 1e20, 4294967297, "1"]) add(`Count ${c}`, { ...v, Count: c });
  if (name === "create_graph") {
    for (const p of ["\u0000", "\u001b[31m", "\n", "\u007f"])
      add(`GraphName with ${JSON.stringify(p)}`, { GraphName: `x${p}y` });
    add("GraphName of 256 characters", { GraphName: "é".repeat(256) });
  }
  if (name === "upload_graph_encrypt_keys") {
    add(
      "a 3 MB key",
      `{"GraphUUID":"${GA}","public-key":"age1${"q".repeat(58)}","encrypted-private-key":"-----BEGIN AGE ENCRYPTED FILE-----${"x".repeat(1_900_000)}"}`,
    );
  }
  return cases;
}

describe("bad input on every endpoint: a 4xx JSON message, never a 500, never a change", { timeout: 600_000 }, () => {
  let before;
  test("(alice's state before)", async () => {
    before = await aliceState();
  });

  for (const name of ALL_APIS) {
    test(`${name}: deep nesting, long strings and arrays, huge numbers, path-like names and keys`, async () => {
      const v = await validBody(name);
      const cases = badBodies(name, v);
      await pool(
        cases.map(([label, body]) => async () => {
          inputs++;
          const r = await apiRaw(name, body, A.token);
          if (NO_BODY.has(name)) {
            // These read no body at all: any body is ignored, and the answer is the normal one.
            assert.notEqual(r.status, 500, `${name} with ${label}: ${show(r)}`);
            if (name !== "get_temp_credential") assert.equal(r.status, 200, `${name} with ${label}: ${show(r)}`);
            return;
          }
          refused(r, `${name} with ${label}`);
        }),
        6,
      );
      await assertAliceUnchanged(before, `${name}: ${cases.length} bad bodies`);
    });

    test(`${name}: a body over 2 MB → 413, declared (Content-Length) or not (chunked)`, async () => {
      const big = Buffer.alloc(MAX_BODY + 1, 0x20);
      inputs += 2;
      refused(await apiRaw(name, big, A.token), `${name} with ${big.length} bytes`, 413);
      refused(await chunkedPost(name, big, A.token), `${name} with ${big.length} bytes, chunked`, 413);
      await assertAliceUnchanged(before, `${name}: oversize bodies`);
    });
  }

  test("a wrongly typed field holding long non-ASCII text → 400 on every endpoint (the error message is cut on a character boundary)", async () => {
    const text = `a${"é".repeat(200)}`;
    const failures = [];
    for (const name of ALL_APIS.filter((n) => !NO_BODY.has(n))) {
      inputs++;
      const body = {
        GraphUUID: text,
        GraphName: 5,
        TXId: text,
        FromTXId: text,
        Files: text,
        File: 5,
        Count: text,
        SrcFile: 5,
        DstFile: 5,
        "public-key": 5,
        "encrypted-private-key": 5,
      };
      const r = await apiRaw(name, JSON.stringify(body), A.token);
      if (r.status === 500 || r.json === undefined) failures.push(`${name}: ${show(r).slice(0, 160)}`);
      else refused(r, name, 400);
    }
    assert.deepEqual(
      failures,
      [],
      "endpoints that failed with a 500 (see src/api/mod.rs `parse`: String::truncate(200) inside a multi-byte character panics)",
    );
    await assertAliceUnchanged(before, "non-ASCII type errors");
  });

  test("Authorization headers that are huge, doubled or odd → 401 JSON", async () => {
    const cases = [
      `Bearer ${"a".repeat(9000)}`,
      `Bearer ${A.token} ${A.token}`,
      `Bearer  ${A.token}x`,
      `Bearer\t${A.token}`,
      "Bearer",
      "Bearer ",
      `${A.token}`,
      `bearer ${A.token.split(".").slice(0, 2).join(".")}.`,
    ];
    for (const h of cases) {
      inputs++;
      unauthorized(
        await raw(W, "/file-sync/get_txid", {
          method: "POST",
          headers: { Authorization: h },
          body: JSON.stringify({ GraphUUID: GA }),
          timeoutMs: REQUEST_TIMEOUT_MS,
        }),
        h.slice(0, 30),
      );
    }
  });

  test("odd paths and methods on /file-sync and elsewhere → 4xx JSON, never 500", async () => {
    const paths = [
      "/file-sync/",
      "/file-sync//get_txid",
      "/file-sync/get_txid/",
      "/file-sync/../admin/users",
      "/file-sync/%2e%2e/admin/users",
      "/file-sync/get_txid%00",
      "/file-sync/GET_TXID",
      `/file-sync/${"x".repeat(5000)}`,
      "/admin",
      "/admin/../file-sync/get_txid",
      "/%2e%2e/%2e%2e/etc/passwd",
    ];
    for (const p of paths) {
      for (const method of ["POST", "GET", "DELETE"]) {
        inputs++;
        const r = await raw(W, p, {
          method,
          headers: { Authorization: `Bearer ${A.token}` },
          body: method === "GET" ? undefined : JSON.stringify({ GraphUUID: GA }),
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
        assert.notEqual(r.status, 500, `${method} ${p.slice(0, 60)}: ${show(r)}`);
        if (r.status !== 200) assert.ok(r.status >= 400 && r.status < 500, `${method} ${p.slice(0, 60)}: ${show(r)}`);
        // Served only where URL normalisation (`..`, `%2e%2e`) leads to the API itself.
        else assert.equal(new URL(p, W).pathname, "/file-sync/get_txid", `${method} ${p}: served`);
      }
    }
    await assertAliceUnchanged(before, "odd paths");
  });
});

/** POST with Transfer-Encoding: chunked (no Content-Length). */
function chunkedPost(name, body, token) {
  const u = new URL(W);
  return new Promise((resolve, reject) => {
    const req = http.request({
      hostname: u.hostname,
      port: u.port,
      method: "POST",
      path: `/file-sync/${name}`,
      agent: false,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/octet-stream" },
    });
    readReply(req, { timeoutMs: REQUEST_TIMEOUT_MS, what: "chunked POST", anyJson: true }).then(resolve, reject);
    for (let i = 0; i < body.length; i += 256 * 1024) req.write(body.subarray(i, i + 256 * 1024));
    req.end();
  });
}

// ---------------------------------------------------------------- 2. /s3/: keys, isolation, signatures

describe("the /s3/ object endpoint: path-like keys, other users, methods, keys and lifetimes", {
  timeout: 120_000,
}, () => {
  let before;
  test("(alice's state before)", async () => {
    before = await aliceState();
  });

  test("path-like keys in a correctly signed PUT never write outside the signer's prefix (4xx XML)", async () => {
    const mine = `uploads/${A.id}`;
    const target = `uploads/${B.id}/${randomTail()}`;
    const escapes = [
      // [label, raw path after /s3, the key string the signature is computed for]
      [".. segments", `/${mine}/../../${target}`, `${mine}/../../${target}`],
      ["%2e%2e segments", `/${mine}/%2e%2e/%2e%2e/${target}`, `${mine}/../../${target}`],
      ["%2F-encoded slashes", `/${mine}%2F..%2F..%2F${target.replace(/\//g, "%2F")}`, `${mine}/../../${target}`],
      ["a NUL byte", `/${mine}/x%00y`, `${mine}/x\u0000y`],
      ["a bare prefix", `/${mine}`, mine],
      ["a trailing slash", `/${mine}/`, `${mine}/`],
      ["an empty segment", `/${mine}//x`, `${mine}//x`],
      ["a malformed escape", `/${mine}/x%zz`, `${mine}/x%zz`],
      ["a lone %", `/${mine}/x%`, `${mine}/x%`],
      ["a key over 1024 bytes", `/${mine}/${"k".repeat(1100)}`, `${mine}/${"k".repeat(1100)}`],
      ["another user's prefix", `/${target}`, target],
      ["a prefix that only starts like mine", `/${mine}x/${randomTail()}`, null],
    ];
    for (const [label, rawPath, signedKey] of escapes) {
      inputs++;
      // Sign what a standard signer would for this key (falls back to signing the raw path).
      let path;
      try {
        const signed = s3Path("PUT", signedKey ?? rawPath.slice(1), credA);
        path = `/s3${rawPath}${signed.slice(signed.indexOf("?"))}`;
      } catch {
        path = `/s3${rawPath}?X-Amz-Algorithm=AWS4-HMAC-SHA256`;
      }
      const r = await s3("PUT", path, cipher("escape attempt"));
      s3Refused(r, label);
    }
    assert.equal(await objectStatus(target), 404, "nothing was written under bob's prefix");
    // Backslashes are ordinary key characters (S3 too): such a key stays inside the prefix.
    const backslashed = `${mine}/..\\..\\${target}`;
    inputs++;
    assert.equal((await s3("PUT", s3Path("PUT", backslashed, credA), cipher("backslashes"))).status, 200);
    assert.equal(await objectStatus(backslashed), 200, "stored under its own, literal key");
    assert.equal(await objectStatus(target), 404);
    await assertAliceUnchanged(before, "path-like /s3/ keys");
  });

  test("bob's upload credentials cannot write under alice's prefix, overwrite her objects, or read them", async () => {
    const cases = [
      ["a new key under alice's prefix", `uploads/${A.id}/${randomTail()}`],
      ["alice's current file", FA.keys.f1],
      ["alice's version", FA.keys.f1v],
      ["alice's pending upload", FA.pending],
    ];
    for (const [label, key] of cases) {
      inputs++;
      s3Refused(
        await s3("PUT", s3Path("PUT", key, credB), cipher("bob was here")),
        `PUT ${label}`,
        403,
        "AccessDenied",
      );
      inputs++;
      s3Refused(await s3("GET", s3Path("GET", key, credB)), `GET ${label} with upload credentials`, 403);
    }
    // Alice's own credentials cannot overwrite her committed objects either (immutable).
    for (const key of [FA.keys.f1, FA.keys.f1v]) {
      inputs++;
      s3Refused(
        await s3("PUT", s3Path("PUT", key, credA), cipher("overwrite")),
        "overwrite a committed object",
        403,
        "AccessDenied",
      );
    }
    // Bob cannot commit alice's pending upload.
    inputs++;
    refused(
      await api(
        "update_files",
        { GraphUUID: GB, TXId: await getTxid(B, GB), Files: { [newName()]: [FA.pending, md5("p")] } },
        B.token,
      ),
      "bob commits alice's upload",
      400,
    );
    await assertAliceUnchanged(before, "bob's attempts");
  });

  test("a download URL for one key does not open another; it cannot write; upload URLs cannot read", async () => {
    // The URLs the worker hands out (R2's S3 endpoint here).
    const mineUrl = urlSecrets(
      ok(await api("get_files", { GraphUUID: GB, Files: [FA.bobName] }, B.token)).PresignedFileUrls[FA.bobName],
    );
    const [origin, path] = splitUrl(mineUrl);
    const otherKeyPath = path.replace(encodeURI(FA.bobKey), encodeURI(FA.keys.f1));
    assert.notEqual(otherKeyPath, path);
    inputs += 2;
    assert.equal(
      (await raw(origin, otherKeyPath, { timeoutMs: REQUEST_TIMEOUT_MS })).status,
      403,
      "bob's URL with alice's key",
    );
    assert.equal(
      (await raw(origin, path, { method: "PUT", body: "x", timeoutMs: REQUEST_TIMEOUT_MS })).status,
      403,
      "PUT to a GET URL",
    );
    // The Worker's own /s3/ download URLs (deploys without R2 S3 credentials), signed as the
    // Worker signs them.
    const dl = downloadCredentials(nowSecs() + 600);
    const good = s3Path("GET", FA.bobKey, dl, { region: "auto", expires: 600 });
    assert.equal((await s3("GET", good)).status, 200, "the genuine URL works");
    const swapped = good.replace(`/s3/${FA.bobKey}`, `/s3/${FA.keys.f1}`);
    inputs += 4;
    s3Refused(await s3("GET", swapped), "a download URL with another key", 403, "SignatureDoesNotMatch");
    s3Refused(await s3("PUT", good, cipher("x")), "PUT to a download URL", 403);
    s3Refused(await s3("DELETE", good), "DELETE with a download URL", 405, "MethodNotAllowed");
    // An upload URL (PUT, alice's credentials) used to read.
    s3Refused(await s3("GET", s3Path("PUT", FA.keys.f1, credA)), "GET with a PUT URL", 403);
    await assertAliceUnchanged(before, "URL swaps");
  });

  test("presigned URLs work only inside their lifetime: expired, not yet valid, and a 2-second URL", async () => {
    const key = `uploads/${A.id}/${randomTail()}`;
    const cases = [
      ["signed 2 h ago for 1 h", { now: new Date(Date.now() - 2 * 3600_000), expires: 3600 }, "Request has expired"],
      ["signed 1 h in the future", { now: new Date(Date.now() + 3600_000) }, "Request is not yet valid"],
      ["signed 16 min in the future", { now: new Date(Date.now() + 16 * 60_000) }, "Request is not yet valid"],
      ["X-Amz-Expires over 7 days", { expires: 604_801 }, null],
      ["X-Amz-Expires 0", { expires: 0 }, null],
    ];
    for (const [label, over, message] of cases) {
      inputs++;
      const r = await s3("PUT", s3Path("PUT", key, credA, over), cipher("timed"));
      s3Refused(r, label);
      if (message) assert.match(r.text, new RegExp(`<Message>${message}</Message>`), label);
    }
    // Within the allowed clock skew (5 minutes ahead): accepted.
    const skewed = await s3(
      "PUT",
      s3Path("PUT", key, credA, { now: new Date(Date.now() + 5 * 60_000) }),
      cipher("skewed"),
    );
    assert.equal(skewed.status, 200, show(skewed));
    // A URL valid for 2 seconds: works now, not after.
    const shortKey = `uploads/${A.id}/${randomTail()}`;
    const shortPut = s3Path("PUT", shortKey, credA, { expires: 2 });
    const dl = downloadCredentials(nowSecs() + 60);
    const shortGet = s3Path("GET", FA.keys.f2, dl, { region: "auto", expires: 2 });
    assert.equal((await s3("PUT", shortPut, cipher("short"))).status, 200);
    assert.equal((await s3("GET", shortGet)).status, 200);
    await sleep(3_200);
    inputs += 2;
    const late = await s3("PUT", shortPut, cipher("short, again"));
    s3Refused(late, "a 2-second PUT URL after 3 s", 403, "AccessDenied");
    assert.match(late.text, /Request has expired/);
    s3Refused(await s3("GET", shortGet), "a 2-second GET URL after 3 s", 403, "AccessDenied");
  });

  test("upload credentials stop at their expiry; a tampered expiry or prefix is refused", async () => {
    const key = () => `uploads/${A.id}/${randomTail()}`;
    // Credentials exactly as get_temp_credential mints them, valid for 2 more seconds.
    const soon = uploadCredentials(A, nowSecs() + 2);
    const k1 = key();
    assert.equal((await s3("PUT", s3Path("PUT", k1, soon), cipher("in time"))).status, 200);
    await sleep(3_200);
    inputs++;
    s3Refused(
      await s3("PUT", s3Path("PUT", key(), soon), cipher("too late")),
      "expired credentials",
      400,
      "ExpiredToken",
    );
    inputs++;
    s3Refused(
      await s3("PUT", s3Path("PUT", key(), uploadCredentials(A, nowSecs() - 1)), cipher("x")),
      "credentials expired a second ago",
      400,
      "ExpiredToken",
    );
    // Tampering with the token (a later expiry, another prefix) breaks its MAC.
    const t = credA.SessionToken;
    const parts = t.split("Z");
    const later = Buffer.alloc(8);
    later.writeBigInt64BE(BigInt(nowSecs() + 365 * 86400));
    const tampered = [
      ["a later expiry", [parts[0], parts[1], later.toString("hex"), parts[3]].join("Z")],
      ["bob's prefix", [parts[0], Buffer.from(`uploads/${B.id}`).toString("hex"), parts[2], parts[3]].join("Z")],
      ["another user id", [`LSQ1${Buffer.from(B.id).toString("hex")}`, parts[1], parts[2], parts[3]].join("Z")],
      ["the last character", flipLast(t)],
    ];
    for (const [label, token] of tampered) {
      inputs++;
      assert.notEqual(token, t);
      s3Refused(
        await s3("PUT", s3Path("PUT", key(), { ...credA, SessionToken: token }), cipher("x")),
        label,
        403,
        "InvalidAccessKeyId",
      );
    }
    // Credentials minted with another server secret.
    inputs++;
    const foreign = mintTempCredentials(
      Buffer.from("not the server secret, 32 bytes+"),
      A.id,
      `uploads/${A.id}`,
      nowSecs() + 600,
    );
    s3Refused(
      await s3("PUT", s3Path("PUT", key(), foreign), cipher("x")),
      "another server secret",
      403,
      "InvalidAccessKeyId",
    );
    assert.equal(await objectStatus(k1), 200);
  });
});

// ---------------------------------------------------------------- 3. tokens

describe("delete_graph of another user's graph", { timeout: 60_000 }, () => {
  test("bob deleting alice's graph → 404; a trash drain right after (bob deletes a graph of his own) leaves every object of hers", async () => {
    const before = await aliceState();
    inputs++;
    refused(await api("delete_graph", { GraphUUID: GA }, B.token), "bob deletes alice's graph", 404);
    // delete_graph drains trash (all of it) before answering.
    const spare = await createGraph(B, `bob-spare-${RUN}`);
    ok(await api("delete_graph", { GraphUUID: spare }, B.token));
    await assertAliceUnchanged(before, "bob's delete_graph of her graph, then a trash drain");
  });
});

describe("bearer tokens: forged, replayed after expiry, alg none, wrong key, revoked", { timeout: 60_000 }, () => {
  test('every kind of bad token → 401 {"message":"Unauthorized"}; the good one works', async () => {
    const now = nowSecs();
    const claims = { sub: A.id, email: A.email, iat: now, exp: now + 3600 };
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const [h, p, s] = A.token.split(".");
    const cases = [
      ["wrong key", signJwt("another-secret-0123456789abcdef", claims)],
      ["alg none, no signature", `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`],
      ["alg none with a valid HMAC", signJwt(SECRET, claims, { alg: "none", typ: "JWT" })],
      ["alg HS512 with an HS256 MAC", signJwt(SECRET, claims, { alg: "HS512", typ: "JWT" })],
      ["alg RS256", signJwt(SECRET, claims, { alg: "RS256", typ: "JWT" })],
      ["expired a minute ago", signJwt(SECRET, { ...claims, exp: now - 60 })],
      ["not valid for an hour (nbf)", signJwt(SECRET, { ...claims, nbf: now + 3600 })],
      ["issued in the future (iat)", signJwt(SECRET, { ...claims, iat: now + 3600 })],
      ["bob's claims under alice's signature", `${h}.${b64({ ...claims, sub: B.id })}.${s}`],
      ["an extended exp under the old signature", `${h}.${b64({ ...claims, exp: now + 10 * 365 * 86400 })}.${s}`],
      ["the signature of another token", `${h}.${p}.${B.token.split(".")[2]}`],
      ["a sub that is an email", signJwt(SECRET, { ...claims, sub: A.email })],
      [
        "a sub that is not a client UUID (v7)",
        signJwt(SECRET, { ...claims, sub: "0190d3c4-0000-7000-8000-000000000000" }),
      ],
      ["no exp", signJwt(SECRET, { sub: A.id })],
      ["exp as a string", signJwt(SECRET, { ...claims, exp: String(now + 3600) })],
      ["a JWT signed with the S3 credential secret", signJwt(S3_SECRET, claims)],
      ["a JWT signed with the admin token", ADMIN ? signJwt(ADMIN, claims) : "x"],
      ["the admin token itself", ADMIN ?? "x"],
      ["the JWT secret itself", SECRET],
      ["a temp SessionToken", credA.SessionToken],
    ];
    for (const [label, token] of cases) {
      inputs++;
      unauthorized(await api("get_txid", { GraphUUID: GA }, token), label);
    }
    ok(await api("get_txid", { GraphUUID: GA }, A.token));
  });

  test("a token replayed after it expired → 401 (it worked before)", async () => {
    const now = nowSecs();
    const short = secret("JWT (short-lived)", signJwt(SECRET, { sub: A.id, email: A.email, iat: now, exp: now + 2 }));
    ok(await api("get_txid", { GraphUUID: GA }, short));
    await sleep(3_200);
    inputs++;
    unauthorized(await api("get_txid", { GraphUUID: GA }, short), "replayed after expiry");
  });

  test("admin-minted tokens: revoked ones stop working; a refresh token is not a bearer token", {
    skip: !ADMIN && "ADMIN_TOKEN is not set",
  }, async () => {
    const adminCall = (method, path, body) =>
      raw(W, path, {
        method,
        headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
        body: body && JSON.stringify(body),
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
    const email = `minted-${RUN}@security-test.invalid`;
    ok(await adminCall("POST", "/admin/users", { email }));
    const minted = ok(await adminCall("POST", "/admin/tokens", { email, label: "security test" }));
    secret("admin-minted JWT", minted.id_token);
    secret("refresh token", minted.refresh_token);
    secret("refresh secret", minted.refresh_token.split(".").pop());
    ok(await api("user_info", {}, minted.id_token));
    const refreshed = await raw(W, "/oauth2/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: minted.refresh_token }).toString(),
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    assert.equal(refreshed.status, 200, show(refreshed));
    secret("refreshed JWT", refreshed.json.id_token);
    inputs++;
    unauthorized(await api("user_info", {}, minted.refresh_token), "a refresh token as bearer");
    ok(await adminCall("POST", "/admin/tokens/revoke", { id: minted.id }));
    for (const [label, t] of [
      ["revoked", minted.id_token],
      ["refreshed from a revoked one", refreshed.json.id_token],
    ]) {
      inputs++;
      unauthorized(await api("user_info", {}, t), label);
    }
    // A user's token is not an admin token.
    inputs++;
    const asAdmin = await raw(W, "/admin/users", {
      headers: { Authorization: `Bearer ${A.token}` },
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    assert.equal(asAdmin.status, 401, show(asAdmin));
  });
});

// ---------------------------------------------------------------- 4. the admin token

describe("the admin token", { timeout: 60_000 }, () => {
  // src/auth/tokens.rs `secrets_equal` hashes both sides with SHA-256 and compares the digests with
  // a data-independent fold (no early exit), so neither the position of the first difference
  // nor the length of the guess changes the work done; src/ops/admin.rs compares with it.
  test('wrong tokens of equal and of different lengths all → 401 {"message":"Unauthorized"}', {
    skip: !ADMIN && "ADMIN_TOKEN is not set",
  }, async () => {
    const flip = (s, i) => `${s.slice(0, i)}${s[i] === "0" ? "1" : "0"}${s.slice(i + 1)}`;
    const wrong = [
      ["first character changed", flip(ADMIN, 0)],
      ["middle character changed", flip(ADMIN, ADMIN.length >> 1)],
      ["last character changed", flip(ADMIN, ADMIN.length - 1)],
      ["same length, all different", ADMIN.replace(/./g, (c) => (c === "x" ? "y" : "x"))],
      ["one character short", ADMIN.slice(0, -1)],
      ["one character long", `${ADMIN}0`],
      ["a prefix", ADMIN.slice(0, 8)],
      ["empty", ""],
      ["10 KB", "a".repeat(10_000)],
      ["upper-cased", ADMIN.toUpperCase() === ADMIN ? `${ADMIN}X` : ADMIN.toUpperCase()],
      ["with a trailing NUL", `${ADMIN}\u0000`.replace("\u0000", "%00")],
    ];
    for (const [label, token] of wrong) {
      inputs++;
      const r = await raw(W, "/admin/users", {
        headers: { Authorization: `Bearer ${token}` },
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      assert.equal(r.status, 401, `${label}: ${show(r)}`);
      assert.deepEqual(r.json, { message: "Unauthorized" }, label);
    }
    for (const headers of [{}, { Authorization: `Basic ${ADMIN}` }, { Authorization: ADMIN }]) {
      inputs++;
      assert.equal((await raw(W, "/admin/users", { headers, timeoutMs: REQUEST_TIMEOUT_MS })).status, 401);
    }
    assert.equal(
      (await raw(W, "/admin/users", { headers: { Authorization: `Bearer ${ADMIN}` }, timeoutMs: REQUEST_TIMEOUT_MS }))
        .status,
      200,
    );
  });
});

// ---------------------------------------------------------------- 5. errors, then the log

describe("nothing secret in the worker's log", { timeout: 60_000 }, () => {
  test("error paths that log (injected D1, R2 and hub failures) carrying secrets and names", async () => {
    // Requests whose failures the worker logs in detail, each carrying names and tokens.
    const n = newName();
    const [k] = await presignedUploads(A, GA, [cipher("logged?")]);
    const fault = (f) => ({ headers: { "x-fault-inject": f } });
    const txid = await getTxid(A, GA);
    const r1 = await api(
      "update_files",
      { GraphUUID: GA, TXId: txid, Files: { [n]: [k, md5("l")] } },
      A.token,
      fault("d1-batch"),
    );
    assert.ok([200, 500].includes(r1.status), show(r1)); // 500 when FAULT_INJECTION is on
    const r2 = await api(
      "update_files",
      { GraphUUID: GA, TXId: await getTxid(A, GA), Files: { [n]: [k, md5("l")] } },
      A.token,
      fault("hub"),
    );
    ok(r2);
    const dl = downloadCredentials(nowSecs() + 600);
    secret("download SessionToken", dl.SessionToken);
    secret("download SecretKey", dl.SecretKey);
    await s3("GET", s3Path("GET", k, dl, { region: "auto" }), undefined, { "x-fault-inject": "r2-get" });
    await s3("PUT", s3Path("PUT", `uploads/${A.id}/${randomTail()}`, credA), cipher("x"), {
      "x-fault-inject": "r2-put",
    });
    // And plain refusals that quote the request back.
    await api("get_files_meta", { GraphUUID: GA, Files: [n, `${n}00`] }, A.token);
    await api("get_txid", { GraphUUID: GA }, flipLast(A.token));
  });

  test("no JWT, refresh token, admin token, server secret, temp credential, signature, file name or salt in any log line", {
    skip: !WORKER_LOG && "WORKER_LOG is not set",
  }, async () => {
    await sleep(1_000); // let wrangler flush the last lines
    const lines = readFileSync(WORKER_LOG, "utf8").split("\n");
    // The worker's own lines are JSON objects (console.log/error of serde_json values, possibly
    // wrapped by wrangler in an ERROR/WARNING banner); make sure the file is the right one.
    const jsonLines = lines.filter((l) => /\{"(d1_queries|event|api|error)"/.test(l));
    assert.ok(jsonLines.length > 0, "no worker lines in WORKER_LOG");
    assert.ok(
      jsonLines.some((l) => l.includes(GA)),
      "this file's requests are not in WORKER_LOG",
    );
    // wrangler's own startup banner lists --var bindings; it must show them as "(hidden)".
    for (const name of ["JWT_SECRET", "S3_CREDENTIAL_SECRET", "ADMIN_TOKEN"]) {
      const banner = lines.find((l) => l.includes(`env.${name} (`));
      if (banner) assert.match(banner, /\("\(hidden\)"\)/, `wrangler shows ${name}: ${banner}`);
    }
    // Every line, the worker's and wrangler's: no exclusions are needed.
    const leaks = [];
    for (const [value, what] of secrets) {
      const at = lines.findIndex((l) => l.includes(value));
      if (at >= 0) leaks.push(`${what} in log line ${at + 1}: ${lines[at].slice(0, 200)}`);
    }
    assert.ok(secrets.size >= 20, `only ${secrets.size} secrets collected`);
    assert.deepEqual(leaks, [], "secrets found in the worker log");
    process.stdout.write(
      `# security.test.mjs: ${inputs} bad or hostile inputs sent; ${secrets.size} secret values checked against ${lines.length} log lines\n`,
    );
  });
});
