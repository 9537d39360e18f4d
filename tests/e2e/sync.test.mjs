// Two devices of one user syncing a real encrypted graph with the official client library:
// stock rsapi (through the TLS-intercepting proxy) for everything the native layer does, and
// the app's own JSON calls (appCall) for the rest, each step as the app performs it
// (PROTOCOL.md §6, §8, §9, §11). A second suite checks that another user never reaches the graph.
//
// Needs WORKER_URL and JWT_SECRET (the worker's) in the environment.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";

import { appCall } from "../harness/client.mjs";
import { startInterceptProxy } from "../harness/proxy.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { connectWebSocket } from "../harness/ws.mjs";
import { jwtSecret, newUser } from "../harness/auth.mjs";
import {
  CLIENT_UUID_RE,
  TXID_CONFLICT_RE,
  PROD_BUCKET,
  UPLOAD_BATCH,
  DOWNLOAD_BATCH,
  md5,
  chunk,
  stripUserGraphPrefix,
  makeDeviceDir,
  removeDirs,
  writeFiles,
  readGraphFile,
  readTree,
  fixtureGraph,
  uploadInBatches,
} from "../harness/graph.mjs";

const WORKER_URL = process.env.WORKER_URL;
const STEP = { timeout: 45_000 };
const startedAt = Date.now();

let proxy;
const dirs = [];
const sockets = [];

before(
  async () => {
    if (!WORKER_URL) throw new Error("WORKER_URL is not set (e.g. WORKER_URL=http://127.0.0.1:8787)");
    jwtSecret();
    proxy = await startInterceptProxy({ workerUrl: WORKER_URL });
    await rsapi.setProxy(proxy.url);
  },
  { timeout: 15_000 },
);

after(
  async () => {
    await removeDirs(dirs);
    await Promise.all(sockets.map((s) => s.close().catch(() => {})));
    await rsapi.setProxy(null).catch(() => {});
    await proxy?.close();
  },
  { timeout: 15_000 },
);

/** The app's own call (form content-type label; `undefined` body = literal `null`). */
function api(name, body, token) {
  return appCall(WORKER_URL, name, body, token, { timeoutMs: 15_000 });
}

/** Assert status (number, or [lo, hi] inclusive) and a JSON body; return the parsed body. */
function expectJson(reply, status, what = "") {
  const ok = Array.isArray(status) ? reply.status >= status[0] && reply.status <= status[1] : reply.status === status;
  assert.ok(ok, `${what} expected status ${status}, got ${reply.status}: ${reply.text}`);
  assert.match(
    String(reply.headers["content-type"]),
    /^application\/json/,
    `${what} content-type: ${reply.headers["content-type"]}`,
  );
  assert.ok(reply.jsonError === undefined, `${what} body is not JSON: ${reply.text}`);
  return reply.json;
}

/** Expect the JSON error answer `{"message": <message>}` with `status`. */
function expectError(reply, status, message, what = "") {
  const body = expectJson(reply, status, what);
  assert.equal(body?.message, message, `${what} message: ${reply.text}`);
}

/** get_all_files, following NextContinuationToken (bounded), as the app does. */
async function listAllFiles(graph, token) {
  const objects = [];
  let next;
  for (let page = 0; page < 100; page++) {
    const body = next ? { GraphUUID: graph, ContinuationToken: next } : { GraphUUID: graph };
    const res = expectJson(await api("get_all_files", body, token), 200, "get_all_files");
    assert.ok(Array.isArray(res.Objects), `Objects: ${JSON.stringify(res)}`);
    objects.push(...res.Objects);
    next = res.NextContinuationToken;
    if (!next) return objects;
  }
  throw new Error("get_all_files: more than 100 pages");
}

async function getTxid(graph, token) {
  const res = expectJson(await api("get_txid", { GraphUUID: graph }, token), 200, "get_txid");
  assert.ok(Number.isInteger(res.TXId), `TXId: ${JSON.stringify(res)}`);
  return res.TXId;
}

/** Keys of a key pair as the app stores them: public key + passphrase-encrypted secret key. */
async function encryptedKeyPair(password) {
  const keys = await rsapi.keygen();
  const armored = (await rsapi.ageEncryptWithPassphrase(password, keys.secretKey)).toString("utf8");
  return { ...keys, armored };
}

