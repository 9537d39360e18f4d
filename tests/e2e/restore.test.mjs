// Getting notes back (docs/RESTORE.md), proved with the official client library:
//   * restore: device A writes, overwrites and deletes pages and assets over many
//     transactions; `npm run admin -- restore <graph> --to-txid N` (after a --dry-run that
//     changes nothing); device B (already synced, pulling with the app's get_diff loop) and
//     device C (fresh, full download) both end byte-identical to A's files at N; undoing the
//     restore brings both to the newest state; bad targets are refused and change nothing; a
//     restore of 520 files is committed by the CLI in 2 pages of at most 500 and ends exact;
//   * undelete: a graph deleted from the app is gone for the client at once (not listed, its
//     name reusable, every call `graph-not-exist`), listed by `admin deleted`, refused back under
//     its reused name, brought back under a new one, and a fresh device downloads it
//     byte-identical;
//   * after the periods (the scheduled cleanup run 31 days ahead): the deleted graph is purged,
//     its objects gone and undelete refused; the restored graph's bodies, which share objects
//     with expired versions, still download byte-identical, and a restore before the expired
//     history is refused with how far back the graph can go.
// Starts a worker of its own (it runs the cleanup "days later", which would disturb other test
// files), from the build `npm test` made.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { appCall, raw } from "../harness/client.mjs";
import { startInterceptProxy } from "../harness/proxy.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { Device } from "../harness/device.mjs";
import { chunk, readTree, stripUserGraphPrefix, DOWNLOAD_BATCH } from "../harness/graph.mjs";
import { listObjects } from "../harness/r2list.mjs";
import { Prng } from "../../bench/prng.mjs";
import { ensureWranglerNode } from "../../scripts/lib/tools.mjs";
import { freePort, prepareWorker, startDevServer, stopDevServer } from "../../scripts/lib/devserver.mjs";
import { mintToken, userIdForEmail } from "../../scripts/lib/jwt.mjs";

const execFileP = promisify(execFile);
const DAY_MS = 24 * 3600 * 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let W; // the private worker
let ADMIN;
let LOG;
let prepared;
let worker;
let proxy;
const dirs = [];

before(
  async () => {
    const node = ensureWranglerNode();
    prepared = prepareWorker(node);
    ADMIN = randomBytes(24).toString("hex");
    LOG = path.join(prepared.dir, "worker.log");
    worker = await startDevServer({
      node,
      port: await freePort(),
      persistTo: prepared.state,
      config: prepared.config,
      vars: { ...prepared.secrets, ADMIN_TOKEN: ADMIN },
      logFile: LOG,
      timeoutMs: 120_000,
    });
    W = worker.url;
    proxy = await startInterceptProxy({ workerUrl: W, captureLimit: 0 });
    await rsapi.setProxy(proxy.url);
  },
  { timeout: 180_000 },
);

after(
  async () => {
    await rsapi.setProxy(null).catch(() => {});
    await proxy?.close().catch(() => {});
    if (worker) await stopDevServer(worker.child).catch(() => {});
    for (const d of dirs) await rm(d, { recursive: true, force: true }).catch(() => {});
    prepared?.cleanup();
  },
  { timeout: 30_000 },
);

// ---------------------------------------------------------------- helpers

function user(label) {
  const email = `${label}-${Date.now()}@restore-test.invalid`;
  return {
    email,
    id: userIdForEmail(prepared.secrets.JWT_SECRET, email),
    token: mintToken(prepared.secrets.JWT_SECRET, email),
  };
}

const call = (u) => (name, body) => appCall(W, name, body, u.token, { timeoutMs: 20_000 });

async function ok(u, name, body) {
  const r = await call(u)(name, body);
  assert.equal(r.status, 200, `${name}: ${r.status} ${r.text}`);
  return r.json;
}

function admin(...args) {
  return execFileP(process.execPath, ["scripts/admin.mjs", "--url", W, "--token", ADMIN, ...args], {
    timeout: 60_000,
  }).then(({ stdout }) => JSON.parse(stdout));
}

/** `npm run admin` that must fail with exit 1; resolves to its stderr. */
async function adminFails(...args) {
  try {
    const { stdout } = await execFileP(process.execPath, ["scripts/admin.mjs", "--url", W, "--token", ADMIN, ...args], {
      timeout: 60_000,
    });
    throw new Error(`admin ${args.join(" ")} should have failed; printed ${stdout}`);
  } catch (e) {
    if (e.code !== 1) throw e;
    return e.stderr;
  }
}

