// Every JSON API endpoint against a running worker (WORKER_URL, JWT_SECRET): answers, errors,
// limits, state after rejected requests, and isolation between users (PROTOCOL.md §2, §3, §6,
// §9, Appendix A; ARCHITECTURE.md §D4-D5). Requests are shaped like the official client's
// (tests/harness/client.mjs): app-side APIs as JSON labelled form-urlencoded, rsapi-side APIs
// as octet-stream. File bodies are put through `get_upload_urls` (the patched-client flow) or
// signed for the worker's own `/s3/` receiver with the credentials of `get_temp_credential`.
//
// Users and graph names carry a per-run tag, so the file also runs against a worker whose
// state survives between runs.

import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";

import { raw, appCall, rsapiCall } from "../harness/client.mjs";
import { presign } from "../harness/s3sign.mjs";
import { pool, RSAPI_SIDE } from "../harness/checks.mjs";
import { mintToken, signJwt, userIdForEmail } from "../../scripts/lib/jwt.mjs";
import { ALL_APIS } from "../harness/endpoints.mjs";

const W = process.env.WORKER_URL;
const SECRET = process.env.JWT_SECRET;
const RUN = crypto.randomBytes(4).toString("hex");
const REQUEST_TIMEOUT_MS = 20_000;

// ---------------------------------------------------------------- helpers

/** One API call shaped like the client that makes it. */
function api(name, body, token, { headers } = {}) {
  const fn = RSAPI_SIDE.has(name) ? rsapiCall : appCall;
  return fn(W, name, body, token, { headers, timeoutMs: REQUEST_TIMEOUT_MS });
}

/** An API call with a raw body (string/Buffer, or undefined for none) and the client's headers. */
function apiRaw(name, body, token) {
  const headers = RSAPI_SIDE.has(name)
    ? {
        "Content-Type": "application/octet-stream",
        Accept: "*/*",
        "User-Agent": "Logseq-sync/0.3",
        "Accept-Encoding": "gzip",
      }
    : { Accept: "*/*", "Content-Type": "application/x-www-form-urlencoded;charset=utf-8" };
  if (token != null) headers.Authorization = `Bearer ${token}`;
  return raw(W, `/file-sync/${name}`, { method: "POST", headers, body, timeoutMs: REQUEST_TIMEOUT_MS });
}

const show = (r) => `${r.status} ${r.text.slice(0, 300)}`;

/** 200 with a JSON body; returns the parsed body. */
function ok(r) {
  assert.equal(r.status, 200, show(r));
  assert.match(String(r.headers["content-type"]), /^application\/json/, show(r));
  assert.ok(r.json !== undefined, `body is not JSON: ${r.text.slice(0, 200)}`);
  return r.json;
}

/** An error answer: the status (or any 4xx with `'4xx'`), JSON `{"message": <string>}`. */
function fails(r, status, message) {
  if (status === "4xx") assert.ok(r.status >= 400 && r.status < 500, `expected 4xx: ${show(r)}`);
  else assert.equal(r.status, status, show(r));
  assert.match(String(r.headers["content-type"]), /^application\/json/, show(r));
  assert.equal(typeof r.json?.message, "string", `no JSON message: ${show(r)}`);
  assert.ok(r.json.message.length > 0);
  if (typeof message === "string") assert.equal(r.json.message, message);
  else if (message instanceof RegExp) assert.match(r.json.message, message);
  return r.json;
}

const UNAUTHORIZED = '{"message":"Unauthorized"}';
function unauthorized(r, label) {
  assert.equal(r.status, 401, `${label}: ${show(r)}`);
  assert.match(String(r.headers["content-type"]), /^application\/json/, label);
  assert.equal(r.text, UNAUTHORIZED, label);
}

const md5 = (data) => crypto.createHash("md5").update(data).digest("hex");
const nowSecs = () => Math.floor(Date.now() / 1000);
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const CONFLICT = /(\d+), txid_to_validate = (\d+)/;

/** A user of this run: token and id (`sub`) as the worker derives them. */
function makeUser(label) {
  const email = `${label}-${RUN}@api-test.invalid`;
  return { label, email, id: userIdForEmail(SECRET, email), token: mintToken(SECRET, email) };
}

// File names as the client makes them: real `encryptFnames` output when rsapi loads, else
// `e.` + random lowercase hex of the same shape.
let encrypt = null;
let nameSeq = 0;
async function setUpNames() {
  try {
    const rsapi = await import("../harness/rsapi.mjs");
    const { publicKey, secretKey } = await rsapi.keygen();
    const g = crypto.randomUUID();
    await rsapi.setEnv(g, "prod", secretKey, publicKey);
    encrypt = (paths) => rsapi.encryptFnames(g, paths);
    return { rsapi, publicKey, secretKey };
  } catch {
    encrypt = (paths) => paths.map(() => `e.${crypto.randomBytes(24).toString("hex")}`);
    return null;
  }
}
function names(n, dir = "pages") {
  const paths = Array.from({ length: n }, () => `${dir}/${RUN}-${nameSeq++}.md`);
  const out = encrypt(paths);
  for (const x of out) assert.match(x, /^e\.([0-9a-f]{2}){18,}$/);
  return out;
}
const name1 = () => names(1)[0];

/** What the client uploads: age-shaped ciphertext of the plaintext (bytes differ from it). */
const cipher = (plain) => Buffer.concat([Buffer.from("age-encryption.org/v1\n-> X25519 test\n"), Buffer.from(plain)]);

/** Splits an absolute URL into [origin, path+query] without re-encoding anything. */
function splitUrl(url) {
  const m = /^(https?:\/\/[^/]+)(\/.*)$/.exec(url);
  assert.ok(m, `not an absolute URL: ${url}`);
  return [m[1], m[2]];
}
function fetchUrl(url, opts = {}) {
  const [origin, path] = splitUrl(url);
  return raw(origin, path, { timeoutMs: REQUEST_TIMEOUT_MS, ...opts });
}

async function createGraph(user, name) {
  const j = ok(await api("create_graph", { GraphName: name }, user.token));
  assert.match(j.GraphUUID, UUID_V4);
  return j.GraphUUID;
}

async function getTxid(user, graph) {
  return ok(await api("get_txid", { GraphUUID: graph }, user.token)).TXId;
}

/** Presigned upload keys (get_upload_urls) holding the given bodies. */
async function uploadBodies(user, graph, bodies, { put = true } = {}) {
  const keys = [];
  for (let i = 0; i < bodies.length; i += 100) {
    const chunk = bodies.slice(i, i + 100);
    const j = ok(await api("get_upload_urls", { GraphUUID: graph, Count: chunk.length }, user.token));
    assert.equal(j.Uploads.length, chunk.length);
    if (put) {
      await pool(
        chunk.map((body, k) => async () => {
          const r = await fetchUrl(j.Uploads[k].URL, {
            method: "PUT",
            body,
            headers: { "Content-Type": "application/octet-stream" },
          });
          assert.equal(r.status, 200, `PUT ${j.Uploads[k].Key}: ${show(r)}`);
        }),
        16,
      );
    }
    keys.push(...j.Uploads.map((u) => u.Key));
  }
  return keys;
}

/**
 * Uploads and commits `contents` ({name: plaintext}) in one update_files.
 * @returns {Promise<{txid: number, info: Record<string, {key, body, md5, size, txid}>, resp: any}>}
 */
async function commitFiles(user, graph, contents, { txid } = {}) {
  const entries = Object.entries(contents);
  const bodies = entries.map(([, plain]) => cipher(plain));
  const keys = await uploadBodies(user, graph, bodies);
  const base = txid ?? (await getTxid(user, graph));
  const Files = {};
  const info = {};
  entries.forEach(([n, plain], i) => {
    Files[n] = [keys[i], md5(plain)];
    info[n] = { key: keys[i], body: bodies[i], md5: md5(plain), size: bodies[i].length, txid: base + 1 };
  });
  const j = ok(await api("update_files", { GraphUUID: graph, TXId: base, Files }, user.token));
  assert.equal(j.TXId, base + 1, JSON.stringify(j));
  return { txid: j.TXId, info, resp: j };
}

async function deleteFiles(user, graph, files, txid) {
  const base = txid ?? (await getTxid(user, graph));
  const j = ok(await api("delete_files", { GraphUUID: graph, TXId: base, Files: files }, user.token));
  assert.equal(j.TXId, base + 1);
  return j;
}

/** All pages of get_all_files. */
async function allFiles(user, graph) {
  const objects = [];
  const pages = [];
  let token;
  for (let i = 0; i < 50; i++) {
    const body = { GraphUUID: graph };
    if (token) body.ContinuationToken = token;
    const j = ok(await api("get_all_files", body, user.token));
    assert.ok(Array.isArray(j.Objects), JSON.stringify(j).slice(0, 200));
    pages.push(j);
    objects.push(...j.Objects);
    token = j.NextContinuationToken;
    if (!token) return { objects, pages };
  }
  throw new Error("get_all_files never ended");
}

/**
 * What a rejected request must not change: the graph's txid and files (and, with
 * `graphs: true`, the user's graph list).
 */
async function snapshot(user, graph, { graphs = false } = {}) {
  const [txid, files, list] = await Promise.all([
    getTxid(user, graph),
    allFiles(user, graph).then((x) => x.objects),
    graphs ? api("list_graphs", undefined, user.token).then((r) => ok(r).Graphs) : undefined,
  ]);
  return graphs ? { txid, files, graphs: list } : { txid, files };
}
async function assertUnchanged(user, graph, before, label) {
  const now = await snapshot(user, graph, { graphs: "graphs" in before });
  assert.deepEqual(now, before, `state changed after: ${label}`);
}
/** APIs whose rejected requests could change the graph list. */
const touchesGraphs = (apiName) => apiName === "create_graph" || apiName === "delete_graph";

const remoteKey = (user, graph, name) => `${user.id}/${graph}/${name}`;
/** The string with its last character changed (to another alphanumeric one). */
const flipLast = (s) => `${s.slice(0, -1)}${s.endsWith("0") ? "1" : "0"}`;

// ---------------------------------------------------------------- fixture

