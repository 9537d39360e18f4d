// D1 cost of the hot endpoints, from D1's own result metadata (the Worker
// reports it per request in x-d1-* headers), and the presigned-PUT path of
// get_upload_urls against wrangler's emulated R2 S3 endpoint.
//
// Figures are printed (they go into the notes and docs/PERFORMANCE.md); the
// assertions are the budgets: a stock-client edit of one file ≤ 4 rows written
// in all (the /s3/ receiver writes none), a 20-file commit of new files ≤ 2.5
// rows per file, reads proportional to what an answer returns, get_txid a
// constant handful.

import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { appCall, rsapiCall, raw } from "../harness/client.mjs";
import { presign } from "../harness/s3sign.mjs";
import { mintToken } from "../../scripts/lib/jwt.mjs";

const BASE = process.env.WORKER_URL;
const SECRET = process.env.JWT_SECRET;
const md5 = (b) => createHash("md5").update(b).digest("hex");
const name = () => `e.${randomBytes(24).toString("hex")}`;

function cost(res) {
  return {
    queries: Number(res.headers["x-d1-queries"]),
    read: Number(res.headers["x-d1-rows-read"]),
    written: Number(res.headers["x-d1-rows-written"]),
  };
}

/** Uploads `n` bodies through get_upload_urls + PUT and commits them in one update_files. */
async function commit(token, graph, txid, files) {
  const urls = await rsapiCall(BASE, "get_upload_urls", { GraphUUID: graph, Count: files.length }, token);
  assert.equal(urls.status, 200, urls.text);
  const body = { GraphUUID: graph, TXId: txid, Files: {} };
  await Promise.all(
    urls.json.Uploads.map(async ({ Key, URL }, i) => {
      const put = await fetch(URL, { method: "PUT", body: files[i].bytes });
      assert.equal(put.status, 200, `PUT ${URL}: ${await put.text()}`);
      body.Files[files[i].name] = [Key, md5(files[i].plain)];
    }),
  );
  const res = await rsapiCall(BASE, "update_files", body, token);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.TXId, txid + 1);
  return res;
}