async function tmpDir(label) {
  const d = await mkdtemp(path.join(tmpdir(), `logseq-sync-restore-${label}-`));
  dirs.push(d);
  return d;
}

const KEYS = new Map(); // graph -> age key pair (rsapi holds one graph's keys at a time)

/** Points rsapi at a graph's keys. */
async function useGraph(graph) {
  const keys = KEYS.get(graph);
  await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);
}

/** A new graph with an age key pair, rsapi pointed at it. */
async function newGraph(u, name) {
  const graph = (await ok(u, "create_graph", { GraphName: name })).GraphUUID;
  KEYS.set(graph, await rsapi.keygen());
  await useGraph(graph);
  return graph;
}

async function device(u, graph, label, seed = 1) {
  return new Device({
    name: label,
    api: call(u),
    wsUrl: `${W}/file-sync?graphuuid=${graph}`,
    graph,
    token: u.token,
    dir: await tmpDir(label),
    rng: new Prng(seed, label.charCodeAt(0)),
  });
}

/** A fresh device's full download (get_all_files, then rsapi's updateLocalFiles); its txid. */
async function freshDownload(u, graph, dir) {
  await useGraph(graph);
  const txid = (await ok(u, "get_txid", { GraphUUID: graph })).TXId;
  const names = [];
  let next;
  for (let page = 0; page < 50; page++) {
    const r = await ok(u, "get_all_files", next ? { GraphUUID: graph, ContinuationToken: next } : { GraphUUID: graph });
    names.push(...(r.Objects ?? []).map((o) => stripUserGraphPrefix(o.Key)));
    next = r.NextContinuationToken;
    if (!next) break;
  }
  const paths = names.length ? rsapi.decryptFnames(graph, names) : [];
  for (const part of chunk(paths, DOWNLOAD_BATCH)) await rsapi.updateLocalFiles(graph, dir, part, u.token);
  return txid;
}

/** Byte-for-byte equality of a folder with an expected tree (path -> Buffer). */
async function assertTree(dir, expected, label) {
  const got = await readTree(dir);
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), `${label}: file list`);
  for (const [p, body] of expected) assert.ok(got.get(p).equals(body), `${label}: ${p} differs`);
}

async function push(d) {
  assert.ok(await d.push(), `${d.name} push: ${d.errors.join(" | ")}`);
}

