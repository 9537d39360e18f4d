// Figure 4: the worker's compute per request, warm isolate (docs/PERFORMANCE.md "How compute is
// measured"). One request at a time, nothing else running; for each endpoint `warmup` requests
// first, then `samples` measured ones. Two measures per request:
//
// * worker time (the primary figure, when the worker has the BENCH_TIMING hook): the worker
//   reports in `x-worker-time-ms` the time spent in the polls of its request future, i.e. in its
//   own code, excluding every awaited I/O (D1, R2, the hub). Locally the clock moves during
//   execution but in whole milliseconds, so one reading is 0, 1 or 2 ms; the mean over the
//   samples is an unbiased estimate (requests start at random phases of the clock tick). The
//   figure is that mean, with its standard error.
// * thread CPU: on-CPU nanoseconds of workerd's main thread (/proc/<pid>/task/<tid>/schedstat)
//   from just before the request to just after its answer (plus a settle time for work the
//   worker finishes after answering). Exact, but it also contains what runs on that thread
//   besides our code: the local emulation of D1, R2 and the Durable Object, wrangler's dev
//   middleware and miniflare's entry worker. The floor of that overhead is the same measure for
//   GET /logseq/version (no I/O, a few µs of our code); the table shows the median minus that
//   floor, an upper bound of the worker's own CPU.

import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { raw } from "../tests/harness/client.mjs";
import { presign } from "../tests/harness/s3sign.mjs";
import { d1Cost, putUrl, ageLike, md5 } from "./context.mjs";
import { accountToken } from "./cognito.mjs";
import { mean, median, stderr, sleep, now, sum as sumOf } from "./stats.mjs";

const HOOK_HEADER = "x-worker-time-ms";

/** One measured request: thread CPU, hook time, wall time, D1 cost. */
async function measureOne(ctx, send, settleMs) {
  await sleep(3);
  const s0 = ctx.server.threadSched();
  const t0 = now();
  const reply = await send();
  const wall = now() - t0;
  await sleep(settleMs);
  const s1 = ctx.server.threadSched();
  const hook = reply.headers?.[HOOK_HEADER];
  const run = (s1.run - s0.run) / 1e6;
  const wait = (s1.wait - s0.wait) / 1e6;
  return {
    status: reply.status,
    threadMs: run,
    waitMs: wait,
    hookMs: hook === undefined ? NaN : Number(hook),
    wallMs: wall,
    d1: d1Cost(reply),
  };
}

/**
 * Raises the scheduling priority of the worker runtime's threads (nice -15) so that the other
 * processes of a shared machine preempt it less while it serves the measured requests; returns a
 * function restoring the previous priorities. Needs CAP_SYS_NICE (root); without it nothing
 * changes and the on-CPU correction does all the work.
 */
export function prioritise(pid, nice = -15) {
  const restore = [];
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return () => {};
  }
  for (const tid of tids) {
    try {
      const before = getPriority(tid);
      setPriority(tid, nice);
      restore.push([tid, before]);
    } catch {
      // not permitted: leave it
    }
  }
  // With autogroup scheduling (CONFIG_SCHED_AUTOGROUP, the default on desktops and many
  // servers) thread nice values only weigh inside their session's group; the group's own nice
  // decides its share against other sessions. Raise it too, and restore it afterwards.
  let groupBefore = null;
  const groupFile = `/proc/${pid}/autogroup`;
  try {
    const m = readFileSync(groupFile, "utf8").match(/nice (-?\d+)/);
    if (m) {
      groupBefore = Number(m[1]);
      writeFileSync(groupFile, String(nice));
    }
  } catch {
    groupBefore = null;
  }
  return () => {
    if (groupBefore !== null) {
      try {
        writeFileSync(groupFile, String(groupBefore));
      } catch {
        // process gone
      }
    }
    for (const [tid, before] of restore) {
      try {
        setPriority(tid, before);
      } catch {
        // thread gone
      }
    }
  };
}

