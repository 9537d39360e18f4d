// The web client's editor (issue 18: web/src/shell/editor.js, drafts.js, edit.worker.js;
// docs/WEB.md "Writing from the browser") in Debian's headless Chromium at a phone viewport
// (360x740, touch), against an rsapi device ("the desktop", the official client library) on
// the same graph: a one-block edit reaches the desktop byte for byte (tabs, `id::`,
// `collapsed::`, the final newline); the desktop edits block C while the browser edits block
// B (merged live into the open editor, both survive); both edit the same block (the editor
// says so, the merge preview shows both sides, the confirmed result reaches the desktop); an
// edit saved offline is queued and commits when the connection returns; faults lose no text
// (a failed PUT, a storm of real 409s, the sign-in revoked mid-edit, the tab reloaded between
// the upload and the commit); two tabs edit one page; a block of 10,000 lines is edited and
// committed byte for byte. Every request is recorded: no password, key or plaintext leaves
// the browser, and kept edits are ciphertext in IndexedDB.
//
// Run: node scripts/test.mjs --skip-checks --only web-edit (WEB_SCREENSHOTS=<dir> keeps screenshots).

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  adminClient,
  browserKit,
  passwordGraph,
  pasteToken,
  signInAndUnlock,
  png,
  waitText,
} from "../harness/webapp.mjs";
import { appCall, raw } from "../harness/client.mjs";
import { startInterceptProxy } from "../harness/proxy.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { makeDeviceDir, readGraphFile, removeDirs, writeFiles } from "../harness/graph.mjs";
import { TABS } from "../web/write-fixtures.mjs";

const BASE = process.env.WORKER_URL;
const ADMIN = process.env.ADMIN_TOKEN;
const CHROMIUM = process.env.CHROMIUM_BIN;
const SHOTS = process.env.WEB_SCREENSHOTS;
const PASSWORD = "an editor's password 7";
const PAGE = "pages/Project Café.md";
const OTHER = "pages/other page.md";
const BIG = "pages/Long log.md";
/** A page with one block of 10,000 lines (a pasted log) between two small ones. */
const BIG_TEXT = [
  "- before the log",
  "- log start",
  ...Array.from({ length: 9_999 }, (_, i) => `  line ${i + 1} of the pasted log, with\ttabs`),
  "- after the log",
  "",
].join("\n");
const STEP = { timeout: 120_000 };

const kit = browserKit({ chromium: CHROMIUM, shots: SHOTS });
const { state, launch, phonePage, assertNoCsp, shot } = kit;
const dirs = []; // device folders
const typed = []; // every phrase typed in the browser: none may leave it in plaintext
let proxy;

const admin = adminClient(BASE, ADMIN);

