// Races: many devices commit against the same TXId at the same moment. Exactly one wins; every
// other one gets the 409 the client understands (`(\d+), txid_to_validate = (\d+)`, zero-padded,
// PROTOCOL.md §9.3); the transaction log stays contiguous; no file row, version or blob is
// lost, and none is left that nothing refers to (every loser's upload stays pending and
// commits in its retry). Three parts:
//
// 1. 20 devices per round, a mix of update_files (new files, overwrites, both) and
//    delete_files, uploads through both ways in (get_upload_urls and the stock /s3/ PUT),
//    several rounds; the state is checked against a model after every round, and at the end
//    every object under the user's prefix is a file or a version, byte for byte.
// 2. commits racing delete_graph: the graph goes for the client; at most one commit lands.
// 3. the official library: rsapi `updateRemoteFiles` from several working folders at once,
//    through the intercepting proxy (rsapi retries the whole upload 3 times on any error, so
//    each loser is seen 3 times and leaves 3 pending uploads).
//
// Needs WORKER_URL and JWT_SECRET (the worker's).

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";

import { raw, appCall, rsapiCall, heldCall as heldCallAt } from "../harness/client.mjs";
import { RSAPI_SIDE, show, ok, fails, md5, fetchUrl as fetchAbsolute, keyOfUrl, pool } from "../harness/checks.mjs";
import { listObjects } from "../harness/r2list.mjs";
import { presign } from "../harness/s3sign.mjs";
import { startInterceptProxy } from "../harness/proxy.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { makeDeviceDir, removeDirs, writeFiles, readTree } from "../harness/graph.mjs";
import { mintToken, userIdForEmail } from "../../scripts/lib/jwt.mjs";

const W = process.env.WORKER_URL;
const SECRET = process.env.JWT_SECRET;
const RUN = crypto.randomBytes(4).toString("hex");
const REQUEST_TIMEOUT_MS = 30_000;
const fetchUrl = (url, opts = {}) => fetchAbsolute(url, { timeoutMs: REQUEST_TIMEOUT_MS, ...opts });
const CONFLICT = /(\d+), txid_to_validate = (\d+)/;
const stats = { rounds: 0, requests: 0, conflicts: 0, lostInBatch: 0, graphGone: 0, goneInBatch: 0, beforeDelete: 0 };

// ---------------------------------------------------------------- helpers

function api(name, body, token) {
  const fn = RSAPI_SIDE.has(name) ? rsapiCall : appCall;
  return fn(W, name, body, token, { timeoutMs: REQUEST_TIMEOUT_MS });
}

/** A 409 the client understands: server txid `server`, client txid `client`, both padded. */
function isConflict(r, server, client) {
  const j = fails(r, 409, CONFLICT);
  const [, s, c] = CONFLICT.exec(j.message);
  assert.equal(Number(s), server, j.message);
  assert.equal(Number(c), client, j.message);
  assert.equal(s.length, c.length, `numbers not padded to one width: ${j.message}`);
  stats.conflicts++;
}

const newName = () => `e.${crypto.randomBytes(24).toString("hex")}`;
const cipher = (plain) =>
  Buffer.concat([Buffer.from("age-encryption.org/v1\n-> X25519 race-test\n"), Buffer.from(plain)]);

function makeUser(label) {
  const email = `${label}-${RUN}@races-test.invalid`;
  return { email, id: userIdForEmail(SECRET, email), token: mintToken(SECRET, email) };
}

/** An API call held back by its last byte until `release()` (tests/harness/client.mjs). */
function heldCall(name, body, token) {
  return heldCallAt(W, name, body, token, REQUEST_TIMEOUT_MS);
}

/** Sends the calls together (see heldCall); resolves with their answers in order. */
async function simultaneously(calls) {
  const held = calls.map(([name, body, token]) => heldCall(name, body, token));
  await new Promise((r) => setTimeout(r, 500));
  for (const h of held) h.release();
  return Promise.all(held.map((h) => h.done));
}

async function createGraph(user, name) {
  return ok(await api("create_graph", { GraphName: name }, user.token)).GraphUUID;
}