let rs = null; // rsapi + a key pair, when available
let A; // alice: owns GA (two files, one overwritten), keys, salt; GX for mutating checks
let B; // bob: the other user of the isolation checks
let GA;
let GX;
const FA = {};

/**
 * A fresh age public key and an armored passphrase-encrypted private key (real rsapi output when
 * rsapi is there). The scrypt encryption takes seconds, so it is done once per run; later pairs
 * reuse that armor with a new public key (the server cannot tell, and does not need to).
 */
let armored = null;
async function keyPair() {
  if (rs) {
    const { publicKey, secretKey } = await rs.rsapi.keygen();
    armored ??= (await rs.rsapi.ageEncryptWithPassphrase("a graph password", Buffer.from(secretKey))).toString("utf8");
    return { publicKey, encrypted: armored };
  }
  const pk = `age1${crypto.randomBytes(40).toString("hex").slice(0, 58)}`;
  return {
    publicKey: pk,
    encrypted: `-----BEGIN AGE ENCRYPTED FILE-----\n${crypto.randomBytes(120).toString("base64")}\n-----END AGE ENCRYPTED FILE-----\n`,
  };
}

before(async () => {
  assert.ok(W, "WORKER_URL is not set (e.g. WORKER_URL=http://127.0.0.1:8787)");
  assert.ok(SECRET, "JWT_SECRET is not set (the worker's JWT_SECRET)");
  rs = await setUpNames();
  A = makeUser("alice");
  B = makeUser("bob");
  GA = await createGraph(A, `alice-main-${RUN}`);
  GX = await createGraph(A, `alice-extra-${RUN}`);
  [FA.f1, FA.f2] = names(2);
  const c1 = await commitFiles(A, GA, { [FA.f1]: "one, first", [FA.f2]: "two" });
  const c2 = await commitFiles(A, GA, { [FA.f1]: "one, second" });
  FA.info = { ...c1.info, ...c2.info };
  const versions = ok(await api("get_file_version_list", { GraphUUID: GA, File: FA.f1 }, A.token)).VersionList;
  assert.equal(versions.length, 1);
  FA.versionId = `${versions[0].FileUUID}/${versions[0].VersionUUID}`;
  FA.keys = await keyPair();
  ok(
    await api(
      "upload_graph_encrypt_keys",
      {
        GraphUUID: GA,
        "public-key": FA.keys.publicKey,
        "encrypted-private-key": FA.keys.encrypted,
      },
      A.token,
    ),
  );
  FA.salt = ok(await api("create_graph_salt", { GraphUUID: GA }, A.token));
  // an uploaded, not yet committed key of A's: the valid base of update_files bodies
  [FA.pending] = await uploadBodies(A, GA, [cipher("pending body")]);
});

/** A valid body of `apiName` for alice on GA (undefined: the API takes none). */
async function validBody(apiName) {
  const txid = () => getTxid(A, GA);
  switch (apiName) {
    case "user_info":
      return {};
    case "list_graphs":
      return undefined;
    case "get_temp_credential":
      return undefined;
    case "create_graph":
      return { GraphName: `new-${RUN}-${nameSeq++}` };
    case "delete_graph":
    case "get_txid":
    case "get_graph":
    case "get_graph_salt":
    case "create_graph_salt":
    case "get_graph_encrypt_keys":
    case "get_all_files":
      return { GraphUUID: GA };
    case "upload_graph_encrypt_keys":
      return { GraphUUID: GA, "public-key": FA.keys.publicKey, "encrypted-private-key": FA.keys.encrypted };
    case "get_files_meta":
    case "get_files":
      return { GraphUUID: GA, Files: [FA.f1] };
    case "get_diff":
    case "get_deletion_log_v20221212":
      return { GraphUUID: GA, FromTXId: 0 };
    case "get_file_version_list":
      return { GraphUUID: GA, File: FA.f1 };
    case "update_files":
      return { GraphUUID: GA, TXId: await txid(), Files: { [name1()]: [FA.pending, md5("pending")] } };
    case "delete_files":
      return { GraphUUID: GA, TXId: await txid(), Files: [FA.f2] };
    case "get_version_files":
      return { GraphUUID: GA, Files: [FA.versionId] };
    case "rename_file":
      return { GraphUUID: GA, TXId: await txid(), SrcFile: FA.f2, DstFile: name1() };
    case "get_upload_urls":
      return { GraphUUID: GA, Count: 1 };
    default:
      throw new Error(`no valid body for ${apiName}`);
  }
}

// ---------------------------------------------------------------- authentication

describe('authentication: 401 {"message":"Unauthorized"} for every API', { timeout: 60_000 }, () => {
  function badTokens() {
    const now = nowSecs();
    const claims = { sub: A.id, email: A.email, iat: now, exp: now + 3600 };
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
    return [
      ["no Authorization header", {}],
      ["a malformed token", { token: "not-a-jwt" }],
      ["a token signed with another key", { token: signJwt("another-secret-0123456789abcdef", claims) }],
      ["an expired token", { token: signJwt(SECRET, { ...claims, iat: now - 7200, exp: now - 60 }) }],
      ["an alg:none token", { token: `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.` }],
      ["an alg:none header with a valid HMAC", { token: signJwt(SECRET, claims, { alg: "none", typ: "JWT" }) }],
      [
        "a token whose sub is a UUIDv7",
        { token: signJwt(SECRET, { ...claims, sub: "0190d3c4-0000-7000-8000-000000000000" }) },
      ],
      ["a valid token under the Basic scheme", { headers: { Authorization: `Basic ${A.token}` } }],
    ];
  }

  for (const apiName of ALL_APIS) {
    test(`${apiName}: missing, malformed, forged, expired and alg:none tokens → 401, state unchanged`, async () => {
      const body = await validBody(apiName);
      const before = await snapshot(A, GA, { graphs: touchesGraphs(apiName) });
      // independent rejected requests: a few at a time, each followed by its own state check
      await pool(
        badTokens().map(([label, { token, headers }]) => async () => {
          const r = await api(apiName, body, token, { headers });
          unauthorized(r, `${apiName} with ${label}`);
          await assertUnchanged(A, GA, before, `${apiName} with ${label}`);
        }),
        4,
      );
    });
  }

  test("the same requests with the valid token succeed (the 401s were about the token)", async () => {
    for (const apiName of ["user_info", "list_graphs", "get_txid", "get_all_files", "get_temp_credential"]) {
      ok(await api(apiName, await validBody(apiName), A.token));
    }
  });
});

// ---------------------------------------------------------------- request validation

const UUID_V7 = "0190d3c4-0000-7000-8000-000000000000";
const BAD_GRAPH_UUIDS = [
  ["not a UUID", "not-a-uuid"],
  ["a UUIDv7", UUID_V7],
  ['"../.."', "../.."],
  ["a 36-character path traversal", "../../../../../../../../../../../etc"],
  ["empty", ""],
];