/** Uploads `files` through the /s3/ receiver as the stock client does; the receiver's D1 cost. */
async function stockUploads(token, files) {
  const cred = await rsapiCall(BASE, "get_temp_credential", undefined, token);
  assert.equal(cred.status, 200, cred.text);
  const c = cred.json.Credentials;
  const prefix = cred.json.S3Prefix.replace(/^logseq-file-sync-bucket-prod\//, "");
  const Files = {};
  let written = 0;
  let queries = 0;
  for (const f of files) {
    const key = `${prefix}/${randomBytes(9)
      .toString("base64url")
      .replace(/[^a-z]/gi, "x")
      .toLowerCase()
      .slice(0, 12)}`;
    const { path } = presign({
      method: "PUT",
      origin: BASE,
      pathPrefix: "/s3",
      key,
      credentials: c,
    });
    const put = await raw(BASE, path, {
      method: "PUT",
      body: f.bytes,
      headers: { "Content-Type": "application/octet-stream" },
    });
    assert.equal(put.status, 200, put.text);
    written += Number(put.headers["x-d1-rows-written"] ?? 0);
    queries += Number(put.headers["x-d1-queries"] ?? 0);
    Files[f.name] = [key, md5(f.plain)];
  }
  return { Files, written, queries };
}

const fileSet = (n, size = 64) =>
  Array.from({ length: n }, () => {
    const plain = randomBytes(size);
    return { name: name(), plain, bytes: Buffer.concat([Buffer.from("age-encryption.org/v1\n"), plain]) };
  });

describe("D1 cost per request (D1's own metadata)", () => {
  const token = mintToken(SECRET, `cost-${Date.now()}@example.com`);
  let graph;
  let txid = 0;
  const figures = {};

  before(async () => {
    const res = await appCall(BASE, "create_graph", { GraphName: `cost ${Date.now()}` }, token);
    assert.equal(res.status, 200, res.text);
    graph = res.json.GraphUUID;
  });

  test("update_files of 20 new files writes at most 2.5 rows per file", async () => {
    const res = await commit(token, graph, txid++, fileSet(20));
    const c = cost(res);
    figures.update_20_new = c;
    assert.ok(c.written > 0, "the worker reports rows written");
    assert.ok(c.written <= 2.5 * 20, `rows written ${c.written} for 20 files`);
  });

  test("stock client: the /s3/ receiver makes no D1 query; 20 new files ≤ 2.5 rows per file; a 1-file edit ≤ 4 rows", async () => {
    // A graph of its own: the listing test below counts this graph's files.
    const g = await appCall(BASE, "create_graph", { GraphName: `cost stock ${Date.now()}` }, token);
    assert.equal(g.status, 200, g.text);
    const graph = g.json.GraphUUID;
    let txid = 0;
    const fresh = fileSet(20);
    const up = await stockUploads(token, fresh);
    assert.equal(up.queries, 0, "the receiver's critical path is the R2 put only");
    assert.equal(up.written, 0);
    const res = await rsapiCall(BASE, "update_files", { GraphUUID: graph, TXId: txid, Files: up.Files }, token);
    assert.equal(res.status, 200, res.text);
    txid = res.json.TXId;
    const c = cost(res);
    figures.stock_update_20_new = c;
    assert.ok(c.written <= 2.5 * 20, `rows written ${c.written} for 20 new files`);
    // One edit of one existing file: upload + commit, versions kept.
    const [edit] = fileSet(1);
    edit.name = fresh[0].name;
    const one = await stockUploads(token, [edit]);
    const r1 = await rsapiCall(BASE, "update_files", { GraphUUID: graph, TXId: txid, Files: one.Files }, token);
    assert.equal(r1.status, 200, r1.text);
    txid = r1.json.TXId;
    figures.stock_edit_1 = { ...cost(r1), receiver: one.written };
    assert.ok(one.written + cost(r1).written <= 4, `a 1-file edit wrote ${one.written} + ${cost(r1).written} rows`);
  });

  test("update_files overwriting 20 files (versions kept) writes at most 4 rows per file", async () => {
    const files = fileSet(20);
    // Overwrite the names of the previous commit: list them first.
    const all = await appCall(BASE, "get_all_files", { GraphUUID: graph }, token);
    const names = all.json.Objects.map((o) => o.Key.split("/").pop());
    for (const [i, f] of files.entries()) f.name = names[i];
    const res = await commit(token, graph, txid++, files);
    const c = cost(res);
    figures.update_20_overwrite = c;
    assert.ok(c.written <= 4 * 20, `rows written ${c.written} for 20 overwrites`);
    const versions = await appCall(BASE, "get_file_version_list", { GraphUUID: graph, File: names[0] }, token);
    assert.equal(versions.json.VersionList.length, 1);
  });

  test("get_all_files of 1,000 files reads about one row per file returned", async () => {
    for (let i = 0; i < 48; i++) await commit(token, graph, txid++, fileSet(20, 16)); // 20 + 960 = 980 files
    await commit(token, graph, txid++, fileSet(20, 16)); // 1,000 files
    const res = await appCall(BASE, "get_all_files", { GraphUUID: graph }, token);
    assert.equal(res.status, 200);
    assert.equal(res.json.Objects.length, 1000);
    assert.equal(res.json.NextContinuationToken, "");
    const c = cost(res);
    figures.get_all_files_1000 = c;
    assert.ok(c.read <= 1000 + 50, `rows read ${c.read} for 1,000 files`);
  });

  test("get_diff of 10 transactions reads rows proportional to the answer, not the graph", async () => {
    const from = txid - 10;
    const res = await appCall(BASE, "get_diff", { GraphUUID: graph, FromTXId: from }, token);
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.json.Transactions.map((t) => t.TXId),
      Array.from({ length: 10 }, (_, i) => from + 1 + i),
    );
    const c = cost(res);
    figures.get_diff_10 = c;
    assert.ok(c.read <= 10 + 20, `rows read ${c.read} for 10 transactions in a graph of 1,000 files`);
  });

  test("get_txid reads a constant handful of rows", async () => {
    const res = await appCall(BASE, "get_txid", { GraphUUID: graph }, token);
    assert.equal(res.json.TXId, txid);
    const c = cost(res);
    figures.get_txid = c;
    assert.ok(c.read <= 2, `rows read ${c.read}`);
    assert.equal(c.written, 0);
    console.log(`D1 cost figures: ${JSON.stringify(figures)}`);
  });
});
