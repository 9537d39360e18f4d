// Encrypted backup: `npm run admin -- export` writes a graph in the layout rsapi's decrypt-cli
// reads, the export decrypts with the official library and the graph password alone (no
// server), and `npm run admin -- import` restores it into a new graph that the official
// library downloads byte-identical (docs/BACKUP.md).
//
// Needs WORKER_URL and ADMIN_TOKEN (the worker's) in the environment.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { cp, mkdir, readFile, readdir, stat, truncate, writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { promisify } from "node:util";

import { appCall } from "../harness/client.mjs";
import { startInterceptProxy } from "../harness/proxy.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { md5, makeDeviceDir, removeDirs, writeFiles, readTree } from "../harness/graph.mjs";

const WORKER_URL = process.env.WORKER_URL;
const ADMIN = process.env.ADMIN_TOKEN;
const PASSWORD = "correct horse battery staple";
const STEP = { timeout: 60_000 };
const execFileP = promisify(execFile);

/** `npm run admin -- <args>` (the script itself) against the test worker; parsed stdout. */
async function admin(...args) {
  const { stdout } = await execFileP(
    process.execPath,
    ["scripts/admin.mjs", "--url", WORKER_URL, "--token", ADMIN, ...args],
    {
      timeout: 60_000,
      maxBuffer: 16 << 20,
    },
  );
  return JSON.parse(stdout);
}

/** Same, expecting exit code 1; resolves to stderr. */
async function adminFails(...args) {
  try {
    const { stdout } = await execFileP(
      process.execPath,
      ["scripts/admin.mjs", "--url", WORKER_URL, "--token", ADMIN, ...args],
      {
        timeout: 60_000,
      },
    );
    throw new Error(`expected admin ${args[0]} to fail, it printed ${stdout}`);
  } catch (e) {
    if (e.code !== 1) throw e;
    return e.stderr;
  }
}

function api(name, body, token) {
  return appCall(WORKER_URL, name, body, token, { timeoutMs: 20_000 });
}

/** A call that must answer 200; a 5xx (e.g. a busy local D1) is retried for idempotent calls. */
async function ok(name, body, token) {
  let r;
  for (let attempt = 1; attempt <= 3; attempt++) {
    r = await api(name, body, token);
    if (r.status < 500 || name === "create_graph") break;
    await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
  }
  assert.equal(r.status, 200, `${name}: ${r.status} ${r.text}`);
  return r.json;
}

/** get_all_files, following NextContinuationToken; name (bare e.<hex>) -> object. */
async function allFiles(graph, token) {
  const out = new Map();
  let next;
  for (let page = 0; page < 50; page++) {
    const res = await ok(
      "get_all_files",
      next ? { GraphUUID: graph, ContinuationToken: next } : { GraphUUID: graph },
      token,
    );
    for (const o of res.Objects) out.set(o.Key.split("/").pop(), o);
    next = res.NextContinuationToken;
    if (!next) return out;
  }
  throw new Error("get_all_files: too many pages");
}

/**
 * A stand-in for the server that serves nothing but an export directory: `get_files` answers
 * URLs for the `e.<hex>` files found in `dir` (the long ones through the manifest), and GET
 * returns their bytes. rsapi's updateLocalFiles can then decrypt the export offline.
 */
async function serveExport(dir, manifest) {
  const where = new Map(manifest.files.map((f) => [f.name, path.join(dir, f.stored_as)]));
  const top = new Set((await readdir(dir)).filter((n) => n.startsWith("e.")));
  for (const n of top) where.set(n, path.join(dir, n));
  const log = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      log.push({ method: req.method, url: req.url });
      try {
        if (req.method === "POST" && req.url === "/file-sync/get_files") {
          const { Files } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          log.at(-1).files = Files;
          const urls = {};
          for (const n of Files) if (where.has(n)) urls[n] = `http://127.0.0.1:${server.address().port}/blob/${n}`;
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ PresignedFileUrls: urls }));
        } else if (req.method === "GET" && req.url.startsWith("/blob/") && where.has(req.url.slice(6))) {
          const buf = await readFile(where.get(req.url.slice(6)));
          res.writeHead(200, { "content-type": "application/octet-stream", "content-length": buf.length });
          res.end(buf);
        } else {
          res.writeHead(404, { "content-type": "application/json" });
          res.end('{"message":"not found"}');
        }
      } catch (e) {
        res.writeHead(500);
        res.end(String(e));
      }
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    log,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