/** Per API: required fields and field-level bad values (each must give 400). */
const SPECS = {
  create_graph: {
    graph: false,
    required: ["GraphName"],
    bad: [
      ["GraphName a number", { GraphName: 5 }],
      ["GraphName null", { GraphName: null }],
      ["GraphName an array", { GraphName: ["a"] }],
      ["GraphName empty", { GraphName: "" }],
      ["GraphName blank", { GraphName: "   " }],
      ["GraphName with a control character", { GraphName: "a\u0001b" }],
      ["GraphName of 256 characters", { GraphName: "n".repeat(256) }],
    ],
  },
  delete_graph: { required: ["GraphUUID"], bad: [] },
  get_txid: { required: ["GraphUUID"], bad: [] },
  get_graph: {
    required: [],
    bad: [
      ["neither GraphUUID nor GraphName", { GraphUUID: undefined }],
      ["GraphName a number", { GraphUUID: undefined, GraphName: 5 }],
      ["both null", { GraphUUID: null, GraphName: null }],
    ],
  },
  get_graph_salt: { required: ["GraphUUID"], bad: [] },
  create_graph_salt: { required: ["GraphUUID"], bad: [] },
  get_graph_encrypt_keys: { required: ["GraphUUID"], bad: [] },
  upload_graph_encrypt_keys: {
    required: ["GraphUUID", "public-key", "encrypted-private-key"],
    bad: [
      ["public-key a number", { "public-key": 5 }],
      ["public-key not age1…", { "public-key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5" }],
      ["public-key with punctuation", { "public-key": "age1abc-def/ghi" }],
      [
        "public-key a secret key",
        { "public-key": "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ" },
      ],
      ["public-key too long", { "public-key": `age1${"q".repeat(400)}` }],
      ["encrypted-private-key a number", { "encrypted-private-key": 5 }],
      ["encrypted-private-key not armored", { "encrypted-private-key": "plain text" }],
      [
        "encrypted-private-key an unencrypted secret key",
        { "encrypted-private-key": "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ" },
      ],
    ],
  },
  get_all_files: {
    required: ["GraphUUID"],
    bad: [
      ["ContinuationToken a number", { ContinuationToken: 5 }],
      ["ContinuationToken garbage", { ContinuationToken: "not-a-token" }],
      ["ContinuationToken a path", { ContinuationToken: "../../etc/passwd" }],
    ],
  },
  get_files_meta: {
    required: ["GraphUUID", "Files"],
    bad: [
      ["Files a string", { Files: "e.aa" }],
      ["Files an object", { Files: {} }],
      ["Files with a number", { Files: [5] }],
      ["Files null", { Files: null }],
      ["Files empty", { Files: [] }],
      [
        "Files with 1001 entries",
        { Files: Array.from({ length: 1001 }, (_, i) => `e.${String(i).padStart(40, "0")}`) },
      ],
    ],
  },
  get_diff: {
    required: ["GraphUUID", "FromTXId"],
    bad: [
      ["FromTXId a string", { FromTXId: "0" }],
      ["FromTXId negative", { FromTXId: -1 }],
      ["FromTXId fractional", { FromTXId: 1.5 }],
      ["FromTXId null", { FromTXId: null }],
      ["FromTXId a boolean", { FromTXId: true }],
    ],
  },
  get_deletion_log_v20221212: {
    required: ["GraphUUID", "FromTXId"],
    bad: [
      ["FromTXId a string", { FromTXId: "0" }],
      ["FromTXId negative", { FromTXId: -1 }],
      ["FromTXId null", { FromTXId: null }],
    ],
  },
  get_file_version_list: {
    required: ["GraphUUID", "File"],
    bad: [
      ["File a number", { File: 5 }],
      ["File a plain path", { File: "pages/a.md" }],
      ["File empty", { File: "" }],
      ["File upper-case hex", { File: `e.${"AB".repeat(20)}` }],
      ["File a list", { File: ["e.aa"] }],
    ],
  },
  update_files: {
    required: ["GraphUUID", "TXId", "Files"],
    bad: [
      ["TXId a string", { TXId: "0" }],
      ["TXId negative", { TXId: -1 }],
      ["TXId fractional", { TXId: 0.5 }],
      ["TXId null", { TXId: null }],
      ["Files an array", { Files: [] }],
      ["Files a string", { Files: "x" }],
      ["Files an empty object", { Files: {} }],
      ["a file entry with one element", (b) => ({ Files: mapEntries(b.Files, ([k]) => [k]) })],
      ["a file entry with three elements", (b) => ({ Files: mapEntries(b.Files, ([k, c]) => [k, c, "x"]) })],
      ["a file entry of numbers", (b) => ({ Files: mapEntries(b.Files, () => [1, 2]) })],
      ["a file entry that is a string", (b) => ({ Files: mapEntries(b.Files, ([k]) => k) })],
      ["a file entry null", (b) => ({ Files: mapEntries(b.Files, () => null) })],
      ["a plain path as name", (b) => ({ Files: { "pages/a.md": Object.values(b.Files)[0] } })],
      ["an upper-case name", (b) => ({ Files: { [`e.${"AB".repeat(20)}`]: Object.values(b.Files)[0] } })],
      ["a name of 36 characters", (b) => ({ Files: { [`e.${"ab".repeat(17)}`]: Object.values(b.Files)[0] } })],
    ],
  },
  delete_files: {
    required: ["GraphUUID", "TXId", "Files"],
    bad: [
      ["TXId a string", { TXId: "1" }],
      ["TXId negative", { TXId: -1 }],
      ["Files a string", { Files: "e.aa" }],
      ["Files empty", { Files: [] }],
      ["Files with a number", { Files: [5] }],
      ["Files with a plain path", { Files: ["pages/a.md"] }],
      ["Files with 101 entries", { Files: Array.from({ length: 101 }, (_, i) => `e.${String(i).padStart(40, "0")}`) }],
    ],
  },
  get_files: {
    required: ["GraphUUID", "Files"],
    bad: [
      ["Files a string", { Files: "e.aa" }],
      ["Files empty", { Files: [] }],
      ["Files with a number", { Files: [5] }],
      ["Files with a plain path", { Files: ["pages/a.md"] }],
      ["Files with a traversal", { Files: ["../../etc/passwd"] }],
    ],
  },
  get_version_files: {
    required: ["GraphUUID", "Files"],
    bad: [
      ["Files empty", { Files: [] }],
      ["Files with a number", { Files: [5] }],
      ['an id without "/"', { Files: ["abc"] }],
      ["only a FileUUID", (b) => ({ Files: [b.Files[0].split("/")[0]] })],
      ["three parts", (b) => ({ Files: [`${b.Files[0]}/x`] })],
      ["a traversal", { Files: ["../../../../../../../../../../../etc/../../../../../../../../../../../passwd"] }],
      ["non-UUID parts", { Files: ["e.aaaa/e.bbbb"] }],
    ],
  },
  rename_file: {
    required: ["GraphUUID", "TXId", "SrcFile", "DstFile"],
    bad: [
      ["TXId a string", { TXId: "1" }],
      ["TXId negative", { TXId: -1 }],
      ["SrcFile a number", { SrcFile: 5 }],
      ["SrcFile a plain path", { SrcFile: "pages/a.md" }],
      ["DstFile a plain path", { DstFile: "pages/b.md" }],
      ["DstFile equal to SrcFile", (b) => ({ DstFile: b.SrcFile })],
    ],
  },
  get_upload_urls: {
    required: ["GraphUUID", "Count"],
    bad: [
      ["Count 0", { Count: 0 }],
      ["Count negative", { Count: -1 }],
      ["Count 101", { Count: 101 }],
      ["Count a string", { Count: "1" }],
      ["Count fractional", { Count: 1.5 }],
      ["Count null", { Count: null }],
    ],
  },
};

function mapEntries(files, fn) {
  return Object.fromEntries(Object.entries(files).map(([n, v]) => [n, fn(v)]));
}

