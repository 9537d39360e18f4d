// The web app's whole-file operations (issue 18) in headless Chromium at a phone viewport
// (360x740, touch) against a graph an rsapi device ("the desktop", stock official client
// library) uploaded and pulls from: today's journal (from the graph's journal template) and a
// new page reach the desktop with the desktop's file names and text; a photo uploaded in the
// browser lands in assets/ byte-identical on the desktop, is linked as the desktop links it and
// renders; a larger file shows its upload progress; a file over the server's limit is refused before anything is sent, with the limit
// shown; an old version restored from history reaches the desktop; "undo last change" reverts
// it; a deleted page comes back from Recent changes → its versions → restore; a page changed
// on the desktop after the browser read it comes back as a merge to confirm. Every request is
// recorded: nothing secret or plaintext leaves the browser, no CSP violation.
//
// Needs WORKER_URL, ADMIN_TOKEN and CHROMIUM_BIN (`node scripts/test.mjs --skip-checks --only web-ops`).

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

import { appCall } from "../harness/client.mjs";
import { startInterceptProxy } from "../harness/proxy.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { makeDeviceDir, removeDirs, writeFiles, readGraphFile, stripUserGraphPrefix } from "../harness/graph.mjs";
import { adminClient, browserKit, passwordGraph, signInAndUnlock, png, waitText } from "../harness/webapp.mjs";
import { localDay, newJournal, readConfig } from "../../web/src/write/names.js";

const BASE = process.env.WORKER_URL;
const ADMIN = process.env.ADMIN_TOKEN;
const CHROMIUM = process.env.CHROMIUM_BIN;
const SHOTS = process.env.WEB_SCREENSHOTS;
const PASSWORD = "ops test password 7";

const CONFIG =
  '{:meta/version 1\n :preferred-format :markdown\n :file/name-format :triple-lowbar\n :default-templates {:journals "Daily"}}\n';
const TEMPLATES =
  "- Daily\n  template:: Daily\n  template-including-parent:: false\n\t- ## Morning\n\t- ## Evening review\n";
const PLAN_V1 = "- Plan version one\n\t- the first draft of the itinerary\n";
const PLAN_V2 = "- Plan version two\n\t- the second draft, rewritten on the desktop\n";
const FILES = {
  "logseq/config.edn": CONFIG,
  "pages/templates.md": TEMPLATES,
  "pages/Trip Plan.md": PLAN_V1,
  "pages/Packing.md": "- passport\n- charger\n",
  "pages/Obsolete notes.md": "- an obsolete note about the quarry\n",
};
const PHRASES = [
  "first draft of the itinerary",
  "rewritten on the desktop",
  "obsolete note about the quarry",
  "Evening review",
  "jotted on the phone",
  "Lisbon",
  "written in the browser",
  "kept in the form after the revocation",
  "Written after revocation",
];

const kit = browserKit({ chromium: CHROMIUM, shots: SHOTS });
const { launch, phonePage, shot, assertNoCsp, state } = kit;
const dirs = [];
let proxy;
let tmp;

const admin = adminClient(BASE, ADMIN);

/** Waits for the app to go to `hash`; on a timeout says what the screen shows instead. */
async function waitHash(page, hash, timeout = 30_000) {
  try {
    await page.waitForFunction((h) => location.hash === h, { timeout }, hash);
  } catch (e) {
    const shown = await page.evaluate(() => `${location.hash}: ${document.querySelector("main")?.textContent}`);
    throw new Error(`${e.message}; the app shows ${shown}`);
  }
}

const route = (path) => `#/page/${encodeURIComponent(path)}`;
const calls = (name) => state.requests.filter((r) => new URL(r.url, BASE).pathname === `/file-sync/${name}`).length;