/** Runs the scheduled cleanup as if at `atMs` until a run deletes nothing more. */
async function runCleanup(atMs) {
  const reports = () =>
    readFileSync(LOG, "utf8")
      .split("\n")
      .filter((l) => l.includes('{"event":"cleanup"'))
      .map((l) => {
        try {
          return JSON.parse(l.slice(l.indexOf('{"event":"cleanup"')).replace(/\u001b\[[0-9;]*m/g, "")).report;
        } catch {
          return null;
        }
      })
      .filter(Boolean);
  const out = [];
  for (let run = 0; run < 10; run++) {
    const seen = reports().length;
    const r = await raw(W, `/cdn-cgi/local/scheduled?time=${Math.round(atMs)}`, { timeoutMs: 60_000 });
    assert.equal(r.status, 200);
    let report;
    for (let wait = 0; wait < 100 && !report; wait++) {
      const all = reports();
      if (all.length > seen) report = all[seen];
      else await sleep(100);
    }
    assert.ok(report, "no cleanup report in the worker log");
    out.push(report);
    if (report.objects_deleted === 0 && report.purged_rows === 0 && report.expired_versions === 0) return out;
  }
  throw new Error(`cleanup did not finish: ${JSON.stringify(out)}`);
}

// ---------------------------------------------------------------- restore

const R = {}; // the restore graph: user, graph, snapshots

describe("restore a graph to a transaction, with the official client library", { timeout: 300_000 }, () => {
  test("device A writes, overwrites and deletes over many transactions; B follows", async () => {
    R.u = user("restore");
    R.graph = await newGraph(R.u, "restore me");
    const A = await device(R.u, R.graph, "A");
    R.A = A;
    R.snap = new Map(); // txid -> tree
    const text = (s) => `title:: ${s}\n- ${s} ${randomBytes(6).toString("hex")}\n`;
    const steps = [
      async () => {
        await A.write("pages/one.md", text("one"));
        await A.write("pages/two.md", text("two"));
        await A.write("pages/three.md", text("three"));
        await A.write("assets/pic.bin", randomBytes(5000));
      },
      async () => {
        await A.write("pages/one.md", text("one v2"));
        await A.write("pages/four.md", text("four"));
      },
      async () => {
        await A.remove("pages/two.md");
        await A.write("pages/three.md", text("three v2"));
      },
      // ---- N is the txid after this step
      async () => {
        await A.write("pages/one.md", text("one v3"));
        await A.remove("pages/three.md");
        await A.write("pages/five.md", text("five"));
        await A.remove("assets/pic.bin");
      },
      async () => {
        await A.write("pages/two.md", text("two again"));
        await A.write("pages/four.md", text("four v2"));
      },
      async () => {
        await A.remove("pages/four.md");
        await A.write("assets/new.bin", randomBytes(3000));
      },
    ];
    for (const [i, step] of steps.entries()) {
      await step();
      await push(A);
      R.snap.set(A.txid, await readTree(A.dir));
      if (i === 2) {
        R.N = A.txid;
        await sleep(20);
        R.timeN = new Date().toISOString();
        await sleep(20);
      }
    }
    R.T = A.txid;
    assert.ok(R.T >= 8, `A made ${R.T} transactions`);
    const B = await device(R.u, R.graph, "B");
    R.B = B;
    assert.ok(await B.pull(), B.errors.join(" | "));
    assert.equal(B.txid, R.T);
    await assertTree(B.dir, R.snap.get(R.T), "B at the newest state");
  });

  test("--dry-run counts what would change and changes nothing", async () => {
    const at = R.snap.get(R.N);
    const now = R.snap.get(R.T);
    const reverted = [...at.keys()].filter((p) => now.has(p) && !now.get(p).equals(at.get(p)));
    const revived = [...at.keys()].filter((p) => !now.has(p));
    const removed = [...now.keys()].filter((p) => !at.has(p));
    const dry = await admin("restore", R.graph, "--to-txid", String(R.N), "--dry-run");
    assert.equal(dry.dry_run, true);
    assert.deepEqual(
      [dry.reverted.files, dry.revived.files, dry.removed.files],
      [reverted.length, revived.length, removed.length],
      JSON.stringify(dry),
    );
    assert.ok(dry.reverted.bytes > 0 && dry.revived.bytes > 0 && dry.removed.bytes > 0);
    assert.equal(dry.transactions, 2);
    assert.equal((await ok(R.u, "get_txid", { GraphUUID: R.graph })).TXId, R.T, "a dry run moved the txid");
    const byTime = await admin("restore", R.graph, "--to-time", R.timeN, "--dry-run");
    assert.equal(byTime.to_txid, R.N, `--to-time ${R.timeN}`);
  });

  test("bad targets are refused with a clear message and change nothing", async () => {
    assert.match(
      await adminFails("restore", R.graph, "--to-txid", String(R.T + 5)),
      /does not exist yet: the graph is at txid/,
    );
    assert.match(await adminFails("restore", "00000000-0000-4000-8000-000000000000", "--to-txid", "1"), /no graph/);
    const same = await admin("restore", R.graph, "--to-txid", String(R.T));
    assert.match(same.message, /nothing to change/);
    assert.equal((await ok(R.u, "get_txid", { GraphUUID: R.graph })).TXId, R.T);
  });

  test("restore to N: B (synced, pulling get_diff) and C (fresh) end byte-identical to A at N", async () => {
    const done = await admin("restore", R.graph, "--to-txid", String(R.N));
    assert.equal(done.txid, R.T + 2, JSON.stringify(done));
    assert.match(done.undo, new RegExp(`--to-txid ${R.T}$`));
    const diff = await ok(R.u, "get_diff", { GraphUUID: R.graph, FromTXId: R.T });
    assert.deepEqual(
      diff.Transactions.map((t) => [t.TXId, t.TXType]),
      [
        [R.T + 1, "update_files"],
        [R.T + 2, "delete_files"],
      ],
    );
    assert.ok(await R.B.pull(), R.B.errors.join(" | "));
    assert.equal(R.B.txid, R.T + 2);
    await assertTree(R.B.dir, R.snap.get(R.N), "B after the restore");
    const C = await device(R.u, R.graph, "C");
    C.txid = await freshDownload(R.u, R.graph, C.dir);
    R.C = C;
    await assertTree(C.dir, R.snap.get(R.N), "fresh C after the restore");
  });

  test("the restore is undoable: both devices end at the newest state again", async () => {
    const undo = await admin("restore", R.graph, "--to-txid", String(R.T));
    R.undone = undo.txid;
    assert.equal(undo.txid, R.T + 4, JSON.stringify(undo));
    for (const d of [R.B, R.C]) {
      assert.ok(await d.pull(), d.errors.join(" | "));
      assert.equal(d.txid, R.undone);
      await assertTree(d.dir, R.snap.get(R.T), `${d.name} after the undo`);
    }
    // And the devices keep syncing normally: B edits, C pulls it.
    await R.B.write("pages/after.md", "after the undo\n");
    await push(R.B);
    assert.ok(await R.C.pull());
    const expected = new Map(R.snap.get(R.T));
    expected.set("pages/after.md", Buffer.from("after the undo\n"));
    await assertTree(R.C.dir, expected, "C after B edited");
    R.final = expected;
  });
});

// ---------------------------------------------------------------- a restore bigger than a page

describe("a restore of more than 500 files is committed in pages", { timeout: 300_000 }, () => {
  test("520 files overwritten; the CLI commits the restore in 2 pages and every checksum is back", async () => {
    const u = user("paged");
    const graph = (await ok(u, "create_graph", { GraphName: "big" })).GraphUUID;
    const names = Array.from({ length: 520 }, () => `e.${randomBytes(24).toString("hex")}`);
    let txid = 0;
    const round = async (tag) => {
      const sums = new Map();
      for (const part of chunk(names, 100)) {
        const up = await ok(u, "get_upload_urls", { GraphUUID: graph, Count: part.length });
        await Promise.all(
          up.Uploads.map(async (x) => {
            const r = await raw(W, new URL(x.URL).pathname + new URL(x.URL).search, {
              method: "PUT",
              body: Buffer.from(`age-encryption.org/v1\n${tag}`),
              headers: { "content-type": "application/octet-stream" },
              timeoutMs: 30_000,
            });
            assert.equal(r.status, 200, r.text);
          }),
        );
        const files = {};
        part.forEach((n, i) => {
          const c = randomBytes(16).toString("hex");
          sums.set(n, c);
          files[n] = [up.Uploads[i].Key, c];
        });
        txid = (await ok(u, "update_files", { GraphUUID: graph, TXId: txid, Files: files })).TXId;
      }
      return sums;
    };
    const before = await round("v1");
    const mid = txid;
    await round("v2");
    const done = await admin("restore", graph, "--to-txid", String(mid));
    assert.deepEqual(
      [done.pages, done.committed_files, done.remaining_files, done.complete],
      [2, 520, 0, true],
      JSON.stringify(done),
    );
    assert.equal(done.txid, txid + 2);
    assert.match(done.undo, new RegExp(`--to-txid ${txid}$`));
    const now = new Map();
    let next;
    for (let page = 0; page < 10; page++) {
      const r = await ok(
        u,
        "get_all_files",
        next ? { GraphUUID: graph, ContinuationToken: next } : { GraphUUID: graph },
      );
      for (const o of r.Objects) now.set(stripUserGraphPrefix(o.Key), o.checksum);
      next = r.NextContinuationToken;
      if (!next) break;
    }
    assert.deepEqual(new Map([...now].sort()), new Map([...before].sort()));
  });
});

// ---------------------------------------------------------------- undelete

const D = {};

describe("undelete a graph deleted from the app", { timeout: 300_000 }, () => {
  test("delete_graph: gone for the client at once, name reusable, every call graph-not-exist", async () => {
    D.u = user("undelete");
    D.graph = await newGraph(D.u, "my notes");
    const A = await device(D.u, D.graph, "A");
    await A.write("pages/contents.md", "- notes I must not lose\n");
    await A.write("journals/2026_12_01.md", "- today\n");
    await A.write("assets/scan.bin", randomBytes(20_000));
    await push(A);
    await A.write("pages/contents.md", "- notes I must not lose, edited\n");
    await push(A);
    D.tree = await readTree(A.dir);
    D.txid = A.txid;
    D.objects = await listObjects(W, `uploads/${D.u.id}/`);
    assert.ok(D.objects.length >= 4);

    D.usage = (await ok(D.u, "user_info", {})).StorageUsage;
    assert.ok(D.usage > 20_000, `usage ${D.usage}`);
    await ok(D.u, "delete_graph", { GraphUUID: D.graph });
    assert.ok(!(await ok(D.u, "list_graphs", null)).Graphs.some((g) => g.GraphUUID === D.graph));
    // Its objects are still stored, so they still count in the usage the app shows.
    assert.equal((await ok(D.u, "user_info", {})).StorageUsage, D.usage);
    const usage = await admin("usage");
    assert.ok(
      usage.deleted_graphs >= 1 &&
        usage.deleted_graphs_bytes >= D.usage &&
        usage.storage_bytes >= usage.deleted_graphs_bytes,
      JSON.stringify(usage),
    );
    for (const [name, body] of [
      ["get_txid", { GraphUUID: D.graph }],
      ["get_all_files", { GraphUUID: D.graph }],
      ["get_diff", { GraphUUID: D.graph, FromTXId: 0 }],
      ["get_graph_salt", { GraphUUID: D.graph }],
      ["delete_graph", { GraphUUID: D.graph }],
      [
        "delete_files",
        { GraphUUID: D.graph, TXId: D.txid, Files: [rsapi.encryptFnames(D.graph, ["pages/contents.md"])[0]] },
      ],
    ]) {
      const r = await call(D.u)(name, body);
      assert.equal(r.status, 404, `${name} on a deleted graph: ${r.status} ${r.text}`);
      assert.match(r.json?.message ?? "", /graph-not-exist/);
    }
    D.reused = (await ok(D.u, "create_graph", { GraphName: "my notes" })).GraphUUID;
    assert.deepEqual(
      (await listObjects(W, `uploads/${D.u.id}/`)).sort(),
      [...D.objects].sort(),
      "objects stay during the undelete period",
    );
  });

  test("admin deleted lists it; undelete refuses the reused name, unknown ids and restore; --name brings it back", async () => {
    const listed = await admin("deleted");
    const g = listed.graphs.find((x) => x.id === D.graph);
    assert.ok(g, JSON.stringify(listed));
    assert.equal(g.name, "my notes");
    assert.equal(g.email, D.u.email);
    assert.ok(g.recoverable && g.recoverable_until > Date.now() + 29 * DAY_MS);
    assert.equal(listed.undelete_retention_days, 30);

    assert.match(await adminFails("undelete", D.graph), /already has a graph named "my notes".*--name/);
    assert.match(await adminFails("undelete", "00000000-0000-4000-8000-000000000000"), /no deleted graph/);
    assert.match(await adminFails("undelete", D.reused), /no deleted graph/);
    assert.match(await adminFails("restore", D.graph, "--to-txid", "1"), /is deleted: undelete it first/);
    assert.ok(
      (await admin("deleted")).graphs.some((x) => x.id === D.graph),
      "a refused undelete changed the state",
    );

    const back = await admin("undelete", D.graph, "--name", "my notes (recovered)");
    assert.equal(back.undeleted, D.graph);
    assert.equal(back.txid, D.txid);
    const graphs = (await ok(D.u, "list_graphs", null)).Graphs;
    assert.ok(graphs.some((x) => x.GraphUUID === D.graph && x.GraphName === "my notes (recovered)"));
    assert.ok(!(await admin("deleted")).graphs.some((x) => x.id === D.graph));
  });

  test("a fresh device downloads the undeleted graph byte-identical", async () => {
    const dir = await tmpDir("fresh");
    assert.equal(await freshDownload(D.u, D.graph, dir), D.txid);
    await assertTree(dir, D.tree, "fresh device after undelete");
  });
});

// ---------------------------------------------------------------- after the periods

describe("after the retention periods (the cleanup run 31 days ahead)", { timeout: 300_000 }, () => {
  test("a deleted graph is purged with its objects; undelete is then refused", async () => {
    await ok(D.u, "delete_graph", { GraphUUID: D.reused });
    await ok(D.u, "delete_graph", { GraphUUID: D.graph });
    const reports = await runCleanup(Date.now() + 31 * DAY_MS);
    assert.ok(reports.reduce((a, r) => a + r.graphs_purged, 0) >= 2, JSON.stringify(reports));
    assert.deepEqual(await listObjects(W, `uploads/${D.u.id}/`), [], "objects of purged graphs left in R2");
    assert.equal((await ok(D.u, "user_info", {})).StorageUsage, 0, "usage after the purge");
    assert.match(await adminFails("undelete", D.graph), /no deleted graph/);
    assert.ok(!(await admin("deleted")).graphs.some((x) => x.id === D.graph));
  });

  test("restored bodies sharing objects with expired versions still download byte-identical", async () => {
    const dir = await tmpDir("late");
    await freshDownload(R.u, R.graph, dir);
    await assertTree(dir, R.final, "fresh device after the version expiry");
  });

  test("a restore before the expired history is refused, saying how far back the graph can go", async () => {
    const msg = await adminFails("restore", R.graph, "--to-txid", String(R.N));
    assert.match(msg, /older than the kept history: this graph can be restored to txid \d+ at the earliest/);
    assert.equal((await ok(R.u, "get_txid", { GraphUUID: R.graph })).TXId, R.undone + 1);
  });
});
