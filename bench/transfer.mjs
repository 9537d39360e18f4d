// Figures 1 and 2: moving the whole graph with the official library, against raw object PUTs and
// GETs of the same sizes with the same concurrency (docs/PERFORMANCE.md).
//
// Upload, measured: rsapi `updateRemoteFiles` in batches of 20 (as the app does), each batch
// chained on the txid the previous one returned: rsapi reads, MD5s and age-encrypts every file,
// PUTs it through the TLS-intercepting proxy to the worker's /s3/ receiver (signature check,
// streaming into R2 through the binding, one `uploads` row), then commits the batch with
// update_files. Baseline: the same number of objects with the same encrypted sizes, PUT to
// presigned URLs of get_upload_urls straight at the local R2 S3 endpoint, 20 at a time, batch
// after batch; URLs fetched before the clock starts, nothing committed.
//
// Download, measured: get_all_files (all pages), name decryption, then rsapi `updateLocalFiles`
// in batches of 100 (get_files, two GETs per file as rsapi always does, age-decryption, writing
// the file). Baseline: one GET per object of the same presigned URLs, 100 at a time, bodies read
// to the end; URLs fetched before the clock starts.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chunk } from "../tests/harness/graph.mjs";
import { raw } from "../tests/harness/client.mjs";
import { presign } from "../tests/harness/s3sign.mjs";
import { rsapi, d1Cost, putUrl, getUrl, probeGet, ageLike, md5 } from "./context.mjs";
import { Prng } from "./prng.mjs";
import { now, sum } from "./stats.mjs";

export const UPLOAD_BATCH = 20;
export const DOWNLOAD_BATCH = 100;

function cpuDelta(a, b) {
  return { client: b.client - a.client, worker: b.worker - a.worker, wrangler: b.wrangler - a.wrangler };
}

/**
 * Uploads `files` (already written under `dir`) into a new graph with rsapi; then the baseline.
 * @returns {Promise<{graph: string, rsapiMs: number, baselineMs: number, encryptedBytes: number, ...}>}
 */
