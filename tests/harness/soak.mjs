// The convergence soak (issue 12, item 6): several devices of one user edit one encrypted graph
// at the same time with the official client library, each running the app's sync loop
// (harness/device.mjs), while faults are injected: failed D1 commit batches, failed R2 puts and
// hub (websocket push) failures through the test-only `x-fault-inject` header (src/hooks/fault.rs),
// dropped websockets, and restarts of the worker on the same state. At the end every device
// and the server must agree file by file, and every write the server acknowledged (200 with a
// new TXId) must be either the current body of its path or one of its kept versions.
//
// It runs a worker of its own (the build in build/, its own D1/R2 state, FAULT_INJECTION on,
// a free 127.0.0.1 port), since it restarts it. Every loop is bounded; nothing leaves 127.0.0.1.
// Downloads are not faulted: rsapi fetches the worker's http:// presigned URLs directly, not
// through the proxy (tests/e2e/faults.test.mjs covers R2 read failures).
//
// Beside the desktop devices, `browsers` browser devices (browser-device.mjs) edit blocks of the
// same pages with the web app's own writing code — splice.js, commit.js, graphcrypto.js — run
// in Node (not in Chromium: the app's commit code, not its UI), over the calls the browser makes
// (JSON API, presigned PUT and GET, the websocket). Their `update_files` get the same D1/hub
// faults through `x-fault-inject`; their uploads go straight to the storage's presigned URL (not
// through the proxy), so their upload fault is a PUT with a wrong signature, which the storage
// refuses (403). A merge the browser is asked to confirm is confirmed and committed; its
// acknowledged commits are checked like every other write.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { appCall } from "./client.mjs";
import { startInterceptProxy } from "./proxy.mjs";
import * as rsapi from "./rsapi.mjs";
import { Device } from "./device.mjs";
import { BrowserDevice } from "./browser-device.mjs";
import { md5, stripUserGraphPrefix } from "./graph.mjs";
import { Prng } from "../../bench/prng.mjs";
import { freePort, prepareWorker, startDevServer, stopDevServer } from "../../scripts/lib/devserver.mjs";
import { mintToken } from "../../scripts/lib/jwt.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {object} o
 * @param {string} o.node a Node for wrangler (tools.mjs ensureWranglerNode)
 * @param {number} o.seed
 * @param {number} o.rounds sync rounds per device (each: 1–3 local edits, then a sync)
 * @param {number} [o.devices=3] desktop (rsapi) devices
 * @param {number} [o.browsers=1] browser devices (the web app's commit code, browser-device.mjs)
 * @param {number} [o.faultRate=0.08] probability of a fault on each commit and upload
 * @param {number} [o.restarts=1] worker restarts, spread over the run
 * @param {number} [o.wsDropRate=0.05] probability per round that a device's websocket drops
 * @param {(line: string) => void} [o.log]
 * @returns {Promise<object>} the report: seed, operation and fault counts, agreement, lost writes
 */
export async function runSoak({
  node,
  seed,
  rounds,
  devices: deviceCount = 3,
  browsers: browserCount = 1,
  faultRate = 0.08,
  restarts = 1,
  wsDropRate = 0.05,
  log = () => {},
}) {
  const startedAt = Date.now();
  const elapsed = () => ((Date.now() - startedAt) / 1000).toFixed(1);
  const rng = new Prng(seed, 1000);
  const faults = { "d1-batch": 0, hub: 0, "r2-put": 0, "browser-put": 0, "ws-drop": 0, restart: 0 };
  let faultsOn = true;
  /** A fault for a commit call (`x-fault-inject`), or null. */
  const commitFault = (api) => {
    if (!faultsOn || (api !== "update_files" && api !== "delete_files") || !rng.chance(faultRate)) return null;
    const name = rng.chance(0.7) ? "d1-batch" : "hub";
    faults[name]++;
    return { "x-fault-inject": name };
  };
  const putFault = () => {
    if (!faultsOn || !rng.chance(faultRate)) return null;
    faults["r2-put"]++;
    return { "x-fault-inject": "r2-put" };
  };

  const prepared = prepareWorker(node);
  const vars = { ...prepared.secrets, FAULT_INJECTION: "true" };
  const port = await freePort();
  const logFile = path.join(prepared.dir, "worker.log");
  let worker = null;
  // A restart can find the port still held by the stopped runtime, or wrangler's default
  // inspector port taken by another wrangler on the machine: a fresh inspector port each time,
  // and up to three attempts, the log's tail reported.
  const start = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        worker = await startDevServer({
          node,
          port,
          inspectorPort: await freePort(),
          persistTo: prepared.state,
          config: prepared.config,
          vars,
          logFile,
          timeoutMs: 120_000,
        });
        return;
      } catch (e) {
        const tail = (await readFile(logFile, "utf8").catch(() => "")).split("\n").slice(-8).join(" | ");
        log(`worker start ${attempt} failed: ${e.message.split("\n")[0]}; log: ${tail}`);
        if (attempt >= 3) throw e;
        await sleep(2000 * attempt);
      }
    }
  };
  let proxy = null;
  const dirs = [];
  const devices = [];
  try {
    await start();
    const url = worker.url;
    proxy = await startInterceptProxy({
      workerUrl: url,
      captureLimit: 0,
      extraHeaders: (entry) => {
        const api = entry.kind === "api" ? entry.path.split("?")[0].split("/").pop() : null;
        return entry.kind === "s3" && entry.method === "PUT" ? putFault() : commitFault(api);
      },
    });
    await rsapi.setProxy(proxy.url);

    const email = `soak-${seed}-${Date.now()}@example.com`;
    const token = mintToken(prepared.secrets.JWT_SECRET, email);
    const api = async (name, body) => {
      try {
        return await appCall(url, name, body, token, { timeoutMs: 20_000 });
      } catch (e) {
        return { status: 0, text: e.message, json: null }; // worker restarting
      }
    };
    const created = await api("create_graph", { GraphName: `soak ${seed}` });
    if (created.status !== 200) throw new Error(`create_graph: ${created.status} ${created.text}`);
    const graph = created.json.GraphUUID;
    const keys = await rsapi.keygen();
    await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);

    for (let i = 0; i < deviceCount; i++) {
      const dir = await mkdtemp(path.join(tmpdir(), `logseq-sync-soak-${i}-`));
      dirs.push(dir);
      devices.push(
        new Device({
          name: String.fromCharCode(65 + i),
          api,
          wsUrl: `${url}/file-sync?graphuuid=${graph}`,
          graph,
          token,
          dir,
          rng: new Prng(seed, i),
          log,
        }),
      );
    }
    for (let i = 0; i < browserCount; i++) {
      devices.push(
        new BrowserDevice({
          name: `W${i + 1}`,
          url,
          keys,
          wsUrl: `${url}/file-sync?graphuuid=${graph}`,
          graph,
          token,
          rng: new Prng(seed, 100 + i),
          log,
          faultHeaders: commitFault,
          badPut: () => {
            if (!faultsOn || !rng.chance(faultRate)) return false;
            faults["browser-put"]++;
            return true;
          },
        }),
      );
    }

    // ---- the first upload alone: rsapi keeps its upload credential in an unsynchronised global
    // (RS sync/src/sync.rs `static mut TEMP_CREDENTIAL`), written by every call that finds none
    // cached; concurrent first uploads of several devices in one process write it at once (the
    // desktop app never uploads twice at a time), which can corrupt the heap (the "malloc():
    // unaligned tcache chunk detected" aborts, tests/e2e/soak.test.mjs). Once it is cached (for
    // an hour, less rsapi's margin: longer than any soak), later calls only read it. No fault
    // on this one, so that it surely caches the credential.
    faultsOn = false;
    await devices[0].createPage();
    await devices[0].syncRound();
    faultsOn = true;

    // ---- the run: every device edits and syncs concurrently; restarts spread over it
    let done = 0;
    const total = rounds * devices.length;
    const restartAt = Array.from({ length: restarts }, (_, k) => Math.floor(((k + 1) * total) / (restarts + 1)));
    let restarting = null;
    const restartIfDue = async () => {
      if (!restartAt.length || done < restartAt[0] || restarting) return;
      restartAt.shift();
      faults.restart++;
      log(`restarting the worker after ${done} rounds, ${elapsed()} s`);
      restarting = (async () => {
        await stopDevServer(worker.child);
        await start();
        log(`the worker is back after ${elapsed()} s`);
      })();
      await restarting;
      restarting = null;
    };
    await Promise.all(
      devices.map(async (d) => {
        for (let r = 0; r < rounds; r++) {
          const edits = d.rng.int(1, d.maxEditsPerRound ?? 3);
          for (let e = 0; e < edits; e++) await d.localEdit();
          if (d.rng.chance(wsDropRate)) {
            faults["ws-drop"]++;
            d.dropSocket();
          }
          if (restarting) await restarting;
          await d.syncRound({ poll: r % 4 === 3 });
          done++;
          await restartIfDue();
          await sleep(d.rng.int(0, 20));
        }
        log(`${d.name} finished its rounds after ${elapsed()} s`);
      }),
    );
    log(`settling after ${elapsed()} s`);

    // ---- settle: no more faults; every device syncs until none has pending changes and all
    // are at the server's txid (bounded)
    faultsOn = false;
    let serverTxid = -1;
    let settled = false;
    for (let pass = 0; pass < 30 && !settled; pass++) {
      for (const d of devices) await d.syncRound({ poll: true });
      const t = await api("get_txid", { GraphUUID: graph });
      serverTxid = t.json?.TXId ?? -1;
      settled = devices.every((d) => d.pending.size === 0 && d.txid === serverTxid);
    }

    log(`checking agreement and history after ${elapsed()} s`);
    // ---- agreement: server listing vs every device, file by file
    const server = await serverFiles(api, graph);
    const agreement = [];
    for (const d of devices) {
      const local = await d.files();
      const diff = [];
      for (const [p, sum] of server.files)
        if (local.get(p) !== sum) diff.push(`${p}: server ${sum}, ${d.name} ${local.get(p) ?? "missing"}`);
      for (const p of local.keys()) if (!server.files.has(p)) diff.push(`${p}: only on ${d.name}`);
      agreement.push({ device: d.name, files: local.size, differences: diff.slice(0, 20), differing: diff.length });
    }

    // ---- nothing acknowledged is lost: current, or one of the path's kept versions
    const acked = devices.flatMap((d) => d.acked).filter((w) => w.md5 !== null);
    const needHistory = [...new Set(acked.filter((w) => server.files.get(w.path) !== w.md5).map((w) => w.path))];
    const history = await versionSums(api, graph, token, needHistory, server.names);
    const lost = acked.filter((w) => server.files.get(w.path) !== w.md5 && !history.get(w.path)?.has(w.md5));

    const sum = (k) => devices.reduce((a, d) => a + d.counts[k], 0);
    const browsers = devices.filter((d) => d instanceof BrowserDevice);
    return {
      seed,
      rounds,
      devices: deviceCount,
      browsers: browsers.map((d) => ({
        device: d.name,
        blockEdits: d.counts.blockEdits,
        newPages: d.counts.create,
        commits: d.counts.pushes,
        acknowledged: d.acked.length,
        mergesConfirmed: d.counts.merges,
        withConflicts: d.counts.mergeConflicts,
        failedCalls: d.counts.failures,
      })),
      seconds: Math.round((Date.now() - startedAt) / 1000),
      operations: {
        create: sum("create"),
        edit: sum("edit"),
        delete: sum("delete"),
        rename: sum("rename"),
        asset: sum("asset"),
      },
      sync: {
        commits: sum("pushes"),
        pulls: sum("pulls"),
        conflicts: sum("conflicts"),
        failedCalls: sum("failures"),
        wsReconnects: sum("wsReconnects"),
      },
      faults,
      serverTxid,
      settled,
      serverFiles: server.files.size,
      agreement,
      acknowledgedWrites: acked.length,
      acknowledgedByBrowsers: acked.filter((w) => browsers.some((b) => b.name === w.device)).length,
      checkedInHistory: needHistory.length,
      lost: lost.map((w) => `${w.path} ${w.md5} (txid ${w.txid}, device ${w.device})`),
      sampleErrors: devices.flatMap((d) => d.errors.slice(0, 5).map((e) => `${d.name}: ${e}`)),
    };
  } finally {
    for (const d of devices) await d.close();
    await rsapi.setProxy(null).catch(() => {});
    await proxy?.close().catch(() => {});
    if (worker) await stopDevServer(worker.child).catch(() => {});
    for (const dir of dirs) await rm(dir, { recursive: true, force: true }).catch(() => {});
    prepared.cleanup();
  }
}

