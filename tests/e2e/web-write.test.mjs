// The browser's writing core (web/src/write) against a real worker and the official client:
// commit.js with real HTTP (the same-origin JSON calls and the presigned PUT a browser makes),
// graphcrypto.js for names and bodies, splice.js for the edit, merge.js on conflicts; an rsapi
// device ("the desktop") on the same graph uploads, edits and downloads with stock rsapi.
// Checks issue 18's "Done when" items that need no browser UI: a one-block edit reaches the
// desktop byte for byte; concurrent edits of two blocks both survive; two edits of one block
// need confirmation and keep both; a failed PUT and a 409 lose nothing.
//
// Needs WORKER_URL and JWT_SECRET (`node scripts/test.mjs --skip-checks --only web-write`).

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFile, mkdir } from "node:fs/promises";
import path from "node:path";

import { appCall } from "../harness/client.mjs";
import { startInterceptProxy } from "../harness/proxy.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { jwtSecret, newUser } from "../harness/auth.mjs";
import { md5, makeDeviceDir, removeDirs, writeFiles, readGraphFile, stripUserGraphPrefix } from "../harness/graph.mjs";
import { TABS } from "../web/write-fixtures.mjs";

import { commit } from "../../web/src/write/commit.js";
import { syncCalls } from "../../web/src/write/syncapi.js";
import { createGraphCrypto } from "../../web/src/crypto/graphcrypto.js";
import { openPage, applyEdit, editableText } from "../../web/src/write/splice.js";
import { readConfig, newJournal, pagePath, fileText } from "../../web/src/write/names.js";

const WORKER_URL = process.env.WORKER_URL;
const STEP = { timeout: 60_000 };
const PAGE = "pages/Project Café.md";
const OTHER = "pages/other.md";

let proxy;
const dirs = [];
const user = newUser("webwrite");
let graph;
let keys;
let crypto;
let desktop; // the rsapi device's folder
let desktopTxid = 0;

before(
  async () => {
    if (!WORKER_URL) throw new Error("WORKER_URL is not set");
    jwtSecret();
    proxy = await startInterceptProxy({ workerUrl: WORKER_URL });
    await rsapi.setProxy(proxy.url);
    const created = await appCall(WORKER_URL, "create_graph", { GraphName: "web write" }, user.token);
    assert.equal(created.status, 200, created.text);
    graph = created.json.GraphUUID;
    keys = await rsapi.keygen();
    await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);
    crypto = createGraphCrypto(keys);
    desktop = await makeDeviceDir("desktop");
    dirs.push(desktop);
    await writeFiles(desktop, { [PAGE]: TABS, [OTHER]: "- another page\n" });
    desktopTxid = await rsapi.updateRemoteFiles(graph, desktop, [PAGE, OTHER], 0, user.token);
  },
  { timeout: 30_000 },
);

after(
  async () => {
    await removeDirs(dirs);
    await rsapi.setProxy(null).catch(() => {});
    await proxy?.close();
  },
  { timeout: 15_000 },
);

/** The calls a browser makes (same origin JSON + the presigned PUT/GET), with a call log. */
function browserApi({ badPut = false } = {}) {
  const log = [];
  const call = async (name, body) => {
    log.push(name);
    const r = await appCall(WORKER_URL, name, body, user.token, { timeoutMs: 15_000 });
    if (r.status !== 200) {
      const e = new Error(r.json?.message ?? r.text);
      e.status = r.status;
      throw e;
    }
    return r.json;
  };
  return {
    log,
    ...syncCalls(call, graph),
    async put(url, bytes) {
      log.push("PUT");
      // a bad URL: the signature of another request
      const target = badPut ? url.replace(/X-Amz-Signature=[0-9a-f]{4}/, "X-Amz-Signature=0000") : url;
      const r = await fetch(target, { method: "PUT", body: bytes });
      if (r.status !== 200) throw new Error(`PUT answered ${r.status}: ${await r.text()}`);
    },
    async get(url) {
      log.push("GET");
      const r = await fetch(url);
      if (r.status !== 200) throw new Error(`GET answered ${r.status}`);
      return new Uint8Array(await r.arrayBuffer());
    },
  };
}

/** The person confirmed the merge preview: commit the merged text on the remote base. */
function confirm(r, p) {
  return commit({ api: browserApi(), crypto, path: p, base: r.remote, text: r.mergedText, txid: r.txid });
}

async function txidNow() {
  const r = await appCall(WORKER_URL, "get_txid", { GraphUUID: graph }, user.token);
  return r.json.TXId;
}