/** Plain path of a Key (`<user>/<graph>/e.<hex>`): strip the prefix as the app does, decrypt. */
function plainPaths(graph, keys) {
  return rsapi.decryptFnames(graph, keys.map(stripUserGraphPrefix));
}

const withinRecentMs = (t) => t >= startedAt - 60_000 && t <= Date.now() + 60_000;

describe("two devices sync an encrypted graph", () => {
  const alice = newUser("alice");
  const password = "correct horse battery staple";
  let graph;
  let keys;
  let files;
  let paths;
  let dirA;
  let dirB;
  let metaA;
  let txA = 0; // device A's local txid
  let txB = 0; // device B's local txid
  let ws;
  const contentsPath = "pages/contents.md";
  const deletedPath = "pages/sub/deep/note.md";
  let originalContents;
  let editedContents;

  it('1. user_info has UserGroups with "beta-tester"; list_graphs (body null) is empty', STEP, async () => {
    const info = expectJson(await api("user_info", {}, alice.token), 200, "user_info");
    assert.ok(Array.isArray(info.UserGroups), `UserGroups: ${JSON.stringify(info)}`);
    assert.ok(info.UserGroups.includes("beta-tester"), `UserGroups: ${JSON.stringify(info.UserGroups)}`);
    const list = expectJson(await api("list_graphs", undefined, alice.token), 200, "list_graphs");
    assert.deepEqual(list, { Graphs: [] });
  });

  it("2. create_graph answers a client-valid GraphUUID and TXId 0; a duplicate name is 400", STEP, async () => {
    const created = expectJson(await api("create_graph", { GraphName: "my notes" }, alice.token), 200, "create_graph");
    assert.equal(typeof created.GraphUUID, "string");
    assert.match(created.GraphUUID, CLIENT_UUID_RE);
    assert.equal(created.TXId, 0);
    graph = created.GraphUUID;

    const dup = await api("create_graph", { GraphName: "my notes" }, alice.token);
    expectError(dup, 400, "graph[my notes] already exists ", "duplicate create_graph");

    const list = expectJson(await api("list_graphs", undefined, alice.token), 200, "list_graphs");
    assert.deepEqual(
      list.Graphs.map((g) => [g.GraphUUID, g.GraphName]),
      [[graph, "my notes"]],
    );
    assert.equal(await getTxid(graph, alice.token), 0);
  });

  it("3. encryption keys: 404, upload once, read back, second upload 409, secret key decrypts", STEP, async () => {
    expectJson(await api("get_graph_encrypt_keys", { GraphUUID: graph }, alice.token), 404, "keys before upload");

    keys = await encryptedKeyPair(password);
    assert.ok(keys.armored.startsWith("-----BEGIN AGE ENCRYPTED FILE-----"), keys.armored.slice(0, 60));
    const up = await api(
      "upload_graph_encrypt_keys",
      { GraphUUID: graph, "public-key": keys.publicKey, "encrypted-private-key": keys.armored },
      alice.token,
    );
    assert.ok(up.status >= 200 && up.status < 300, `upload_graph_encrypt_keys: ${up.status} ${up.text}`);

    const got = expectJson(await api("get_graph_encrypt_keys", { GraphUUID: graph }, alice.token), 200, "get keys");
    assert.deepEqual(got, { "public-key": keys.publicKey, "encrypted-private-key": keys.armored });

    const other = await rsapi.keygen(); // a second pair (its armored secret would look the same)
    const again = await api(
      "upload_graph_encrypt_keys",
      { GraphUUID: graph, "public-key": other.publicKey, "encrypted-private-key": keys.armored },
      alice.token,
    );
    assert.equal(again.status, 409, `second upload: ${again.status} ${again.text}`);
    const still = expectJson(await api("get_graph_encrypt_keys", { GraphUUID: graph }, alice.token), 200, "get keys");
    assert.equal(still["public-key"], keys.publicKey, "the first key pair stays");

    const secret = (await rsapi.ageDecryptWithPassphrase(password, got["encrypted-private-key"])).toString("utf8");
    assert.ok(secret.startsWith("AGE-SECRET-KEY"), secret.slice(0, 20));
    assert.equal(secret, keys.secretKey);
  });

  it("4. graph salt: 410, create answers exactly {value, expired-at}, then get answers it", STEP, async () => {
    expectJson(await api("get_graph_salt", { GraphUUID: graph }, alice.token), 410, "salt before create");
    const salt = expectJson(
      await api("create_graph_salt", { GraphUUID: graph }, alice.token),
      200,
      "create_graph_salt",
    );
    assert.deepEqual(Object.keys(salt).sort(), ["expired-at", "value"]);
    assert.equal(typeof salt.value, "string");
    assert.ok(salt.value.length > 0);
    assert.ok(Number.isInteger(salt["expired-at"]), `expired-at: ${salt["expired-at"]}`);
    assert.ok(salt["expired-at"] > Date.now(), "expired-at in the future");
    assert.ok(salt["expired-at"] > 1e12, "expired-at is in milliseconds");
    const got = expectJson(await api("get_graph_salt", { GraphUUID: graph }, alice.token), 200, "get_graph_salt");
    assert.deepEqual(got, salt);
  });

  it("5. device A uploads the graph in batches of 20 with txid chaining through the bucket host", STEP, async () => {
    files = fixtureGraph();
    paths = Object.keys(files);
    originalContents = String(files[contentsPath]);
    dirA = await makeDeviceDir("a");
    dirs.push(dirA);
    await writeFiles(dirA, files);

    await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);
    metaA = await rsapi.getLocalAllFilesMeta(graph, dirA);
    assert.deepEqual(Object.keys(metaA).sort(), [...paths].sort(), "rsapi sees exactly the fixture files");

    proxy.clearLog();
    const txids = await uploadInBatches(rsapi, graph, dirA, paths, txA, alice.token);
    const batches = Math.ceil(paths.length / UPLOAD_BATCH);
    assert.ok(batches >= 2, "the fixture needs more than one batch");
    assert.deepEqual(
      txids,
      Array.from({ length: batches }, (_, i) => i + 1),
    );
    txA = txids.at(-1);

    await proxy.idle();
    const puts = proxy.log.filter((e) => e.kind === "s3");
    assert.equal(
      puts.length,
      paths.length,
      `one PUT per file: ${JSON.stringify(puts.map((e) => [e.method, e.status]))}`,
    );
    for (const e of puts) {
      assert.equal(e.method, "PUT");
      assert.equal(e.host, `${PROD_BUCKET}.s3.amazonaws.com`);
      assert.equal(e.status, 200);
    }
    const creds = proxy.log.filter((e) => e.path === "/file-sync/get_temp_credential");
    assert.ok(creds.length >= 1 && creds.every((e) => e.status === 200), JSON.stringify(creds.map((e) => e.status)));
    const updates = proxy.log.filter((e) => e.path === "/file-sync/update_files");
    assert.equal(updates.length, batches);
    updates.forEach((e, i) => {
      assert.equal(e.status, 200);
      const reqBody = JSON.parse(e.requestBody);
      assert.equal(reqBody.TXId, i, "each batch is sent with the txid the previous one returned");
      assert.equal(JSON.parse(e.responseBody).TXId, i + 1);
    });
  });

  it(
    "6. device B: get_all_files lists every file with its MD5; updateLocalFiles reproduces A byte for byte",
    STEP,
    async () => {
      dirB = await makeDeviceDir("b");
      dirs.push(dirB);
      const objects = await listAllFiles(graph, alice.token);
      const prefix = `${alice.userId}/${graph}/`;
      for (const o of objects) assert.ok(o.Key.startsWith(prefix), `Key ${o.Key} should start with ${prefix}`);
      const plain = plainPaths(
        graph,
        objects.map((o) => o.Key),
      );
      assert.deepEqual([...plain].sort(), [...paths].sort());
      objects.forEach((o, i) => {
        const p = plain[i];
        assert.match(o.checksum, /^[0-9a-f]{32}$/, `checksum of ${p}`);
        assert.equal(o.checksum, metaA[p].md5, `checksum of ${p} vs rsapi's local md5`);
        assert.equal(o.checksum, md5(files[p]), `checksum of ${p}`);
        assert.ok(Number.isInteger(o.Size) && o.Size > 0, `Size of ${p}: ${o.Size}`);
        assert.ok(
          Number.isInteger(o.LastModified) && withinRecentMs(o.LastModified),
          `LastModified of ${p}: ${o.LastModified}`,
        );
        assert.ok(Number.isInteger(o.Txid) && o.Txid >= 1 && o.Txid <= txA, `Txid of ${p}: ${o.Txid}`);
      });

      for (const part of chunk(plain, DOWNLOAD_BATCH)) await rsapi.updateLocalFiles(graph, dirB, part, alice.token);
      const treeB = await readTree(dirB);
      assert.deepEqual([...treeB.keys()].sort(), [...paths].sort());
      for (const p of paths) {
        assert.ok(treeB.get(p).equals(Buffer.from(files[p])), `${p} differs after download`);
      }
      txB = await getTxid(graph, alice.token);
      assert.equal(txB, txA);
    },
  );

  it('7. live edit: the websocket pushes {"txid"}; get_diff from B\'s txid carries the change', STEP, async () => {
    ws = await connectWebSocket(`${WORKER_URL}/file-sync?graphuuid=${graph}`);
    sockets.push(ws);
    ws.send("PING");
    await ws.waitFor(() => true, { timeoutMs: 1_500 }).catch(() => {}); // an answer is optional
    for (const m of ws.messages) {
      assert.equal(m.type, "text", "only text frames");
      const v = JSON.parse(m.data);
      assert.ok(v !== null && typeof v === "object", `frame ${m.data}`);
      assert.ok(!Object.hasOwn(v, "txid"), `the PING answer must not carry txid: ${m.data}`);
    }

    const from = ws.messages.length;
    editedContents = `${originalContents}- edited on device A\n`;
    await writeFiles(dirA, { [contentsPath]: editedContents });
    const newTx = await rsapi.updateRemoteFiles(graph, dirA, [contentsPath], txA, alice.token);
    assert.equal(newTx, txA + 1);
    txA = newTx;
    const push = await ws.waitFor((m) => m.type === "text" && JSON.parse(m.data)?.txid === newTx, {
      timeoutMs: 5_000,
      from,
    });
    assert.equal(JSON.parse(push.data).txid, newTx);

    const diff = expectJson(await api("get_diff", { GraphUUID: graph, FromTXId: txB }, alice.token), 200, "get_diff");
    const txs = [...diff.Transactions].sort((a, b) => a.TXId - b.TXId);
    assert.deepEqual(
      txs.map((t) => t.TXId),
      [txB + 1],
    );
    const [t] = txs;
    assert.equal(t.TXType, "update_files");
    assert.equal(t.TXContent.length, 1);
    const [to, fromPath, checksum] = t.TXContent[0];
    assert.equal(fromPath, null);
    assert.equal(checksum, md5(editedContents));
    assert.deepEqual(plainPaths(graph, [to]), [contentsPath]);

    // the app's default (smart merge) path fetches pages into version-files/incoming ...
    const fetched = await rsapi.fetchRemoteFiles(graph, dirB, [contentsPath], alice.token);
    assert.deepEqual(fetched, [contentsPath]);
    const incoming = await readFile(
      path.join(dirB, "logseq", "version-files", "incoming", "pages", "contents.md"),
      "utf8",
    );
    assert.equal(incoming, editedContents);
    // ... the plain path writes it in place
    await rsapi.updateLocalFiles(graph, dirB, [contentsPath], alice.token);
    assert.equal((await readGraphFile(dirB, contentsPath)).toString("utf8"), editedContents);
    txB = Math.max(...txs.map((x) => x.TXId));
    assert.equal(txB, txA);
  });

  it("8. a stale or too-high txid is refused with the client's conflict text and changes nothing", STEP, async () => {
    // A keeps writing until the server txid has more digits than B's (10 vs 3: unpadded
    // numbers would compare the wrong way as strings, PROTOCOL.md §9.3).
    const journal = "journals/2024_01_02.md";
    const target = 10 ** String(txB).length;
    for (let i = 0; txA < target; i++) {
      await writeFiles(dirA, { [journal]: `- journal entry, revision ${i}\n` });
      txA = await rsapi.updateRemoteFiles(graph, dirA, [journal], txA, alice.token);
    }
    assert.equal(await getTxid(graph, alice.token), txA);
    assert.ok(txA > txB);

    const jp = "pages/日本語.md".normalize("NFC");
    await writeFiles(dirB, { [jp]: "- changed on device B while behind\n" });
    proxy.clearLog();
    const msg = await rsapi.rejectionMessage(rsapi.updateRemoteFiles(graph, dirB, [jp], txB, alice.token));
    const m = msg.match(TXID_CONFLICT_RE);
    assert.ok(m, `rsapi error does not match the client's regex: ${msg}`);
    const [, server, client] = m;
    assert.equal(Number(server), txA);
    assert.equal(Number(client), txB);
    assert.ok(Number(server) > Number(client));
    assert.ok(server > client, `as strings (the client's comparison): "${server}" > "${client}"`);
    await proxy.idle();
    const updates = proxy.log.filter((e) => e.path === "/file-sync/update_files");
    assert.ok(updates.length >= 1);
    for (const e of updates) {
      assert.equal(e.status, 409);
      assert.match(String(e.responseHeaders["content-type"]), /^application\/json/);
      assert.match(JSON.parse(e.responseBody).message, TXID_CONFLICT_RE);
    }

    // a txid ahead of the server: group1 < group2, numerically and as strings
    const ahead = txA + 90;
    const msg2 = await rsapi.rejectionMessage(rsapi.deleteRemoteFiles(graph, dirB, [jp], ahead, alice.token));
    const m2 = msg2.match(TXID_CONFLICT_RE);
    assert.ok(m2, `rsapi error does not match the client's regex: ${msg2}`);
    assert.equal(Number(m2[1]), txA);
    assert.equal(Number(m2[2]), ahead);
    assert.ok(m2[1] < m2[2], `as strings: "${m2[1]}" < "${m2[2]}"`);

    // nothing changed
    assert.equal(await getTxid(graph, alice.token), txA);
    const objects = await listAllFiles(graph, alice.token);
    const plain = plainPaths(
      graph,
      objects.map((o) => o.Key),
    );
    assert.deepEqual([...plain].sort(), [...paths].sort(), "no file added or removed");
    assert.equal(objects[plain.indexOf(jp)].checksum, md5(files[jp]), `${jp} keeps its content`);

    // B catches up: contiguous transactions after its txid
    const diff = expectJson(await api("get_diff", { GraphUUID: graph, FromTXId: txB }, alice.token), 200, "get_diff");
    const txs = [...diff.Transactions].sort((a, b) => a.TXId - b.TXId);
    assert.deepEqual(
      txs.map((t) => t.TXId),
      Array.from({ length: txA - txB }, (_, i) => txB + 1 + i),
    );
    assert.ok(txs.every((t) => t.TXType === "update_files"));
    await rsapi.updateLocalFiles(graph, dirB, [journal], alice.token);
    assert.ok((await readGraphFile(dirB, journal)).equals(await readGraphFile(dirA, journal)));
    txB = txA;
  });

  it("9. delete: a delete_files transaction, a deletion-log entry, gone from get_all_files", STEP, async () => {
    const prev = txA;
    const from = ws.messages.length;
    await rm(path.join(dirA, ...deletedPath.split("/")));
    const t = await rsapi.deleteRemoteFiles(graph, dirA, [deletedPath], txA, alice.token);
    assert.equal(t, prev + 1);
    txA = t;
    await ws.waitFor((m) => m.type === "text" && JSON.parse(m.data)?.txid === t, { timeoutMs: 5_000, from });

    const diff = expectJson(await api("get_diff", { GraphUUID: graph, FromTXId: prev }, alice.token), 200, "get_diff");
    assert.equal(diff.Transactions.length, 1, JSON.stringify(diff));
    const [tx] = diff.Transactions;
    assert.equal(tx.TXId, t);
    assert.equal(tx.TXType, "delete_files");
    assert.equal(tx.TXContent.length, 1);
    const [key, fromPath, checksum] = tx.TXContent[0];
    assert.equal(fromPath, null);
    assert.equal(checksum, null);
    assert.deepEqual(plainPaths(graph, [key]), [deletedPath]);

    const log = expectJson(
      await api("get_deletion_log_v20221212", { GraphUUID: graph, FromTXId: prev }, alice.token),
      200,
      "deletion log",
    );
    const entry = log.Transactions.find((e) => e.TXId === t);
    assert.ok(entry, `no deletion-log entry for ${t}: ${JSON.stringify(log)}`);
    assert.ok(Number.isInteger(entry.epoch), `epoch ${entry.epoch}`);
    assert.ok(Math.abs(entry.epoch - Date.now() / 1000) < 60, `epoch in seconds near now: ${entry.epoch}`);
    assert.deepEqual(plainPaths(graph, entry.paths), [deletedPath]);

    const objects = await listAllFiles(graph, alice.token);
    const plain = plainPaths(
      graph,
      objects.map((o) => o.Key),
    );
    assert.ok(!plain.includes(deletedPath), "deleted file still listed");
    assert.equal(plain.length, paths.length - 1);
  });

  it(
    "10. page history: versions of the edited and of the deleted file download with their old content",
    STEP,
    async () => {
      async function versions(file) {
        const [enc] = rsapi.encryptFnames(graph, [file]);
        const res = expectJson(
          await api("get_file_version_list", { GraphUUID: graph, File: enc }, alice.token),
          200,
          "get_file_version_list",
        );
        assert.ok(Array.isArray(res.VersionList) && res.VersionList.length >= 1, `${file}: ${JSON.stringify(res)}`);
        for (const v of res.VersionList) {
          assert.match(v.FileUUID, /^[0-9A-Za-z-]+$/);
          assert.match(v.VersionUUID, /^[0-9A-Za-z-]+$/);
          assert.ok(Number.isInteger(v.CreateTime) && withinRecentMs(v.CreateTime), `CreateTime ${v.CreateTime}`);
        }
        const ids = res.VersionList.map((v) => `${v.FileUUID}/${v.VersionUUID}`);
        await rsapi.updateLocalVersionFiles(graph, dirB, ids, alice.token);
        return Promise.all(
          ids.map((id) => readFile(path.join(dirB, "logseq", "version-files", ...id.split("/")), "utf8")),
        );
      }

      const contentsVersions = await versions(contentsPath);
      assert.ok(
        contentsVersions.includes(originalContents),
        `no version holds the original: ${JSON.stringify(contentsVersions)}`,
      );
      for (const c of contentsVersions)
        assert.ok(c === originalContents || c === editedContents, `unexpected version content ${JSON.stringify(c)}`);

      const deletedVersions = await versions(deletedPath);
      assert.ok(
        deletedVersions.includes(String(files[deletedPath])),
        `deleted file: ${JSON.stringify(deletedVersions)}`,
      );
    },
  );

  it(
    "11. delete_graph: gone from list_graphs, get_txid 404 graph-not-exist, rsapi sees graph-not-exist",
    STEP,
    async () => {
      const del = await api("delete_graph", { GraphUUID: graph }, alice.token);
      const list = expectJson(await api("list_graphs", undefined, alice.token), 200, "list_graphs");
      assert.ok(Array.isArray(list.Graphs));
      assert.ok(!list.Graphs.some((g) => g.GraphUUID === graph), JSON.stringify(list));
      expectError(await api("get_txid", { GraphUUID: graph }, alice.token), 404, "graph-not-exist", "get_txid");
      const msg = await rsapi.rejectionMessage(rsapi.deleteRemoteFiles(graph, dirA, [contentsPath], txA, alice.token));
      assert.ok(msg.includes("graph-not-exist"), msg);
      // checked last so that the checks above still run when it fails
      assert.ok(del.status >= 200 && del.status < 300, `delete_graph: ${del.status} ${del.text}`);
    },
  );
});