/**
 * Runs the endpoint table. Each spec: {name, target, settleMs?, setup?(), request(i)} where
 * `request(i)` prepares (unmeasured) and returns a function sending the measured request.
 */
export async function computeFigures(ctx, specs, { warmup = 5, samples = 30, log = () => {} } = {}) {
  const results = [];
  for (const spec of specs) {
    const rows = [];
    for (let i = 0; i < warmup + samples; i++) {
      const send = await spec.request(i);
      const m = await measureOne(ctx, send, spec.settleMs ?? 5);
      if (m.status !== (spec.status ?? 200)) throw new Error(`${spec.name}: status ${m.status}`);
      if (i >= warmup) rows.push(m);
    }
    const r = summarize(spec, rows);
    results.push(r);
    log(
      `${spec.name}: thread ${r.threadMedian.toFixed(2)} ms, worker ${Number.isNaN(r.hookMean) ? "n/a" : r.cpuEstimate.toFixed(2) + " ms"} (on-CPU ${(r.onCpuShare * 100).toFixed(0)}%)`,
    );
  }
  const floor = results.find((r) => r.floor);
  for (const r of results) {
    r.threadNet = r.threadMedian - (floor?.threadMedian ?? 0);
    // net of what every request pays in the floor route: essentially the access-log line
    r.cpuNet = r.cpuEstimate - (floor?.cpuEstimate ?? 0);
  }
  return results;
}

function summarize(spec, rows) {
  return {
    name: spec.name,
    target: spec.target,
    floor: Boolean(spec.floor),
    samples: rows.length,
    hookMean: mean(rows.map((r) => r.hookMs)),
    hookStderr: stderr(rows.map((r) => r.hookMs)),
    hookMax: Math.max(...rows.map((r) => r.hookMs)),
    threadMedian: median(rows.map((r) => r.threadMs)),
    waitMedian: median(rows.map((r) => r.waitMs)),
    // share of the thread's runnable time it actually ran (the rest other processes had the CPU)
    onCpuShare: sumOf(rows.map((r) => r.threadMs)) / sumOf(rows.map((r) => r.threadMs + r.waitMs)),
    // The hook counts wall time inside the worker's polls; time the thread spent preempted by
    // other processes inflates it. With the runtime thread prioritised (see `prioritise`) the
    // on-CPU share is near 1 and the correction small; it is applied anyway.
    get cpuEstimate() {
      return this.hookMean * Math.min(1, this.onCpuShare);
    },
    get cpuStderr() {
      return this.hookStderr * Math.min(1, this.onCpuShare);
    },
    wallMedian: median(rows.map((r) => r.wallMs)),
    d1: {
      queries: median(rows.map((r) => r.d1.queries)),
      read: median(rows.map((r) => r.d1.read)),
      written: median(rows.map((r) => r.d1.written)),
    },
  };
}

/**
 * Sequential storage round trips each endpoint should need at most (issue 20, item 2): the
 * credential row is read concurrently with the handler's first reads, so every read endpoint,
 * get_temp_credential and the `/s3/` receiver take 1; the writes below 2 (their first reads, then
 * the write, which waits for the verdict).
 */
const TWO_TRIPS = [
  "update_files",
  "delete_files",
  "rename_file",
  "create_graph",
  "delete_graph",
  "upload_graph_encrypt_keys",
  "get_graph_salt",
  "create_graph_salt",
  "get_upload_urls",
];
const roundTripTarget = (name) => (TWO_TRIPS.includes(name.split(" ")[0]) ? 2 : 1);

/**
 * Round trips, as a figure: every endpoint's wall time with `latencyMs` injected before each of
 * its D1 and R2 calls (`x-bench-latency-ms`, honoured only with BENCH_TIMING), against the same
 * request without; the difference over `latencyMs` is the number of storage calls it makes one
 * after another. Only the measured request carries the header (the unmeasured preparation does
 * not).
 */