/** What the browser loads before editing: the text (decrypted here), its checksum, the txid. */
async function browserOpen(p) {
  const api = browserApi();
  const name = crypto.encryptName(p);
  const [meta] = await api.getFilesMeta([name]);
  const { PresignedFileUrls: urls } = await api.getFiles([name]);
  const text = new TextDecoder().decode(await crypto.decryptBody(await api.get(urls[name])));
  assert.equal(md5(text), meta.Checksum, "the browser's MD5 of rsapi's plaintext is the stored checksum");
  return { text, checksum: meta.Checksum, txid: await txidNow() };
}

/** The desktop pulls one file with stock rsapi and reads it from disk. */
async function desktopPull(p) {
  await rsapi.updateLocalFiles(graph, desktop, [p], user.token);
  desktopTxid = await txidNow();
  return (await readGraphFile(desktop, p)).toString("utf8");
}

/** The desktop writes a file and pushes it with stock rsapi. */
async function desktopPush(p, text) {
  await mkdir(path.dirname(path.join(desktop, p)), { recursive: true });
  await writeFile(path.join(desktop, p), text);
  desktopTxid = await rsapi.updateRemoteFiles(graph, desktop, [p], desktopTxid, user.token);
}

describe("the browser's commit core against a worker and an rsapi desktop", () => {
  it(
    "a one-block edit reaches the desktop: the file equals the original except exactly the edited bytes",
    STEP,
    async () => {
      const opened = await browserOpen(PAGE);
      assert.equal(opened.text, TABS, "rsapi's body decrypts to the page");
      const page = openPage(opened.text);
      const edit = applyEdit(page, {
        type: "edit",
        index: 3,
        text: "nested note, edited in a browser 📱\nsecond line of the note",
      });
      const api = browserApi();
      const r = await commit({ api, crypto, path: PAGE, base: opened, text: edit.text, txid: opened.txid });
      assert.equal(r.status, "committed", JSON.stringify(r));
      assert.equal(r.txid, opened.txid + 1);
      assert.deepEqual(api.log, ["get_files_meta", "get_upload_urls", "PUT", "update_files"]);

      // rsapi reads the name and the body the browser encrypted
      const listed = await appCall(WORKER_URL, "get_all_files", { GraphUUID: graph }, user.token);
      const names = listed.json.Objects.map((o) => stripUserGraphPrefix(o.Key));
      assert.ok(rsapi.decryptFnames(graph, names).includes(PAGE.normalize("NFC")));
      const onDesktop = await desktopPull(PAGE);
      assert.equal(onDesktop, edit.text);
      assert.equal(onDesktop.slice(0, edit.start), TABS.slice(0, edit.start), "bytes before the block");
      assert.equal(
        onDesktop.slice(onDesktop.length - (TABS.length - edit.end)),
        TABS.slice(edit.end),
        "bytes after it",
      );
      assert.equal(
        onDesktop,
        TABS.replace(
          "\t\t- nested note with #tag and [[Café déjà vu]]\n",
          "\t\t- nested note, edited in a browser 📱\n",
        ),
      );
      for (const kept of [
        "  id:: 6571a3f0-1c2b-4d5e-8f90-0a1b2c3d4e5f\n  collapsed:: true\n\t- TODO write the report\n",
        "  id:: 6571a3f0-0000-4d5e-8f90-0a1b2c3d4e60\n\t- child of later\n",
      ]) {
        assert.ok(onDesktop.includes(kept), `kept: ${kept}`);
      }
      assert.ok(onDesktop.endsWith("日本語のブロック\n"), "final newline kept");
      assert.equal(md5(onDesktop), r.checksum);
    },
  );

  it("the desktop edits block C while the browser edits block B: both edits survive", STEP, async () => {
    const opened = await browserOpen(PAGE);
    const page = openPage(opened.text);
    const mine = applyEdit(page, { type: "toggle", index: 1 }).text; // B: TODO -> DONE
    // meanwhile the desktop changes block C (the one with id:: 6571a3f0-0000-…)
    const theirs = opened.text.replace("- LATER read **the paper**", "- NOW read **the paper** (desktop)");
    await desktopPush(PAGE, theirs);

    const api = browserApi();
    const r = await commit({ api, crypto, path: PAGE, base: opened, text: mine, txid: opened.txid });
    assert.equal(r.status, "needs-confirmation", "a merge is never committed unconfirmed");
    assert.equal(r.remote.text, theirs);
    assert.ok(!api.log.includes("update_files") && !api.log.includes("PUT"), "nothing uploaded before confirmation");
    assert.ok(r.mergedText.includes("\t- DONE write the report\n"), r.mergedText);
    assert.ok(r.mergedText.includes("- NOW read **the paper** (desktop)\n  id:: 6571a3f0-0000-4d5e-8f90-0a1b2c3d4e60"));
    assert.equal(r.merge.conflicts, 0);
    // block C carries id::, and LS's own merge (diff-merge 0.2.2) drops the desktop's edit of
    // it: merge.js puts it back (web/src/write/README.md)
    assert.ok(!r.merge.lsText.includes("(desktop)"), "LS 0.10.15's merge alone would lose it");
    assert.equal(r.merge.rescued.length, 1);
    assert.deepEqual(
      r.merge.blocks.filter((b) => b.side !== "base").map((b) => b.side),
      ["current", "incoming"],
    );

    const confirmed = await confirm(r, PAGE);
    assert.equal(confirmed.status, "committed", JSON.stringify(confirmed));
    const onDesktop = await desktopPull(PAGE);
    assert.equal(onDesktop, r.mergedText);
    assert.ok(onDesktop.includes("\t- DONE write the report\n") && onDesktop.includes("(desktop)"));
    assert.ok(onDesktop.endsWith("\n"), "final newline kept through the merge");
  });

  it("both edit the same block: needs confirmation, both texts in the merge", STEP, async () => {
    const opened = await browserOpen(PAGE);
    const page = openPage(opened.text);
    const i = page.blocks.findIndex((b) => b.body.startsWith("A code block"));
    const mine = applyEdit(page, {
      type: "edit",
      index: i,
      text: editableText(page, i).replace("A code block", "A code block (browser)"),
    }).text;
    const theirs = opened.text.replace("- A code block", "- A code block (desktop)");
    await desktopPush(PAGE, theirs);
    const r = await commit({ api: browserApi(), crypto, path: PAGE, base: opened, text: mine, txid: opened.txid });
    assert.equal(r.status, "needs-confirmation");
    assert.equal(r.merge.conflicts, 1);
    const sides = r.merge.blocks.filter((b) => b.conflict).map((b) => [b.side, b.raw.split("\n")[0]]);
    assert.deepEqual(sides, [
      ["current", "- A code block (browser)"],
      ["incoming", "- A code block (desktop)"],
    ]);
    const confirmed = await confirm(r, PAGE);
    assert.equal(confirmed.status, "committed");
    const onDesktop = await desktopPull(PAGE);
    assert.ok(onDesktop.includes("- A code block (browser)") && onDesktop.includes("- A code block (desktop)"));
  });

  it("a failed PUT commits nothing and keeps the text; the retry commits", STEP, async () => {
    const opened = await browserOpen(OTHER);
    const text = `${opened.text}- written in a browser\n`;
    const before = await txidNow();
    const r = await commit({
      api: browserApi({ badPut: true }),
      crypto,
      path: OTHER,
      base: opened,
      text,
      txid: opened.txid,
    });
    assert.equal(r.status, "failed");
    assert.equal(r.stage, "put");
    assert.match(r.error.message, /PUT answered 403/);
    assert.equal(r.text, text, "the text is kept");
    assert.equal(r.upload, null, "nothing uploaded that could be committed");
    assert.equal(await txidNow(), before, "nothing committed");
    assert.equal(await desktopPull(OTHER), opened.text);
    const again = await commit({ api: browserApi(), crypto, path: OTHER, base: opened, text, txid: opened.txid });
    assert.equal(again.status, "committed");
    assert.equal(await desktopPull(OTHER), text);
  });

  it(
    "the desktop deletes the page the browser edits: a merge to confirm, and confirming it brings the text back",
    STEP,
    async () => {
      const p = "pages/deleted meanwhile.md";
      await desktopPush(p, "- a page the desktop will delete\n\t- with a child\n");
      const opened = await browserOpen(p);
      desktopTxid = await rsapi.deleteRemoteFiles(graph, desktop, [p], await txidNow(), user.token);
      const mine = `${opened.text}- added in the browser\n`;
      const r = await commit({ api: browserApi(), crypto, path: p, base: opened, text: mine, txid: opened.txid });
      assert.equal(r.status, "needs-confirmation");
      assert.deepEqual(r.remote, { text: "", checksum: null }, "the server has no such file");
      const done = await confirm(r, p);
      assert.equal(done.status, "committed", "confirming the merge of a deleted page creates it (no endless re-ask)");
      assert.equal(await desktopPull(p), r.mergedText);
      assert.match(r.mergedText, /added in the browser/);
    },
  );

  it("a 409 loses nothing: a refused commit keeps its uploaded key, the retry reuses it", STEP, async () => {
    const opened = await browserOpen(OTHER);
    const text = `${opened.text}- second browser line\n`;
    // another device commits an unrelated file: the browser's txid is now stale
    await desktopPush("pages/unrelated.md", "- from the desktop\n");
    const api = browserApi();
    const refused = await commit({ api, crypto, path: OTHER, base: opened, text, txid: opened.txid, maxRetries: 0 });
    assert.equal(refused.status, "failed");
    assert.match(refused.error.message, /txid_to_validate/);
    assert.ok(refused.upload?.key, "the uploaded key is kept");
    assert.equal(await desktopPull(OTHER), opened.text, "nothing committed");

    const retryApi = browserApi();
    const r = await commit({
      api: retryApi,
      crypto,
      path: OTHER,
      base: opened,
      text,
      txid: opened.txid,
      upload: refused.upload,
    });
    assert.equal(r.status, "committed", JSON.stringify(r));
    assert.ok(!retryApi.log.includes("get_upload_urls") && !retryApi.log.includes("PUT"), `reused: ${retryApi.log}`);
    assert.deepEqual(retryApi.log, ["get_files_meta", "update_files", "get_diff", "update_files"]);
    assert.equal(await desktopPull(OTHER), text);
  });

  it("the desktop commits the same page while the browser uploads: 409, then a merge to confirm", STEP, async () => {
    const opened = await browserOpen(OTHER);
    const mine = opened.text.replace("- another page", "- another page, browser");
    const theirs = `${opened.text}- desktop line\n`;
    const api = browserApi();
    const put = api.put;
    api.put = async (url, bytes) => {
      await desktopPush(OTHER, theirs); // lands between the browser's checksum check and its commit
      return put(url, bytes);
    };
    const r = await commit({ api, crypto, path: OTHER, base: opened, text: mine, txid: opened.txid });
    assert.equal(r.status, "needs-confirmation", JSON.stringify(r));
    assert.deepEqual(api.log.slice(0, 5), ["get_files_meta", "get_upload_urls", "PUT", "update_files", "get_diff"]);
    assert.equal(await desktopPull(OTHER), theirs, "the browser's text was not committed over the desktop's");
    assert.ok(
      r.mergedText.includes("- another page, browser") && r.mergedText.includes("- desktop line"),
      r.mergedText,
    );
    const confirmed = await confirm(r, OTHER);
    assert.equal(confirmed.status, "committed");
    assert.equal(await desktopPull(OTHER), r.mergedText);
  });

  it(
    "today's journal and a new page get the desktop's names; a journal another device made first is merged",
    STEP,
    async () => {
      const config = readConfig(
        "{:file/name-format :triple-lowbar :preferred-format :markdown :export/bullet-indentation :tab}",
      );
      const day = { year: 2026, month: 12, day: 6 };
      const journal = newJournal({ day, config, firstBlock: "jotted on a phone" });
      assert.equal(journal.path, "journals/2026_12_06.md");
      const page = pagePath("Project/Café: plan?", config);
      assert.equal(page.path, "pages/Project___Café%3A plan%3F.md");
      const pageText = fileText([{ content: "first line" }, { content: "child", depth: 1 }], config);
      assert.equal(pageText, "- first line\n\t- child");

      let txid = await txidNow();
      for (const [p, text] of [
        [journal.path, journal.text],
        [page.path, pageText],
      ]) {
        const r = await commit({ api: browserApi(), crypto, path: p, base: null, text, txid });
        assert.equal(r.status, "committed", JSON.stringify(r));
        txid = r.txid;
      }
      const listed = await appCall(WORKER_URL, "get_all_files", { GraphUUID: graph }, user.token);
      const plain = rsapi.decryptFnames(
        graph,
        listed.json.Objects.map((o) => stripUserGraphPrefix(o.Key)),
      );
      assert.ok(plain.includes(journal.path) && plain.includes(page.path.normalize("NFC")), JSON.stringify(plain));
      assert.equal(await desktopPull(journal.path), "- jotted on a phone");
      assert.equal(await desktopPull(page.path), pageText);

      // the desktop creates tomorrow's journal first; the browser's "new" journal must merge
      const tomorrow = newJournal({ day: { ...day, day: 7 }, config, firstBlock: "browser's first thought" });
      await desktopPush(tomorrow.path, "- desktop's first thought\n");
      const r = await commit({
        api: browserApi(),
        crypto,
        path: tomorrow.path,
        base: null,
        text: tomorrow.text,
        txid: await txidNow(),
      });
      assert.equal(r.status, "needs-confirmation");
      assert.ok(
        r.mergedText.includes("- desktop's first thought") && r.mergedText.includes("- browser's first thought"),
      );
    },
  );
});
