// The status page's admin section in a real browser (Debian's headless Chromium, driven over
// the DevTools protocol on 127.0.0.1): with the admin token typed in, it lists a graph's
// recent transactions, previews a restore (dry run) and restores; it lists a deleted graph and
// undeletes it. The buttons call the same /admin/* routes as `npm run admin`; the effect is
// checked through the API and, for the restore, by a fresh device with the official client
// library downloading the files of that transaction byte-identical.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { CHROMIUM_FLAGS } from "../harness/chromium.mjs";
import { appCall, raw } from "../harness/client.mjs";
import { startInterceptProxy } from "../harness/proxy.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { Device } from "../harness/device.mjs";
import { chunk, readTree, stripUserGraphPrefix, DOWNLOAD_BATCH } from "../harness/graph.mjs";
import { connectWebSocket } from "../harness/ws.mjs";
import { Prng } from "../../bench/prng.mjs";
import { mintToken } from "../../scripts/lib/jwt.mjs";

const W = process.env.WORKER_URL;
const ADMIN = process.env.ADMIN_TOKEN;
const CHROMIUM = process.env.CHROMIUM_BIN;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Headless Chromium with its DevTools endpoint on a loopback port; `send` speaks CDP to the page. */
async function openBrowser() {
  const profile = mkdtempSync(path.join(tmpdir(), "chromium-admin-"));
  const child = spawn(
    CHROMIUM,
    [
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${profile}`,
      "--window-size=1000,1400",
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      "about:blank",
    ],
    { stdio: "ignore" },
  );
  const portFile = path.join(profile, "DevToolsActivePort");
  for (let i = 0; i < 200 && !existsSync(portFile); i++) await sleep(100);
  const port = Number(readFileSync(portFile, "utf8").split("\n")[0]);
  let page;
  for (let i = 0; i < 50 && !page; i++) {
    const list = await raw(`http://127.0.0.1:${port}`, "/json/list", {}).catch(() => null);
    page = list?.json?.find?.((t) => t.type === "page");
    if (!page) await sleep(100);
  }
  const ws = await connectWebSocket(page.webSocketDebuggerUrl);
  let id = 0;
  const send = async (method, params = {}) => {
    const n = ++id;
    const from = ws.messages.length;
    ws.send(JSON.stringify({ id: n, method, params }));
    const m = await ws.waitFor((x) => JSON.parse(x.data).id === n, { timeoutMs: 30_000, from });
    const reply = JSON.parse(m.data);
    if (reply.error) throw new Error(`${method}: ${JSON.stringify(reply.error)}`);
    return reply.result;
  };
  const evaluate = async (expression) => {
    const r = await send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`${expression}: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  };
  /** Waits until `expression` is truthy in the page; returns its value. */
  const until = async (expression, what) => {
    for (let i = 0; i < 150; i++) {
      const v = await evaluate(expression);
      if (v) return v;
      await sleep(100);
    }
    throw new Error(
      `the page never showed ${what}; action: ${await evaluate("document.getElementById('action')?.textContent")}; admin: ${await evaluate("document.getElementById('admin').textContent.slice(0, 300)")}`,
    );
  };
  const close = async () => {
    await ws.close().catch(() => {});
    child.kill("SIGTERM");
    if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
    // Chromium's helper processes may still write to the profile for a moment after it exits.
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    } catch {
      // a leftover temp directory is not a failure of the page
    }
  };
  return { send, evaluate, until, close };
}

describe("admin page: history, restore and undelete in headless Chromium", {
  timeout: 180_000,
  skip: CHROMIUM ? false : "chromium is not installed and could not be installed (needs root + apt-get)",
}, () => {
  let proxy;
  const dirs = [];
  const email = `adminpage-${Date.now()}@example.com`;
  const token = mintToken(process.env.JWT_SECRET, email);
  const api = (name, body) => appCall(W, name, body, token, { timeoutMs: 20_000 });
  const ok = async (name, body) => {
    const r = await api(name, body);
    assert.equal(r.status, 200, `${name}: ${r.status} ${r.text}`);
    return r.json;
  };
  let graph;
  let doomed;
  let atOne;

  before(async () => {
    proxy = await startInterceptProxy({ workerUrl: W, captureLimit: 0 });
    await rsapi.setProxy(proxy.url);
    graph = (await ok("create_graph", { GraphName: `page restore ${Date.now()}` })).GraphUUID;
    const keys = await rsapi.keygen();
    await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);
    const dir = await mkdtemp(path.join(tmpdir(), "adminpage-A-"));
    dirs.push(dir);
    const A = new Device({
      name: "A",
      api,
      wsUrl: `${W}/file-sync?graphuuid=${graph}`,
      graph,
      token,
      dir,
      rng: new Prng(7, 1),
    });
    await A.write("pages/one.md", "- one\n");
    await A.write("pages/two.md", "- two\n");
    assert.ok(await A.push(), A.errors.join(" | "));
    atOne = await readTree(dir);
    await A.write("pages/one.md", "- one, overwritten\n");
    assert.ok(await A.push());
    await A.remove("pages/two.md");
    assert.ok(await A.push());
    assert.equal(A.txid, 3);
    doomed = (await ok("create_graph", { GraphName: "deleted by mistake" })).GraphUUID;
    await ok("delete_graph", { GraphUUID: doomed });
  });

  after(async () => {
    await rsapi.setProxy(null).catch(() => {});
    await proxy?.close().catch(() => {});
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test("restore from a transaction list, then undelete, by clicking", async () => {
    const b = await openBrowser();
    try {
      await b.send("Page.enable");
      await b.send("Page.navigate", { url: `${W}/` });
      await b.until("document.readyState === 'complete' && !!document.getElementById('load')", "the page");
      await b.evaluate(
        `document.getElementById('token').value = ${JSON.stringify(ADMIN)}; document.getElementById('load').click(); true`,
      );
      await b.until(`!!document.querySelector('button[data-history="${graph}"]')`, "the graph list");

      await b.evaluate(`document.querySelector('button[data-history="${graph}"]').click(); true`);
      const rows = await b.until("document.querySelectorAll('#history tr[data-txid]').length", "the transactions");
      assert.equal(rows, 3);
      const cells = await b.evaluate(
        "[...document.querySelectorAll('#history tr[data-txid]')].map((r) => [...r.children].slice(0, 4).map((c) => c.textContent))",
      );
      assert.deepEqual(
        cells.map((c) => [c[0], c[2], c[3]]),
        [
          ["3", "delete_files", "1"],
          ["2", "update_files", "1"],
          ["1", "update_files", "2"],
        ],
      );

      await b.evaluate("document.querySelector('button[data-preview=\"1\"]').click(); true");
      const preview = await b.until("document.getElementById('preview')?.textContent", "the restore preview");
      assert.match(preview, /1 files go back .* 1 deleted files come back .* 0 files created since go/);
      assert.equal((await ok("get_txid", { GraphUUID: graph })).TXId, 3, "the preview changed nothing");

      await b.evaluate("document.getElementById('restore-go').click(); true");
      const done = await b.until(
        "(document.getElementById('action').textContent.match(/^(Restored|Failed).*/) || [])[0]",
        "the restore result",
      );
      assert.match(done, /^Restored: the graph is at txid 4\. Undo: restore to txid 3/);

      await b.until(`!!document.querySelector('button[data-undelete="${doomed}"]')`, "the deleted graph");
      await b.evaluate(
        `document.querySelector('input[data-undelete-name="${doomed}"]').value = 'recovered by click'; document.querySelector('button[data-undelete="${doomed}"]').click(); true`,
      );
      const undone = await b.until(
        "(document.getElementById('action').textContent.match(/^(Undeleted|Failed).*/) || [])[0]",
        "the undelete result",
      );
      assert.match(undone, /^Undeleted .* as recovered by click/);
    } finally {
      await b.close();
    }
    const graphs = (await ok("list_graphs", null)).Graphs;
    assert.ok(graphs.some((g) => g.GraphUUID === doomed && g.GraphName === "recovered by click"));

    // A fresh device downloads the files of transaction 1.
    const dir = await mkdtemp(path.join(tmpdir(), "adminpage-fresh-"));
    dirs.push(dir);
    const names = (await ok("get_all_files", { GraphUUID: graph })).Objects.map((o) => stripUserGraphPrefix(o.Key));
    for (const part of chunk(rsapi.decryptFnames(graph, names), DOWNLOAD_BATCH))
      await rsapi.updateLocalFiles(graph, dir, part, token);
    const got = await readTree(dir);
    assert.deepEqual([...got.keys()].sort(), [...atOne.keys()].sort());
    for (const [p, body] of atOne) assert.ok(got.get(p).equals(body), `${p} differs`);
  });
});
