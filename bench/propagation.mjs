// Figure 3: edit propagation between two devices of one graph (docs/PERFORMANCE.md).
//
// Device A edits one page and commits it with rsapi `updateRemoteFiles` (upload through the
// proxy, update_files). Device B, with the graph's websocket open, reacts as the app does: on a
// frame whose `txid` is above its own, it calls get_diff from its txid, decrypts the names and
// fetches the files with rsapi `updateLocalFiles` (get_files, GETs, decryption, write).
// The figure runs from the moment A's update_files request reaches the proxy (the commit) to the
// moment B's file is written; the time from A's call (encryption and upload included) is kept
// beside it.
//
// The browser's figures (`browserPropagationRuns`): the web app's commit code (web/src/write
// splice.js for a one-block edit, commit.js, graphcrypto.js; run in Node, with the HTTP calls
// web/src/shell/writer.js makes: tests/harness/browser-device.mjs) commits an edit of one block
// of a page; device B follows the push exactly as above. Figures: the commit's latency (the
// commit() call until "committed": get_files_meta, encryption, get_upload_urls, the PUT,
// update_files) and the time from its update_files request to B's file written.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { connectWebSocket } from "../tests/harness/ws.mjs";
import { browserCall, commitApi } from "../tests/harness/browser-device.mjs";
import { commit } from "../web/src/write/commit.js";
import { createGraphCrypto } from "../web/src/crypto/graphcrypto.js";
import { openPage, applyEdit, editableText } from "../web/src/write/splice.js";
import { rsapi, d1Cost } from "./context.mjs";
import { editedPage, pageNumber } from "./workload.mjs";
import { now } from "./stats.mjs";

/**
 * Edits one page per round on each target graph in turn (round 0 is a warm-up), so that targets
 * measured together share the same conditions.
 * @param {Array<{label: string, user: object, graph: string, files: object[], dirA: string, txid: number}>} targets
 *   the graphs, each at `txid` on both devices; their users share one rsapi temp credential
 *   (same user, or one target only)
 * @param {number} o.runs measured edits per target
 * @param {number} [o.offset] first edit number (editedPage), so that repeated sections edit anew
 * @returns {Promise<Record<string, {runs: object[], txid: number}>>} by label
 */
export async function propagationRuns(ctx, targets, { runs, offset = 0, log = () => {} }) {
  const states = [];
  try {
    for (const t of targets) {
      states.push({
        ...t,
        dirB: await mkdtemp(path.join(tmpdir(), "logseq-sync-bench-b-")),
        ws: await connectWebSocket(`${ctx.url}/file-sync?graphuuid=${t.graph}`),
        txA: t.txid,
        txB: t.txid,
        results: [],
      });
    }
    for (const st of states) st.ws.send("PING");
    for (let i = 0; i <= runs; i++) {
      for (const st of states) {
        const r = await oneEdit(ctx, st, offset + i);
        if (i === 0) continue; // warm-up
        st.results.push(r);
        log(`${st.label} edit ${i}: ${r.total.toFixed(0)} ms from commit to B's disk`);
      }
    }
  } finally {
    for (const st of states) {
      await st.ws.close().catch(() => {});
      await rm(st.dirB, { recursive: true, force: true });
    }
  }
  return Object.fromEntries(states.map((st) => [st.label, { runs: st.results, txid: st.txA }]));
}

/**
 * Device B as the app: waits for a websocket frame above its txid, then get_diff, name
 * decryption and rsapi updateLocalFiles. Fills `marks` (push, diff, diffCost, written).
 */
async function followPush(ctx, st, from, marks) {
  const { user, graph, dirB, ws } = st;
  await ws.waitFor(
    (m) => {
      const v = JSON.parse(m.data);
      return Number.isInteger(v?.txid) && v.txid > st.txB;
    },
    { from, timeoutMs: 15_000 },
  );
  marks.push = now();
  const diff = await ctx.app("get_diff", { GraphUUID: graph, FromTXId: st.txB }, user.token);
  marks.diff = now();
  marks.diffCost = d1Cost(diff);
  const txs = diff.json.Transactions;
  const keys = txs.flatMap((t) => t.TXContent.map((c) => c[0]));
  const paths = ctx.plainPaths(graph, keys);
  await rsapi.updateLocalFiles(graph, dirB, paths, user.token);
  marks.written = now();
  st.txB = Math.max(...txs.map((t) => t.TXId));
  return paths;
}