async function getTxid(user, graph) {
  return ok(await api("get_txid", { GraphUUID: graph }, user.token)).TXId;
}

/** One upload through get_upload_urls (the patched-client flow); returns its key. */
async function presignedUpload(user, graph, body) {
  const j = ok(await api("get_upload_urls", { GraphUUID: graph, Count: 1 }, user.token));
  const r = await fetchUrl(j.Uploads[0].URL, {
    method: "PUT",
    body,
    headers: { "Content-Type": "application/octet-stream" },
  });
  assert.equal(r.status, 200, `PUT: ${show(r)}`);
  return j.Uploads[0].Key;
}

/** The stock client's flow: credentials from get_temp_credential, a self-signed PUT to /s3/. */
async function stockUploader(user) {
  const cred = ok(await api("get_temp_credential", undefined, user.token));
  const prefix = cred.S3Prefix.replace(/^logseq-file-sync-bucket-prod\//, "");
  const c = cred.Credentials;
  return async (body) => {
    const key = `${prefix}/${Array.from(crypto.randomBytes(12), (b) => String.fromCharCode(97 + (b % 26))).join("")}`;
    const { path } = presign({
      method: "PUT",
      origin: W,
      pathPrefix: "/s3",
      key,
      credentials: c,
    });
    const r = await raw(W, path, {
      method: "PUT",
      body,
      headers: { "Content-Type": "application/octet-stream" },
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    assert.equal(r.status, 200, `stock PUT: ${show(r)}`);
    return key;
  };
}

/** Keys of every stored object under `prefix` (tests/harness/r2list.mjs). */
const objectsUnder = (prefix) => listObjects(W, prefix, REQUEST_TIMEOUT_MS);

/** get_diff from `from`: asserts contiguity (from+1 .. head) and returns the transactions. */
async function diffFrom(user, graph, from) {
  const txs = ok(await api("get_diff", { GraphUUID: graph, FromTXId: from }, user.token)).Transactions;
  assert.ok(Array.isArray(txs));
  const ids = txs.map((t) => t.TXId);
  assert.deepEqual(
    ids,
    Array.from({ length: ids.length }, (_, i) => from + 1 + i),
    `not contiguous from ${from}: ${ids}`,
  );
  return txs;
}

before(() => {
  assert.ok(W && SECRET, "WORKER_URL and JWT_SECRET must be set");
});

// ---------------------------------------------------------------- 1. twenty devices, raw API

describe("20 devices commit with the same TXId at once (update_files and delete_files)", { timeout: 300_000 }, () => {
  const DEVICES = 20;
  const ROUNDS = 10;
  let U;
  let G;
  let stockPut;
  const SHARED = [newName(), newName(), newName(), newName()];
  /** The model: current files, the bodies each name had before (its versions), the log. */
  const files = new Map(); // name -> {key, body, md5, txid}
  const versions = new Map(); // name -> [body, ...]
  const txlog = []; // {TXId, TXType, TXContent}, as get_diff answers
  /** Each device's change not yet committed (null once committed). */
  const pending = new Array(DEVICES).fill(null);
  let txid = 0;

  const remote = (n) => `${U.id}/${G}/${n}`;

  async function upload(i, plain) {
    const body = cipher(plain);
    const key = i % 2 === 0 ? await presignedUpload(U, G, body) : await stockPut(body);
    return { key, body, md5: md5(plain) };
  }

  /** Device i's next change: new files, overwrites, both, or a delete. */
  async function makeChange(i, round) {
    const kind = i % 5;
    const shared = SHARED[(i + round) % SHARED.length];
    const plain = (n) =>
      `device ${i} round ${round} ${n} ${crypto.randomBytes(crypto.randomInt(16, 3000)).toString("base64")}`;
    if (kind === 4) return { kind: "delete", names: [shared, newName()] };
    const names =
      kind === 2 ? [shared] : kind === 3 ? [newName(), SHARED[(i + round + 1) % SHARED.length]] : [newName()];
    const out = {};
    for (const n of names) out[n] = await upload(i, plain(n));
    return { kind: "update", files: out };
  }

  /** The API call of a change: [name, body, token]. */
  function call(change, at) {
    stats.requests++;
    if (change.kind === "delete") return ["delete_files", { GraphUUID: G, TXId: at, Files: change.names }, U.token];
    const Files = Object.fromEntries(Object.entries(change.files).map(([n, f]) => [n, [f.key, f.md5]]));
    return ["update_files", { GraphUUID: G, TXId: at, Files }, U.token];
  }
  const send = (change, at) => api(...call(change, at));

  /** Checks a winner's answer and applies its change to the model. */
  function apply(change, j) {
    txid += 1;
    assert.equal(j.TXId, txid);
    assert.ok(!("message" in j), `a success body carries a message: ${JSON.stringify(j)}`);
    if (change.kind === "delete") {
      const existing = change.names.filter((n) => files.has(n));
      assert.deepEqual([...j.DeleteSuccFiles].sort(), existing.map(remote).sort());
      assert.deepEqual(Object.keys(j.DeleteFailedFiles).sort(), change.names.filter((n) => !files.has(n)).sort());
      for (const n of existing) {
        versions.set(n, [...(versions.get(n) ?? []), files.get(n).body]);
        files.delete(n);
      }
      txlog.push({
        TXId: txid,
        TXType: "delete_files",
        TXContent: existing.sort().map((n) => [remote(n), null, null]),
      });
    } else {
      assert.deepEqual([...j.UpdateSuccFiles].sort(), Object.keys(change.files).map(remote).sort());
      assert.deepEqual(j.UpdateFailedFiles, {});
      for (const [n, f] of Object.entries(change.files)) {
        if (files.has(n)) versions.set(n, [...(versions.get(n) ?? []), files.get(n).body]);
        files.set(n, { ...f, txid });
      }
      // The server lists a transaction's files in name order.
      txlog.push({
        TXId: txid,
        TXType: "update_files",
        TXContent: Object.entries(change.files)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([n, f]) => [remote(n), null, f.md5]),
      });
    }
  }

  /** The server's graph equals the model. */
  async function checkState() {
    assert.equal(await getTxid(U, G), txid);
    const objects = ok(await api("get_all_files", { GraphUUID: G }, U.token)).Objects;
    const got = objects.map((o) => [o.Key, o.checksum, o.Size, o.Txid]).sort();
    const want = [...files].map(([n, f]) => [remote(n), f.md5, f.body.length, f.txid]).sort();
    assert.deepEqual(got, want, "get_all_files differs from the model");
  }

  before(async () => {
    U = makeUser("racer");
    G = await createGraph(U, `races-${RUN}`);
    stockPut = await stockUploader(U);
    // Seed: the shared files exist (txid 1).
    const seed = { kind: "update", files: {} };
    for (const [k, n] of SHARED.entries()) seed.files[n] = await upload(k, `seed ${k}`);
    apply(seed, ok(await send(seed, 0)));
  });

  for (let round = 1; round <= ROUNDS; round++) {
    test(`round ${round}: ${DEVICES} concurrent commits at one TXId → one 200, ${DEVICES - 1} × 409; state = model`, async () => {
      // Devices without a pending change (all at first, then each round's winner) prepare one;
      // losers keep theirs: the same upload keys are sent again, now with the new TXId.
      await pool(
        pending.map((p, i) => async () => {
          if (!p) pending[i] = await makeChange(i, round);
        }),
        6,
      );
      const at = txid;
      const answers = await simultaneously(pending.map((change) => call(change, at)));
      stats.rounds++;
      const winners = answers.map((r, i) => [r, i]).filter(([r]) => r.status === 200);
      assert.equal(winners.length, 1, `exactly one commit wins: ${answers.map((r) => r.status).join(",")}`);
      const [[wr, wi]] = winners;
      for (const [i, r] of answers.entries()) {
        if (i === wi) continue;
        isConflict(r, at + 1, at);
        // A loser that read the graph before the winner committed got past the txid check and
        // lost in its batch's compare-and-increment (more D1 queries than the one read).
        if (Number(r.headers["x-d1-queries"]) > 1) stats.lostInBatch++;
      }
      apply(pending[wi], wr.json);
      pending[wi] = null;

      const diff = await diffFrom(U, G, at);
      assert.deepEqual(diff, [txlog.at(-1)], "the new transaction is exactly the winner's");
      await checkState();
    });
  }

  test("every loser's upload is still pending: each retries with the current TXId and commits", async () => {
    for (const [i, change] of pending.entries()) {
      if (!change) continue;
      const j = ok(await send(change, txid));
      apply(change, j);
      pending[i] = null;
    }
    await checkState();
  });

  test("get_diff from 0 is the whole log 1..N, contiguous, equal to the model", async () => {
    const diff = await diffFrom(U, G, 0);
    assert.equal(diff.length, txid);
    assert.deepEqual(diff, txlog);
  });

  test("every file and every version downloads byte for byte; every stored object is referenced", async () => {
    const names = [...files.keys()];
    const urls = ok(await api("get_files", { GraphUUID: G, Files: names }, U.token)).PresignedFileUrls;
    assert.deepEqual(Object.keys(urls).sort(), [...names].sort());
    const referenced = new Set();
    await pool(
      names.map((n) => async () => {
        const r = await fetchUrl(urls[n]);
        assert.equal(r.status, 200, show(r));
        assert.ok(r.body.equals(files.get(n).body), `${n}: bytes differ`);
        assert.equal(keyOfUrl(urls[n]), files.get(n).key);
        referenced.add(files.get(n).key);
      }),
      8,
    );
    for (const [n, bodies] of versions) {
      const list = ok(await api("get_file_version_list", { GraphUUID: G, File: n }, U.token)).VersionList;
      assert.equal(list.length, bodies.length, `${n}: ${list.length} versions, the model has ${bodies.length}`);
      const ids = list.map((v) => `${v.FileUUID}/${v.VersionUUID}`);
      const vurls = ok(await api("get_version_files", { GraphUUID: G, Files: ids }, U.token)).PresignedFileUrls;
      const got = await Promise.all(
        ids.map(async (id) => {
          referenced.add(keyOfUrl(vurls[id]));
          const r = await fetchUrl(vurls[id]);
          assert.equal(r.status, 200, show(r));
          return r.body.toString("base64");
        }),
      );
      assert.deepEqual(got.sort(), bodies.map((b) => b.toString("base64")).sort(), `${n}: version bodies differ`);
    }
    // Every upload was committed in the end, so every object is a file or a version, and
    // every file or version has its object.
    const stored = await objectsUnder(`uploads/${U.id}/`);
    assert.deepEqual(stored, [...referenced].sort(), "stored objects ≠ referenced objects");
    const usage = ok(await api("list_graphs", undefined, U.token)).Graphs.find(
      (g) => g.GraphUUID === G,
    ).GraphStorageUsage;
    const sum =
      [...files.values()].reduce((a, f) => a + f.body.length, 0) +
      [...versions.values()].flat().reduce((a, b) => a + b.length, 0);
    assert.equal(usage, sum, "GraphStorageUsage = bytes of files and versions");
  });
});

// ---------------------------------------------------------------- 2. commits racing delete_graph

describe("commits racing delete_graph", { timeout: 120_000 }, () => {
  for (let round = 1; round <= 3; round++) {
    test(`round ${round}: delete_graph and 10 update_files at once → the graph is gone for the client, every object kept for undelete`, async () => {
      const V = makeUser(`deleter${round}`);
      const g = await createGraph(V, `doomed-${RUN}-${round}`);
      const seedKey = await presignedUpload(V, g, cipher("seed"));
      ok(await api("update_files", { GraphUUID: g, TXId: 0, Files: { [newName()]: [seedKey, md5("seed")] } }, V.token));
      const changes = [];
      for (let i = 0; i < 10; i++)
        changes.push({ name: newName(), key: await presignedUpload(V, g, cipher(`c${i}`)), md5: md5(`c${i}`) });
      // delete_graph goes first, in the middle, or last of the simultaneous requests.
      const calls = changes.map((c) => [
        "update_files",
        { GraphUUID: g, TXId: 1, Files: { [c.name]: [c.key, c.md5] } },
        V.token,
      ]);
      const at = (round - 1) * 5;
      calls.splice(at, 0, ["delete_graph", { GraphUUID: g }, V.token]);
      const all = await simultaneously(calls);
      const [d] = all.splice(at, 1);
      const answers = all;
      stats.requests += 11;
      assert.equal(d.status, 200, `delete_graph: ${d.status} ${d.text}`);
      const committed = [];
      for (const [i, r] of answers.entries()) {
        if (r.status === 200) {
          committed.push(changes[i].key);
          stats.beforeDelete++;
        } else if (r.status === 409) {
          isConflict(r, 2, 1);
        } else {
          fails(r, 404, "graph-not-exist");
          stats.graphGone++;
          // Read the graph before it went, lost in the commit batch (`deleted_at IS NULL` in its compare-and-increment).
          if (Number(r.headers["x-d1-queries"]) > 1) stats.goneInBatch++;
        }
      }
      assert.ok(committed.length <= 1, `at most one commit at TXId 1: ${answers.map((r) => r.status)}`);
      fails(await api("get_txid", { GraphUUID: g }, V.token), 404, "graph-not-exist");
      assert.ok(!ok(await api("list_graphs", undefined, V.token)).Graphs.some((x) => x.GraphUUID === g));
      // Left: every object. The committed ones belong to the deleted graph, kept for the
      // undelete period (docs/RESTORE.md); the others are uploads no commit took (removed by
      // the cleanup after a day).
      const stored = await objectsUnder(`uploads/${V.id}/`);
      assert.deepEqual(stored, [seedKey, ...changes.map((c) => c.key)].sort(), "objects after delete_graph");
    });
  }
});

// ---------------------------------------------------------------- 3. the official library

describe("the official library: rsapi updateRemoteFiles from several folders at once", { timeout: 300_000 }, () => {
  const DEVICES = 5;
  const ROUNDS = 3;
  const ATTEMPTS = 3; // rsapi's own retries of a failed updateRemoteFiles
  let proxy;
  let R;
  let G;
  let keys;
  const dirs = [];
  const written = new Map(); // plain path -> content
  let txid = 0;

  before(async () => {
    proxy = await startInterceptProxy({ workerUrl: W });
    await rsapi.setProxy(proxy.url);
    R = makeUser("rsracer");
    G = await createGraph(R, `rsapi-races-${RUN}`);
    keys = await rsapi.keygen();
    await rsapi.setEnv(G, "prod", keys.secretKey, keys.publicKey);
    for (let i = 0; i < DEVICES; i++) dirs.push(await makeDeviceDir(`race${i}`));
  });

  after(async () => {
    await removeDirs(dirs);
    await rsapi.setProxy(null).catch(() => {});
    await proxy?.close();
  });

  /** The update_files requests in the proxy log: [{status, files: {name: [key, md5]}}]. */
  function updates() {
    return proxy.log
      .filter((e) => e.path === "/file-sync/update_files")
      .map((e) => ({
        status: e.status,
        txid: JSON.parse(e.requestBody).TXId,
        files: JSON.parse(e.requestBody).Files,
        answer: e.responseBody,
      }));
  }

  for (let round = 1; round <= ROUNDS; round++) {
    test(`round ${round}: ${DEVICES} devices upload at one TXId → one succeeds, the others reject with the conflict; retries converge`, async () => {
      const paths = dirs.map((_, i) => `pages/race-${i}-round-${round}.md`);
      for (const [i, dir] of dirs.entries()) {
        const content = `- device ${i}, round ${round}\n- ${crypto.randomBytes(200).toString("hex")}\n`;
        await writeFiles(dir, { [paths[i]]: content });
        written.set(paths[i], content);
      }
      proxy.clearLog();
      const at = txid;
      const settled = await Promise.allSettled(
        dirs.map((dir, i) => rsapi.updateRemoteFiles(G, dir, [paths[i]], at, R.token)),
      );
      stats.rounds++;
      await proxy.idle(20_000);
      const won = settled.map((s, i) => [s, i]).filter(([s]) => s.status === "fulfilled");
      assert.equal(
        won.length,
        1,
        `exactly one device succeeds: ${JSON.stringify(settled.map((s) => (s.status === "fulfilled" ? s.value : s.reason.message)))}`,
      );
      assert.equal(won[0][0].value, at + 1);
      const winner = won[0][1];
      for (const [i, s] of settled.entries()) {
        if (i === winner) continue;
        const m = CONFLICT.exec(s.reason.message);
        assert.ok(m, `device ${i}: rsapi's error does not match the client's regex: ${s.reason.message}`);
        assert.equal(Number(m[1]), at + 1);
        assert.equal(Number(m[2]), at);
        assert.ok(m[1] > m[2], "as strings too (the client compares strings): pull, then retry");
      }
      txid = at + 1;

      // What the server saw: one 200, and each loser ATTEMPTS times with a 409 (JSON, the
      // client's text); one PUT per attempt, all stored.
      const ups = updates();
      stats.requests += ups.length;
      stats.conflicts += ups.filter((u) => u.status === 409).length;
      assert.equal(ups.filter((u) => u.status === 200).length, 1);
      assert.equal(
        ups.filter((u) => u.status === 409).length,
        ATTEMPTS * (DEVICES - 1),
        JSON.stringify(ups.map((u) => u.status)),
      );
      for (const u of ups) {
        assert.equal(u.txid, at);
        if (u.status === 409) assert.match(JSON.parse(u.answer).message, CONFLICT);
      }
      const puts = proxy.log.filter((e) => e.kind === "s3");
      assert.equal(puts.length, 1 + ATTEMPTS * (DEVICES - 1));
      assert.ok(
        puts.every((e) => e.method === "PUT" && e.status === 200),
        JSON.stringify(puts.map((e) => e.status)),
      );

      // Every losing attempt's upload is still pending: commit them all (under fresh names),
      // then download one per device and compare with the device's file.
      const leftovers = ups.filter((u) => u.status === 409).flatMap((u) => Object.entries(u.files));
      const fresh = Object.fromEntries(leftovers.map(([, [key, sum]]) => [newName(), [key, sum]]));
      const j = ok(await api("update_files", { GraphUUID: G, TXId: txid, Files: fresh }, R.token));
      assert.equal(j.TXId, txid + 1);
      txid += 1;
      const [encName] = Object.entries(fresh).find(([, [key]]) => key === leftovers[0][1][0]);
      const urls = ok(await api("get_files", { GraphUUID: G, Files: [encName] }, R.token)).PresignedFileUrls;
      const body = (await fetchUrl(urls[encName])).body;
      assert.ok(body.subarray(0, 22).equals(Buffer.from("age-encryption.org/v1\n")), "an age file");
      ok(await api("delete_files", { GraphUUID: G, TXId: txid, Files: Object.keys(fresh) }, R.token));
      txid += 1;

      // The client's reaction to the 409 (LS sync.cljs:1802-1819): pull, then upload again.
      await diffFrom(R, G, at);
      for (const [i, dir] of dirs.entries()) {
        if (i === winner) continue;
        const t = await rsapi.updateRemoteFiles(G, dir, [paths[i]], txid, R.token);
        assert.equal(t, txid + 1);
        txid = t;
      }
    });
  }

  test("a fresh device downloads every file as written; the log is contiguous", async () => {
    await diffFrom(R, G, 0);
    assert.equal(await getTxid(R, G), txid);
    const fresh = await makeDeviceDir("race-fresh");
    dirs.push(fresh);
    await rsapi.updateLocalFiles(G, fresh, [...written.keys()], R.token);
    const tree = await readTree(fresh);
    assert.deepEqual([...tree.keys()].sort(), [...written.keys()].sort());
    for (const [p, content] of written) assert.equal(tree.get(p).toString("utf8"), content, p);
  });
});

after(() => {
  process.stdout.write(
    `# races.test.mjs: ${stats.rounds} race rounds, ${stats.requests} racing requests, ${stats.conflicts} conflicts answered (${stats.lostInBatch} of them lost inside the commit batch); delete_graph races: ${stats.beforeDelete} commits landed first, ${stats.graphGone} found the graph gone (${stats.goneInBatch} inside the commit batch)\n`,
  );
});