/** Applies a bad case (object of field overrides, undefined = delete; or a function). */
function mutate(body, change) {
  const over = typeof change === "function" ? change(body) : change;
  const out = { ...body };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

const RAW_BAD_BODIES = [
  ["an empty body", undefined],
  ["the literal null", "null"],
  ["invalid JSON", "{"],
  ["a JSON array", "[]"],
  ["an empty object", "{}"],
  ["form-encoded data", "GraphUUID=abc&TXId=1"],
  ["bytes that are not UTF-8", Buffer.from([0xff, 0xfe, 0x7b, 0x7d])],
];

describe("request validation: 400/404 JSON, never 500, state unchanged", { timeout: 90_000 }, () => {
  for (const [apiName, spec] of Object.entries(SPECS)) {
    test(`${apiName}: empty, null, invalid, wrong-typed and incomplete bodies → 400`, async () => {
      const valid = await validBody(apiName);
      const before = await snapshot(A, GA, { graphs: touchesGraphs(apiName) });
      const cases = [];
      for (const [label, body] of RAW_BAD_BODIES) cases.push([label, body, true]);
      for (const field of spec.required) cases.push([`${field} missing`, mutate(valid, { [field]: undefined })]);
      if (spec.graph !== false) {
        cases.push(["GraphUUID a number", mutate(valid, { GraphUUID: 123 })]);
        for (const [label, g] of BAD_GRAPH_UUIDS) cases.push([`GraphUUID ${label}`, mutate(valid, { GraphUUID: g })]);
      }
      for (const [label, change] of spec.bad) cases.push([label, mutate(valid, change)]);
      // independent rejected requests: a few at a time, each followed by its own state check
      await pool(
        cases.map(([label, body, isRaw]) => async () => {
          const r = isRaw ? await apiRaw(apiName, body, A.token) : await api(apiName, body, A.token);
          assert.ok(r.status !== 500, `${apiName} with ${label}: ${show(r)}`);
          fails(r, 400);
          await assertUnchanged(A, GA, before, `${apiName} with ${label}`);
        }),
        4,
      );
    });

    if (spec.graph !== false) {
      test(`${apiName}: a well-formed but unknown GraphUUID → 404 graph-not-exist`, async () => {
        const valid = await validBody(apiName);
        const before = await snapshot(A, GA, { graphs: touchesGraphs(apiName) });
        for (const g of [crypto.randomUUID(), crypto.randomUUID().toUpperCase()]) {
          fails(await api(apiName, { ...valid, GraphUUID: g }, A.token), 404, "graph-not-exist");
        }
        await assertUnchanged(A, GA, before, `${apiName} on an unknown graph`);
      });
    }
  }

  test("get_graph: an unknown GraphName → 404 graph-not-exist", async () => {
    fails(await api("get_graph", { GraphName: `no-such-graph-${RUN}` }, A.token), 404, "graph-not-exist");
  });

  test("user_info and list_graphs accept the bodies the app sends ({} / null / empty)", async () => {
    for (const body of ["{}", "null", undefined]) {
      const u = await apiRaw("user_info", body, A.token);
      assert.ok(Array.isArray(ok(u).UserGroups), show(u));
      const l = await apiRaw("list_graphs", body, A.token);
      assert.ok(Array.isArray(ok(l).Graphs), show(l));
    }
  });
});

describe("unknown request fields are ignored", { timeout: 60_000 }, () => {
  const EXTRA = { Extra: 1, Dir: "ignored", nested: { a: [1, 2] }, "some-key": null };

  for (const apiName of ALL_APIS) {
    test(`${apiName}: a valid body with extra fields succeeds`, async () => {
      let body;
      let check = () => {};
      switch (apiName) {
        // mutating APIs run on alice's second graph (GX), not on GA
        case "create_graph": {
          body = { GraphName: `extra-created-${RUN}` };
          check = async (j) => {
            assert.match(j.GraphUUID, UUID_V4);
            ok(await api("delete_graph", { GraphUUID: j.GraphUUID }, A.token));
          };
          break;
        }
        case "delete_graph": {
          const g = await createGraph(A, `extra-deleted-${RUN}`);
          body = { GraphUUID: g };
          check = async () => {
            const graphs = ok(await api("list_graphs", undefined, A.token)).Graphs;
            assert.ok(!graphs.some((x) => x.GraphUUID === g), "graph still listed");
          };
          break;
        }
        case "upload_graph_encrypt_keys": {
          const k = await keyPair();
          body = { GraphUUID: GX, "public-key": k.publicKey, "encrypted-private-key": k.encrypted };
          check = async () => {
            const got = ok(await api("get_graph_encrypt_keys", { GraphUUID: GX }, A.token));
            assert.equal(got["public-key"], k.publicKey);
          };
          break;
        }
        case "update_files": {
          const [key] = await uploadBodies(A, GX, [cipher("extra")]);
          const txid = await getTxid(A, GX);
          body = { GraphUUID: GX, TXId: txid, Files: { [name1()]: [key, md5("extra")] } };
          check = (j) => assert.equal(j.TXId, txid + 1);
          break;
        }
        case "delete_files": {
          const n = name1();
          await commitFiles(A, GX, { [n]: "to delete" });
          const txid = await getTxid(A, GX);
          body = { GraphUUID: GX, TXId: txid, Files: [n] };
          check = (j) => assert.equal(j.TXId, txid + 1);
          break;
        }
        case "rename_file": {
          const n = name1();
          await commitFiles(A, GX, { [n]: "to rename" });
          const txid = await getTxid(A, GX);
          body = { GraphUUID: GX, TXId: txid, SrcFile: n, DstFile: name1() };
          check = (j) => assert.equal(j.TXId, txid + 1);
          break;
        }
        default:
          body = await validBody(apiName);
      }
      const r =
        apiName === "list_graphs" || apiName === "get_temp_credential"
          ? await apiRaw(apiName, JSON.stringify(EXTRA), A.token)
          : await api(apiName, { ...body, ...EXTRA }, A.token);
      const j = ok(r);
      if (j && typeof j === "object" && !Array.isArray(j))
        assert.ok(!("message" in j), `success body has a message: ${r.text}`);
      await check(j);
    });
  }
});

// ---------------------------------------------------------------- graphs

describe("graphs: user_info, create/list/get/delete, limits", { timeout: 60_000 }, () => {
  let U;
  before(() => {
    U = makeUser("gina");
  });

  test("user_info: beta-tester group, limits as numbers, ExpireTime in seconds ahead", async () => {
    const j = ok(await api("user_info", {}, U.token));
    assert.ok(j.UserGroups.includes("beta-tester"), JSON.stringify(j));
    assert.ok(
      Number.isInteger(j.ExpireTime) && j.ExpireTime > nowSecs() && j.ExpireTime < 1e11,
      `ExpireTime ${j.ExpireTime}`,
    );
    assert.ok(Number.isInteger(j.GraphCountLimit) && j.GraphCountLimit >= 1);
    assert.ok(Number.isInteger(j.StorageLimit) && j.StorageLimit > 0);
    assert.ok(!("message" in j));
  });

  test("create_graph → {GraphUUID (v4), TXId: 0}; get_txid 0; get_graph by UUID and by name; list_graphs", async () => {
    const name = `gina-${RUN}`;
    const j = ok(await api("create_graph", { GraphName: name }, U.token));
    assert.deepEqual(Object.keys(j).sort(), ["GraphUUID", "TXId"]);
    assert.match(j.GraphUUID, UUID_V4);
    assert.equal(j.TXId, 0);
    const g = j.GraphUUID;
    assert.deepEqual(ok(await api("get_txid", { GraphUUID: g }, U.token)), { TXId: 0 });
    const expected = { GraphUUID: g, GraphName: name, TXId: 0, StorageUsage: 0 };
    assert.deepEqual(ok(await api("get_graph", { GraphUUID: g }, U.token)), expected);
    assert.deepEqual(ok(await api("get_graph", { GraphName: name }, U.token)), expected);
    const listed = ok(await api("list_graphs", undefined, U.token)).Graphs.filter((x) => x.GraphUUID === g);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].GraphName, name);
    assert.equal(listed[0].GraphStorageUsage, 0);
    assert.ok(Number.isInteger(listed[0].GraphStorageLimit) && listed[0].GraphStorageLimit > 0);

    // get_graph follows the txid and the stored bytes
    const c = await commitFiles(U, g, { [name1()]: "x".repeat(100) });
    const after = ok(await api("get_graph", { GraphUUID: g }, U.token));
    assert.equal(after.TXId, 1);
    assert.equal(after.StorageUsage, Object.values(c.info)[0].size);
  });

  test('create_graph: empty name → 400; duplicate → 400 "graph[<name>] already exists "', async () => {
    const before = ok(await api("list_graphs", undefined, U.token)).Graphs;
    fails(await api("create_graph", { GraphName: "" }, U.token), 400);
    const name = `gina-${RUN}`;
    fails(await api("create_graph", { GraphName: name }, U.token), 400, `graph[${name}] already exists `);
    assert.deepEqual(ok(await api("list_graphs", undefined, U.token)).Graphs, before);
    // names are unique per user, not globally
    const other = makeUser("gina-other");
    ok(await api("create_graph", { GraphName: name }, other.token));
  });

  test("more graphs than GraphCountLimit → 403 graph-count-exceed-limit (a dedicated user)", async () => {
    const C = makeUser("carol");
    const limit = ok(await api("user_info", {}, C.token)).GraphCountLimit;
    assert.ok(limit >= 1 && limit <= 100, `limit ${limit}`);
    const made = [];
    for (let i = 0; i < limit; i++) made.push(await createGraph(C, `carol-${i}`));
    fails(await api("create_graph", { GraphName: "carol-one-too-many" }, C.token), 403, "graph-count-exceed-limit");
    const graphs = ok(await api("list_graphs", undefined, C.token)).Graphs;
    assert.equal(graphs.length, limit);
    assert.deepEqual(new Set(graphs.map((x) => x.GraphUUID)), new Set(made));
    // deleting one makes room again
    ok(await api("delete_graph", { GraphUUID: made[0] }, C.token));
    await createGraph(C, "carol-again");
  });

  /** After delete_graph: not listed, every API on it 404 graph-not-exist. */
  async function assertGone(g, n, pending) {
    const graphs = ok(await api("list_graphs", undefined, U.token)).Graphs;
    assert.ok(!graphs.some((x) => x.GraphUUID === g), "deleted graph still listed");
    fails(await api("get_txid", { GraphUUID: g }, U.token), 404, "graph-not-exist");
    fails(await api("get_all_files", { GraphUUID: g }, U.token), 404, "graph-not-exist");
    fails(await api("get_graph_salt", { GraphUUID: g }, U.token), 404, "graph-not-exist");
    fails(await api("get_graph_encrypt_keys", { GraphUUID: g }, U.token), 404, "graph-not-exist");
    if (pending) {
      fails(
        await api("update_files", { GraphUUID: g, TXId: 1, Files: { [name1()]: [pending, md5("late")] } }, U.token),
        404,
        "graph-not-exist",
      );
    }
    fails(await api("delete_files", { GraphUUID: g, TXId: 1, Files: [n] }, U.token), 404, "graph-not-exist");
    fails(await api("delete_graph", { GraphUUID: g }, U.token), 404, "graph-not-exist");
  }

  test("delete_graph of an empty graph → 200 {}; then gone, its APIs 404 graph-not-exist", async () => {
    const g = await createGraph(U, `gina-empty-${RUN}`);
    assert.deepEqual(ok(await api("delete_graph", { GraphUUID: g }, U.token)), {});
    await assertGone(g, name1());
  });

  test("delete_graph of a graph with files, versions, keys and salt → 200; then gone, its objects kept for undelete", async () => {
    const g = await createGraph(U, `gina-doomed-${RUN}`);
    const n = name1();
    await commitFiles(U, g, { [n]: "bye" });
    await commitFiles(U, g, { [n]: "bye again" });
    const k = await keyPair();
    ok(
      await api(
        "upload_graph_encrypt_keys",
        { GraphUUID: g, "public-key": k.publicKey, "encrypted-private-key": k.encrypted },
        U.token,
      ),
    );
    ok(await api("create_graph_salt", { GraphUUID: g }, U.token));
    const [pending] = await uploadBodies(U, g, [cipher("late")]);
    const url = ok(await api("get_files", { GraphUUID: g, Files: [n] }, U.token)).PresignedFileUrls[n];
    assert.equal((await fetchUrl(url)).status, 200);

    const r = await api("delete_graph", { GraphUUID: g }, U.token);
    await assertGone(g, n, pending);
    // the status last, so that the checks above run whatever it is
    assert.equal(r.status, 200, `delete_graph of an existing graph answered ${show(r)}`);
    assert.ok(!("message" in ok(r)));
    // the graph's objects stay for the undelete period (docs/RESTORE.md; the purge after it:
    // restore.test.mjs), so an earlier download URL still serves them
    const after = await fetchUrl(url);
    assert.equal(after.status, 200, `object gone before the undelete period ended: ${after.status}`);
  });
});

// ---------------------------------------------------------------- update_files

