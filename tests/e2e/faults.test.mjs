// Faults: nothing is lost and nothing half-done when a request fails half way. Each case makes
// one thing fail — an upload never committed, a commit naming a missing, foreign, truncated or
// oversize upload, a D1 batch failing in its middle, the websocket hub down, R2 failing on a
// download or an upload — and checks that the graph is exactly as before (txid, files,
// versions, transaction log), that the client got a clear error (JSON `message` or S3 XML), and
// that the normal retry then succeeds.
//
// The worker under test runs with FAULT_INJECTION=true (scripts/test.mjs), which makes the
// request header `x-fault-inject: d1-batch|hub|r2-get|r2-put` inject that failure
// (src/hooks/fault.rs). Needs WORKER_URL, JWT_SECRET and S3_CREDENTIAL_SECRET (the worker's).

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";

import { raw, appCall, rsapiCall, readReply } from "../harness/client.mjs";
import { RSAPI_SIDE, show, ok, fails, md5, fetchUrl as fetchAbsolute, splitUrl } from "../harness/checks.mjs";
import { listObjects } from "../harness/r2list.mjs";
import { downloadCredentials, presign } from "../harness/s3sign.mjs";
import { connectWebSocket } from "../harness/ws.mjs";
import { mintToken, userIdForEmail } from "../../scripts/lib/jwt.mjs";

const W = process.env.WORKER_URL;
const SECRET = process.env.JWT_SECRET;
const S3_SECRET = process.env.S3_CREDENTIAL_SECRET;
const RUN = crypto.randomBytes(4).toString("hex");
const REQUEST_TIMEOUT_MS = 20_000;
const fetchUrl = (url, opts = {}) => fetchAbsolute(url, { timeoutMs: REQUEST_TIMEOUT_MS, ...opts });
const _CONFLICT = /(\d+), txid_to_validate = (\d+)/;
/** Faults injected by this file (reported at the end). */
let injected = 0;

// ---------------------------------------------------------------- helpers

/** One API call shaped like the client that makes it; `fault` sets x-fault-inject. */
function api(name, body, token, { fault, headers = {} } = {}) {
  if (fault) {
    headers = { ...headers, "x-fault-inject": fault };
    injected++;
  }
  const fn = RSAPI_SIDE.has(name) ? rsapiCall : appCall;
  return fn(W, name, body, token, { headers, timeoutMs: REQUEST_TIMEOUT_MS });
}