export async function roundTrips(ctx, specs, { latencyMs = 50, samples = 5, log = () => {} } = {}) {
  const results = [];
  for (const spec of specs) {
    if (spec.floor) continue;
    const walls = { plain: [], delayed: [] };
    for (let i = 0; i < 2 * samples; i++) {
      const delayed = i % 2 === 1;
      const send = await spec.request(i);
      ctx.extraHeaders = delayed ? { "x-bench-latency-ms": String(latencyMs) } : {};
      const t0 = now();
      let reply;
      try {
        reply = await send();
      } finally {
        ctx.extraHeaders = {};
      }
      if (reply.status !== (spec.status ?? 200)) throw new Error(`${spec.name}: status ${reply.status}`);
      walls[delayed ? "delayed" : "plain"].push(now() - t0);
      await sleep(spec.settleMs ?? 5);
    }
    const plain = median(walls.plain);
    const delayed = median(walls.delayed);
    const trips = (delayed - plain) / latencyMs;
    const target = roundTripTarget(spec.name);
    results.push({ name: spec.name, plainMs: plain, delayedMs: delayed, trips, target });
    log(
      `${spec.name}: ${plain.toFixed(1)} ms → ${delayed.toFixed(1)} ms with ${latencyMs} ms per storage call: ${trips.toFixed(2)} round trips`,
    );
  }
  return results;
}

/** The i-th window of `n` names (wrapping around; the whole list when it is shorter). */
function slice(names, i, n) {
  const start = (i * n) % Math.max(1, names.length - n + 1);
  return names.slice(start, start + n);
}

/** A key under the caller's upload prefix, like rsapi's (12 random lower-case letters). */
function uploadKey(prefix) {
  const letters = [...randomBytes(12)].map((b) => String.fromCharCode(97 + (b % 26))).join("");
  return `${prefix}/${letters}`;
}

/**
 * The endpoint table for a graph that holds `names` (encrypted names of its files) at txid
 * `state.txid` (kept up to date here, because some specs commit).
 */
