// Figure 7: 20 clients edit 20 graphs at once for 30 seconds (docs/PERFORMANCE.md).
//
// Each client is one user with one graph of 20 pages and two devices. Its loop, bounded in time
// and in count, is the server's side of one edit as the stock client produces it, followed by
// the other device picking it up:
//   device A: get_files_meta (1 file) -> PUT /s3/<key> (the receiver, signed with the
//             get_temp_credential credential as rsapi does) -> update_files (1 file)
//   device B: (websocket push) -> get_diff -> get_files (1 file) -> GET of the presigned URL
//   every 10th edit also get_txid (device B's periodic check).
// No rsapi and no proxy here (their credential cache is per process and their CPU would be the
// bottleneck on this machine): plain HTTP from this process, so the load is the worker's.
// Each graph has its own websocket; every push is counted. Any non-200 is an error.

import { randomBytes } from "node:crypto";
import { raw } from "../tests/harness/client.mjs";
import { presign } from "../tests/harness/s3sign.mjs";
import { connectWebSocket } from "../tests/harness/ws.mjs";
import { ageLike, md5, putUrl, getUrl } from "./context.mjs";
import { now, percentile, median } from "./stats.mjs";

const PAGES = 20;

function uploadKey(prefix) {
  const letters = [...randomBytes(12)].map((b) => String.fromCharCode(97 + (b % 26))).join("");
  return `${prefix}/${letters}`;
}

/** Sets up one client: user, graph of 20 pages (presigned uploads), temp credential, websocket. */
async function setupClient(ctx, i, bucketPrefix) {
  const user = ctx.newUser(`load${i}`);
  await ctx.app("user_info", {}, user.token);
  const graph = (await ctx.app("create_graph", { GraphName: `load ${i}` }, user.token)).json.GraphUUID;
  const names = Array.from({ length: PAGES }, () => `e.${randomBytes(40).toString("hex")}`);
  const urls = await ctx.uploadUrls(graph, user.token, PAGES);
  const files = {};
  await Promise.all(
    urls.map(async ({ Key, URL }, k) => {
      const body = ageLike(4096);
      await putUrl(URL, body);
      files[names[k]] = [Key, md5(body)];
    }),
  );
  const res = await ctx.rs("update_files", { GraphUUID: graph, TXId: 0, Files: files }, user.token);
  const cred = (await ctx.rs("get_temp_credential", undefined, user.token)).json;
  const ws = await connectWebSocket(`${ctx.url}/file-sync?graphuuid=${graph}`);
  ws.send("PING");
  return {
    user,
    graph,
    names,
    txid: res.json.TXId,
    ws,
    cred: { ...cred.Credentials, prefix: cred.S3Prefix.slice(bucketPrefix.length + 1) },
  };
}

/**
 * @returns {Promise<{seconds: number, clients: number, edits: number, requests: number,
 *   errors: number, errorSamples: string[], pushes: number, endpoints: object[]}>}
 */