export async function uploadRun(ctx, { user, files, dir, name, diagnostics = true, log = () => {} }) {
  const graph = await ctx.newGraph(user, name);
  const batches = chunk(
    files.map((f) => f.path),
    UPLOAD_BATCH,
  );

  // measured: the official library through the proxy
  ctx.proxy.clearLog();
  const logFrom = ctx.server.lines.length;
  const cpu0 = ctx.cpuSnapshot();
  const t0 = now();
  let txid = 0;
  const windows = [];
  for (const [i, part] of batches.entries()) {
    const start = now();
    txid = await rsapi.updateRemoteFiles(graph, dir, part, txid, user.token);
    windows.push([start, now()]);
    if (txid !== i + 1) throw new Error(`upload batch ${i}: txid ${txid}, expected ${i + 1}`);
  }
  const rsapiMs = now() - t0;
  const cpu1 = ctx.cpuSnapshot();
  await ctx.proxy.idle(30_000);
  const entries = [...ctx.proxy.log];
  const puts = entries.filter((e) => e.kind === "s3" && e.method === "PUT");
  const updates = entries.filter((e) => e.path === "/file-sync/update_files");
  if (puts.length !== files.length || puts.some((e) => e.status !== 200)) {
    throw new Error(
      `upload: ${puts.length} PUTs for ${files.length} files, statuses ${[...new Set(puts.map((e) => e.status))]}`,
    );
  }
  const phases = batchPhases(windows, puts, updates);
  const access = ctx.server.accessLog(logFrom);
  const s3Lines = access.filter((l) => l.route === "s3" && l.method === "PUT");
  const updateCosts = updates.map((e) => d1Cost(e));
  log(`rsapi upload ${files.length} files: ${(rsapiMs / 1000).toFixed(1)} s`);

  // sizes as stored (encrypted), for the baseline
  const { objects } = await ctx.listAll(graph, user.token);
  if (objects.length !== files.length) throw new Error(`listed ${objects.length} of ${files.length} files`);
  const sizes = objects.map((o) => o.Size);
  const encryptedBytes = sum(sizes);

  // baseline: presigned PUTs straight to R2's S3 endpoint, same sizes, same batches
  const urls = await ctx.uploadUrls(graph, user.token, sizes.length);
  const rng = new Prng(0xba5e, files.length);
  const bodies = sizes.map((s) => ageLike(s, (n) => rng.bytes(n)));
  const cpu2 = ctx.cpuSnapshot();
  const t1 = now();
  for (const part of chunk([...bodies.keys()], UPLOAD_BATCH)) {
    await Promise.all(part.map((i) => putUrl(urls[i].URL, bodies[i])));
  }
  const baselineMs = now() - t1;
  const cpu3 = ctx.cpuSnapshot();
  log(`baseline PUT ${sizes.length} objects: ${(baselineMs / 1000).toFixed(1)} s`);

  // the worker's own receiver without rsapi and the proxy: the same bodies PUT to /s3/<key>,
  // signed (standard SigV4) with a get_temp_credential credential, same batches
  let receiverMs = NaN;
  let presignedMs = NaN;
  let cpu4 = cpu3;
  let cpu5 = cpu3;
  if (diagnostics) {
    const cred = (await ctx.rs("get_temp_credential", undefined, user.token)).json;
    const prefix = cred.S3Prefix.slice(cred.S3Prefix.indexOf("/") + 1);
    cpu4 = ctx.cpuSnapshot();
    const t2 = now();
    for (const part of chunk([...bodies.keys()], UPLOAD_BATCH)) {
      await Promise.all(
        part.map((i) => putReceiver(ctx.url, cred.Credentials, `${prefix}/bench${r32(rng)}`, bodies[i])),
      );
    }
    receiverMs = now() - t2;
    cpu5 = ctx.cpuSnapshot();
    log(`worker receiver PUT ${sizes.length} objects: ${(receiverMs / 1000).toFixed(1)} s`);

    // the primary (presigned) flow of a patched client, into a second graph: per batch of 20,
    // get_upload_urls, the PUTs straight to R2, update_files. No encryption (same bodies).
    const graph2 = await ctx.newGraph(user, `${name} presigned`);
    const names = ctx.encryptedNames(
      graph2,
      files.map((f) => f.path),
    );
    const t3 = now();
    let tx2 = 0;
    for (const part of chunk([...bodies.keys()], UPLOAD_BATCH)) {
      const res = await ctx.rs("get_upload_urls", { GraphUUID: graph2, Count: part.length }, user.token);
      const commit = {};
      await Promise.all(
        part.map(async (i, k) => {
          const { Key, URL } = res.json.Uploads[k];
          await putUrl(URL, bodies[i]);
          commit[names[i]] = [Key, md5(bodies[i])];
        }),
      );
      tx2 = (await ctx.rs("update_files", { GraphUUID: graph2, TXId: tx2, Files: commit }, user.token)).json.TXId;
    }
    presignedMs = now() - t3;
    log(`presigned flow ${sizes.length} objects: ${(presignedMs / 1000).toFixed(1)} s`);
  }

  return {
    graph,
    txid,
    files: files.length,
    plainBytes: sum(files.map((f) => f.bytes.length)),
    encryptedBytes,
    rsapiMs,
    baselineMs,
    receiverMs,
    presignedMs,
    cpu: cpuDelta(cpu0, cpu1),
    baselineCpu: cpuDelta(cpu2, cpu3),
    receiverCpu: cpuDelta(cpu4, cpu5),
    batchPhases: phases,
    phases: {
      // time spent in each kind of request, as seen by the proxy (requests overlap within a batch)
      putMsMedian: medianOf(puts.map((e) => e.end - e.at)),
      updateMsMedian: medianOf(updates.map((e) => e.end - e.at)),
      updateMsTotal: sum(updates.map((e) => e.end - e.at)),
      credentialCalls: entries.filter((e) => e.path === "/file-sync/get_temp_credential").length,
    },
    d1: {
      commits: updates.length,
      updateRowsWritten: sum(updateCosts.map((c) => c.written)),
      updateRowsRead: sum(updateCosts.map((c) => c.read)),
      updateQueries: sum(updateCosts.map((c) => c.queries)),
      receiverRowsWritten: sum(s3Lines.map((l) => l.rows_written ?? 0)),
      receiverRowsRead: sum(s3Lines.map((l) => l.rows_read ?? 0)),
      receiverLines: s3Lines.length,
    },
  };
}

/** 12 random lower-case letters from the bench PRNG (an upload key's last part). */
function r32(rng) {
  let out = "";
  for (let i = 0; i < 12; i++) out += String.fromCharCode(97 + (rng.next() % 26));
  return out;
}

/** PUT to the worker's /s3/<key> receiver with a standard SigV4 presign of a temp credential. */
async function putReceiver(origin, cred, key, body) {
  const { path } = presign({
    method: "PUT",
    origin,
    pathPrefix: "/s3",
    key,
    credentials: cred,
  });
  const res = await raw(origin, path, {
    method: "PUT",
    body,
    headers: { "Content-Type": "application/octet-stream" },
    timeoutMs: 120_000,
  });
  if (res.status !== 200) throw new Error(`receiver PUT: ${res.status} ${res.text.slice(0, 200)}`);
}

