// Figure 3: edit propagation between two devices of one graph (docs/PERFORMANCE.md).
//
// Device A edits one page and commits it with rsapi `updateRemoteFiles` (upload through the
// proxy, update_files). Device B, with the graph's websocket open, reacts as the app does: on a
// frame whose `txid` is above its own, it calls get_diff from its txid, decrypts the names and
// fetches the files with rsapi `updateLocalFiles` (get_files, GETs, decryption, write).
// The figure runs from the moment A's update_files request reaches the proxy (the commit) to the
// moment B's file is written; the time from A's call (encryption and upload included) is kept
// beside it.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { connectWebSocket } from "../tests/harness/ws.mjs";
import { rsapi, d1Cost } from "./context.mjs";
import { editedPage } from "./workload.mjs";
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

/** Device A commits edit number `n`; device B follows the push. */
async function oneEdit(ctx, st, n) {
  const { user, graph, files, dirA, dirB, ws } = st;
  const edit = editedPage(files, n);
  await writeFile(path.join(dirA, ...edit.path.split("/")), edit.bytes);
  const from = ws.messages.length;
  ctx.proxy.clearLog();
  const t0 = now();
  const marks = {};
  const deviceB = (async () => {
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
  })();
  st.txA = await rsapi.updateRemoteFiles(graph, dirA, [edit.path], st.txA, user.token);
  const paths = await deviceB;
  await ctx.proxy.idle(10_000);
  if (st.txB !== st.txA) throw new Error(`propagation: B at ${st.txB}, A at ${st.txA}`);
  if (paths.length !== 1 || paths[0] !== edit.path) throw new Error(`propagation: B fetched ${paths}`);
  const got = await readFile(path.join(dirB, ...edit.path.split("/")));
  if (!got.equals(edit.bytes)) throw new Error(`propagation: ${edit.path} differs on B`);
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