describe("web app: new pages, today, photos, delete, restore, undo", {
  skip: CHROMIUM ? false : "chromium is not installed",
}, () => {
  const email = `web-ops-${Date.now()}@example.com`;
  let keys;
  let graph;
  let idToken;
  let refresh;
  let desktop;
  let txid = 0;
  let page;

  /** The server's file names, decrypted by rsapi. */
  async function serverPaths() {
    const r = await appCall(BASE, "get_all_files", { GraphUUID: graph }, idToken);
    return rsapi.decryptFnames(
      graph,
      r.json.Objects.map((o) => stripUserGraphPrefix(o.Key)),
    );
  }
  async function txidNow() {
    return (await appCall(BASE, "get_txid", { GraphUUID: graph }, idToken)).json.TXId;
  }
  /** The desktop pulls files with stock rsapi and reads them from disk. */
  async function desktopPull(paths) {
    await rsapi.updateLocalFiles(graph, desktop, paths, idToken);
    txid = await txidNow();
    return Promise.all(paths.map((p) => readGraphFile(desktop, p)));
  }
  async function desktopPush(files) {
    await writeFiles(desktop, files);
    txid = await rsapi.updateRemoteFiles(graph, desktop, Object.keys(files), await txidNow(), idToken);
  }

  before(
    async () => {
      tmp = mkdtempSync(join(tmpdir(), "web-ops-"));
      await admin("POST", "/admin/users", { email });
      const minted = await admin("POST", "/admin/tokens", { email, label: "web-ops phone" });
      idToken = minted.id_token;
      refresh = minted.refresh_token;
      proxy = await startInterceptProxy({ workerUrl: BASE });
      await rsapi.setProxy(proxy.url);
      ({ graph, keys } = await passwordGraph({ base: BASE, idToken, name: "Travel notes", password: PASSWORD }));
      desktop = await makeDeviceDir("web-ops-desktop");
      dirs.push(desktop);
      await writeFiles(desktop, FILES);
      txid = await rsapi.updateRemoteFiles(graph, desktop, Object.keys(FILES), 0, idToken);
      // a second version of the plan, for the history
      await writeFiles(desktop, { "pages/Trip Plan.md": PLAN_V2 });
      txid = await rsapi.updateRemoteFiles(graph, desktop, ["pages/Trip Plan.md"], txid, idToken);
    },
    { timeout: 60_000 },
  );

  after(async () => {
    await kit.close();
    await rsapi.setProxy(null).catch(() => {});
    await proxy?.close();
    await removeDirs(dirs);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("sign in and unlock at 360x740; the pages screen offers New page and Today", { timeout: 90_000 }, async () => {
    page = await phonePage(await launch("ops"), "ops");
    await signInAndUnlock(page, { base: BASE, refreshToken: refresh, graph, password: PASSWORD });
    for (const sel of ["#new-page", "#today"]) {
      const box = await (await page.$(sel)).boundingBox();
      assert.ok(box.height >= 44, `${sel} is a 44 px touch target (${box.height})`);
    }
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `no sideways scrolling (${width})`);
    await shot(page, "web-pages-new");
  });

  test("Today creates journals/<date>.md from the journal template, as the desktop names and writes it", {
    timeout: 60_000,
  }, async () => {
    const day = localDay();
    const expected = newJournal({
      day,
      config: readConfig(CONFIG),
      pages: [{ path: "pages/templates.md", text: TEMPLATES }],
    });
    assert.equal(expected.text, "- ## Morning\n- ## Evening review", "the template's children, as LS inserts them");
    await page.click("#today");
    await waitText(page, "#ops-path", expected.path);
    assert.match(expected.path, /^journals\/\d{4}_\d\d_\d\d\.md$/);
    await waitText(page, "#ops-preview", "Evening review");
    await shot(page, "web-today");
    await page.click("#ops-create");
    await waitHash(page, route(expected.path), 30_000);
    await waitText(page, "#page", "Evening review");
    const [onDesktop] = await desktopPull([expected.path]);
    assert.equal(onDesktop.toString("utf8"), expected.text);
    assert.ok((await serverPaths()).includes(expected.path));
    // a second "Today" opens it instead of creating it again
    const before = await txidNow();
    await page.goto(`${BASE}/app/#/pages`);
    await page.waitForSelector("#today");
    await page.click("#today");
    await waitHash(page, route(expected.path), 10_000);
    assert.equal(await txidNow(), before);
  });

  test("New page: the desktop's file name (or the reason there is none), created on the desktop", {
    timeout: 60_000,
  }, async () => {
    await page.goto(`${BASE}/app/#/new`);
    await page.waitForSelector("#ops-title");
    await page.type("#ops-title", "x".repeat(470));
    await waitText(page, "#ops-name", "too long for Logseq Sync");
    assert.equal(await page.$eval("#ops-create", (b) => b.disabled), true);
    await page.$eval("#ops-title", (e) => {
      e.value = "";
    });
    await page.type("#ops-title", "Trip/Lisbon: day 1");
    await waitText(page, "#ops-name", "pages/Trip___Lisbon%3A day 1.md");
    await page.type("#ops-first", "tram 28 written in the browser");
    await shot(page, "web-new-page");
    await page.click("#ops-create");
    const path = "pages/Trip___Lisbon%3A day 1.md";
    await waitHash(page, route(path), 30_000);
    await waitText(page, "#page", "tram 28");
    const [onDesktop] = await desktopPull([path]);
    assert.equal(onDesktop.toString("utf8"), "- tram 28 written in the browser");
  });

  test("a photo goes into assets/ byte-identical on the desktop, linked as the desktop links it, and renders", {
    timeout: 90_000,
  }, async () => {
    const photo = png([0xd0, 0x40, 0x20]);
    const file = join(tmp, "image.png");
    writeFileSync(file, photo);
    await page.goto(`${BASE}/app/${route("pages/Packing.md")}`);
    await waitText(page, "#page", "charger");
    await waitText(page, "#ops-photo .ops-limits", "storage free");
    const limits = await page.$eval("#ops-photo .ops-limits", (e) => e.textContent);
    assert.match(limits, /^Files under 97\.7 MB; .* of 5\.0 GB storage free\.$/);
    await shot(page, "web-add-photo");
    const t0 = Date.now();
    await (await page.$("#ops-photo input[type=file]")).uploadFile(file);
    await waitText(page, "#ops-photo-status", "Added to the page.", 30_000);
    const t1 = Date.now();
    const asset = (await serverPaths()).find((p) => p.startsWith("assets/image_"));
    assert.match(asset ?? "", /^assets\/image_(\d+)_0\.png$/);
    const ms = Number(/_(\d+)_0/.exec(asset)[1]);
    assert.ok(ms >= t0 - 1000 && ms <= t1, "the desktop's <name>_<Date.now()>_<index> name");
    const [bytes, text] = await desktopPull([asset, "pages/Packing.md"]);
    assert.ok(Buffer.compare(bytes, photo) === 0, "the asset is byte-identical on the desktop");
    assert.equal(
      text.toString("utf8"),
      `- passport\n- charger\n- ![image.png](../${asset})\n`,
      "appended, the final newline kept",
    );
    // the browser renders it (decrypted into a blob: URL)
    await page.waitForFunction(
      () => [...document.querySelectorAll("#page img")].some((i) => i.naturalWidth === 8 && i.src.startsWith("blob:")),
      { timeout: 30_000 },
    );
    await shot(page, "web-photo-added");
  });

  test("a larger file shows its upload progress (upload throttled to 400 KB/s) and is linked as a file", {
    timeout: 90_000,
  }, async () => {
    const data = randomBytes(1_500_000);
    const file = join(tmp, "field recording.bin");
    writeFileSync(file, data);
    await page.goto(`${BASE}/app/#/pages`);
    await page.waitForSelector("#pages li[data-path]");
    await page.goto(`${BASE}/app/${route("pages/Packing.md")}`);
    await waitText(page, "#ops-photo .ops-limits", "storage free");
    const cdp = await page.createCDPSession();
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 400_000,
    });
    try {
      await (await page.$("#ops-photo input[type=file]")).uploadFile(file);
      await page.waitForFunction(
        () => {
          const bar = document.querySelector("#ops-photo .ops-progress");
          return !bar.hidden && bar.value > 0 && bar.value < 100;
        },
        { timeout: 30_000 },
      );
      await waitText(page, "#ops-photo", "Uploading field recording.bin: ");
      await shot(page, "web-photo-progress");
      await waitText(page, "#ops-photo-status", "Added to the page.", 60_000);
    } finally {
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      await cdp.detach();
    }
    const asset = (await serverPaths()).find((p) => p.startsWith("assets/field_recording_"));
    assert.match(asset ?? "", /^assets\/field_recording_\d+_0\.bin$/);
    const [bytes, text] = await desktopPull([asset, "pages/Packing.md"]);
    assert.ok(Buffer.compare(bytes, data) === 0, "byte-identical on the desktop");
    assert.ok(text.toString("utf8").endsWith(`- [field recording.bin](../${asset})\n`), text.toString("utf8"));
  });

  test("a file over the server's limit is refused before upload, with the limit shown", {
    timeout: 30_000,
  }, async () => {
    const big = join(tmp, "video.mp4");
    writeFileSync(big, "");
    truncateSync(big, 102_400_000); // sparse: nothing is written
    const urls = calls("get_upload_urls");
    const puts = state.requests.filter((r) => r.method === "PUT").length;
    const before = await txidNow();
    await (await page.$("#ops-photo input[type=file]")).uploadFile(big);
    await waitText(
      page,
      "#ops-photo",
      "Too large: this file is 97.7 MB (102,400,000 bytes); Logseq Sync takes files under 102,400,000 bytes (97.7 MB)",
    );
    assert.equal(
      await page.$eval("#ops-photo .ops-retry", (b) => b.hidden),
      true,
      "no retry offered for a file over the limit",
    );
    await shot(page, "web-photo-too-large");
    assert.equal(calls("get_upload_urls"), urls, "no upload URL asked for");
    assert.equal(state.requests.filter((r) => r.method === "PUT").length, puts, "nothing PUT");
    assert.equal(await txidNow(), before);
  });

  test("a PUT that fails and a commit cut off (as a tab killed after its PUT) apply nothing and keep the file; Try again commits it", {
    timeout: 90_000,
  }, async () => {
    const photo = png([0x20, 0x90, 0x40]);
    const file = join(tmp, "IMG 0042.png");
    writeFileSync(file, photo);
    await page.goto(`${BASE}/app/#/pages`); // a fresh page screen (the last test left its messages)
    await page.waitForSelector("#pages li[data-path]");
    await page.goto(`${BASE}/app/${route("pages/Packing.md")}`);
    await waitText(page, "#ops-photo .ops-limits", "storage free");
    assert.equal(await page.$eval("#ops-photo-status", (e) => e.textContent), "");
    const before = await txidNow();
    const paths = await serverPaths();
    let cut = "PUT";
    const handler = (req) => {
      if (cut === "PUT" && req.method() === "PUT") return req.abort("connectionreset");
      if (cut === "commit" && new URL(req.url()).pathname === "/file-sync/update_files")
        return req.abort("connectionreset");
      return req.continue();
    };
    await page.setRequestInterception(true);
    page.on("request", handler);
    try {
      await (await page.$("#ops-photo input[type=file]")).uploadFile(file);
      await waitText(page, "#ops-photo", "upload failed: the connection was lost");
      await waitText(page, "#ops-photo", "The file is kept here.");
      await shot(page, "web-photo-failed");
      assert.equal(await txidNow(), before, "nothing committed");
      cut = "commit";
      await page.click("#ops-photo .ops-retry");
      await waitText(page, "#ops-photo", "The server cannot be reached");
      assert.equal(await txidNow(), before, "the PUT landed, the commit did not: nothing applied");
      assert.deepEqual(await serverPaths(), paths, "no file appeared");
      cut = null;
      await page.click("#ops-photo .ops-retry");
      await waitText(page, "#ops-photo-status", "Added to the page.", 30_000);
    } finally {
      page.off("request", handler);
      await page.setRequestInterception(false);
    }
    const asset = (await serverPaths()).find((p) => p.startsWith("assets/IMG_0042_"));
    assert.match(asset ?? "", /^assets\/IMG_0042_\d+_0\.png$/);
    const [bytes, text] = await desktopPull([asset, "pages/Packing.md"]);
    assert.ok(Buffer.compare(bytes, photo) === 0, "byte-identical on the desktop");
    assert.ok(text.toString("utf8").endsWith(`- ![IMG 0042.png](../${asset})\n`), text.toString("utf8"));
    assert.equal(await txidNow(), before + 2, "one commit for the asset, one for the page");
  });

  test("restore an old version from history: it reaches the desktop; undo last change brings the newer back", {
    timeout: 90_000,
  }, async () => {
    const path = "pages/Trip Plan.md";
    await page.goto(`${BASE}/app/#/history/${encodeURIComponent(path)}`);
    await page.waitForSelector("#versions button[data-restore]", { timeout: 30_000 });
    await page.click("#versions button[data-restore]");
    await page.waitForSelector("dialog.ops-dialog[open]");
    await waitText(page, "dialog.ops-dialog", "first draft of the itinerary");
    await shot(page, "web-restore-dialog");
    await page.click('dialog.ops-dialog button[data-choice="restore"]');
    await waitHash(page, route(path), 30_000);
    await waitText(page, "#page", "Plan version one");
    let [onDesktop] = await desktopPull([path]);
    assert.equal(onDesktop.toString("utf8"), PLAN_V1);

    await page.waitForSelector("#ops-undo");
    assert.match(await page.$eval("#ops-undo", (b) => b.textContent), /^Undo last change \(Trip Plan\)$/);
    await page.click("#ops-undo");
    await waitText(page, "#page", "Plan version two", 30_000);
    [onDesktop] = await desktopPull([path]);
    assert.equal(onDesktop.toString("utf8"), PLAN_V2);
  });

  test("a restore over a page the desktop changed meanwhile asks to confirm the merge; nothing is overwritten", {
    timeout: 90_000,
  }, async () => {
    const path = "pages/Trip Plan.md";
    await page.goto(`${BASE}/app/#/history/${encodeURIComponent(path)}`);
    await page.waitForSelector("#versions button[data-restore]", { timeout: 30_000 });
    // the desktop adds a block after the browser read the page
    const desktopText = `${PLAN_V2}- a desktop block added meanwhile\n`;
    await desktopPush({ [path]: desktopText });
    const before = await txidNow();
    const rows = await page.$$("#versions button[data-restore]");
    await rows[rows.length - 1].click(); // the oldest: version one
    await page.waitForSelector('dialog.ops-dialog[open] button[data-choice="restore"]');
    await page.click('dialog.ops-dialog button[data-choice="restore"]');
    await page.waitForSelector("dialog.ops-dialog[open] #ops-merge", { timeout: 30_000 });
    assert.equal(await txidNow(), before, "nothing committed before the merge is confirmed");
    const merged = await page.$eval("#ops-merge", (e) => e.textContent);
    assert.ok(merged.includes("a desktop block added meanwhile"), merged);
    await shot(page, "web-restore-merge");
    await page.click('dialog.ops-dialog button[data-choice="save"]');
    await waitHash(page, route(path), 30_000);
    const [onDesktop] = await desktopPull([path]);
    const t = onDesktop.toString("utf8");
    assert.ok(t.includes("a desktop block added meanwhile"), `the desktop's block kept: ${t}`);
    assert.ok(t.includes("first draft of the itinerary"), `the restored text is in: ${t}`);
  });

  test("delete asks, then deletes on every device; Recent changes → its versions → restore brings it back", {
    timeout: 90_000,
  }, async () => {
    const path = "pages/Obsolete notes.md";
    await page.goto(`${BASE}/app/${route(path)}`);
    await waitText(page, "#page", "quarry");
    await page.click("#ops-delete");
    await page.waitForSelector("dialog.ops-dialog[open]");
    await shot(page, "web-delete-dialog");
    await page.click('dialog.ops-dialog button[data-choice="cancel"]');
    assert.ok((await serverPaths()).includes(path), "Cancel deletes nothing");
    await page.click("#ops-delete");
    await page.waitForSelector('dialog.ops-dialog[open] button[data-choice="delete"]');
    await page.click('dialog.ops-dialog button[data-choice="delete"]');
    await waitHash(page, "#/pages");
    assert.ok(!(await serverPaths()).includes(path), "deleted on the server");
    const r = await appCall(BASE, "get_diff", { GraphUUID: graph, FromTXId: (await txidNow()) - 1 }, idToken);
    assert.equal(r.json.Transactions[0].TXType, "delete_files");

    await page.goto(`${BASE}/app/#/recent`);
    await page.waitForSelector(`#recent a[href="#/restore/${encodeURIComponent(path)}"]`, { timeout: 30_000 });
    await page.click(`#recent a[href="#/restore/${encodeURIComponent(path)}"]`);
    await page.waitForSelector("#ops-versions button[data-restore]", { timeout: 30_000 });
    await shot(page, "web-deleted-versions");
    await page.click("#ops-versions button[data-restore]");
    await page.waitForSelector('dialog.ops-dialog[open] button[data-choice="restore"]');
    await page.click('dialog.ops-dialog button[data-choice="restore"]');
    await waitHash(page, route(path), 30_000);
    await waitText(page, "#page", "quarry");
    const [onDesktop] = await desktopPull([path]);
    assert.equal(onDesktop.toString("utf8"), FILES[path]);
    await assertNoCsp(page);
  });

  test("a revoked sign-in: the new page is refused, the person is told, the text stays in the form", {
    timeout: 60_000,
  }, async () => {
    await page.goto(`${BASE}/app/#/new`);
    await page.waitForSelector("#ops-title");
    await page.type("#ops-title", "Written after revocation");
    await page.type("#ops-first", "kept in the form after the revocation");
    const { tokens } = await admin("GET", `/admin/tokens?email=${encodeURIComponent(email)}`);
    const mine = tokens.find((t) => t.label === "web-ops phone");
    await admin("POST", "/admin/tokens/revoke", { id: mine.id });
    const before = await txidNow();
    await page.click("#ops-create");
    await waitText(page, "#ops-status", "You are signed out");
    await shot(page, "web-new-page-revoked");
    assert.equal(await page.$eval("#ops-first", (e) => e.value), "kept in the form after the revocation");
    assert.equal(await txidNow(), before, "nothing committed");
  });

  test("nothing secret or plaintext left the browser", () => {
    kit.assertNothingLeft({
      base: BASE,
      secrets: [PASSWORD, keys.secretKey, keys.secretKey.toLowerCase()],
      plain: [
        ...Object.keys(FILES).flatMap((p) => [
          p,
          p
            .split("/")
            .pop()
            .replace(/\.\w+$/, ""),
        ]),
        ...PHRASES,
        "image.png",
      ],
    });
  });
});