export async function concurrencyRun(
  ctx,
  { clients = 20, seconds = 30, maxEditsPerClient = 5000, bucketPrefix, log = () => {} },
) {
  const setups = [];
  for (let i = 0; i < clients; i++) setups.push(await setupClient(ctx, i, bucketPrefix));
  const latencies = new Map();
  const errors = [];
  let requests = 0;
  const record = (name, ms, ok, detail) => {
    requests++;
    if (!latencies.has(name)) latencies.set(name, []);
    latencies.get(name).push(ms);
    if (!ok && errors.length < 1000) errors.push(`${name}: ${detail}`);
  };
  const timed = async (name, fn, check = (r) => r.status === 200) => {
    const t0 = now();
    let reply;
    try {
      reply = await fn();
    } catch (e) {
      record(name, now() - t0, false, e.message);
      return null;
    }
    const ok = check(reply);
    record(name, now() - t0, ok, `${reply.status} ${String(reply.text ?? "").slice(0, 120)}`);
    return ok ? reply : null;
  };

  const started = now();
  const deadline = started + seconds * 1000;
  let edits = 0;
  const loops = setups.map(async (c) => {
    const token = c.user.token;
    for (let n = 0; n < maxEditsPerClient && now() < deadline; n++) {
      const name = c.names[n % c.names.length];
      // device A
      await timed("get_files_meta", () =>
        ctx.app("get_files_meta", { GraphUUID: c.graph, Files: [name] }, token, { expect: null }),
      );
      const body = ageLike(1024 + (n % 8) * 512);
      const { path } = presign({
        method: "PUT",
        origin: ctx.url,
        pathPrefix: "/s3",
        key: uploadKey(c.cred.prefix),
        credentials: c.cred,
      });
      const key = path.slice(4, path.indexOf("?")); // after "/s3/", before the query
      const put = await timed("PUT /s3/<key>", () =>
        raw(ctx.url, path, {
          method: "PUT",
          body,
          headers: { "Content-Type": "application/octet-stream" },
          timeoutMs: 30_000,
        }),
      );
      if (!put) continue;
      const from = c.ws.messages.length;
      const up = await timed("update_files", () =>
        ctx.rs(
          "update_files",
          { GraphUUID: c.graph, TXId: c.txid, Files: { [name]: [decodeURIComponent(key), md5(body)] } },
          token,
          { expect: null },
        ),
      );
      if (!up) {
        // resynchronise the txid and go on
        const t = await ctx.app("get_txid", { GraphUUID: c.graph }, token, { expect: null });
        if (t.status === 200) c.txid = t.json.TXId;
        continue;
      }
      const prev = c.txid;
      c.txid = up.json.TXId;
      edits++;
      // device B
      try {
        await c.ws.waitFor((m) => JSON.parse(m.data)?.txid >= c.txid, { from, timeoutMs: 10_000 });
      } catch (e) {
        errors.push(`websocket push: ${e.message.slice(0, 120)}`);
      }
      const diff = await timed(
        "get_diff",
        () => ctx.app("get_diff", { GraphUUID: c.graph, FromTXId: prev }, token, { expect: null }),
        (r) => r.status === 200 && r.json?.Transactions?.length === 1,
      );
      if (!diff) continue;
      const files = await timed(
        "get_files",
        () => ctx.rs("get_files", { GraphUUID: c.graph, Files: [name] }, token, { expect: null }),
        (r) => r.status === 200 && typeof r.json?.PresignedFileUrls?.[name] === "string",
      );
      if (!files) continue;
      await timed(
        "GET object (R2 S3 endpoint)",
        () => getUrl(files.json.PresignedFileUrls[name]),
        (r) => r.status === 200 && r.body.length === body.length,
      );
      if (n % 10 === 9)
        await timed("get_txid", () => ctx.app("get_txid", { GraphUUID: c.graph }, token, { expect: null }));
    }
  });
  await Promise.all(loops);
  const elapsed = (now() - started) / 1000;
  let pushes = 0;
  for (const c of setups) {
    pushes += c.ws.messages.filter((m) => {
      try {
        return Number.isInteger(JSON.parse(m.data)?.txid);
      } catch {
        return false;
      }
    }).length;
    await c.ws.close().catch(() => {});
  }
  const endpoints = [...latencies.entries()].map(([name, v]) => ({
    name,
    count: v.length,
    perSecond: v.length / elapsed,
    p50: median(v),
    p99: percentile(v, 99),
    max: Math.max(...v),
  }));
  const workerRequests = endpoints.filter((e) => !e.name.startsWith("GET object")).reduce((s, e) => s + e.count, 0);
  log(
    `concurrency: ${edits} edits, ${workerRequests} worker requests in ${elapsed.toFixed(1)} s, ${errors.length} errors`,
  );
  return {
    seconds: elapsed,
    clients,
    edits,
    requests,
    workerRequests,
    errors: errors.length,
    errorSamples: errors.slice(0, 5),
    pushes,
    endpoints,
  };
}