/**
 * Where the time of each rsapi batch goes, from the proxy's timestamps, summed over batches (ms):
 * before the first PUT reaches the proxy (reading, MD5, encryption, connection set-up), the PUTs
 * (first arrival to last answer), between the last PUT and update_files, update_files itself,
 * and after it (rsapi copying page files to version-files/base).
 */
function batchPhases(windows, puts, updates) {
  const out = { prepare: 0, puts: 0, gap: 0, commit: 0, after: 0 };
  windows.forEach(([start, end], i) => {
    const mine = puts.filter((e) => e.at >= start && e.at <= end);
    const u = updates[i];
    if (!mine.length || !u) return;
    const firstPut = Math.min(...mine.map((e) => e.at));
    const lastPut = Math.max(...mine.map((e) => e.end ?? e.at));
    out.prepare += firstPut - start;
    out.puts += lastPut - firstPut;
    out.gap += u.at - lastPut;
    out.commit += (u.end ?? u.at) - u.at;
    out.after += end - (u.end ?? u.at);
  });
  return out;
}

function medianOf(v) {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : NaN;
}

/**
 * A fresh device downloads the whole graph with rsapi; then the baseline.
 * @param {Map<string, Buffer>} expected plain path -> bytes, to check what was written
 */
export async function downloadRun(ctx, { user, graph, expected, doubleGet = true, log = () => {} }) {
  const dir = await mkdtemp(path.join(tmpdir(), "logseq-sync-bench-dl-"));
  try {
    ctx.proxy.clearLog();
    const cpu0 = ctx.cpuSnapshot();
    const t0 = now();
    const { objects, pages } = await ctx.listAll(graph, user.token);
    const paths = ctx.plainPaths(
      graph,
      objects.map((o) => o.Key),
    );
    const tListed = now();
    for (const part of chunk(paths, DOWNLOAD_BATCH)) await rsapi.updateLocalFiles(graph, dir, part, user.token);
    const rsapiMs = now() - t0;
    const cpu1 = ctx.cpuSnapshot();
    await ctx.proxy.idle(30_000);
    const getFiles = ctx.proxy.log.filter((e) => e.path === "/file-sync/get_files");
    log(`rsapi download ${paths.length} files: ${(rsapiMs / 1000).toFixed(1)} s`);

    // every file arrived intact
    let checked = 0;
    for (const p of paths) {
      const got = await readFile(path.join(dir, ...p.split("/")));
      if (!got.equals(expected.get(p))) throw new Error(`download: ${p} differs`);
      checked++;
    }
    if (checked !== expected.size) throw new Error(`download: ${checked} of ${expected.size} files`);

    // baseline: one GET per object, same presigned URLs, 100 at a time
    const names = objects.map((o) => o.Key.split("/").pop());
    const urls = [];
    for (const part of chunk(names, DOWNLOAD_BATCH)) {
      const res = await ctx.rs("get_files", { GraphUUID: graph, Files: part }, user.token);
      for (const n of part) urls.push(res.json.PresignedFileUrls[n]);
    }
    const cpu2 = ctx.cpuSnapshot();
    const t1 = now();
    let bytes = 0;
    for (const part of chunk(urls, DOWNLOAD_BATCH)) {
      const replies = await Promise.all(part.map((u) => getUrl(u)));
      for (const r of replies) bytes += r.body.length;
    }
    const baselineMs = now() - t1;
    const cpu3 = ctx.cpuSnapshot();
    log(`baseline GET ${urls.length} objects: ${(baselineMs / 1000).toFixed(1)} s`);
    // rsapi's own pattern without rsapi: the probing GET (dropped after the headers) + the GET
    let doubleGetMs = NaN;
    if (doubleGet) {
      const t2 = now();
      for (const part of chunk(urls, DOWNLOAD_BATCH)) {
        await Promise.all(
          part.map(async (u) => {
            await probeGet(u);
            await getUrl(u);
          }),
        );
      }
      doubleGetMs = now() - t2;
    }
    const pageCosts = pages.map((p) => d1Cost(p));
    return {
      files: paths.length,
      encryptedBytes: bytes,
      rsapiMs,
      listMs: tListed - t0,
      baselineMs,
      doubleGetMs,
      cpu: cpuDelta(cpu0, cpu1),
      baselineCpu: cpuDelta(cpu2, cpu3),
      listPages: pages.map((p) => ({ objects: p.json.Objects.length, ms: p.ms, ...d1Cost(p) })),
      listRowsRead: sum(pageCosts.map((c) => c.read)),
      getFilesCalls: getFiles.length,
      getFilesRowsRead: sum(getFiles.map((e) => d1Cost(e).read)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
