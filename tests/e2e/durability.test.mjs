// Durability: the scheduled cleanup deletes only what nothing refers to, and deleting a graph
// deletes all of its objects and nothing else.
//
// A graph is built with current files, overwritten and deleted files (versions) and pending
// uploads (PUT but never committed, or never PUT at all); then the scheduled handler is run
// "days later" through wrangler's `GET /cdn-cgi/local/scheduled?time=<ms>` (src/lib.rs uses
// the event's time as now):
//   * 2 days later: stale uploads are gone (not committable, objects deleted); every file and
//     every version still downloads byte for byte;
//   * just over 30 days after the first versions (VERSION_RETENTION_DAYS, default 30): those
//     versions are gone from the lists and their objects (URLs taken before now 404), the
//     younger ones and every current file stay;
//   * a commit racing the cleanup of its own uploads: either it wins and its objects stay, or
//     it fails and they are gone;
//   * delete_graph: the graph is gone for the client but its objects stay for the undelete
//     period (purge afterwards: restore.test.mjs); another graph of the same user is untouched.
// After each step, the objects stored under the user's prefix are exactly the ones its files
// and versions refer to (read through wrangler's local R2 S3 endpoint).
//
// The cleanup is global: run "days later" it removes every pending upload and every old
// version in the whole worker, which would pull the rug from under test files running at the
// same time against the shared test worker. So this file starts a worker of its own: the
// build in build/ (made by `npm test`/`npm start` before), its own D1/R2 state and secrets, a
// free port on 127.0.0.1, its own log (where the cleanup reports are read); stopped at the end.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { raw, appCall, rsapiCall, heldCall as heldCallAt } from "../harness/client.mjs";
import { RSAPI_SIDE, show, ok, fails, md5, fetchUrl as fetchAbsolute, keyOfUrl } from "../harness/checks.mjs";
import { listObjects } from "../harness/r2list.mjs";
import { presign } from "../harness/s3sign.mjs";
import { mintToken, userIdForEmail } from "../../scripts/lib/jwt.mjs";
import { ensureWranglerNode } from "../../scripts/lib/tools.mjs";
import { freePort, prepareWorker, startDevServer, stopDevServer } from "../../scripts/lib/devserver.mjs";

let W; // the private worker's URL
let SECRET; // its JWT_SECRET
let WORKER_LOG; // its log
const RUN = crypto.randomBytes(4).toString("hex");
const REQUEST_TIMEOUT_MS = 20_000;
const fetchUrl = (url, opts = {}) => fetchAbsolute(url, { timeoutMs: REQUEST_TIMEOUT_MS, ...opts });
const DAY_MS = 24 * 3600 * 1000;
const RETENTION_DAYS = 30; // VERSION_RETENTION_DAYS (src/config.rs default; not set here)
/** The cleanup's own limits per run (src/ops/cleanup.rs): 5 pages of 100 rows, 5 pages of 500 objects. */
const CLEANUP_ROWS_PER_RUN = 500;
const CLEANUP_OBJECTS_PER_RUN = 2500;

// ---------------------------------------------------------------- a worker of its own

let worker; // { child, prepared }

/**
 * A private `wrangler dev`: a snapshot of the built Worker (scripts/lib/devserver.mjs, the
 * same as `npm test` uses), fresh state and secrets, a free port, its own log.
 */
async function startPrivateWorker() {
  const node = ensureWranglerNode();
  const prepared = prepareWorker(node, { prefix: "logseq-sync-durability-" });
  worker = { child: null, prepared };
  const { state, config, secrets } = prepared;
  const port = await freePort();
  const log = join(prepared.dir, "worker.log");
  const { child, url } = await startDevServer({
    node,
    port,
    persistTo: state,
    config,
    vars: secrets,
    logFile: log,
    timeoutMs: 120_000,
  });
  worker.child = child;
  return { url, secret: secrets.JWT_SECRET, log };
}

async function stopPrivateWorker() {
  if (!worker) return;
  if (worker.child) await stopDevServer(worker.child);
  worker.prepared.cleanup();
}

after(stopPrivateWorker, { timeout: 20_000 });

// ---------------------------------------------------------------- helpers