export function endpointSpecs(ctx, { user, graph, names, state, bucketPrefix }) {
  const token = user.token;
  const app =
    (name, body, tok = token) =>
    () =>
      ctx.app(name, body, tok, { expect: null });
  const rs =
    (name, body, tok = token) =>
    () =>
      ctx.rs(name, body, tok, { expect: null });
  let credential;
  const fresh = () => `e.${randomBytes(40).toString("hex")}`;

  async function tempCredential() {
    if (!credential) {
      const c = await ctx.rs("get_temp_credential", undefined, token);
      credential = { ...c.json.Credentials, prefix: c.json.S3Prefix.slice(bucketPrefix.length + 1) };
    }
    return credential;
  }
  /** A PUT to the worker's /s3/ receiver as the stock client makes it (standard SigV4 here). */
  async function receiverPut(body) {
    const cred = await tempCredential();
    const key = uploadKey(cred.prefix);
    const { path } = presign({
      method: "PUT",
      origin: ctx.url,
      pathPrefix: "/s3",
      key,
      credentials: cred,
    });
    return {
      key,
      send: () =>
        raw(ctx.url, path, {
          method: "PUT",
          body,
          headers: { "Content-Type": "application/octet-stream", ...(ctx.extraHeaders ?? {}) },
        }),
    };
  }
  /**
   * Uploads small bodies for `targetNames` (unmeasured) and returns the Files map of an
   * update_files: through the worker's receiver like the stock client (`presigned` false), or
   * through get_upload_urls straight to R2 (then update_files reads each size with an R2 head).
   */
  async function staged(targetNames, { presigned = false } = {}) {
    const files = {};
    if (presigned) {
      const urls = await ctx.uploadUrls(graph, token, targetNames.length);
      await Promise.all(
        urls.map(async ({ Key, URL }, k) => {
          const body = ageLike(2048);
          await putUrl(URL, body);
          files[targetNames[k]] = [Key, md5(body)];
        }),
      );
      return files;
    }
    await Promise.all(
      targetNames.map(async (n) => {
        const body = ageLike(2048);
        const put = await receiverPut(body);
        const res = await put.send();
        if (res.status !== 200) throw new Error(`receiver PUT: ${res.status} ${res.text.slice(0, 200)}`);
        files[n] = [put.key, md5(body)];
      }),
    );
    return files;
  }
  const commit = async (files) => {
    const res = await ctx.rs("update_files", { GraphUUID: graph, TXId: state.txid, Files: files }, token);
    state.txid = res.json.TXId;
  };

  return [
    {
      name: "GET /logseq/version (floor)",
      floor: true,
      target: 1,
      request: async () => () => raw(ctx.url, "/logseq/version"),
    },
    { name: "get_txid", target: 1, request: async () => app("get_txid", { GraphUUID: graph }) },
    { name: "list_graphs", target: 1, request: async () => app("list_graphs", undefined) },
    { name: "user_info", target: 1, request: async () => app("user_info", {}) },
    {
      name: "user_info (Logseq-account token, RS256)",
      target: 1,
      request: async () => app("user_info", {}, accountToken()),
    },
    { name: "get_graph_salt", target: 1, request: async () => app("get_graph_salt", { GraphUUID: graph }) },
    {
      name: "get_graph_encrypt_keys",
      target: 1,
      request: async () => app("get_graph_encrypt_keys", { GraphUUID: graph }),
    },
    {
      name: "get_files_meta (1 file)",
      target: 1,
      request: async (i) => app("get_files_meta", { GraphUUID: graph, Files: [names[i % names.length]] }),
    },
    {
      name: "get_files_meta (20 files)",
      target: 1,
      request: async (i) => app("get_files_meta", { GraphUUID: graph, Files: slice(names, i, 20) }),
    },
    {
      name: "get_all_files (page of 1,000)",
      target: 1,
      request: async () => app("get_all_files", { GraphUUID: graph }),
    },
    {
      name: "get_files (1 file)",
      target: null,
      request: async (i) => rs("get_files", { GraphUUID: graph, Files: [names[i % names.length]] }),
    },
    {
      name: "get_files (100 files)",
      target: 1.5,
      request: async (i) => rs("get_files", { GraphUUID: graph, Files: slice(names, i, 100) }),
    },
    {
      name: "get_diff (10 transactions)",
      target: 1,
      request: async () => app("get_diff", { GraphUUID: graph, FromTXId: state.txid - 10 }),
    },
    {
      name: "get_deletion_log_v20221212",
      target: 1,
      request: async () => app("get_deletion_log_v20221212", { GraphUUID: graph, FromTXId: 0 }),
    },
    {
      name: "get_file_version_list",
      target: 1,
      request: async () => app("get_file_version_list", { GraphUUID: graph, File: names[0] }),
    },
    {
      name: "get_version_files (1 version)",
      target: 1,
      request: async () => {
        if (!state.versionId) {
          const list = await ctx.app("get_file_version_list", { GraphUUID: graph, File: names[0] }, token);
          const v = list.json.VersionList[0];
          state.versionId = `${v.FileUUID}/${v.VersionUUID}`;
        }
        return rs("get_version_files", { GraphUUID: graph, Files: [state.versionId] });
      },
    },
    { name: "get_temp_credential", target: 1, request: async () => rs("get_temp_credential", undefined) },
    {
      name: "get_upload_urls (1)",
      target: null,
      request: async () => rs("get_upload_urls", { GraphUUID: graph, Count: 1 }),
    },
    {
      name: "get_upload_urls (20)",
      target: 1,
      request: async () => rs("get_upload_urls", { GraphUUID: graph, Count: 20 }),
    },
    {
      name: "get_upload_urls (100)",
      target: null,
      request: async () => rs("get_upload_urls", { GraphUUID: graph, Count: 100 }),
    },
    {
      name: "PUT /s3/<key> (4 KiB, stock rsapi flow)",
      target: 1,
      request: async () => (await receiverPut(ageLike(4096))).send,
    },
    {
      name: "update_files (20 files, overwrites)",
      target: 1,
      settleMs: 15,
      request: async (i) => {
        const files = await staged(slice(names, i, 20));
        return async () => {
          const res = await ctx.rs("update_files", { GraphUUID: graph, TXId: state.txid, Files: files }, token, {
            expect: null,
          });
          if (res.status === 200) state.txid = res.json.TXId;
          return res;
        };
      },
    },
    {
      name: "update_files (20 files, overwrites, presigned uploads: + 20 R2 heads)",
      target: null,
      settleMs: 15,
      request: async (i) => {
        const files = await staged(slice(names, i, 20), { presigned: true });
        return async () => {
          const res = await ctx.rs("update_files", { GraphUUID: graph, TXId: state.txid, Files: files }, token, {
            expect: null,
          });
          if (res.status === 200) state.txid = res.json.TXId;
          return res;
        };
      },
    },
    {
      name: "update_files (1 file, overwrite)",
      target: 1,
      settleMs: 15,
      request: async (i) => {
        const files = await staged([names[(i * 7) % names.length]]);
        return async () => {
          const res = await ctx.rs("update_files", { GraphUUID: graph, TXId: state.txid, Files: files }, token, {
            expect: null,
          });
          if (res.status === 200) state.txid = res.json.TXId;
          return res;
        };
      },
    },
    {
      name: "delete_files (20 files)",
      target: 1,
      settleMs: 15,
      request: async () => {
        const doomed = Array.from({ length: 20 }, fresh);
        await commit(await staged(doomed));
        return async () => {
          const res = await ctx.rs("delete_files", { GraphUUID: graph, TXId: state.txid, Files: doomed }, token, {
            expect: null,
          });
          if (res.status === 200) state.txid = res.json.TXId;
          return res;
        };
      },
    },
    {
      name: "create_graph",
      target: 1,
      request: async () => {
        const u = ctx.newUser("compute-create");
        await ctx.app("user_info", {}, u.token);
        state.created = u;
        return app("create_graph", { GraphName: "compute" }, u.token);
      },
    },
    {
      name: "create_graph_salt",
      target: 1,
      request: async () => {
        const u = ctx.newUser("compute-salt");
        const g = (await ctx.app("create_graph", { GraphName: "salt" }, u.token)).json.GraphUUID;
        return app("create_graph_salt", { GraphUUID: g }, u.token);
      },
    },
    {
      name: "upload_graph_encrypt_keys",
      target: 1,
      request: async () => {
        const u = ctx.newUser("compute-keys");
        const g = (await ctx.app("create_graph", { GraphName: "keys" }, u.token)).json.GraphUUID;
        return app(
          "upload_graph_encrypt_keys",
          {
            GraphUUID: g,
            "public-key": ctx.keys.publicKey,
            "encrypted-private-key": "-----BEGIN AGE ENCRYPTED FILE-----\nYmVuY2g=\n-----END AGE ENCRYPTED FILE-----\n",
          },
          u.token,
        );
      },
    },
    {
      name: "delete_graph (20 files)",
      target: 1,
      settleMs: 15,
      request: async () => {
        const u = ctx.newUser("compute-delete");
        const g = (await ctx.app("create_graph", { GraphName: "doomed" }, u.token)).json.GraphUUID;
        const urls = await ctx.uploadUrls(g, u.token, 20);
        const files = {};
        await Promise.all(
          urls.map(async ({ Key, URL }) => {
            const body = ageLike(512);
            await putUrl(URL, body);
            files[fresh()] = [Key, md5(body)];
          }),
        );
        await ctx.rs("update_files", { GraphUUID: g, TXId: 0, Files: files }, u.token);
        return app("delete_graph", { GraphUUID: g }, u.token);
      },
    },
  ];
}