/** B has exactly `bytes` at `rel`, fetched alone, at the writer's txid. */
async function checkB(st, txid, rel, paths, bytes) {
  if (st.txB !== txid) throw new Error(`propagation: B at ${st.txB}, the writer at ${txid}`);
  if (paths.length !== 1 || paths[0] !== rel) throw new Error(`propagation: B fetched ${paths}`);
  const got = await readFile(path.join(st.dirB, ...rel.split("/")));
  if (!got.equals(bytes)) throw new Error(`propagation: ${rel} differs on B`);
}

/** Device A commits edit number `n`; device B follows the push. */
async function oneEdit(ctx, st, n) {
  const { user, graph, files, dirA, ws } = st;
  const edit = editedPage(files, n);
  await writeFile(path.join(dirA, ...edit.path.split("/")), edit.bytes);
  const from = ws.messages.length;
  ctx.proxy.clearLog();
  const t0 = now();
  const marks = {};
  const deviceB = followPush(ctx, st, from, marks);
  st.txA = await rsapi.updateRemoteFiles(graph, dirA, [edit.path], st.txA, user.token);
  const paths = await deviceB;
  await ctx.proxy.idle(10_000);
  await checkB(st, st.txA, edit.path, paths, edit.bytes);
  const commit = ctx.proxy.log.find((e) => e.path === "/file-sync/update_files");
  return {
    total: marks.written - commit.at,
    fromCall: marks.written - t0,
    commit: (commit.end ?? NaN) - commit.at,
    push: marks.push - commit.at,
    diff: marks.diff - marks.push,
    fetch: marks.written - marks.diff,
    commitCost: d1Cost(commit),
    diffCost: marks.diffCost,
  };
}

/**
 * The browser commits a one-block edit of a page per round (round 0 a warm-up: mldoc's first
 * parse), device B follows the push. Pages are the workload's, each edited once, from offset
 * `offset` on (so that A's edits elsewhere do not touch them: their server text is the
 * workload's bytes).
 * @param {{user: object, graph: string, files: object[], txid: number}} target
 * @returns {Promise<{runs: object[], txid: number}>}
 */
export async function browserPropagationRuns(ctx, target, { runs, offset = 5000, log = () => {} }) {
  const { user, graph, files } = target;
  const crypto = createGraphCrypto(ctx.keys);
  const marks = {};
  const api = commitApi(browserCall(ctx.url, user.token), graph, { onCall: (name, at) => (marks[name] = at) });
  const st = {
    user,
    graph,
    dirB: await mkdtemp(path.join(tmpdir(), "logseq-sync-bench-b-")),
    ws: await connectWebSocket(`${ctx.url}/file-sync?graphuuid=${graph}`),
    txB: target.txid,
  };
  let txid = target.txid;
  const results = [];
  try {
    st.ws.send("PING");
    for (let i = 0; i <= runs; i++) {
      const page = pageNumber(files, offset + i);
      const base = page.bytes.toString("utf8");
      const opened = openPage(base);
      const index = Math.floor(opened.blocks.length / 2);
      const text = applyEdit(opened, {
        type: "edit",
        index,
        text: `${editableText(opened, index)} · edited in a browser ${i}`,
      }).text;
      for (const k of Object.keys(marks)) delete marks[k];
      const from = st.ws.messages.length;
      const b = {};
      const deviceB = followPush(ctx, st, from, b);
      const t0 = now();
      const r = await commit({ api, crypto, path: page.path, base: { text: base }, text, txid });
      const t1 = now();
      if (r.status !== "committed") throw new Error(`browser commit: ${r.status} ${r.error?.message ?? ""}`);
      txid = r.txid;
      const paths = await deviceB;
      await checkB(st, txid, page.path, paths, Buffer.from(text, "utf8"));
      if (i === 0) continue; // warm-up
      const x = {
        commit: t1 - t0,
        meta: marks.get_upload_urls - marks.get_files_meta,
        upload: marks.update_files - marks.get_upload_urls,
        update: t1 - marks.update_files,
        total: b.written - marks.update_files,
        fromCall: b.written - t0,
        push: b.push - marks.update_files,
        diff: b.diff - b.push,
        fetch: b.written - b.diff,
      };
      results.push(x);
      log(
        `browser edit ${i}: commit ${x.commit.toFixed(0)} ms, ${x.total.toFixed(0)} ms from update_files to B's disk`,
      );
    }
  } finally {
    await st.ws.close().catch(() => {});
    await rm(st.dirB, { recursive: true, force: true });
  }
  return { runs: results, txid };
}