describe("update_files", { timeout: 60_000 }, () => {
  let U;
  let O; // another user, owner of foreign upload keys
  let g;
  before(async () => {
    U = makeUser("ursula");
    O = makeUser("oscar");
    g = await createGraph(U, `ursula-${RUN}`);
  });

  test("success: TXId old+1, UpdateSuccFiles = <user>/<graph>/<name>, UpdateFailedFiles {}, no message", async () => {
    const [n1, n2] = names(2);
    const r = await commitFiles(U, g, { [n1]: "alpha", [n2]: "beta" }, { txid: 0 });
    assert.deepEqual(Object.keys(r.resp).sort(), ["TXId", "UpdateFailedFiles", "UpdateSuccFiles"]);
    assert.equal(r.resp.TXId, 1);
    assert.deepEqual([...r.resp.UpdateSuccFiles].sort(), [remoteKey(U, g, n1), remoteKey(U, g, n2)].sort());
    assert.deepEqual(r.resp.UpdateFailedFiles, {});
    assert.equal(await getTxid(U, g), 1);
  });

  test("txid conflict: stale (server 10, client 9) and ahead (server 10, client 11) → 409 with padded numbers", async () => {
    let txid = await getTxid(U, g);
    while (txid < 10) txid = (await commitFiles(U, g, { [name1()]: `commit ${txid}` }, { txid })).txid;
    assert.equal(txid, 10);
    const [key] = await uploadBodies(U, g, [cipher("late")]);
    const n = name1();
    const before = await snapshot(U, g);
    for (const [client, serverGreater] of [
      [9, true],
      [11, false],
      [0, true],
    ]) {
      const r = await api("update_files", { GraphUUID: g, TXId: client, Files: { [n]: [key, md5("late")] } }, U.token);
      const j = fails(r, 409);
      const m = CONFLICT.exec(j.message);
      assert.ok(m, `message does not match the client's regex: ${j.message}`);
      assert.equal(Number(m[1]), 10, j.message);
      assert.equal(Number(m[2]), client, j.message);
      assert.equal(m[1].length, m[2].length, `numbers not padded to one width: ${j.message}`);
      // the client compares the two captures as strings (PROTOCOL.md §9.3)
      assert.equal(m[1] > m[2], serverGreater, j.message);
      assert.equal(m[1] < m[2], !serverGreater, j.message);
      await assertUnchanged(U, g, before, `update_files with TXId ${client}`);
    }
    // the rejected attempts did not use up the upload
    const ok11 = ok(await api("update_files", { GraphUUID: g, TXId: 10, Files: { [n]: [key, md5("late")] } }, U.token));
    assert.equal(ok11.TXId, 11);
  });

  test("rejected uploads: missing, never PUT, foreign, outside the prefix → 4xx, txid and files unchanged", async () => {
    const [foreign] = await uploadBodies(O, await createGraph(O, `oscar-${RUN}`), [cipher("oscar")]);
    const [notPut] = await uploadBodies(U, g, [cipher("never sent")], { put: false });
    const cases = [
      ["a key never handed out", `uploads/${U.id}/neverhandedoutkey`],
      ["a key handed out but never uploaded", notPut],
      ["another user's uploaded key", foreign],
      ["another user's prefix", `uploads/${O.id}/abcdefghijkl`],
      ["a key outside uploads/", `temp/us-east-1:${U.id}/abcdefghijkl`],
      ["a committed file key", `${U.id}/${g}/e.${"ab".repeat(20)}`],
      ["a traversal out of the prefix", `uploads/${U.id}/../${O.id}/abcdefghijkl`],
      ["the bare prefix", `uploads/${U.id}`],
      ["the prefix with a slash", `uploads/${U.id}/`],
      ["an empty key", ""],
    ];
    const before = await snapshot(U, g);
    for (const [label, key] of cases) {
      const r = await api(
        "update_files",
        { GraphUUID: g, TXId: before.txid, Files: { [name1()]: [key, md5("x")] } },
        U.token,
      );
      fails(r, "4xx");
      await assertUnchanged(U, g, before, `update_files with ${label}`);
    }
  });

  test("rejected checksums, duplicate keys, 0 and >100 files → 4xx, txid and files unchanged", async () => {
    const keys = await uploadBodies(
      U,
      g,
      Array.from({ length: 101 }, (_, i) => cipher(`many ${i}`)),
    );
    const before = await snapshot(U, g);
    const t = before.txid;
    const n = name1();
    const badSums = [
      "D41D8CD98F00B204E9800998ECF8427E",
      "d41d8cd98f00b204e9800998ecf8427",
      "d41d8cd98f00b204e9800998ecf8427ef",
      "g41d8cd98f00b204e9800998ecf8427e",
      "",
      "d41d8cd9-8f00-b204-e980-0998ecf8427e",
    ];
    const cases = badSums.map((c) => [`checksum ${JSON.stringify(c)}`, { [n]: [keys[0], c] }]);
    cases.push(["checksum null", { [n]: [keys[0], null] }]);
    cases.push(["two files with the same key", { [n]: [keys[0], md5("a")], [name1()]: [keys[0], md5("a")] }]);
    cases.push(["0 files", {}]);
    cases.push(["101 files", Object.fromEntries(names(101).map((x, i) => [x, [keys[i], md5(`many ${i}`)]]))]);
    for (const [label, Files] of cases) {
      fails(await api("update_files", { GraphUUID: g, TXId: t, Files }, U.token), "4xx");
      await assertUnchanged(U, g, before, `update_files with ${label}`);
    }
    // 100 files is allowed, as one transaction
    const Files = Object.fromEntries(names(100).map((x, i) => [x, [keys[i], md5(`many ${i}`)]]));
    const j = ok(await api("update_files", { GraphUUID: g, TXId: t, Files }, U.token));
    assert.equal(j.TXId, t + 1);
    assert.equal(j.UpdateSuccFiles.length, 100);
  });

  test("an upload key committed once cannot be committed again", async () => {
    const n = name1();
    const c = await commitFiles(U, g, { [n]: "once" });
    const key = c.info[n].key;
    const before = await snapshot(U, g);
    for (const target of [name1(), n]) {
      const r = await api(
        "update_files",
        { GraphUUID: g, TXId: before.txid, Files: { [target]: [key, md5("twice")] } },
        U.token,
      );
      fails(r, "4xx");
      await assertUnchanged(U, g, before, "update_files reusing a committed key");
    }
  });
});

// ---------------------------------------------------------------- delete_files, get_files_meta

describe("delete_files and get_files_meta", { timeout: 60_000 }, () => {
  let U;
  let g;
  let n1;
  let n2;
  let c;
  let t0;
  let t1;
  before(async () => {
    U = makeUser("delia");
    g = await createGraph(U, `delia-${RUN}`);
    [n1, n2] = names(2);
    t0 = Date.now();
    c = await commitFiles(U, g, { [n1]: "first file", [n2]: crypto.randomBytes(333) });
    t1 = Date.now();
  });

  test('get_files_meta: a top-level array in request order; found and "not found" entries', async () => {
    const unknown = name1();
    const tooLong = `e.${"ab".repeat(475)}`; // 952 characters
    const j = ok(await api("get_files_meta", { GraphUUID: g, Files: [n2, unknown, n1, tooLong] }, U.token));
    assert.ok(Array.isArray(j), `not an array: ${JSON.stringify(j).slice(0, 200)}`);
    assert.equal(j.length, 4);
    for (const [i, n] of [
      [0, n2],
      [2, n1],
    ]) {
      const e = j[i];
      assert.deepEqual(Object.keys(e).sort(), ["Checksum", "FilePath", "LastModified", "Size", "Txid"]);
      assert.equal(e.FilePath, n);
      assert.equal(e.Checksum, c.info[n].md5);
      assert.equal(e.Size, c.info[n].size, "Size is the stored (ciphertext) size");
      assert.equal(e.Txid, c.txid);
      assert.ok(
        Number.isInteger(e.LastModified) && e.LastModified >= t0 - 5000 && e.LastModified <= t1 + 5000,
        `LastModified ${e.LastModified} not a recent ms time (${t0}..${t1})`,
      );
    }
    assert.deepEqual(j[1], { FilePath: unknown, Error: `not found ${remoteKey(U, g, unknown)}` });
    assert.equal(j[3].FilePath, tooLong);
    assert.equal(j[3].Error, "filepath too long");
  });

  test("delete_files: known → DeleteSuccFiles, unknown → DeleteFailedFiles, TXId+1", async () => {
    const unknown = name1();
    const t = await getTxid(U, g);
    const j = ok(await api("delete_files", { GraphUUID: g, TXId: t, Files: [n1, unknown] }, U.token));
    assert.ok(!("message" in j));
    assert.equal(j.TXId, t + 1);
    assert.deepEqual(j.DeleteSuccFiles, [remoteKey(U, g, n1)]);
    assert.deepEqual(Object.keys(j.DeleteFailedFiles), [unknown]);
    assert.equal(await getTxid(U, g), t + 1);
    const listed = (await allFiles(U, g)).objects.map((o) => o.Key);
    assert.deepEqual(listed, [remoteKey(U, g, n2)]);
    const meta = ok(await api("get_files_meta", { GraphUUID: g, Files: [n1] }, U.token));
    assert.deepEqual(meta, [{ FilePath: n1, Error: `not found ${remoteKey(U, g, n1)}` }]);
  });

  test("delete_files: stale or future TXId → 409 txid_to_validate, nothing deleted", async () => {
    const before = await snapshot(U, g);
    for (const client of [before.txid - 1, before.txid + 1]) {
      const j = fails(await api("delete_files", { GraphUUID: g, TXId: client, Files: [n2] }, U.token), 409);
      const m = CONFLICT.exec(j.message);
      assert.ok(m, j.message);
      assert.equal(Number(m[1]), before.txid);
      assert.equal(Number(m[2]), client);
      assert.equal(m[1].length, m[2].length);
      await assertUnchanged(U, g, before, `delete_files with TXId ${client}`);
    }
  });
});

// ---------------------------------------------------------------- get_all_files

describe("get_all_files: pagination over 1,005 files", { timeout: 90_000 }, () => {
  const TOTAL = 1005;
  let U;
  let g;
  const expected = new Map(); // name -> {md5, size, txid}
  let t0;
  before(async () => {
    U = makeUser("paula");
    g = await createGraph(U, `paula-${RUN}`);
    const all = names(TOTAL);
    t0 = Date.now();
    let txid = 0;
    for (let i = 0; i < TOTAL; i += 100) {
      const contents = Object.fromEntries(
        all.slice(i, i + 100).map((n, k) => [n, `file ${i + k} `.repeat(1 + ((i + k) % 7))]),
      );
      const c = await commitFiles(U, g, contents, { txid });
      txid = c.txid;
      for (const [n, x] of Object.entries(c.info)) expected.set(n, x);
    }
    assert.equal(txid, 11);
    // overwrite one early file: its Txid becomes the new transaction's
    const c = await commitFiles(U, g, { [all[5]]: "overwritten" }, { txid });
    expected.set(all[5], c.info[all[5]]);
  });

  test('pages of at most 1000, NextContinuationToken non-empty until the last page ("")', async () => {
    const { objects, pages } = await allFiles(U, g);
    assert.ok(pages.length >= 2, `${pages.length} page(s) for ${TOTAL} files`);
    pages.forEach((p, i) => {
      assert.ok(p.Objects.length <= 1000, `page ${i}: ${p.Objects.length} objects`);
      assert.equal(typeof p.NextContinuationToken, "string");
      if (i < pages.length - 1) assert.ok(p.NextContinuationToken.length > 0, `page ${i} has an empty token`);
      else assert.equal(p.NextContinuationToken, "");
    });
    const keys = objects.map((o) => o.Key);
    assert.equal(new Set(keys).size, keys.length, "duplicates across pages");
    assert.equal(objects.length, TOTAL);
  });

  test("each object: Key, lower-case checksum, Size, LastModified (ms), Txid of the last write", async () => {
    const { objects } = await allFiles(U, g);
    const now = Date.now();
    for (const o of objects) {
      assert.deepEqual(Object.keys(o).sort(), ["Key", "LastModified", "Size", "Txid", "checksum"]);
      const prefix = `${U.id}/${g}/`;
      assert.ok(o.Key.startsWith(prefix), o.Key);
      const e = expected.get(o.Key.slice(prefix.length));
      assert.ok(e, `unexpected key ${o.Key}`);
      assert.match(o.checksum, /^[0-9a-f]{32}$/);
      assert.equal(o.checksum, e.md5);
      assert.equal(o.Size, e.size);
      assert.equal(o.Txid, e.txid);
      assert.ok(
        Number.isInteger(o.LastModified) && o.LastModified >= t0 - 5000 && o.LastModified <= now + 5000,
        `LastModified ${o.LastModified}`,
      );
    }
    assert.equal(new Set(objects.map((o) => o.Txid)).size, 12);
  });

  test("a bad ContinuationToken → 400", async () => {
    for (const token of ["not-a-token", "e.XYZ", 42, ["e.aa"]]) {
      fails(await api("get_all_files", { GraphUUID: g, ContinuationToken: token }, U.token), 400);
    }
  });
});