/** An S3 XML error answer with `status` and `<Code>code</Code>`. */
function s3Fails(r, status, code) {
  assert.equal(r.status, status, show(r));
  assert.match(String(r.headers["content-type"]), /xml/, show(r));
  assert.match(r.text, new RegExp(`<Error><Code>${code}</Code><Message>[^<]+</Message>`), show(r));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const newName = () => `e.${crypto.randomBytes(24).toString("hex")}`;
/** What the client uploads: age-shaped ciphertext. */
const cipher = (plain) =>
  Buffer.concat([Buffer.from("age-encryption.org/v1\n-> X25519 fault-test\n"), Buffer.from(plain)]);

function makeUser(label) {
  const email = `${label}-${RUN}@faults-test.invalid`;
  return { email, id: userIdForEmail(SECRET, email), token: mintToken(SECRET, email) };
}

async function createGraph(user, name) {
  return ok(await api("create_graph", { GraphName: name }, user.token)).GraphUUID;
}

/** Presigned upload keys (get_upload_urls, the patched-client flow) holding `bodies`. */
async function presignedUploads(user, graph, bodies, { put = true } = {}) {
  const j = ok(await api("get_upload_urls", { GraphUUID: graph, Count: bodies.length }, user.token));
  if (put) {
    for (let i = 0; i < bodies.length; i++) {
      const r = await fetchUrl(j.Uploads[i].URL, {
        method: "PUT",
        body: bodies[i],
        headers: { "Content-Type": "application/octet-stream" },
      });
      assert.equal(r.status, 200, `PUT: ${show(r)}`);
    }
  }
  return j.Uploads.map((u) => u.Key);
}

/** The stock client's flow: get_temp_credential, then PUTs it signs itself to /s3/<key>. */
async function stockUploader(user) {
  const cred = ok(await api("get_temp_credential", undefined, user.token));
  const prefix = cred.S3Prefix.replace(/^logseq-file-sync-bucket-prod\//, "");
  const c = cred.Credentials;
  return {
    prefix,
    newKey: () =>
      `${prefix}/${crypto
        .randomBytes(9)
        .toString("hex")
        .replace(/[0-9]/g, (d) => "abcdefghij"[d])
        .slice(0, 12)}`,
    sign: (key, over = {}) =>
      presign({
        method: "PUT",
        origin: W,
        pathPrefix: "/s3",
        key,
        credentials: c,
        ...over,
      }).path,
  };
}

function putS3(path, body, headers = {}) {
  return raw(W, path, {
    method: "PUT",
    body,
    headers: { "Content-Type": "application/octet-stream", ...headers },
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
}

/**
 * The Worker's own download URL (`GET /s3/<key>`), signed as the Worker signs it when no R2 S3
 * credentials are configured (src/s3/blobs.rs `download_url`): temporary credentials for user
 * "download", empty prefix, derived from S3_CREDENTIAL_SECRET + "\0download"
 * (src/sigv4/temp_credentials.rs `mint`).
 */
function ownDownloadUrl(key, { expires = 600 } = {}) {
  const c = downloadCredentials(S3_SECRET, Math.floor(Date.now() / 1000) + expires);
  return presign({
    method: "GET",
    origin: W,
    pathPrefix: "/s3",
    key,
    region: "auto",
    expires,
    credentials: c,
  }).url;
}

/** Keys of every stored object under `prefix` (tests/harness/r2list.mjs). */
const objectsUnder = (prefix) => listObjects(W, prefix, REQUEST_TIMEOUT_MS);

async function getTxid(user, graph) {
  return ok(await api("get_txid", { GraphUUID: graph }, user.token)).TXId;
}

/** Everything a failed request must leave as it was. */
async function snapshot(user, graph, names) {
  const txid = await getTxid(user, graph);
  const files = ok(await api("get_all_files", { GraphUUID: graph }, user.token)).Objects;
  const diff = ok(await api("get_diff", { GraphUUID: graph, FromTXId: 0 }, user.token)).Transactions;
  const deletions = ok(
    await api("get_deletion_log_v20221212", { GraphUUID: graph, FromTXId: 0 }, user.token),
  ).Transactions;
  const versions = {};
  for (const n of names)
    versions[n] = ok(await api("get_file_version_list", { GraphUUID: graph, File: n }, user.token)).VersionList;
  const graphs = ok(await api("list_graphs", undefined, user.token)).Graphs.filter((g) => g.GraphUUID === graph);
  return { txid, files, diff, deletions, versions, graphs };
}

async function assertUnchanged(user, graph, names, before, label) {
  assert.deepEqual(await snapshot(user, graph, names), before, `state changed by: ${label}`);
}

/** Commits {name: body} (presigned uploads) at the graph's txid; returns {txid, keys}. */
async function commit(user, graph, contents) {
  const entries = Object.entries(contents);
  const keys = await presignedUploads(
    user,
    graph,
    entries.map(([, b]) => cipher(b)),
  );
  const txid = await getTxid(user, graph);
  const Files = Object.fromEntries(entries.map(([n, b], i) => [n, [keys[i], md5(b)]]));
  const j = ok(await api("update_files", { GraphUUID: graph, TXId: txid, Files }, user.token));
  assert.equal(j.TXId, txid + 1);
  return { txid: j.TXId, keys };
}

/** Current body of `name`, downloaded through get_files. */
async function download(user, graph, name) {
  const urls = ok(await api("get_files", { GraphUUID: graph, Files: [name] }, user.token)).PresignedFileUrls;
  assert.ok(urls[name], `no URL for ${name}`);
  const r = await fetchUrl(urls[name]);
  assert.equal(r.status, 200, show(r));
  return r.body;
}

/** A PUT whose body stops short of its Content-Length, then the connection is cut. */
function truncatedPut(path, declared, sent) {
  const u = new URL(W);
  return new Promise((resolve) => {
    const req = http.request({
      hostname: u.hostname,
      port: u.port,
      method: "PUT",
      path,
      agent: false,
      headers: { "Content-Length": declared, "Content-Type": "application/octet-stream" },
    });
    let status = null;
    req.on("response", (res) => {
      status = res.statusCode;
      res.resume();
    });
    req.on("error", () => {});
    req.write(Buffer.alloc(sent, 0x61));
    setTimeout(() => {
      req.destroy();
      resolve(status);
    }, 300);
  });
}

/** A PUT with `Transfer-Encoding: chunked` and no Content-Length. */
function chunkedPut(path, body) {
  const u = new URL(W);
  return new Promise((resolve, reject) => {
    const req = http.request({
      hostname: u.hostname,
      port: u.port,
      method: "PUT",
      path,
      agent: false,
      headers: { "Content-Type": "application/octet-stream" },
    });
    readReply(req, { timeoutMs: REQUEST_TIMEOUT_MS, what: "chunked PUT" }).then(resolve, reject);
    req.write(body.subarray(0, 10));
    req.end(body.subarray(10));
  });
}

/** A PUT of `size` zero bytes, streamed; resolves with the answer. */
function bigPut(path, size) {
  const u = new URL(W);
  return new Promise((resolve, reject) => {
    const req = http.request({
      hostname: u.hostname,
      port: u.port,
      method: "PUT",
      path,
      agent: false,
      headers: { "Content-Length": size },
    });
    const timer = setTimeout(() => req.destroy(new Error("big PUT timed out")), 60_000);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    const chunk = Buffer.alloc(1 << 20);
    let left = size;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(chunk.length, left);
        left -= n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once("drain", pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

// ---------------------------------------------------------------- fixture

let U;
let OTHER;
let G;
const N = {}; // names
const BODY = {}; // current plaintext per name

before(async () => {
  assert.ok(W && SECRET && S3_SECRET, "WORKER_URL, JWT_SECRET and S3_CREDENTIAL_SECRET must be set");
  U = makeUser("fran");
  OTHER = makeUser("oscar");
  G = await createGraph(U, `faults-${RUN}`);
  [N.a, N.b, N.c] = [newName(), newName(), newName()];
  Object.assign(BODY, { [N.a]: "a, first", [N.b]: "b, first", [N.c]: "c, first" });
  await commit(U, G, BODY);
  BODY[N.a] = "a, second";
  await commit(U, G, { [N.a]: BODY[N.a] }); // a has one version
});

const names = () => [N.a, N.b, N.c];

// ---------------------------------------------------------------- uploads that go wrong

describe("uploads that are never committed, or are missing, foreign, truncated or oversize", {
  timeout: 120_000,
}, () => {
  test("an upload that is never committed changes nothing; it stays committable", async () => {
    const before = await snapshot(U, G, names());
    const [presigned] = await presignedUploads(U, G, [cipher("never committed (presigned)")]);
    const stock = await stockUploader(U);
    const stockKey = stock.newKey();
    const put = await putS3(stock.sign(stockKey), cipher("never committed (stock)"));
    assert.equal(put.status, 200, show(put));
    await sleep(200);
    await assertUnchanged(U, G, names(), before, "uploads without a commit");
    // Both are still pending: a later commit (the retry) takes them.
    const n1 = newName();
    const n2 = newName();
    const j = ok(
      await api(
        "update_files",
        {
          GraphUUID: G,
          TXId: before.txid,
          Files: { [n1]: [presigned, md5("p")], [n2]: [stockKey, md5("s")] },
        },
        U.token,
      ),
    );
    assert.equal(j.TXId, before.txid + 1);
    assert.ok((await download(U, G, n1)).equals(cipher("never committed (presigned)")));
    assert.ok((await download(U, G, n2)).equals(cipher("never committed (stock)")));
    ok(await api("delete_files", { GraphUUID: G, TXId: j.TXId, Files: [n1, n2] }, U.token));
  });

  test("a commit naming a missing, never-PUT or foreign upload → 400 JSON, nothing changes; the good part retries fine", async () => {
    const before = await snapshot(U, G, names());
    const [good] = await presignedUploads(U, G, [cipher("good")]);
    const [neverPut] = await presignedUploads(U, G, [cipher("x")], { put: false });
    const gOther = await createGraph(OTHER, `faults-other-${RUN}`);
    const [foreign] = await presignedUploads(OTHER, gOther, [cipher("someone else's")]);
    const missing = `uploads/${U.id}/${"q".repeat(16)}`;
    const cases = [
      ["a key that was never issued", missing, /^upload not found: /],
      ["an issued key whose PUT never happened", neverPut, /^upload not found: /],
      ["another user's pending upload", foreign, /upload prefix/],
    ];
    for (const [label, bad, message] of cases) {
      const r = await api(
        "update_files",
        {
          GraphUUID: G,
          TXId: before.txid,
          Files: { [N.b]: [good, md5("good")], [newName()]: [bad, md5("bad")] },
        },
        U.token,
      );
      fails(r, 400, message);
      assert.ok(!r.text.includes(OTHER.id), `the answer names the other user: ${r.text}`);
      await assertUnchanged(U, G, names(), before, label);
    }
    // All or nothing: `good` was not consumed by the failed commits.
    const j = ok(
      await api("update_files", { GraphUUID: G, TXId: before.txid, Files: { [N.b]: [good, md5("good")] } }, U.token),
    );
    assert.equal(j.TXId, before.txid + 1);
    BODY[N.b] = "good";
    assert.ok((await download(U, G, N.b)).equals(cipher("good")));
    // The other user's upload is still theirs to commit.
    ok(
      await api(
        "update_files",
        { GraphUUID: gOther, TXId: 0, Files: { [newName()]: [foreign, md5("f")] } },
        OTHER.token,
      ),
    );
  });

  test("a PUT cut off before its Content-Length: nothing stored, not committable; the retried PUT commits", async () => {
    const before = await snapshot(U, G, names());
    const stock = await stockUploader(U);
    const key = stock.newKey();
    const path = stock.sign(key);
    const status = await truncatedPut(path, 200_000, 5_000);
    assert.ok(status === null || status >= 400, `a truncated PUT must not succeed (got ${status})`);
    await sleep(500);
    assert.deepEqual(await objectsUnder(key), [], "no object stored for a truncated body");
    const n = newName();
    fails(
      await api("update_files", { GraphUUID: G, TXId: before.txid, Files: { [n]: [key, md5("t")] } }, U.token),
      400,
      /^upload not found: /,
    );
    await assertUnchanged(U, G, names(), before, "a truncated upload");
    // The client's retry: the same presigned URL, the whole body.
    const full = cipher(crypto.randomBytes(200_000));
    const put = await putS3(path, full);
    assert.equal(put.status, 200, show(put));
    const j = ok(
      await api("update_files", { GraphUUID: G, TXId: before.txid, Files: { [n]: [key, md5("t")] } }, U.token),
    );
    assert.equal(j.TXId, before.txid + 1);
    assert.ok((await download(U, G, n)).equals(full), "the retried upload downloads whole");
    ok(await api("delete_files", { GraphUUID: G, TXId: j.TXId, Files: [n] }, U.token));
  });

  test("an oversize PUT (> MAX_OBJECT_BYTES, 100 MB) → 400 EntityTooLarge XML; nothing stored or committable", async () => {
    const before = await snapshot(U, G, names());
    const stock = await stockUploader(U);
    const key = stock.newKey();
    const r = await bigPut(stock.sign(key), 100 * 1000 * 1024 + 1);
    s3Fails(r, 400, "EntityTooLarge");
    assert.deepEqual(await objectsUnder(key), []);
    fails(
      await api(
        "update_files",
        { GraphUUID: G, TXId: before.txid, Files: { [newName()]: [key, md5("big")] } },
        U.token,
      ),
      400,
      /^upload not found: /,
    );
    await assertUnchanged(U, G, names(), before, "an oversize upload");
  });

  test('an oversize object PUT straight to R2 (get_upload_urls) is refused at commit → 400 "upload too large"; nothing changes', async () => {
    const before = await snapshot(U, G, names());
    const j = ok(await api("get_upload_urls", { GraphUUID: G, Count: 1 }, U.token));
    const [origin, path] = splitUrl(j.Uploads[0].URL);
    assert.equal(origin, W, "the local R2 S3 endpoint is served by the worker's port");
    const put = await bigPut(path, 100 * 1000 * 1024 + 1);
    assert.equal(put.status, 200, `R2 itself takes it: ${put.status} ${put.text.slice(0, 200)}`);
    fails(
      await api(
        "update_files",
        { GraphUUID: G, TXId: before.txid, Files: { [newName()]: [j.Uploads[0].Key, md5("big")] } },
        U.token,
      ),
      400,
      /^upload too large: /,
    );
    await assertUnchanged(U, G, names(), before, "committing an oversize object");
  });

  test("a PUT without Content-Length (chunked) → 400 XML, nothing stored", async () => {
    const stock = await stockUploader(U);
    const key = stock.newKey();
    const r = await chunkedPut(stock.sign(key), cipher("a body without Content-Length"));
    assert.ok(r.status === 400 || r.status === 411, `${r.status} ${r.text}`);
    assert.match(r.text, /<Error><Code>\w+<\/Code>/);
    assert.deepEqual(await objectsUnder(key), []);
  });
});

// ---------------------------------------------------------------- D1 failures

describe("a D1 batch that fails in its middle rolls back completely", { timeout: 60_000 }, () => {
  test("update_files (overwrite + new file) with x-fault-inject: d1-batch → 500 JSON; unchanged; the retry commits", async () => {
    const before = await snapshot(U, G, names());
    const n = newName();
    const keys = await presignedUploads(U, G, [cipher("a, third"), cipher("brand new")]);
    const body = {
      GraphUUID: G,
      TXId: before.txid,
      Files: { [N.a]: [keys[0], md5("a, third")], [n]: [keys[1], md5("brand new")] },
    };
    for (let i = 0; i < 3; i++) {
      fails(await api("update_files", body, U.token, { fault: "d1-batch" }), 500, "internal error");
      await assertUnchanged(U, G, names(), before, "update_files with a failing batch");
    }
    const j = ok(await api("update_files", body, U.token));
    assert.equal(j.TXId, before.txid + 1);
    BODY[N.a] = "a, third";
    assert.ok((await download(U, G, N.a)).equals(cipher("a, third")));
    const versions = ok(await api("get_file_version_list", { GraphUUID: G, File: N.a }, U.token)).VersionList;
    assert.equal(
      versions.length,
      before.versions[N.a].length + 1,
      "exactly one version added, by the successful retry",
    );
    const diff = ok(await api("get_diff", { GraphUUID: G, FromTXId: before.txid }, U.token)).Transactions;
    assert.deepEqual(
      diff.map((t) => t.TXId),
      [before.txid + 1],
    );
    ok(await api("delete_files", { GraphUUID: G, TXId: j.TXId, Files: [n] }, U.token));
  });

  test("delete_files with d1-batch → 500 JSON; unchanged; the retry deletes", async () => {
    const before = await snapshot(U, G, names());
    const body = { GraphUUID: G, TXId: before.txid, Files: [N.c] };
    fails(await api("delete_files", body, U.token, { fault: "d1-batch" }), 500, "internal error");
    await assertUnchanged(U, G, names(), before, "delete_files with a failing batch");
    const j = ok(await api("delete_files", body, U.token));
    assert.equal(j.TXId, before.txid + 1);
    assert.equal(j.DeleteSuccFiles.length, 1);
    delete BODY[N.c];
    const versions = ok(await api("get_file_version_list", { GraphUUID: G, File: N.c }, U.token)).VersionList;
    assert.equal(versions.length, before.versions[N.c].length + 1);
  });

  test("rename_file with d1-batch → 500 JSON; unchanged", async () => {
    const before = await snapshot(U, G, names());
    const body = { GraphUUID: G, TXId: before.txid, SrcFile: N.b, DstFile: newName() };
    fails(await api("rename_file", body, U.token, { fault: "d1-batch" }), 500, "internal error");
    await assertUnchanged(U, G, names(), before, "rename_file with a failing batch");
  });

  test("delete_graph with d1-batch → 500 JSON; the graph, its files and objects stay; the retry deletes it (objects kept for undelete)", async () => {
    const g = await createGraph(U, `faults-doomed-${RUN}`);
    const [x, y] = [newName(), newName()];
    const c1 = await (async () => {
      const keys = await presignedUploads(U, g, [cipher("x1"), cipher("y1")]);
      ok(
        await api(
          "update_files",
          { GraphUUID: g, TXId: 0, Files: { [x]: [keys[0], md5("x1")], [y]: [keys[1], md5("y1")] } },
          U.token,
        ),
      );
      const [k2] = await presignedUploads(U, g, [cipher("x2")]);
      ok(await api("update_files", { GraphUUID: g, TXId: 1, Files: { [x]: [k2, md5("x2")] } }, U.token));
      return [...keys, k2];
    })();
    const before = await snapshot(U, g, [x, y]);
    const versionId = `${before.versions[x][0].FileUUID}/${before.versions[x][0].VersionUUID}`;
    fails(await api("delete_graph", { GraphUUID: g }, U.token, { fault: "d1-batch" }), 500, "internal error");
    await assertUnchanged(U, g, [x, y], before, "delete_graph with a failing batch");
    const objects = await objectsUnder(`uploads/${U.id}/`);
    for (const k of c1) assert.ok(objects.includes(k), `object ${k} deleted by a failed delete_graph`);
    assert.ok((await download(U, g, x)).equals(cipher("x2")));
    const vurl = ok(await api("get_version_files", { GraphUUID: g, Files: [versionId] }, U.token)).PresignedFileUrls[
      versionId
    ];
    assert.ok((await fetchUrl(vurl)).body.equals(cipher("x1")));

    ok(await api("delete_graph", { GraphUUID: g }, U.token));
    fails(await api("get_txid", { GraphUUID: g }, U.token), 404, "graph-not-exist");
    assert.ok(!ok(await api("list_graphs", undefined, U.token)).Graphs.some((x) => x.GraphUUID === g));
    const after = await objectsUnder(`uploads/${U.id}/`);
    for (const k of c1) assert.ok(after.includes(k), `object ${k} deleted before the undelete period ended`);
  });
});

// ---------------------------------------------------------------- websocket hub down

describe("the websocket hub is down", { timeout: 60_000 }, () => {
  let ws;
  after(async () => {
    await ws?.close().catch(() => {});
  });

  test("the commit succeeds, no push arrives, get_diff still shows it; the next commit pushes again", async () => {
    ws = await connectWebSocket(`${W}/file-sync?graphuuid=${G}`);
    const before = await snapshot(U, G, names());
    const n = newName();
    const [key] = await presignedUploads(U, G, [cipher("while the hub is down")]);
    const from = ws.messages.length;
    const j = ok(
      await api("update_files", { GraphUUID: G, TXId: before.txid, Files: { [n]: [key, md5("hub")] } }, U.token, {
        fault: "hub",
      }),
    );
    assert.equal(j.TXId, before.txid + 1);
    assert.ok(!("message" in j), "a success body never carries a message");
    const during = await ws.collectFor(1_500);
    assert.deepEqual(
      during.filter((m) => /"txid"/.test(String(m.data))).map((m) => m.data),
      [],
      "no push while the hub is down",
    );
    // The client's 10-minute poll / next pull still sees the transaction.
    assert.equal(await getTxid(U, G), before.txid + 1);
    const diff = ok(await api("get_diff", { GraphUUID: G, FromTXId: before.txid }, U.token)).Transactions;
    assert.deepEqual(
      diff.map((t) => [t.TXId, t.TXType]),
      [[before.txid + 1, "update_files"]],
    );
    assert.equal(diff[0].TXContent[0][2], md5("hub"));
    assert.ok((await download(U, G, n)).equals(cipher("while the hub is down")));
    // Hub back: the next commit is pushed.
    const from2 = ws.messages.length;
    const j2 = ok(await api("delete_files", { GraphUUID: G, TXId: j.TXId, Files: [n] }, U.token));
    const push = await ws.waitFor((m) => JSON.parse(m.data)?.txid === j2.TXId, { timeoutMs: 5_000, from: from2 });
    assert.equal(JSON.parse(push.data).txid, j2.TXId);
    assert.ok(from <= from2);
  });
});

// ---------------------------------------------------------------- R2 failures

describe("R2 fails while serving a download or storing an upload", { timeout: 60_000 }, () => {
  test("GET /s3/<key> with x-fault-inject: r2-get → 500 XML InternalError; the retry downloads the exact bytes", async () => {
    const before = await snapshot(U, G, names());
    const urls = ok(await api("get_files", { GraphUUID: G, Files: [N.a] }, U.token)).PresignedFileUrls;
    const key = decodeURIComponent(new URL(urls[N.a]).pathname.split("/").slice(-3).join("/"));
    assert.match(key, new RegExp(`^uploads/${U.id}/[a-z]+$`));
    const url = ownDownloadUrl(key);
    for (const method of ["GET", "HEAD"]) {
      injected++;
      const r = await fetchUrl(url, { method, headers: { "x-fault-inject": "r2-get", "Content-Range": "bytes=0-0" } });
      assert.equal(r.status, 500, `${method}: ${show(r)}`);
      assert.match(String(r.headers["content-type"]), /xml/);
      if (method === "GET") s3Fails(r, 500, "InternalError");
    }
    const r = await fetchUrl(url, { headers: { "Content-Range": "bytes=0-0" } });
    assert.equal(r.status, 200, show(r));
    assert.ok(r.body.equals(cipher(BODY[N.a])));
    assert.equal(Number(r.headers["content-length"]), r.body.length);
    await assertUnchanged(U, G, names(), before, "a failed download");
  });

  test("PUT /s3/<key> with x-fault-inject: r2-put → 500 XML; nothing stored or pending; the retried PUT commits", async () => {
    const before = await snapshot(U, G, names());
    const stock = await stockUploader(U);
    const key = stock.newKey();
    const path = stock.sign(key);
    const body = cipher(crypto.randomBytes(3000));
    injected++;
    s3Fails(await putS3(path, body, { "x-fault-inject": "r2-put" }), 500, "InternalError");
    assert.deepEqual(await objectsUnder(key), []);
    const n = newName();
    fails(
      await api("update_files", { GraphUUID: G, TXId: before.txid, Files: { [n]: [key, md5("r2")] } }, U.token),
      400,
      /^upload not found: /,
    );
    await assertUnchanged(U, G, names(), before, "a failed upload");
    assert.equal((await putS3(path, body)).status, 200);
    const j = ok(
      await api("update_files", { GraphUUID: G, TXId: before.txid, Files: { [n]: [key, md5("r2")] } }, U.token),
    );
    assert.equal(j.TXId, before.txid + 1);
    assert.ok((await download(U, G, n)).equals(body));
  });

  test("no object is left that nothing refers to (every committed key is a file or a version)", async () => {
    // Pending uploads made on purpose above are the only unreferenced ones.
    const files = ok(await api("get_all_files", { GraphUUID: G }, U.token)).Objects;
    assert.ok(files.length >= 2);
    const urls = ok(
      await api("get_files", { GraphUUID: G, Files: files.map((o) => o.Key.split("/").pop()) }, U.token),
    ).PresignedFileUrls;
    const stored = new Set(await objectsUnder(`uploads/${U.id}/`));
    for (const [n, u] of Object.entries(urls)) {
      const key = decodeURIComponent(new URL(u).pathname.split("/").slice(-3).join("/"));
      assert.ok(stored.has(key), `the object of ${n} is missing`);
    }
  });
});

after(() => {
  process.stdout.write(`# faults injected by faults.test.mjs: ${injected}\n`);
});
