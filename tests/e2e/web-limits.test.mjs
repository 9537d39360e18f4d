// The web app against a server whose storage is nearly full (issue 18 "Bad input": a commit
// refused for the storage limit): on a private worker with STORAGE_LIMIT_BYTES at 30,000 bytes,
// an rsapi desktop uploads a real page, then the browser (Chromium, 360x740) saves an edit too
// large for what is left. The server refuses the commit (403 storage-limit); the person is told,
// the text stays in the editor, and nothing is applied (same txid, the desktop's file as it was).
// A photo larger than the storage left is refused before anything is uploaded.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { adminClient, browserKit, passwordGraph, signInAndUnlock, waitText } from "../harness/webapp.mjs";
import { appCall } from "../harness/client.mjs";
import { startInterceptProxy } from "../harness/proxy.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { makeDeviceDir, readGraphFile, removeDirs, writeFiles } from "../harness/graph.mjs";
import { TABS } from "../web/write-fixtures.mjs";
import { ensureWranglerNode } from "../../scripts/lib/tools.mjs";
import { freePort, prepareWorker, startDevServer, stopDevServer } from "../../scripts/lib/devserver.mjs";

const CHROMIUM = process.env.CHROMIUM_BIN;
const LIMIT = 30_000;
const PAGE = "pages/Project Café.md";
const PASSWORD = "full storage, long password";
const STEP = { timeout: 120_000 };

const kit = browserKit({ chromium: CHROMIUM });
const dirs = [];
let prepared;
let worker;
let base;
let proxy;
let page;
let graph;
let desktop;
let desktopToken;

const txid = async () => (await appCall(base, "get_txid", { GraphUUID: graph }, desktopToken)).json.TXId;

describe("the web app when the storage is full", { skip: CHROMIUM ? false : "chromium is not installed" }, () => {
  before(
    async () => {
      const node = ensureWranglerNode();
      prepared = prepareWorker(node, { prefix: "logseq-sync-limits-" });
      const adminToken = randomBytes(24).toString("hex");
      const port = await freePort();
      worker = await startDevServer({
        node,
        port,
        persistTo: prepared.state,
        config: prepared.config,
        vars: { ...prepared.secrets, ADMIN_TOKEN: adminToken, STORAGE_LIMIT_BYTES: String(LIMIT) },
        logFile: join(prepared.dir, "worker.log"),
        timeoutMs: 120_000,
      });
      base = worker.url;
      const admin = adminClient(base, adminToken);
      const email = `limits-${Date.now()}@example.com`;
      await admin("POST", "/admin/users", { email });
      desktopToken = (await admin("POST", "/admin/tokens", { email, label: "limits desktop" })).id_token;
      const browserRefresh = (await admin("POST", "/admin/tokens", { email, label: "limits phone" })).refresh_token;
      proxy = await startInterceptProxy({ workerUrl: base });
      await rsapi.setProxy(proxy.url);
      ({ graph } = await passwordGraph({ base, idToken: desktopToken, name: "Full", password: PASSWORD }));
      desktop = await makeDeviceDir("limits-desktop");
      dirs.push(desktop);
      await writeFiles(desktop, { [PAGE]: TABS });
      await rsapi.updateRemoteFiles(graph, desktop, [PAGE], 0, desktopToken);

      page = await kit.phonePage(await kit.launch("limits"), "phone");
      page.on("dialog", (d) => d.accept());
      await signInAndUnlock(page, { base: base, refreshToken: browserRefresh, graph, password: PASSWORD });
    },
    { timeout: 240_000 },
  );

  after(
    async () => {
      await kit.close();
      await rsapi.setProxy(null).catch(() => {});
      await proxy?.close();
      if (worker) await stopDevServer(worker.child);
      prepared?.cleanup();
      await removeDirs(dirs);
    },
    { timeout: 30_000 },
  );

  test("an edit too large for the storage left: refused, told, text kept, nothing applied", STEP, async () => {
    const before = await txid();
    await page.goto(`${base}/app/#/edit/${encodeURIComponent(PAGE)}`);
    await waitText(page, "#edit-status", "Tap a block", 120_000);
    const index = await page.$$eval(
      "#blocks li[data-index]",
      (lis) => lis.find((li) => li.textContent.includes("Goals for the week"))?.dataset.index,
    );
    await page.click(`#blocks li[data-index="${index}"] .blk-show`);
    await page.waitForSelector("#block-text");
    // 40,000 characters of random text (age does not compress): more than the 30,000-byte limit.
    const big = randomBytes(20_000).toString("hex");
    await page.$eval(
      "#block-text",
      (ta, text) => {
        ta.value = `${ta.value.split("\n")[0]} ${text}`;
        ta.dispatchEvent(new Event("input", { bubbles: true }));
      },
      big,
    );
    await page.click("#edit-save");
    await waitText(page, "#edit-status", "storage", 60_000).catch(async (e) => {
      const now = await page.$eval("#edit-status", (x) => x.textContent);
      throw new Error(`the editor says "${now}"; console: ${kit.state.console.slice(-5).join(" | ")}`, { cause: e });
    });
    const said = await page.$eval("#edit-status", (e) => e.textContent);
    assert.match(said, /full/i, said);
    assert.match(said, /your text is kept/i, said);
    assert.ok(await page.$eval("#block-text", (ta, b) => ta.value.includes(b), big), "the text is still in the editor");
    assert.equal(await txid(), before, "nothing committed");
    await rsapi.updateLocalFiles(graph, desktop, [PAGE], desktopToken);
    assert.equal((await readGraphFile(desktop, PAGE)).toString("utf8"), TABS, "the desktop's file as it was");
  });

  test("a photo larger than the storage left is refused before anything is uploaded", STEP, async () => {
    await page.goto(`${base}/app/#/page/${encodeURIComponent(PAGE)}`);
    await waitText(page, "#ops-photo .ops-limits", "storage free", 30_000);
    const folder = mkdtempSync(join(tmpdir(), "web-limits-"));
    dirs.push(folder);
    const file = join(folder, "big photo.jpg");
    writeFileSync(file, randomBytes(LIMIT));
    const asked = () => kit.state.requests.filter((r) => /get_upload_urls|update_files/.test(r.url)).length;
    const calls = asked();
    await (await page.$("#ops-photo input[type=file]")).uploadFile(file);
    await waitText(page, "#ops-photo", "storage is left", 30_000);
    assert.equal(asked(), calls, "no upload URL asked for, nothing committed");
  });
});