// ---------------------------------------------------------------- downloads

describe("get_files and the download URLs", { timeout: 60_000 }, () => {
  let U;
  let g;
  let c;
  let nBin;
  let nText;
  before(async () => {
    U = makeUser("dora");
    g = await createGraph(U, `dora-${RUN}`);
    [nBin, nText] = names(2);
    c = await commitFiles(U, g, { [nBin]: crypto.randomBytes(4096), [nText]: "a".repeat(64 * 1024) });
  });

  async function urls(files) {
    return ok(await api("get_files", { GraphUUID: g, Files: files }, U.token)).PresignedFileUrls;
  }

  test("keys equal the requested names; unknown names omitted", async () => {
    const unknown = name1();
    const map = await urls([nBin, unknown, nText]);
    assert.deepEqual(Object.keys(map).sort(), [nBin, nText].sort());
    for (const u of Object.values(map)) assert.match(u, /^https?:\/\//);
    assert.deepEqual(await urls([unknown]), {});
  });

  test("GET → 200, exact bytes, correct Content-Length", async () => {
    const map = await urls([nBin, nText]);
    for (const n of [nBin, nText]) {
      const r = await fetchUrl(map[n]);
      assert.equal(r.status, 200, show(r));
      assert.ok(r.body.equals(c.info[n].body), `${n}: bytes differ`);
      assert.equal(Number(r.headers["content-length"]), c.info[n].size);
    }
  });

  test('GET with "Content-Range: bytes=0-0" (rsapi\'s first GET) → 200 with the full body', async () => {
    const map = await urls([nBin]);
    const r = await fetchUrl(map[nBin], { headers: { "Content-Range": "bytes=0-0" } });
    assert.equal(r.status, 200, show(r));
    assert.equal(Number(r.headers["content-length"]), c.info[nBin].size);
    assert.ok(r.body.equals(c.info[nBin].body));
  });

  test("not compressed even with Accept-Encoding: gzip", async () => {
    const map = await urls([nText]);
    const r = await fetchUrl(map[nText], {
      headers: { "Accept-Encoding": "gzip", "Content-Range": "bytes=0-0" },
      decompress: false,
    });
    assert.equal(r.status, 200, show(r));
    const enc = String(r.headers["content-encoding"] ?? "identity").toLowerCase();
    assert.equal(enc, "identity", `content-encoding ${enc}`);
    assert.equal(Number(r.headers["content-length"]), c.info[nText].size);
    assert.equal(r.body.length, c.info[nText].size);
    assert.ok(r.body.equals(c.info[nText].body));
  });

  test("a modified key, signature or method → 403 (and the object is untouched)", async () => {
    const map = await urls([nBin]);
    const url = map[nBin];
    const [origin, path] = splitUrl(url);
    const q = path.indexOf("?");
    const p = path.slice(0, q);
    const query = path.slice(q);
    const otherKeyPath = p.replace(/.$/, (ch) => (ch === "a" ? "b" : "a"));
    const tampered = [
      ["another key", `${origin}${otherKeyPath}${query}`, "GET"],
      [
        "another signature",
        url.replace(/X-Amz-Signature=([0-9a-f])/, (_, ch) => `X-Amz-Signature=${ch === "0" ? "1" : "0"}`),
        "GET",
      ],
      ["PUT to the GET URL", url, "PUT"],
    ];
    for (const [label, u, method] of tampered) {
      if (method === "GET") assert.notEqual(u, url);
      const r = await fetchUrl(u, method === "PUT" ? { method, body: "overwrite attempt" } : { method });
      assert.equal(r.status, 403, `${label}: ${show(r)}`);
      if (url.startsWith(`${W}/s3/`)) {
        assert.match(String(r.headers["content-type"]), /xml/, label);
        assert.match(r.text, /<Error>\s*<Code>\w+<\/Code>/, label);
      }
    }
    const again = await fetchUrl(url);
    assert.ok(again.body.equals(c.info[nBin].body), "object changed");
  });
});

// ---------------------------------------------------------------- transactions

describe("get_diff and get_deletion_log_v20221212", { timeout: 60_000 }, () => {
  let U;
  let g;
  let a;
  let b;
  let cN;
  let d;
  let c1;
  let c2;
  let t0;
  before(async () => {
    U = makeUser("tess");
    g = await createGraph(U, `tess-${RUN}`);
    [a, b, cN, d] = names(4);
    t0 = Date.now();
    c1 = await commitFiles(U, g, { [a]: "A", [b]: "B" }, { txid: 0 }); // 1
    c2 = await commitFiles(U, g, { [cN]: "C" }, { txid: 1 }); // 2
    await deleteFiles(U, g, [a], 2); // 3
    ok(await api("rename_file", { GraphUUID: g, TXId: 3, SrcFile: b, DstFile: d }, U.token)); // 4
    await deleteFiles(U, g, [cN, name1()], 4); // 5
  });

  const K = (n) => remoteKey(U, g, n);
  const diff = async (from) => ok(await api("get_diff", { GraphUUID: g, FromTXId: from }, U.token)).Transactions;

  test("FromTXId 0 → every transaction 1..5, contiguous, with [to, from, checksum] tuples", async () => {
    const txs = await diff(0);
    assert.deepEqual(
      txs.map((t) => t.TXId),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      txs.map((t) => t.TXType),
      ["update_files", "update_files", "delete_files", "rename_file", "delete_files"],
    );
    for (const t of txs) {
      assert.deepEqual(Object.keys(t).sort(), ["TXContent", "TXId", "TXType"]);
      for (const item of t.TXContent) assert.equal(item.length, 3);
    }
    const sortT = (xs) => [...xs].sort((x, y) => (x[0] < y[0] ? -1 : 1));
    assert.deepEqual(
      sortT(txs[0].TXContent),
      sortT([
        [K(a), null, c1.info[a].md5],
        [K(b), null, c1.info[b].md5],
      ]),
    );
    assert.deepEqual(txs[1].TXContent, [[K(cN), null, c2.info[cN].md5]]);
    assert.deepEqual(txs[2].TXContent, [[K(a), null, null]]);
    assert.deepEqual(txs[3].TXContent, [[K(d), K(b), null]]);
    assert.deepEqual(txs[4].TXContent, [[K(cN), null, null]]);
  });

  test("FromTXId N → []; FromTXId 2 → 3..5; beyond the head → []", async () => {
    assert.deepEqual(await diff(5), []);
    assert.deepEqual(
      (await diff(2)).map((t) => t.TXId),
      [3, 4, 5],
    );
    assert.deepEqual(await diff(1000), []);
  });

  test("get_diff: negative FromTXId → 400", async () => {
    fails(await api("get_diff", { GraphUUID: g, FromTXId: -1 }, U.token), 400);
  });

  test("deletion log: only delete transactions after FromTXId, epoch in seconds, full keys", async () => {
    const log = async (from) =>
      ok(await api("get_deletion_log_v20221212", { GraphUUID: g, FromTXId: from }, U.token)).Transactions;
    const all = await log(0);
    assert.deepEqual(
      all.map((t) => t.TXId),
      [3, 5],
    );
    const now = Date.now();
    for (const t of all) {
      assert.deepEqual(Object.keys(t).sort(), ["TXId", "epoch", "paths"]);
      assert.ok(
        Number.isInteger(t.epoch) && t.epoch >= Math.floor(t0 / 1000) - 5 && t.epoch <= Math.ceil(now / 1000) + 5,
        `epoch ${t.epoch} is not seconds of now`,
      );
    }
    assert.deepEqual(all[0].paths, [K(a)]);
    assert.deepEqual(all[1].paths, [K(cN)]);
    assert.deepEqual(
      (await log(3)).map((t) => t.TXId),
      [5],
    );
    assert.deepEqual(await log(5), []);
    fails(await api("get_deletion_log_v20221212", { GraphUUID: g, FromTXId: -5 }, U.token), 400);
  });
});

describe("rename_file (legacy)", { timeout: 60_000 }, () => {
  let U;
  let g;
  before(async () => {
    U = makeUser("rita");
    g = await createGraph(U, `rita-${RUN}`);
  });

  test("{GraphUUID, TXId, SrcFile, DstFile} → {TXId: n+1}; diff shows [to, from, null]; listing has the new name", async () => {
    const [src, dst] = names(2);
    const c = await commitFiles(U, g, { [src]: "renamed content" });
    const j = ok(await api("rename_file", { GraphUUID: g, TXId: c.txid, SrcFile: src, DstFile: dst }, U.token));
    assert.deepEqual(j, { TXId: c.txid + 1 });
    const txs = ok(await api("get_diff", { GraphUUID: g, FromTXId: c.txid }, U.token)).Transactions;
    assert.deepEqual(txs, [
      { TXId: c.txid + 1, TXType: "rename_file", TXContent: [[remoteKey(U, g, dst), remoteKey(U, g, src), null]] },
    ]);
    const listed = (await allFiles(U, g)).objects;
    assert.deepEqual(
      listed.map((o) => o.Key),
      [remoteKey(U, g, dst)],
    );
    assert.equal(listed[0].checksum, c.info[src].md5);
    const map = ok(await api("get_files", { GraphUUID: g, Files: [src, dst] }, U.token)).PresignedFileUrls;
    assert.deepEqual(Object.keys(map), [dst]);
    assert.ok((await fetchUrl(map[dst])).body.equals(c.info[src].body));
  });

  test("stale TXId → 409; unknown SrcFile → 404; state unchanged", async () => {
    const [src] = Object.keys((await commitFiles(U, g, { [name1()]: "x" })).info);
    const before = await snapshot(U, g);
    const stale = fails(
      await api("rename_file", { GraphUUID: g, TXId: before.txid - 1, SrcFile: src, DstFile: name1() }, U.token),
      409,
    );
    assert.match(stale.message, CONFLICT);
    fails(
      await api("rename_file", { GraphUUID: g, TXId: before.txid, SrcFile: name1(), DstFile: name1() }, U.token),
      404,
    );
    await assertUnchanged(U, g, before, "rejected rename_file");
  });
});

// ---------------------------------------------------------------- versions

describe("versions: get_file_version_list and get_version_files", { timeout: 60_000 }, () => {
  let U;
  let g;
  let n;
  const writes = [];
  let t0;
  before(async () => {
    U = makeUser("vera");
    g = await createGraph(U, `vera-${RUN}`);
    n = name1();
    t0 = Date.now();
    for (const text of ["version one", "version two", "version three"]) {
      const c = await commitFiles(U, g, { [n]: text });
      writes.push(c.info[n]);
    }
  });

  const list = async (file) =>
    ok(await api("get_file_version_list", { GraphUUID: g, File: file }, U.token)).VersionList;

  test("a file written three times has two versions: same FileUUID, distinct VersionUUIDs, CreateTime in ms", async () => {
    const vs = await list(n);
    assert.equal(vs.length, 2, JSON.stringify(vs));
    const now = Date.now();
    for (const v of vs) {
      assert.deepEqual(Object.keys(v).sort(), ["CreateTime", "FileUUID", "VersionUUID"]);
      assert.match(v.FileUUID, /^[0-9a-f-]{36}$/);
      assert.match(v.VersionUUID, /^[0-9a-f-]{36}$/);
      assert.ok(
        Number.isInteger(v.CreateTime) && v.CreateTime >= t0 - 5000 && v.CreateTime <= now + 5000,
        `CreateTime ${v.CreateTime}`,
      );
    }
    assert.equal(vs[0].FileUUID, vs[1].FileUUID);
    assert.notEqual(vs[0].VersionUUID, vs[1].VersionUUID);
    assert.deepEqual(await list(name1()), []);
  });

  test("get_version_files: URLs serving the two previous bodies; unknown ids omitted", async () => {
    const vs = await list(n);
    const ids = vs.map((v) => `${v.FileUUID}/${v.VersionUUID}`);
    const unknown = [`${vs[0].FileUUID}/${crypto.randomUUID()}`, `${crypto.randomUUID()}/${crypto.randomUUID()}`];
    const map = ok(
      await api("get_version_files", { GraphUUID: g, Files: [...ids, ...unknown] }, U.token),
    ).PresignedFileUrls;
    assert.deepEqual(Object.keys(map).sort(), [...ids].sort());
    const bodies = await Promise.all(
      ids.map(async (id) => {
        const r = await fetchUrl(map[id]);
        assert.equal(r.status, 200, show(r));
        assert.equal(Number(r.headers["content-length"]), r.body.length);
        return r.body.toString("utf8");
      }),
    );
    assert.deepEqual(bodies.sort(), [writes[0].body.toString("utf8"), writes[1].body.toString("utf8")].sort());
    // the current body is not among the versions
    const cur = ok(await api("get_files", { GraphUUID: g, Files: [n] }, U.token)).PresignedFileUrls[n];
    assert.ok((await fetchUrl(cur)).body.equals(writes[2].body));
  });

  test("get_version_files: a malformed Files entry → 400", async () => {
    const [v] = await list(n);
    for (const bad of [
      "nonsense",
      v.FileUUID,
      `${v.FileUUID}/${v.VersionUUID}/x`,
      `${v.FileUUID}/`,
      `/${v.VersionUUID}`,
      `e.${"ab".repeat(20)}`,
    ]) {
      fails(
        await api("get_version_files", { GraphUUID: g, Files: [`${v.FileUUID}/${v.VersionUUID}`, bad] }, U.token),
        400,
      );
    }
  });

  test("deleting the file keeps its last body as a version", async () => {
    await deleteFiles(U, g, [n]);
    const vs = await list(n);
    assert.equal(vs.length, 3);
    const ids = vs.map((v) => `${v.FileUUID}/${v.VersionUUID}`);
    const map = ok(await api("get_version_files", { GraphUUID: g, Files: ids }, U.token)).PresignedFileUrls;
    const bodies = await Promise.all(ids.map(async (id) => (await fetchUrl(map[id])).body.toString("utf8")));
    assert.deepEqual(bodies.sort(), writes.map((w) => w.body.toString("utf8")).sort());
  });
});

// ---------------------------------------------------------------- salts and keys

describe("salts and encryption keys", { timeout: 60_000 }, () => {
  let U;
  let g;
  before(async () => {
    U = makeUser("sam");
    g = await createGraph(U, `sam-${RUN}`);
  });

  test("get_graph_salt 410 before create; create → exactly {value, expired-at}; a second create returns the same salt", async () => {
    fails(await api("get_graph_salt", { GraphUUID: g }, U.token), 410);
    const s = ok(await api("create_graph_salt", { GraphUUID: g }, U.token));
    assert.deepEqual(Object.keys(s).sort(), ["expired-at", "value"]);
    assert.equal(typeof s.value, "string");
    assert.ok(s.value.length >= 32, `salt ${s.value}`);
    assert.ok(
      Number.isInteger(s["expired-at"]) && s["expired-at"] > Date.now() + 24 * 3600 * 1000,
      `expired-at ${s["expired-at"]} (ms)`,
    );
    assert.deepEqual(ok(await api("get_graph_salt", { GraphUUID: g }, U.token)), s);
    // documented choice (src/api/keys.rs): the existing salt instead of 409
    assert.deepEqual(ok(await api("create_graph_salt", { GraphUUID: g }, U.token)), s);
    assert.deepEqual(ok(await api("get_graph_salt", { GraphUUID: g }, U.token)), s);
  });

  test("keys: 404 before upload; bad keys → 400; upload; second upload → 409; get returns the first pair", async () => {
    fails(await api("get_graph_encrypt_keys", { GraphUUID: g }, U.token), 404);
    const first = await keyPair();
    const second = await keyPair();
    const bad = [
      { "public-key": "not-an-age-key", "encrypted-private-key": first.encrypted },
      { "public-key": "", "encrypted-private-key": first.encrypted },
      { "public-key": first.publicKey, "encrypted-private-key": "AGE-SECRET-KEY-1 in the clear" },
      { "public-key": first.publicKey, "encrypted-private-key": "" },
    ];
    for (const b of bad) {
      fails(await api("upload_graph_encrypt_keys", { GraphUUID: g, ...b }, U.token), 400);
      fails(await api("get_graph_encrypt_keys", { GraphUUID: g }, U.token), 404);
    }
    const up = ok(
      await api(
        "upload_graph_encrypt_keys",
        {
          GraphUUID: g,
          "public-key": first.publicKey,
          "encrypted-private-key": first.encrypted,
        },
        U.token,
      ),
    );
    assert.ok(!("message" in up));
    const expected = { "public-key": first.publicKey, "encrypted-private-key": first.encrypted };
    assert.deepEqual(ok(await api("get_graph_encrypt_keys", { GraphUUID: g }, U.token)), expected);
    fails(
      await api(
        "upload_graph_encrypt_keys",
        {
          GraphUUID: g,
          "public-key": second.publicKey,
          "encrypted-private-key": second.encrypted,
        },
        U.token,
      ),
      409,
    );
    assert.deepEqual(ok(await api("get_graph_encrypt_keys", { GraphUUID: g }, U.token)), expected);
  });
});

// ---------------------------------------------------------------- upload credentials, /s3

describe("get_temp_credential and the /s3/ receiver", { timeout: 60_000 }, () => {
  let U;
  let g;
  let cred;
  before(async () => {
    U = makeUser("stan");
    g = await createGraph(U, `stan-${RUN}`);
  });

  test("an EMPTY body → 200 {Credentials: {AccessKeyId, Expiration ~1h, SecretKey, SessionToken}, S3Prefix}", async () => {
    const r = await api("get_temp_credential", undefined, U.token);
    const j = ok(r);
    assert.deepEqual(Object.keys(j).sort(), ["Credentials", "S3Prefix"]);
    const c = j.Credentials;
    assert.deepEqual(Object.keys(c).sort(), ["AccessKeyId", "Expiration", "SecretKey", "SessionToken"]);
    for (const k of ["AccessKeyId", "SecretKey", "SessionToken"]) assert.match(c[k], /^[A-Za-z0-9]+$/, k);
    assert.match(c.Expiration, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
    const ahead = Date.parse(c.Expiration) - Date.now();
    assert.ok(ahead > 55 * 60_000 && ahead < 65 * 60_000, `Expiration ${c.Expiration} is ${ahead} ms ahead`);
    assert.ok(j.S3Prefix.startsWith("logseq-file-sync-bucket-prod/"), j.S3Prefix);
    cred = j;
  });

  /** rsapi's key for an upload: S3Prefix minus the bucket, then "/" and 12 letters. */
  const stockKey = () =>
    `${cred.S3Prefix.replace(/^logseq-file-sync-bucket-prod\/?/, "")}/${crypto.randomBytes(12).toString("hex").replace(/[0-9]/g, "x").slice(0, 12)}`;
  const sign = (key, over = {}) =>
    presign({
      method: "PUT",
      origin: W,
      pathPrefix: "/s3",
      key,
      credentials: cred.Credentials,
      ...over,
    });

  test("a PUT signed with them → 200; update_files commits the key; the bytes download", async () => {
    const key = stockKey();
    const body = cipher(crypto.randomBytes(500));
    const put = await raw(W, sign(key).path, {
      method: "PUT",
      body,
      headers: { "Content-Type": "application/octet-stream" },
    });
    assert.equal(put.status, 200, show(put));
    const n = name1();
    const j = ok(await api("update_files", { GraphUUID: g, TXId: 0, Files: { [n]: [key, md5("plain")] } }, U.token));
    assert.equal(j.TXId, 1);
    const url = ok(await api("get_files", { GraphUUID: g, Files: [n] }, U.token)).PresignedFileUrls[n];
    const r = await fetchUrl(url);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(body));
    const meta = ok(await api("get_files_meta", { GraphUUID: g, Files: [n] }, U.token));
    assert.equal(meta[0].Size, body.length);
  });

  test("PUT /s3/<key> without a signature → 403 XML", async () => {
    const r = await raw(W, `/s3/${stockKey()}`, {
      method: "PUT",
      body: "x",
      headers: { "Content-Type": "application/octet-stream" },
    });
    assert.equal(r.status, 403, show(r));
    assert.match(String(r.headers["content-type"]), /xml/);
    assert.match(r.text, /<Error>\s*<Code>\w+<\/Code>/);
  });

  test("PUTs outside the prefix, with a wrong secret, or expired → 403 XML, and nothing is committable", async () => {
    const other = makeUser("stan-other");
    const cases = [
      ["a key under another user's prefix", sign(`uploads/${other.id}/abcdefghijkl`)],
      ["a wrong secret key", sign(stockKey(), { secretKey: flipLast(cred.Credentials.SecretKey) })],
      ["a tampered session token", sign(stockKey(), { sessionToken: flipLast(cred.Credentials.SessionToken) })],
      [
        "a signature made two hours ago for one hour",
        sign(stockKey(), { now: new Date(Date.now() - 2 * 3600_000), expires: 3600 }),
      ],
    ];
    for (const [label, s] of cases) {
      const r = await raw(W, s.path, {
        method: "PUT",
        body: "x",
        headers: { "Content-Type": "application/octet-stream" },
      });
      assert.equal(r.status, 403, `${label}: ${show(r)}`);
      assert.match(String(r.headers["content-type"]), /xml/, label);
      assert.match(r.text, /<Error>\s*<Code>\w+<\/Code>/, label);
      // rsapi classifies an upload failure by this text (PROTOCOL.md §2.6)
      if (label.includes("two hours ago")) assert.match(r.text, /Request has expired/, label);
    }
    const before = await snapshot(U, g);
    for (const [label, s] of cases) {
      const key = decodeURIComponent(s.path.slice("/s3/".length, s.path.indexOf("?")));
      fails(
        await api("update_files", { GraphUUID: g, TXId: before.txid, Files: { [name1()]: [key, md5("x")] } }, U.token),
        "4xx",
      );
      await assertUnchanged(U, g, before, `committing the key of ${label}`);
    }
  });
});

// ---------------------------------------------------------------- HTTP surface

describe("HTTP surface: methods, unknown APIs, CORS, body size, websocket route", { timeout: 30_000 }, () => {
  test("OPTIONS /file-sync/list_graphs → 204 with CORS headers", async () => {
    const r = await raw(W, "/file-sync/list_graphs", {
      method: "OPTIONS",
      headers: {
        Origin: "file://",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
      },
    });
    assert.equal(r.status, 204);
    // `*` (PROTOCOL.md §2.7), or the request's own origin (needed for credentialed XHRs)
    assert.ok(
      ["*", "file://"].includes(r.headers["access-control-allow-origin"]),
      `allow-origin ${r.headers["access-control-allow-origin"]}`,
    );
    const methods = String(r.headers["access-control-allow-methods"]).toLowerCase();
    for (const m of ["post", "get", "options"]) assert.ok(methods.includes(m), methods);
    const hdrs = String(r.headers["access-control-allow-headers"]).toLowerCase();
    for (const h of ["authorization", "content-type"]) assert.ok(hdrs.includes(h), hdrs);
  });

  test("GET (or PUT) /file-sync/list_graphs → 405 JSON", async () => {
    for (const method of ["GET", "PUT"]) {
      const r = await raw(W, "/file-sync/list_graphs", {
        method,
        headers: { Authorization: `Bearer ${A.token}` },
        body: method === "PUT" ? "null" : undefined,
      });
      fails(r, 405);
      assert.equal(r.headers["access-control-allow-origin"], "*");
    }
  });

  test("an unknown API → 404 JSON, with or without a token", async () => {
    for (const token of [A.token, undefined]) {
      const r = await api("no_such_api", {}, token);
      fails(r, 404);
      assert.equal(r.headers["access-control-allow-origin"], "*");
    }
  });

  test("a body over 2 MB → 413 JSON, state unchanged", async () => {
    const before = await snapshot(A, GA);
    const pad = "x".repeat(2 * 1024 * 1024 + 16);
    fails(await api("get_txid", { GraphUUID: GA, pad }, A.token), 413);
    fails(
      await api(
        "update_files",
        { GraphUUID: GA, TXId: before.txid, Files: { [name1()]: [FA.pending, md5("x")] }, pad },
        A.token,
      ),
      413,
    );
    await assertUnchanged(A, GA, before, "oversized bodies");
  });

  const upgrade = {
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Key": crypto.randomBytes(16).toString("base64"),
    "Sec-WebSocket-Version": "13",
  };

  test("websocket: GET /file-sync?graphuuid=not-a-uuid with Upgrade → 400 JSON", async () => {
    for (const q of ["?graphuuid=not-a-uuid", `?graphuuid=${UUID_V7}`, "", "?graphuuid="]) {
      const r = await raw(W, `/file-sync${q}`, { headers: upgrade, timeoutMs: 10_000 });
      fails(r, 400);
    }
  });

  test("websocket: GET /file-sync without an Upgrade header → 400", async () => {
    const r = await raw(W, `/file-sync?graphuuid=${crypto.randomUUID()}`, { timeoutMs: 10_000 });
    fails(r, 400);
  });
});

// ---------------------------------------------------------------- isolation

describe("isolation: another user cannot see or change a graph", { timeout: 60_000 }, () => {
  let GB;
  let bKey;
  before(async () => {
    GB = await createGraph(B, `bob-${RUN}`);
    [bKey] = await uploadBodies(B, GB, [cipher("bob")]);
  });

  async function aliceState() {
    const s = await snapshot(A, GA, { graphs: true });
    s.keys = ok(await api("get_graph_encrypt_keys", { GraphUUID: GA }, A.token));
    s.salt = ok(await api("get_graph_salt", { GraphUUID: GA }, A.token));
    s.versions = ok(await api("get_file_version_list", { GraphUUID: GA, File: FA.f1 }, A.token));
    return s;
  }

  test("every graph API on alice's graph answers bob 404 graph-not-exist; alice's state is unchanged", async () => {
    const before = await aliceState();
    const t = before.txid;
    const k = await keyPair();
    const calls = [
      ["get_txid", { GraphUUID: GA }],
      ["get_graph", { GraphUUID: GA }],
      ["get_graph", { GraphName: `alice-main-${RUN}` }],
      ["get_graph_salt", { GraphUUID: GA }],
      ["create_graph_salt", { GraphUUID: GA }],
      ["get_graph_encrypt_keys", { GraphUUID: GA }],
      ["upload_graph_encrypt_keys", { GraphUUID: GA, "public-key": k.publicKey, "encrypted-private-key": k.encrypted }],
      ["get_all_files", { GraphUUID: GA }],
      ["get_files_meta", { GraphUUID: GA, Files: [FA.f1, FA.f2] }],
      ["get_diff", { GraphUUID: GA, FromTXId: 0 }],
      ["get_deletion_log_v20221212", { GraphUUID: GA, FromTXId: 0 }],
      ["get_file_version_list", { GraphUUID: GA, File: FA.f1 }],
      ["update_files", { GraphUUID: GA, TXId: t, Files: { [FA.f1]: [bKey, md5("bob")] } }],
      ["delete_files", { GraphUUID: GA, TXId: t, Files: [FA.f1, FA.f2] }],
      ["get_files", { GraphUUID: GA, Files: [FA.f1, FA.f2] }],
      ["get_version_files", { GraphUUID: GA, Files: [FA.versionId] }],
      ["rename_file", { GraphUUID: GA, TXId: t, SrcFile: FA.f1, DstFile: name1() }],
      ["get_upload_urls", { GraphUUID: GA, Count: 1 }],
      ["delete_graph", { GraphUUID: GA }],
    ];
    for (const [apiName, body] of calls) {
      const r = await api(apiName, body, B.token);
      fails(r, 404, "graph-not-exist");
      assert.ok(!r.text.includes(A.id), `${apiName} leaks alice's id: ${r.text}`);
    }
    assert.deepEqual(await aliceState(), before);
    const bobs = ok(await api("list_graphs", undefined, B.token)).Graphs.map((x) => x.GraphUUID);
    assert.ok(!bobs.includes(GA));
    assert.ok(bobs.includes(GB));
  });

  test("bob's own graph never yields alice's files or versions", async () => {
    const files = ok(await api("get_files", { GraphUUID: GB, Files: [FA.f1, FA.f2] }, B.token));
    assert.deepEqual(files, { PresignedFileUrls: {} });
    const versions = ok(await api("get_version_files", { GraphUUID: GB, Files: [FA.versionId] }, B.token));
    assert.deepEqual(versions, { PresignedFileUrls: {} });
    const meta = ok(await api("get_files_meta", { GraphUUID: GB, Files: [FA.f1] }, B.token));
    assert.deepEqual(meta, [{ FilePath: FA.f1, Error: `not found ${remoteKey(B, GB, FA.f1)}` }]);
    assert.deepEqual(ok(await api("get_file_version_list", { GraphUUID: GB, File: FA.f1 }, B.token)), {
      VersionList: [],
    });
  });

  test("alice cannot commit bob's upload key (4xx, unchanged); bob still can", async () => {
    const before = await snapshot(A, GA);
    fails(
      await api(
        "update_files",
        { GraphUUID: GA, TXId: before.txid, Files: { [name1()]: [bKey, md5("bob")] } },
        A.token,
      ),
      "4xx",
    );
    await assertUnchanged(A, GA, before, "alice committing bob's key");
    const n = name1();
    const j = ok(
      await api(
        "update_files",
        { GraphUUID: GB, TXId: await getTxid(B, GB), Files: { [n]: [bKey, md5("bob")] } },
        B.token,
      ),
    );
    assert.deepEqual(j.UpdateSuccFiles, [remoteKey(B, GB, n)]);
  });

  test("alice's files still download for alice", async () => {
    const map = ok(await api("get_files", { GraphUUID: GA, Files: [FA.f1, FA.f2] }, A.token)).PresignedFileUrls;
    for (const n of [FA.f1, FA.f2]) {
      const r = await fetchUrl(map[n]);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(FA.info[n].body));
    }
  });
});