describe("another user never reaches this graph", () => {
  const owner = newUser("owner");
  const other = newUser("other");
  const password = "owner password 123";
  const files = { "pages/private.md": "- private page\n", "journals/2024_02_02.md": "- private journal\n" };
  const filePaths = Object.keys(files);
  let graph;
  let keys;
  let dirOwner;
  let dirOther;
  let ownerTxid;
  let snapshot;

  before(async () => {
    const created = expectJson(
      await api("create_graph", { GraphName: "private graph" }, owner.token),
      200,
      "create_graph",
    );
    graph = created.GraphUUID;
    keys = await encryptedKeyPair(password);
    const up = await api(
      "upload_graph_encrypt_keys",
      { GraphUUID: graph, "public-key": keys.publicKey, "encrypted-private-key": keys.armored },
      owner.token,
    );
    assert.ok(up.status >= 200 && up.status < 300, `upload keys: ${up.status} ${up.text}`);
    dirOwner = await makeDeviceDir("owner");
    dirOther = await makeDeviceDir("other");
    dirs.push(dirOwner, dirOther);
    await writeFiles(dirOwner, files);
    await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey); // fresh credential cache: owner
    ownerTxid = await rsapi.updateRemoteFiles(graph, dirOwner, filePaths, 0, owner.token);
    assert.equal(ownerTxid, 1);
    snapshot = await listAllFiles(graph, owner.token);
    assert.equal(snapshot.length, filePaths.length);
  }, STEP);

  after(
    async () => {
      if (graph) await api("delete_graph", { GraphUUID: graph }, owner.token).catch(() => {});
    },
    { timeout: 20_000 },
  );

  it("the JSON API answers 404 graph-not-exist to the other user", STEP, async () => {
    const [enc] = rsapi.encryptFnames(graph, [filePaths[0]]);
    const calls = [
      ["get_txid", { GraphUUID: graph }],
      ["get_all_files", { GraphUUID: graph }],
      ["get_files_meta", { GraphUUID: graph, Files: [enc] }],
      ["get_diff", { GraphUUID: graph, FromTXId: 0 }],
      ["get_graph_encrypt_keys", { GraphUUID: graph }],
      ["get_deletion_log_v20221212", { GraphUUID: graph, FromTXId: 0 }],
      ["get_file_version_list", { GraphUUID: graph, File: enc }],
      ["get_graph_salt", { GraphUUID: graph }],
    ];
    for (const [name, body] of calls) {
      expectError(await api(name, body, other.token), 404, "graph-not-exist", name);
    }
    const list = expectJson(await api("list_graphs", undefined, other.token), 200, "list_graphs");
    assert.deepEqual(list, { Graphs: [] });
  });

  it("rsapi with the other user's token can neither download nor commit", STEP, async () => {
    await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey); // the other user's own credential
    proxy.clearLog();
    await rsapi.rejectionMessage(rsapi.fetchRemoteFiles(graph, dirOther, filePaths, other.token));
    await proxy.idle();
    const gets = proxy.log.filter((e) => e.path === "/file-sync/get_files");
    assert.equal(gets.length, 1);
    assert.equal(gets[0].status, 404);
    assert.equal(JSON.parse(gets[0].responseBody).message, "graph-not-exist");
    assert.equal((await readTree(dirOther)).size, 0, "nothing written locally");

    await writeFiles(dirOther, { "pages/private.md": "- overwritten by someone else\n" });
    proxy.clearLog();
    const msg = await rsapi.rejectionMessage(
      rsapi.updateRemoteFiles(graph, dirOther, ["pages/private.md"], ownerTxid, other.token),
    );
    assert.ok(msg.includes("graph-not-exist"), msg);
    await proxy.idle();
    const updates = proxy.log.filter((e) => e.path === "/file-sync/update_files");
    assert.ok(updates.length >= 1);
    for (const e of updates) {
      assert.equal(e.status, 404);
      assert.equal(JSON.parse(e.responseBody).message, "graph-not-exist");
    }
  });

  it("the owner's graph is unchanged", STEP, async () => {
    assert.equal(await getTxid(graph, owner.token), ownerTxid);
    const now = await listAllFiles(graph, owner.token);
    assert.deepEqual(now, snapshot);
  });
});