function api(name, body, token) {
  const fn = RSAPI_SIDE.has(name) ? rsapiCall : appCall;
  return fn(W, name, body, token, { timeoutMs: REQUEST_TIMEOUT_MS });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const newName = () => `e.${crypto.randomBytes(24).toString("hex")}`;
const cipher = (plain) =>
  Buffer.concat([Buffer.from("age-encryption.org/v1\n-> X25519 durability-test\n"), Buffer.from(plain)]);

function makeUser(label) {
  const email = `${label}-${RUN}@durability-test.invalid`;
  return { email, id: userIdForEmail(SECRET, email), token: mintToken(SECRET, email) };
}

async function createGraph(user, name) {
  return ok(await api("create_graph", { GraphName: name }, user.token)).GraphUUID;
}

async function getTxid(user, graph) {
  return ok(await api("get_txid", { GraphUUID: graph }, user.token)).TXId;
}

/** Keys of every stored object under `prefix` (tests/harness/r2list.mjs). */
const objectsUnder = (prefix) => listObjects(W, prefix, REQUEST_TIMEOUT_MS);

/** An API call whose body is sent except for its last byte until `release()`. */
function heldCall(name, body, token) {
  return heldCallAt(W, name, body, token, REQUEST_TIMEOUT_MS);
}

/** The cleanup reports the worker logged so far (`{"event":"cleanup","report":{...}}`). */
function cleanupReports() {
  const out = [];
  for (const line of readFileSync(WORKER_LOG, "utf8").split("\n")) {
    const i = line.indexOf('{"event":"cleanup"');
    if (i < 0) continue;
    try {
      out.push(JSON.parse(line.slice(i).replace(/\u001b\[[0-9;]*m/g, "")).report);
    } catch {
      /* a partial line */
    }
  }
  return out;
}

/**
 * Runs the scheduled handler as if it were `atMs`, until a run finishes below its per-run
 * limits (the cleanup works in bounded pages; other test files leave rows too). Returns the
 * reports of the runs.
 */
async function runCleanup(atMs) {
  const reports = [];
  for (let run = 0; run < 10; run++) {
    const seen = cleanupReports().length;
    const r = await raw(W, `/cdn-cgi/local/scheduled?time=${Math.round(atMs)}`, { timeoutMs: 60_000 });
    assert.equal(r.status, 200, `scheduled: ${show(r)}`);
    let report;
    for (let wait = 0; wait < 100 && !report; wait++) {
      const all = cleanupReports();
      if (all.length > seen) report = all[seen];
      else await sleep(100);
    }
    assert.ok(report, 'no {"event":"cleanup"} line in the worker log after a scheduled run');
    reports.push(report);
    if (
      report.stale_uploads < CLEANUP_ROWS_PER_RUN &&
      report.expired_versions < CLEANUP_ROWS_PER_RUN &&
      report.objects_deleted < CLEANUP_OBJECTS_PER_RUN
    )
      return reports;
  }
  throw new Error(`the cleanup did not finish in 10 runs: ${JSON.stringify(reports)}`);
}

// ---------------------------------------------------------------- the model

let U;
let G; // the graph under test
let H; // another graph of the same user, which must never be touched
/** Per graph: current files {name -> {key, body}} and versions [{name, id, key, body, time}]. */
const model = new Map();

function graphModel(g) {
  if (!model.has(g)) model.set(g, { files: new Map(), versions: [] });
  return model.get(g);
}

/** Uploads (get_upload_urls + PUT) and commits {name: plaintext} in one transaction. */
async function commit(g, contents) {
  const m = graphModel(g);
  const entries = Object.entries(contents);
  const j = ok(await api("get_upload_urls", { GraphUUID: g, Count: entries.length }, U.token));
  const Files = {};
  const bodies = {};
  for (const [i, [n, plain]] of entries.entries()) {
    const body = cipher(plain);
    const r = await fetchUrl(j.Uploads[i].URL, {
      method: "PUT",
      body,
      headers: { "Content-Type": "application/octet-stream" },
    });
    assert.equal(r.status, 200, show(r));
    Files[n] = [j.Uploads[i].Key, md5(plain)];
    bodies[n] = body;
  }
  const txid = await getTxid(U, g);
  ok(await api("update_files", { GraphUUID: g, TXId: txid, Files }, U.token));
  for (const [n, [key]] of Object.entries(Files)) {
    if (m.files.has(n)) m.versions.push({ name: n, ...m.files.get(n) });
    m.files.set(n, { key, body: bodies[n] });
  }
  await learnVersions(g);
}

async function remove(g, names) {
  const m = graphModel(g);
  const txid = await getTxid(U, g);
  ok(await api("delete_files", { GraphUUID: g, TXId: txid, Files: names }, U.token));
  for (const n of names) {
    m.versions.push({ name: n, ...m.files.get(n) });
    m.files.delete(n);
  }
  await learnVersions(g);
}

/** Fills in id, time and key of model versions from the server (matching by body). */
async function learnVersions(g) {
  const m = graphModel(g);
  for (const n of new Set(m.versions.map((v) => v.name))) {
    const list = ok(await api("get_file_version_list", { GraphUUID: g, File: n }, U.token)).VersionList;
    const ids = list.map((v) => `${v.FileUUID}/${v.VersionUUID}`);
    const urls = ok(await api("get_version_files", { GraphUUID: g, Files: ids }, U.token)).PresignedFileUrls;
    for (const [i, id] of ids.entries()) {
      const key = keyOfUrl(urls[id]);
      const v = m.versions.find((x) => x.name === n && x.key === key);
      assert.ok(v, `a version the model does not know: ${n} ${key}`);
      Object.assign(v, { id, time: list[i].CreateTime });
    }
  }
}

/** Every current file and every version of `g` downloads byte for byte; the lists equal the model. */
async function assertIntact(g) {
  const m = graphModel(g);
  const objects = ok(await api("get_all_files", { GraphUUID: g }, U.token)).Objects;
  assert.deepEqual(objects.map((o) => o.Key.split("/").pop()).sort(), [...m.files.keys()].sort(), "current files");
  const names = [...m.files.keys()];
  const urls = names.length
    ? ok(await api("get_files", { GraphUUID: g, Files: names }, U.token)).PresignedFileUrls
    : {};
  for (const n of names) {
    const r = await fetchUrl(urls[n]);
    assert.equal(r.status, 200, `${n}: ${show(r)}`);
    assert.ok(r.body.equals(m.files.get(n).body), `${n}: bytes differ`);
  }
  for (const n of new Set(m.versions.map((v) => v.name))) {
    const list = ok(await api("get_file_version_list", { GraphUUID: g, File: n }, U.token)).VersionList;
    const want = m.versions.filter((v) => v.name === n);
    assert.deepEqual(
      list.map((v) => `${v.FileUUID}/${v.VersionUUID}`).sort(),
      want.map((v) => v.id).sort(),
      `versions of ${n}`,
    );
  }
  const ids = m.versions.map((v) => v.id);
  if (ids.length) {
    const vurls = ok(await api("get_version_files", { GraphUUID: g, Files: ids }, U.token)).PresignedFileUrls;
    for (const v of m.versions) {
      const r = await fetchUrl(vurls[v.id]);
      assert.equal(r.status, 200, `version ${v.id}: ${show(r)}`);
      assert.ok(r.body.equals(v.body), `version ${v.id}: bytes differ`);
    }
  }
  const usage = ok(await api("list_graphs", undefined, U.token)).Graphs.find(
    (x) => x.GraphUUID === g,
  ).GraphStorageUsage;
  const sum = [...m.files.values(), ...m.versions].reduce((a, x) => a + x.body.length, 0);
  assert.equal(usage, sum, "GraphStorageUsage = bytes of current files and kept versions");
}

/** The objects stored under the user's prefix are exactly those the graphs refer to (+ `extra`). */
async function assertNoOrphans(extra = []) {
  const referenced = [...model.values()].flatMap((m) => [
    ...[...m.files.values()].map((f) => f.key),
    ...m.versions.map((v) => v.key),
  ]);
  assert.deepEqual(await objectsUnder(`uploads/${U.id}/`), [...referenced, ...extra].sort());
}

// ---------------------------------------------------------------- the graph

const F = {};
const pendings = [];
let oldestVersionsUpTo; // CreateTime of the last "old" version

// One root hook (Node 20 runs several root `before` hooks at the same time).
before(
  async () => {
    ({ url: W, secret: SECRET, log: WORKER_LOG } = await startPrivateWorker());
    U = makeUser("dura");
    G = await createGraph(U, `durable-${RUN}`);
    H = await createGraph(U, `bystander-${RUN}`);
    [F.a, F.b, F.c, F.d, F.h] = [newName(), newName(), newName(), newName(), newName()];
    await commit(G, { [F.a]: "a1", [F.b]: "b1", [F.c]: "c1", [F.d]: "d1" });
    await commit(G, { [F.a]: "a2" });
    await commit(G, { [F.b]: "b2" });
    await remove(G, [F.c]);
    await commit(H, { [F.h]: "h1" });
    await commit(H, { [F.h]: "h2" });
    oldestVersionsUpTo = Math.max(...[...model.values()].flatMap((m) => m.versions.map((v) => v.time)));

    // Pending uploads: PUT through get_upload_urls, PUT through the stock /s3/ receiver, and a
    // key handed out but never PUT.
    const j = ok(await api("get_upload_urls", { GraphUUID: G, Count: 2 }, U.token));
    const put = await fetchUrl(j.Uploads[0].URL, { method: "PUT", body: cipher("pending, presigned") });
    assert.equal(put.status, 200, show(put));
    pendings.push({ key: j.Uploads[0].Key, stored: true }, { key: j.Uploads[1].Key, stored: false });
    const cred = ok(await api("get_temp_credential", undefined, U.token));
    const c = cred.Credentials;
    const stockKey = `${cred.S3Prefix.replace(/^logseq-file-sync-bucket-prod\//, "")}/pendingstock`;
    const { path } = presign({
      method: "PUT",
      origin: W,
      pathPrefix: "/s3",
      key: stockKey,
      credentials: c,
    });
    const sput = await raw(W, path, {
      method: "PUT",
      body: cipher("pending, stock"),
      headers: { "Content-Type": "application/octet-stream" },
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    assert.equal(sput.status, 200, show(sput));
    pendings.push({ key: stockKey, stored: true });
  },
  { timeout: 240_000 },
);

describe("the scheduled cleanup never deletes a referenced blob", { timeout: 180_000 }, () => {
  test("the starting point: files, versions and pending uploads are all there", async () => {
    await assertIntact(G);
    await assertIntact(H);
    await assertNoOrphans(pendings.filter((p) => p.stored).map((p) => p.key));
  });

  test("run 2 days later: stale uploads are gone; every file and version still downloads byte for byte", async () => {
    const reports = await runCleanup(Date.now() + 2 * DAY_MS);
    assert.equal(
      reports.reduce((a, r) => a + r.stale_uploads, 0),
      pendings.length,
      JSON.stringify(reports),
    );
    await assertIntact(G);
    await assertIntact(H);
    await assertNoOrphans(); // the pending objects were deleted
    const txid = await getTxid(U, G);
    for (const p of pendings) {
      fails(
        await api("update_files", { GraphUUID: G, TXId: txid, Files: { [newName()]: [p.key, md5("late")] } }, U.token),
        400,
        /upload not found|no longer pending/,
      );
    }
    assert.equal(await getTxid(U, G), txid, "failed commits change nothing");
  });

  test(`run just over ${RETENTION_DAYS} days after the first versions: those go, younger versions and files stay`, async () => {
    // Younger versions, made after the old ones (distinct CreateTime).
    await sleep(50);
    await commit(G, { [F.a]: "a3", [F.d]: "d2" }); // versions a2 and d1 are young
    const m = graphModel(G);
    const old = [...model.values()].flatMap((x) => x.versions).filter((v) => v.time <= oldestVersionsUpTo);
    const young = m.versions.filter((v) => v.time > oldestVersionsUpTo);
    assert.equal(old.length, 4, "a1, b1, c1 and h1");
    assert.equal(young.length, 2, "a2 and d1");
    // URLs of the old versions, obtained before they expire.
    const oldUrls = [];
    for (const [g, mm] of model) {
      const ids = mm.versions.filter((v) => old.includes(v)).map((v) => v.id);
      const urls = ok(await api("get_version_files", { GraphUUID: g, Files: ids }, U.token)).PresignedFileUrls;
      for (const id of ids) oldUrls.push(urls[id]);
    }
    assert.equal(oldUrls.length, old.length);
    for (const u of oldUrls) assert.equal((await fetchUrl(u)).status, 200);

    // Cutoff (now − retention) falls after every old version and before every young one.
    const cutoff = oldestVersionsUpTo + 1;
    assert.ok(Math.min(...young.map((v) => v.time)) >= cutoff);
    const reports = await runCleanup(cutoff + RETENTION_DAYS * DAY_MS);
    assert.equal(
      reports.reduce((a, r) => a + r.expired_versions, 0),
      old.length,
      JSON.stringify(reports),
    );
    for (const mm of model.values()) mm.versions = mm.versions.filter((v) => !old.includes(v));

    for (const u of oldUrls) {
      const r = await fetchUrl(u);
      assert.equal(r.status, 404, `an expired version still downloads: ${show(r)}`);
    }
    const gone = ok(
      await api(
        "get_version_files",
        { GraphUUID: G, Files: old.filter((v) => v.name !== F.h).map((v) => v.id) },
        U.token,
      ),
    ).PresignedFileUrls;
    assert.deepEqual(gone, {}, "expired versions are not offered any more");
    await assertIntact(G); // lists = model (old ones gone, young ones there), bytes, usage
    await assertIntact(H);
    await assertNoOrphans();
  });

  test("running it again changes nothing", async () => {
    await runCleanup(oldestVersionsUpTo + 1 + RETENTION_DAYS * DAY_MS);
    await assertIntact(G);
    await assertIntact(H);
    await assertNoOrphans();
  });
});

describe("a commit racing the cleanup of its own (stale) uploads", { timeout: 120_000 }, () => {
  const ROUNDS = 6;
  const outcome = { committed: 0, refused: 0 };
  let R; // a graph of its own

  before(async () => {
    R = await createGraph(U, `racing-cleanup-${RUN}`);
    graphModel(R);
  });

  for (let round = 1; round <= ROUNDS; round++) {
    test(`round ${round}: either the commit wins and its objects stay, or the uploads are gone and the commit fails`, async () => {
      const plains = [0, 1, 2].map((i) => `round ${round} file ${i} ${crypto.randomBytes(64).toString("hex")}`);
      const j = ok(await api("get_upload_urls", { GraphUUID: R, Count: plains.length }, U.token));
      for (const [i, p] of plains.entries()) {
        assert.equal((await fetchUrl(j.Uploads[i].URL, { method: "PUT", body: cipher(p) })).status, 200);
      }
      const names = plains.map(() => newName());
      const txid = await getTxid(U, R);
      const Files = Object.fromEntries(names.map((n, i) => [n, [j.Uploads[i].Key, md5(plains[i])]]));
      // The uploads are "stale" for a cleanup two days ahead; both start at the same moment
      // (the commit's body is held back until the cleanup request is on its way).
      const held = heldCall("update_files", { GraphUUID: R, TXId: txid, Files }, U.token);
      await sleep(300);
      const cleanup = raw(W, `/cdn-cgi/local/scheduled?time=${Date.now() + 2 * DAY_MS}`, { timeoutMs: 60_000 });
      held.release();
      const [c, r] = await Promise.all([cleanup, held.done]);
      assert.equal(c.status, 200);
      if (r.status === 200) {
        outcome.committed++;
        const m = graphModel(R);
        for (const [i, n] of names.entries()) m.files.set(n, { key: j.Uploads[i].Key, body: cipher(plains[i]) });
      } else {
        outcome.refused++;
        assert.equal(r.status, 400, `${r.status} ${r.text}`);
        assert.match(r.json?.message ?? "", /upload not found|no longer pending/);
        assert.equal(await getTxid(U, R), txid);
      }
      // Let any trash the run left be drained by a second run, then check the invariant.
      await runCleanup(Date.now() + 2 * DAY_MS);
      await assertIntact(R);
      await assertNoOrphans();
    });
  }

  test("(outcomes)", (t) => {
    t.diagnostic(`commits that won against the cleanup: ${outcome.committed}, refused: ${outcome.refused}`);
    assert.equal(outcome.committed + outcome.refused, ROUNDS);
  });
});

describe("delete_graph keeps every object of the graph for undelete and touches nothing else", {
  timeout: 60_000,
}, () => {
  test("gone for the client; its objects stay (URLs taken before still download) until the undelete period ends; the other graph is intact", async () => {
    const m = graphModel(G);
    const names = [...m.files.keys()];
    const fileUrls = Object.values(
      ok(await api("get_files", { GraphUUID: G, Files: names }, U.token)).PresignedFileUrls,
    );
    const versionUrls = Object.values(
      ok(await api("get_version_files", { GraphUUID: G, Files: m.versions.map((v) => v.id) }, U.token))
        .PresignedFileUrls,
    );
    assert.equal(fileUrls.length, names.length);
    assert.equal(versionUrls.length, m.versions.length);
    assert.ok(versionUrls.length >= 1);
    for (const u of [...fileUrls, ...versionUrls]) assert.equal((await fetchUrl(u)).status, 200);

    ok(await api("delete_graph", { GraphUUID: G }, U.token));
    const kept = [...[...m.files.values()].map((f) => f.key), ...m.versions.map((v) => v.key)];
    model.delete(G);
    for (const u of [...fileUrls, ...versionUrls]) {
      const r = await fetchUrl(u);
      assert.equal(
        r.status,
        200,
        `an object of the deleted graph is gone before its undelete period ended: ${show(r)}`,
      );
    }
    fails(await api("get_txid", { GraphUUID: G }, U.token), 404, "graph-not-exist");
    await assertIntact(H);
    // The purge after the period: tests/e2e/restore.test.mjs.
    await assertNoOrphans(kept);
  });
});