/** get_all_files (every page): plain path -> checksum, and plain path -> encrypted name. */
async function serverFiles(api, graph) {
  const files = new Map();
  const names = new Map();
  let next;
  for (let page = 0; page < 100; page++) {
    const r = await api("get_all_files", next ? { GraphUUID: graph, ContinuationToken: next } : { GraphUUID: graph });
    if (r.status !== 200) throw new Error(`get_all_files: ${r.status} ${r.text}`);
    const objects = r.json.Objects ?? [];
    const enc = objects.map((o) => stripUserGraphPrefix(o.Key));
    const plain = enc.length ? rsapi.decryptFnames(graph, enc) : [];
    objects.forEach((o, i) => {
      files.set(plain[i], o.checksum);
      names.set(plain[i], enc[i]);
    });
    next = r.json.NextContinuationToken;
    if (!next) break;
  }
  return { files, names };
}

/** For each path: the md5s of the plaintexts of all its kept versions (downloaded with rsapi). */
async function versionSums(api, graph, token, paths, names) {
  const out = new Map();
  if (!paths.length) return out;
  const scratch = await mkdtemp(path.join(tmpdir(), "logseq-sync-soak-versions-"));
  try {
    for (const p of paths) {
      const file = names.get(p) ?? rsapi.encryptFnames(graph, [p])[0];
      const r = await api("get_file_version_list", { GraphUUID: graph, File: file });
      const ids = (r.json?.VersionList ?? []).map((v) => `${v.FileUUID}/${v.VersionUUID}`);
      const sums = new Set();
      for (let i = 0; i < ids.length; i += 100) {
        const part = ids.slice(i, i + 100);
        await rsapi.updateLocalVersionFiles(graph, scratch, part, token);
        for (const id of part) {
          try {
            sums.add(md5(await readFile(path.join(scratch, "logseq", "version-files", id))));
          } catch {
            // not downloaded: counts as missing
          }
        }
      }
      out.set(p, sums);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return out;
}