const LONG_PATH = `pages/${"a rather long page title ".repeat(5).trim()}.md`; // 133 bytes -> 300-char name

/** The original graph: nested path, non-ASCII NFC name, binary asset, empty file, long name. */
function originalFiles() {
  const png = Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), randomBytes(96 * 1024)]);
  return {
    "pages/contents.md": "- [[Ünïcödé — 日本語のページ]]\n- [[note]]\n",
    "journals/2024_01_01.md": "- a journal entry\n- TODO back up the graph\n",
    "pages/projects/2024/deep/note.md": "- a page four folders deep\n",
    ["pages/Ünïcödé — 日本語のページ.md".normalize("NFC")]: "- café déjà vu, 日本語, emoji 📝\n",
    "assets/image_1700000000000_0.png": png,
    "logseq/config.edn": "{:meta/version 1\n :preferred-format :markdown}\n",
    "logseq/custom.css": "",
    [LONG_PATH]: "- a page whose encrypted name is longer than a file name may be\n",
  };
}

describe("encrypted backup: export, offline decryption, import", () => {
  const email = `backup-${randomUUID()}@example.com`;
  const files = originalFiles();
  const paths = Object.keys(files);
  let proxy;
  let token;
  let graph;
  let graphName;
  let keys;
  let txid;
  let srcDir;
  let workDir;
  let exportDir;
  let manifest;
  let nameOf; // plain path -> e.<hex>
  let secretKey; // as recovered from the export
  let restored;
  const dirs = [];

  before(async () => {
    if (!WORKER_URL) throw new Error("WORKER_URL is not set");
    if (!ADMIN) throw new Error("ADMIN_TOKEN is not set (the worker's admin token)");
    proxy = await startInterceptProxy({ workerUrl: WORKER_URL });
    await rsapi.setProxy(proxy.url);
    workDir = await makeDeviceDir("backup");
    dirs.push(workDir);
    exportDir = path.join(workDir, "export");
  });

  after(async () => {
    await rsapi.setProxy(null).catch(() => {});
    await proxy?.close();
    await removeDirs(dirs);
  });

  it("builds a real encrypted graph with the official library", STEP, async () => {
    assert.equal((await admin("create-user", email)).email, email);
    token = (await admin("mint", email, "backup test")).id_token;
    graphName = `backup ${Date.now()}`;
    graph = (await ok("create_graph", { GraphName: graphName }, token)).GraphUUID;
    keys = await rsapi.keygen();
    const armored = (await rsapi.ageEncryptWithPassphrase(PASSWORD, keys.secretKey)).toString("utf8");
    keys.armored = armored;
    await ok(
      "upload_graph_encrypt_keys",
      { GraphUUID: graph, "public-key": keys.publicKey, "encrypted-private-key": armored },
      token,
    );

    srcDir = await makeDeviceDir("backup-src");
    dirs.push(srcDir);
    await writeFiles(srcDir, files);
    await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);
    txid = await rsapi.updateRemoteFiles(graph, srcDir, paths, 0, token);
    assert.equal(txid, 1);
    const names = rsapi.encryptFnames(graph, paths);
    nameOf = Object.fromEntries(paths.map((p, i) => [p, names[i]]));
    assert.ok(nameOf[LONG_PATH].length > 255, "one encrypted name is longer than a file name may be");

    const listed = await allFiles(graph, token);
    assert.deepEqual([...listed.keys()].sort(), Object.values(nameOf).sort());
    for (const p of paths) assert.equal(listed.get(nameOf[p]).checksum, md5(files[p]), p);
  });

  it("export writes decrypt-cli's layout plus meta/manifest.json, ciphertext only", STEP, async () => {
    const summary = await admin("export", graph, exportDir);
    assert.equal(summary.exported, exportDir);
    assert.deepEqual(summary.graph, { id: graph, name: graphName, txid: 1 });
    assert.equal(summary.files, paths.length);
    assert.equal(summary.keys, true);
    assert.equal(summary.long_names, 1);
    assert.deepEqual(await readdir(workDir), ["export"], "no staging directory left behind");

    // Top level: exactly what decrypt-cli reads (keys.edn + one e.<hex> per file) and meta/.
    const top = await readdir(exportDir, { withFileTypes: true });
    const topFiles = top
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
    const shortNames = Object.values(nameOf).filter((n) => n.length <= 255);
    assert.deepEqual(topFiles, ["keys.edn", ...shortNames].sort());
    assert.deepEqual(
      top.filter((e) => e.isDirectory()).map((e) => e.name),
      ["meta"],
    );

    // keys.edn: an EDN map of the two strings decrypt-cli looks up (main.rs:11-40).
    const edn = await readFile(path.join(exportDir, "keys.edn"), "utf8");
    const m = edn.match(/^\{"public-key" "(age1[0-9a-z]+)"\s+"encrypted-private-key" "((?:[^"\\]|\\[nrt"\\])*)"\}\n$/);
    assert.ok(m, `keys.edn: ${edn}`);
    assert.equal(m[1], keys.publicKey);
    assert.equal(JSON.parse(`"${m[2]}"`), keys.armored);

    manifest = JSON.parse(await readFile(path.join(exportDir, "meta", "manifest.json"), "utf8"));
    assert.equal(manifest.format, "logseq-sync-export");
    assert.equal(manifest.graph.id, graph);
    assert.equal(manifest.graph.name, graphName);
    assert.equal(manifest.graph.txid, 1);
    assert.equal(manifest.keys_file, "keys.edn");
    const listed = await allFiles(graph, token);
    assert.deepEqual(
      manifest.files.map((f) => f.name),
      [...listed.keys()].sort(),
    );
    for (const f of manifest.files) {
      const o = listed.get(f.name);
      assert.deepEqual(
        [f.checksum, f.size, f.last_modified, f.txid],
        [o.checksum, o.Size, o.LastModified, o.Txid],
        f.name,
      );
      assert.equal(f.stored_as, f.name.length <= 255 ? f.name : `meta/long-names/${f.stored_as.split("/").pop()}`);
      const body = await readFile(path.join(exportDir, f.stored_as));
      assert.equal(body.length, f.size);
      assert.ok(body.subarray(0, 22).equals(Buffer.from("age-encryption.org/v1\n")), `${f.name} is age ciphertext`);
    }
    for (const p of paths) {
      if (files[p].length >= 16) {
        const body = await readFile(path.join(exportDir, manifest.files.find((f) => f.name === nameOf[p]).stored_as));
        assert.equal(body.indexOf(Buffer.from(files[p]).subarray(0, 16)), -1, `${p}: no plaintext in the export`);
      }
    }
    assert.ok(!JSON.stringify(manifest).includes(keys.secretKey) && !edn.includes(keys.secretKey));
  });

  it("the export decrypts with the official library and the password alone (decrypt-cli's steps)", STEP, async () => {
    const edn = await readFile(path.join(exportDir, "keys.edn"), "utf8");
    const [, pub, escaped] = edn.match(/"public-key" "([^"]+)"\s+"encrypted-private-key" "((?:[^"\\]|\\.)*)"/);
    const encrypted = JSON.parse(`"${escaped}"`);
    // main.rs:103-107 decrypt_with_user_passphrase
    assert.match(
      await rsapi.rejectionMessage(rsapi.ageDecryptWithPassphrase("wrong password", encrypted)),
      /Decryption failed/,
    );
    secretKey = (await rsapi.ageDecryptWithPassphrase(PASSWORD, encrypted)).toString("utf8");
    assert.equal(secretKey, keys.secretKey);

    // main.rs:109-110 to_raw_x25519_key, main.rs:58-59 decrypt_filename: a fresh graph id
    // shares nothing with the one that uploaded.
    const offline = randomUUID();
    await rsapi.setEnv(offline, "prod", secretKey, pub);
    // main.rs:114-121: every regular top-level file but keys.edn is a file of the graph.
    const top = (await readdir(exportDir, { withFileTypes: true }))
      .filter((e) => e.isFile() && e.name !== "keys.edn")
      .map((e) => e.name);
    const long = manifest.files.filter((f) => f.stored_as !== f.name).map((f) => f.name);
    const decrypted = rsapi.decryptFnames(offline, [...top, ...long]);
    assert.deepEqual([...decrypted].sort(), [...paths].sort());

    // main.rs:48-50 decrypt_with_x25519 of each body: rsapi's download path (decrypt_content)
    // fed from the export directory by a stand-in server; the worker is not involved.
    const server = await serveExport(exportDir, manifest);
    const offlineProxy = await startInterceptProxy({ workerUrl: server.url });
    const outDir = await makeDeviceDir("backup-offline");
    dirs.push(outDir);
    try {
      await rsapi.setProxy(offlineProxy.url);
      await rsapi.updateLocalFiles(offline, outDir, paths, "no-token-needed");
    } finally {
      await rsapi.setProxy(proxy.url);
      await offlineProxy.close();
      await server.close();
    }
    assert.deepEqual(
      server.log.filter((e) => e.method === "POST").map((e) => [...e.files].sort()),
      [Object.values(nameOf).sort()],
    );
    assert.ok(server.log.filter((e) => e.method === "GET").length >= paths.length);
    const tree = await readTree(outDir);
    assert.deepEqual([...tree.keys()].sort(), [...paths].sort());
    for (const p of paths) assert.ok(tree.get(p).equals(Buffer.from(files[p])), `${p} is byte-identical`);
  });

  it("import restores into a new graph equal to the original", STEP, async () => {
    const name = `restored ${Date.now()}`;
    const summary = await admin("import", exportDir, email, name);
    restored = summary.graph_id;
    assert.notEqual(restored, graph);
    assert.deepEqual(summary, {
      graph_id: restored,
      name,
      email,
      files: paths.length,
      bytes: manifest.files.reduce((a, f) => a + f.size, 0),
      txid: 1,
      keys: true,
      source_graph: graph,
    });

    const { Graphs } = await ok("list_graphs", undefined, token);
    assert.ok(Graphs.some((g) => g.GraphUUID === restored && g.GraphName === name));
    const a = await allFiles(graph, token);
    const b = await allFiles(restored, token);
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [n, o] of a) assert.deepEqual([b.get(n).checksum, b.get(n).Size], [o.checksum, o.Size], n);
    assert.deepEqual(
      await ok("get_graph_encrypt_keys", { GraphUUID: restored }, token),
      await ok("get_graph_encrypt_keys", { GraphUUID: graph }, token),
    );
    assert.equal((await ok("get_txid", { GraphUUID: restored }, token)).TXId, 1);

    // The import's own token is revoked afterwards.
    const { tokens } = await admin("tokens", email);
    const importTokens = tokens.filter((t) => String(t.label).startsWith("import of"));
    assert.equal(importTokens.length, 1);
    assert.notEqual(importTokens[0].revoked_at, null);
  });

  it("the official library downloads the restored graph byte-identical", STEP, async () => {
    await rsapi.setEnv(restored, "prod", secretKey, keys.publicKey);
    const names = [...(await allFiles(restored, token)).keys()];
    assert.deepEqual([...rsapi.decryptFnames(restored, names)].sort(), [...paths].sort());
    const outDir = await makeDeviceDir("backup-restored");
    dirs.push(outDir);
    await rsapi.updateLocalFiles(restored, outDir, paths, token);
    const tree = await readTree(outDir);
    assert.deepEqual([...tree.keys()].sort(), [...paths].sort());
    for (const p of paths) assert.ok(tree.get(p).equals(Buffer.from(files[p])), `${p} is byte-identical`);
  });

  it("fails clearly and leaves nothing half-done", STEP, async () => {
    const graphsBefore = (await ok("list_graphs", undefined, token)).Graphs.length;

    // export: unknown graph, non-empty target
    const missing = path.join(workDir, "missing");
    assert.match(await adminFails("export", randomUUID(), missing), /graph-not-exist[\s\S]*nothing was written/);
    await assert.rejects(stat(missing), { code: "ENOENT" });
    assert.match(await adminFails("export", graph, exportDir), /not an empty directory/);

    // import: unknown user; name taken; a damaged export; a directory that is not an export
    assert.match(
      await adminFails("import", exportDir, `nobody-${randomUUID()}@example.com`),
      /no such user nobody-.*create it first/,
    );
    assert.match(await adminFails("import", exportDir, email, manifest.graph.name), /already has a graph named/);
    const damaged = path.join(workDir, "damaged");
    await cp(exportDir, damaged, { recursive: true });
    const victim = manifest.files.find((f) => f.size > 100);
    await truncate(path.join(damaged, victim.stored_as), victim.size - 1);
    assert.match(
      await adminFails("import", damaged, email, "never created"),
      new RegExp(`${victim.stored_as}: ${victim.size - 1} bytes`),
    );
    const notExport = path.join(workDir, "not-an-export");
    await mkdir(notExport);
    await writeFile(path.join(notExport, "keys.edn"), "{}");
    assert.match(await adminFails("import", notExport, email), /manifest\.json not found/);

    assert.equal((await ok("list_graphs", undefined, token)).Graphs.length, graphsBefore, "no graph was created");
  });
});