describe("web editor", { skip: CHROMIUM ? false : "chromium is not installed" }, () => {
  const email = `web-edit-${Date.now()}@example.com`;
  let keys;
  let graph;
  let desktopToken;
  let browserRefresh;
  let desktop;
  let desktopTxid = 0;
  let page;

  const txidNow = async () => (await appCall(BASE, "get_txid", { GraphUUID: graph }, desktopToken)).json.TXId;

  /** The desktop pulls one file with stock rsapi and reads it from disk. */
  async function desktopPull(p = PAGE) {
    await rsapi.updateLocalFiles(graph, desktop, [p], desktopToken);
    desktopTxid = await txidNow();
    return (await readGraphFile(desktop, p)).toString("utf8");
  }

  /** The desktop writes a file and pushes it with stock rsapi (after pulling what it missed). */
  async function desktopPush(p, text) {
    desktopTxid = await txidNow();
    await writeFile(join(desktop, p), text);
    desktopTxid = await rsapi.updateRemoteFiles(graph, desktop, [p], desktopTxid, desktopToken);
  }

  const editorUrl = (p = PAGE) => `${BASE}/app/#/edit/${encodeURIComponent(p)}`;

  async function openEditor(p = PAGE) {
    // Through the page list: going to the same #/edit/ URL again would not re-open the editor.
    await page.goto(`${BASE}/app/#/pages`);
    await page.waitForSelector("#pages li[data-path]", { timeout: 30_000 });
    await page.goto(editorUrl(p));
    await waitStatus("Tap a block", 240_000);
  }

  /** Selects the block whose text contains `needle`, puts the caret at the end of its first line, types. */
  async function typeInBlock(needle, addition) {
    const index = await page.$$eval(
      "#blocks li[data-index]",
      (lis, n) => lis.find((li) => li.textContent.includes(n))?.dataset.index,
      needle,
    );
    if (index === undefined) {
      const shown = await page.$eval("#view", (v) => v.textContent.slice(0, 400));
      assert.fail(`no block with "${needle}" in the editor, which shows: ${shown}`);
    }
    // In the middle of the screen, as a person scrolls to it (not under the sticky save bar).
    await page.$eval(`#blocks li[data-index="${index}"] .blk-show`, (b) => b.scrollIntoView({ block: "center" }));
    await page.click(`#blocks li[data-index="${index}"] .blk-show`);
    await page.waitForSelector("#block-text");
    await page.$eval("#block-text", (ta) => {
      const end = ta.value.indexOf("\n") < 0 ? ta.value.length : ta.value.indexOf("\n");
      ta.focus();
      ta.setSelectionRange(end, end);
    });
    await page.type("#block-text", addition);
    typed.push(addition.trim());
  }

  /** Waits for the editor's status line to say `expect`; a timeout says what it said instead. */
  async function waitStatus(expect, timeout = 60_000) {
    try {
      await waitText(page, "#edit-status", expect, timeout);
    } catch (e) {
      const said = await page.$eval("#edit-status", (x) => x.textContent).catch(() => "(no status line)");
      throw new Error(
        `waited for "${expect}", the editor says "${said}"; console: ${state.console.slice(-5).join(" | ")}`,
        {
          cause: e,
        },
      );
    }
  }

  /** What the editor shows: every block's text, the one being edited included. */
  const editorText = () =>
    page.$eval("#blocks", (b) => b.textContent + [...b.querySelectorAll("textarea")].map((t) => t.value).join("\n"));

  const waitEditorText = (needle) =>
    page.waitForFunction(
      (n) => {
        const b = document.querySelector("#blocks");
        return b && (b.textContent + [...b.querySelectorAll("textarea")].map((t) => t.value).join("\n")).includes(n);
      },
      { timeout: 30_000 },
      needle,
    );

  async function saveAndWait(expect = "Saved", timeout = 60_000) {
    await page.click("#edit-save");
    await waitStatus(expect, timeout);
  }

  async function unlockIfAsked() {
    await page.waitForSelector("#password, #blocks li[data-index], #pages li", { timeout: 30_000 });
    if (await page.$("#password")) {
      await page.type("#password", PASSWORD);
      await page.click("#unlock");
    }
  }

  before(
    async () => {
      await admin("POST", "/admin/users", { email });
      desktopToken = (await admin("POST", "/admin/tokens", { email, label: "web-edit desktop" })).id_token;
      browserRefresh = (await admin("POST", "/admin/tokens", { email, label: "web-edit phone" })).refresh_token;
      proxy = await startInterceptProxy({ workerUrl: BASE });
      await rsapi.setProxy(proxy.url);
      ({ graph, keys } = await passwordGraph({
        base: BASE,
        idToken: desktopToken,
        name: "Edited notes",
        password: PASSWORD,
      }));
      desktop = await makeDeviceDir("web-edit-desktop");
      dirs.push(desktop);
      await writeFiles(desktop, {
        [PAGE]: TABS,
        [OTHER]: "- another page\n",
        "logseq/config.edn": "{:meta/version 1\n :preferred-format :markdown}\n",
      });
      desktopTxid = await rsapi.updateRemoteFiles(graph, desktop, [PAGE, OTHER, "logseq/config.edn"], 0, desktopToken);
    },
    { timeout: 60_000 },
  );

  after(async () => {
    await kit.close();
    await rsapi.setProxy(null).catch(() => {});
    await proxy?.close();
    await removeDirs(dirs);
  });

  test("sign in and unlock at 360 px; config.edn is read-only", STEP, async () => {
    const browser = await launch("edit");
    page = await phonePage(browser, "phone");
    page.on("dialog", (d) => d.accept());
    await signInAndUnlock(page, { base: BASE, refreshToken: browserRefresh, graph, password: PASSWORD });
    await page.goto(`${BASE}/app/#/page/${encodeURIComponent(PAGE)}`);
    await page.waitForSelector("#edit-link");
    await page.goto(editorUrl("logseq/config.edn"));
    await waitText(page, "#view", "read-only");
  });

  test("a one-block edit reaches the desktop: its file equals the original except the edited bytes", STEP, async () => {
    await openEditor();
    await typeInBlock("Goals for the week", ", edited on the phone");
    // The toolbar sits with the block; every control is a touch target of at least 44 px.
    const sizes = await page.$$eval(".blk-tools button, .edit-bar button", (bs) =>
      bs.map((b) => [b.id, b.getBoundingClientRect().width, b.getBoundingClientRect().height]),
    );
    for (const [id, w, h] of sizes) assert.ok(w >= 44 && h >= 44, `${id} is ${w}x${h}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 360, `no sideways scrolling at 360 px (${wide})`);
    await shot(page, "web-edit");
    await saveAndWait();
    const onDesktop = await desktopPull();
    assert.equal(
      onDesktop,
      TABS.replace("- Goals for the week\n", "- Goals for the week, edited on the phone\n"),
      "only the edited bytes changed (tabs, id::, collapsed::, final newline kept)",
    );
    await assertNoCsp(page);
  });

  test("the desktop edits block C while the browser edits block B: merged live, both survive", STEP, async () => {
    await openEditor();
    const before = await desktopPull();
    await typeInBlock("emoji 📝", " [phone B]");
    await desktopPush(PAGE, before.replace("second line of the note", "second line of the note [desktop C]"));
    await page.waitForSelector("#live-note", { timeout: 30_000 });
    assert.equal(
      await page.$eval("#block-text", (t) => t.value),
      "emoji 📝 and 日本語のブロック [phone B]",
      "the block being edited keeps the typed text",
    );
    await saveAndWait();
    assert.equal(
      await desktopPull(),
      before
        .replace("second line of the note", "second line of the note [desktop C]")
        .replace("- emoji 📝 and 日本語のブロック\n", "- emoji 📝 and 日本語のブロック [phone B]\n"),
      "both edits, every other byte as it was",
    );
  });

  test(
    "both edit the same block: the editor says so, the preview shows both, the confirmed merge reaches the desktop",
    STEP,
    async () => {
      await openEditor();
      const before = await desktopPull();
      await typeInBlock("emoji 📝", " [phone same]");
      await desktopPush(PAGE, before.replace("[phone B]", "[phone B] [desktop same]"));
      await page.waitForSelector("#live-conflict", { timeout: 30_000 });
      await page.click("#edit-save");
      await page.waitForSelector("#merge-blocks li", { timeout: 60_000 });
      const sides = await page.$$eval("#merge-blocks li", (lis) =>
        lis.map((li) => ({ side: li.dataset.side, conflict: li.classList.contains("conflict"), text: li.textContent })),
      );
      assert.ok(
        sides.some((b) => b.side === "current" && b.conflict && b.text.includes("[phone same]")),
        JSON.stringify(sides),
      );
      assert.ok(
        sides.some((b) => b.side === "incoming" && b.conflict && b.text.includes("[desktop same]")),
        JSON.stringify(sides),
      );
      await page.waitForSelector("#merge-conflicts");
      await page.$eval("#merge-blocks li.conflict", (li) =>
        window.scrollTo(0, li.getBoundingClientRect().top + window.scrollY - 220),
      );
      await shot(page, "web-merge");
      await page.click("#merge-confirm");
      await waitText(page, "#edit-status", "Saved", 60_000);
      const onDesktop = await desktopPull();
      assert.ok(onDesktop.includes("[phone B] [phone same]"), onDesktop);
      assert.ok(onDesktop.includes("[phone B] [desktop same]"), onDesktop);
    },
  );

  test("an edit saved offline is queued, shown as pending, and commits when the connection returns", STEP, async () => {
    await openEditor();
    await page.setOfflineMode(true);
    await typeInBlock("child of later", " [written offline]");
    await saveAndWait("queued");
    await page.goto(`${BASE}/app/#/pending`);
    await page.waitForSelector('#pending li[data-kind="queued"]');
    await waitText(page, "#pending-count", "1");
    await shot(page, "web-pending");
    await page.setOfflineMode(false);
    await page.waitForSelector("#pending-empty", { timeout: 60_000 }).catch(async (e) => {
      const said = await page.$eval("#view", (v) => v.textContent).catch(() => "");
      throw new Error(
        `still pending: ${said}; console: ${state.console.slice(-5).join(" | ")} online=${await page.evaluate(() => navigator.onLine)}`,
        { cause: e },
      );
    });
    const onDesktop = await desktopPull();
    assert.ok(onDesktop.includes("\t- child of later [written offline]\n"), onDesktop);
  });

  test("a failed PUT commits nothing and keeps the text; saving again commits", STEP, async () => {
    await openEditor();
    const before = await desktopPull();
    await typeInBlock("A code block", " [after a failed PUT]");
    await page.setRequestInterception(true);
    let failed = 0;
    const onRequest = (req) => {
      if (req.method() === "PUT" && failed === 0) {
        failed++;
        req.abort("failed");
      } else req.continue();
    };
    page.on("request", onRequest);
    try {
      await saveAndWait("upload failed");
      assert.equal(failed, 1);
      assert.equal(await desktopPull(), before, "nothing reached the server");
      assert.ok((await editorText()).includes("[after a failed PUT]"), "text kept");
      await saveAndWait();
    } finally {
      page.off("request", onRequest);
      await page.setRequestInterception(false);
    }
    assert.ok((await desktopPull()).includes("- A code block [after a failed PUT]\n"));
  });

  test("a storm of real 409s (the desktop commits before each try) loses nothing", STEP, async () => {
    await openEditor();
    await typeInBlock("A code block", " [through a 409 storm]");
    await page.setRequestInterception(true);
    let storms = 0;
    const onRequest = async (req) => {
      if (req.url().endsWith("/file-sync/update_files") && storms < 6) {
        storms++;
        await desktopPush(OTHER, `- another page, desktop commit ${storms}\n`);
      }
      req.continue();
    };
    page.on("request", onRequest);
    try {
      await saveAndWait("kept committing");
      assert.equal(storms, 6, "six commits refused with 409 (the first try and five retries)");
      assert.ok(!(await desktopPull()).includes("[through a 409 storm]"));
    } finally {
      page.off("request", onRequest);
      await page.setRequestInterception(false);
    }
    await saveAndWait();
    assert.ok((await desktopPull()).includes("- A code block [after a failed PUT] [through a 409 storm]\n"));
  });

  test(
    "the sign-in revoked mid-edit: told, text kept (encrypted on disk), committed after signing in again",
    STEP,
    async () => {
      await openEditor();
      await typeInBlock("write the report", " [before the revocation]");
      const { refreshToken } = JSON.parse(await page.evaluate(() => localStorage.getItem("logseq-web:session")));
      const revoked = await raw(BASE, "/oauth2/revoke", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: refreshToken }),
      });
      assert.equal(revoked.status, 200);
      await saveAndWait("signed out");
      // The kept edit is ciphertext on disk: no phrase of the page in IndexedDB.
      await page.waitForFunction(
        () =>
          new Promise((resolve) => {
            const r = indexedDB.open("logseq-web-edits");
            r.onsuccess = () => {
              const all = r.result.transaction("edits").objectStore("edits").getAll();
              all.onsuccess = () => resolve(all.result.length > 0);
            };
          }),
        { timeout: 10_000 },
      );
      const stored = await page.evaluate(
        () =>
          new Promise((resolve) => {
            const r = indexedDB.open("logseq-web-edits");
            r.onsuccess = () => {
              const all = r.result.transaction("edits").objectStore("edits").getAll();
              all.onsuccess = () =>
                resolve(
                  all.result.map((x) => ({
                    keys: Object.keys(x).sort(),
                    cipher: new TextDecoder("latin1").decode(x.cipher),
                  })),
                );
            };
          }),
      );
      for (const rec of stored) {
        assert.deepEqual(rec.keys, ["cipher", "created", "kind", "updated"]);
        for (const phrase of ["before the revocation", "write the report", "Project Café"])
          assert.ok(!rec.cipher.includes(phrase), "kept edits are ciphertext");
      }
      await page.click("#signout");
      const again = (await admin("POST", "/admin/tokens", { email, label: "web-edit phone again" })).refresh_token;
      await pasteToken(page, again);
      await page.waitForSelector(`li[data-graph="${graph}"] a`, { timeout: 30_000 });
      await page.click(`li[data-graph="${graph}"] a`);
      await unlockIfAsked();
      await page.waitForSelector("#pages li[data-path]", { timeout: 60_000 });
      await page.goto(editorUrl());
      await page.waitForSelector("#draft-restore", { timeout: 30_000 });
      await page.click("#draft-restore");
      await waitEditorText("[before the revocation]");
      await saveAndWait();
      assert.ok((await desktopPull()).includes("\t- TODO write the report [before the revocation]\n"));
    },
  );

  test("the tab reloaded between the upload and the commit: the kept edit commits after unlocking", STEP, async () => {
    await openEditor();
    await typeInBlock("child of later", " [survives a reload]");
    await page.setRequestInterception(true);
    let reloading = null;
    const onRequest = (req) => {
      if (req.url().endsWith("/file-sync/update_files") && !reloading) {
        // The upload is done; the commit never leaves: the tab goes away now.
        reloading = page.reload().catch(() => {});
        return;
      }
      req.continue().catch(() => {});
    };
    page.on("request", onRequest);
    try {
      await page.click("#edit-save");
      await page.waitForFunction(() => true, { timeout: 1000 }).catch(() => {});
      for (let i = 0; i < 100 && !reloading; i++) await new Promise((r) => setTimeout(r, 200));
      assert.ok(reloading, "the commit request was reached");
      await reloading;
    } finally {
      page.off("request", onRequest);
      await page.setRequestInterception(false);
    }
    assert.ok(!(await desktopPull()).includes("[survives a reload]"), "nothing was committed");
    await unlockIfAsked();
    await page.waitForSelector("#draft-restore", { timeout: 60_000 });
    await page.click("#draft-restore");
    await waitEditorText("[survives a reload]");
    await saveAndWait();
    assert.ok((await desktopPull()).includes("\t- child of later [written offline] [survives a reload]\n"));
    await page.goto(`${BASE}/app/#/pending`);
    await page.waitForSelector("#pending-empty", { timeout: 30_000 });
  });

  test("two tabs edit the same page: each is told of the other's commit, both edits survive", STEP, async () => {
    await openEditor();
    const before = await desktopPull();
    await typeInBlock("A code block", " [tab one]");
    const first = page;
    const second = await phonePage(state.browsers[0], "phone-tab-2");
    second.on("dialog", (d) => d.accept());
    try {
      page = second;
      await page.goto(editorUrl());
      await page.waitForSelector(`li[data-graph="${graph}"] a`, { timeout: 30_000 });
      await page.click(`li[data-graph="${graph}"] a`);
      await unlockIfAsked();
      await waitStatus("Tap a block", 60_000);
      await typeInBlock("write the report", " [tab two]");
      await saveAndWait();
    } finally {
      page = first;
      await second.close().catch(() => {});
    }
    await page.waitForSelector("#live-note", { timeout: 30_000 });
    await saveAndWait();
    assert.equal(
      await desktopPull(),
      before
        .replace("[through a 409 storm]\n", "[through a 409 storm] [tab one]\n")
        .replace("[before the revocation]\n", "[before the revocation] [tab two]\n"),
      "both tabs' edits, every other byte as it was",
    );
  });

  test("a block of 10,000 lines stays editable and is committed byte for byte", { timeout: 300_000 }, async () => {
    await desktopPush(BIG, BIG_TEXT);
    const meta = await appCall(BASE, "get_all_files", { GraphUUID: graph }, desktopToken);
    assert.equal(meta.json.Objects.length, 4, `the server lists the long page: ${meta.text.slice(0, 300)}`);
    await page.goto(`${BASE}/app/#/pages`);
    await page.waitForSelector(`#pages li[data-path="${BIG}"]`, { timeout: 30_000 });
    const started = Date.now();
    await openEditor(BIG);
    const opened = Date.now() - started;
    await typeInBlock("log start", " (edited)");
    assert.equal(
      await page.$eval("#block-text", (t) => t.value.split("\n").length),
      10_000,
      "the whole block is in one textarea",
    );
    const saving = Date.now();
    await saveAndWait("Saved", 240_000);
    console.log(`# 10,000-line block: editor open ${opened} ms, apply + save ${Date.now() - saving} ms`);
    assert.equal(await desktopPull(BIG), BIG_TEXT.replace("- log start\n", "- log start (edited)\n"));
  });

  test(
    "a photo added in the editor: its link is typed at the cursor, the asset and the link reach the desktop",
    STEP,
    async () => {
      const photo = png([0xc0, 0x30, 0x60]);
      const folder = mkdtempSync(join(tmpdir(), "web-edit-photo-"));
      dirs.push(folder);
      const file = join(folder, "phone-photo.png");
      await writeFile(file, photo);
      await openEditor();
      await typeInBlock("A code block", " and a photo ");
      await page.waitForSelector("#editor .ops-attach input[type=file]");
      await (await page.$("#editor .ops-attach input[type=file]")).uploadFile(file);
      await page.waitForFunction(() => document.querySelector("#block-text")?.value.includes("](../assets/"), {
        timeout: 30_000,
      });
      const typedLine = await page.$eval("#block-text", (t) => t.value.split("\n")[0]);
      const m = /^A code block.* and a photo !\[phone-photo\.png\]\(\.\.\/(assets\/phone-photo_\d+_0\.png)\)$/.exec(
        typedLine,
      );
      assert.ok(m, `the link is typed where the caret was: ${typedLine}`);
      await saveAndWait();
      const onDesktop = await desktopPull();
      assert.ok(onDesktop.includes(`- ${typedLine}\n  \`\`\`js\n`), "the link is in the block, the rest as it was");
      await rsapi.updateLocalFiles(graph, desktop, [m[1]], desktopToken);
      assert.deepEqual(await readGraphFile(desktop, m[1]), photo, "the asset is byte-identical on the desktop");
    },
  );

  test("nothing secret or plaintext left the browser", STEP, async () => {
    await assertNoCsp(page);
    kit.assertNothingLeft({
      base: BASE,
      secrets: [PASSWORD, keys.secretKey, keys.secretKey.toLowerCase()],
      plain: [
        PAGE,
        "Project Café",
        "other page",
        "Goals for the week",
        "write the report",
        "日本語のブロック",
        "child of later",
        "pasted log",
        ...typed.map((t) => t.replace(/^[[,\s]+|[\]\s]+$/g, "")),
      ],
    });
  });
});
