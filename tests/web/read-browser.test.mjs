// The reader (web/src/read) in Debian's headless Chromium at a phone viewport (360×740):
// real Logseq pages (tests/web/fixtures/graph) bundled with esbuild exactly as shipped (the
// parse Web Worker included), served on 127.0.0.1 under the app's Content-Security-Policy.
// Asserts the DOM: nesting depth, markers, SCHEDULED/DEADLINE, properties (id:: hidden),
// collapsed blocks, resolved block refs, page links and tags, tables, code, assets as blob:
// URLs, linked references, an .org page, a hostile page rendered inert, a 100,000-line page
// rendered lazily, search and the line diff. Writes a screenshot to build/read-browser.png.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { CHROMIUM_FLAGS } from "../harness/chromium.mjs";
import { listFiles } from "./lib/fixture-graph.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = join(ROOT, "tests/web/fixtures");
const GRAPH = join(FIXTURES, "graph");
const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
// The app's CSP (docs/WEB.md "How it is built and served"): no inline script or style. Read
// from the file the deployed app's headers come from, the `/app/*` rule of web/public/_headers.
const CSP = appCsp(readFileSync(join(ROOT, "web/public/_headers"), "utf8"));
const BIG_LINES = 100_000;
const BIG_PAGE = Array.from({ length: BIG_LINES }, (_, i) => `- line ${i} of a very long page`).join("\n") + "\n";
const EXTRA = { "pages/unreadable.md": null };
const BIG = { "pages/big.md": BIG_PAGE };

/** The Content-Security-Policy line of the `/app/*` rule of a `_headers` file. */
function appCsp(headers) {
  let inApp = false;
  for (const line of headers.split("\n")) {
    if (line.startsWith("#") || !line.trim()) continue;
    if (!/^\s/.test(line)) inApp = line.trim() === "/app/*";
    else if (inApp) {
      const m = /^\s+Content-Security-Policy:\s*(.+)$/i.exec(line);
      if (m) return m[1].trim();
    }
  }
  throw new Error("web/public/_headers: no Content-Security-Policy for /app/*");
}

const PA = "pages/project_alpha.md";
const route = (path, block) => "#/page/" + encodeURIComponent(path) + (block ? "?block=" + block : "");

let server;
let browser;
let page;
let base;
let dist;

async function bundle() {
  dist = mkdtempSync(join(tmpdir(), "read-browser-"));
  const started = performance.now();
  await build({
    entryPoints: { app: join(FIXTURES, "read-app.js"), "parse.worker": join(ROOT, "web/src/read/parse.worker.js") },
    outdir: dist,
    bundle: true,
    format: "esm",
    minify: true,
    logLevel: "warning",
  });
  return performance.now() - started;
}

function serve() {
  const extra = { ...EXTRA, ...BIG };
  const size = (path) => (path in extra ? (extra[path]?.length ?? 0) : statSync(join(GRAPH, path)).size);
  const list = (big) =>
    [...listFiles(GRAPH), ...Object.keys(EXTRA), ...(big ? Object.keys(BIG) : [])].map((path) => ({
      path,
      size: size(path),
      mtime: 0,
      checksum: "",
    }));
  return createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const send = (status, type, body) => {
      res.writeHead(status, { "content-type": type, "content-security-policy": CSP, "cache-control": "no-store" });
      res.end(body);
    };
    if (url === "/") return send(200, "text/html; charset=utf-8", readFileSync(join(FIXTURES, "read-app.html")));
    if (url === "/read.css") return send(200, "text/css", readFileSync(join(ROOT, "web/public/app/read.css")));
    if (url === "/app.js" || url === "/parse.worker.js")
      return send(200, "text/javascript", readFileSync(join(dist, url)));
    if (url === "/files.json") return send(200, "application/json", JSON.stringify(list(req.url.includes("?big"))));
    if (url.startsWith("/files/")) {
      const path = url.slice("/files/".length).normalize("NFC");
      if (path in extra)
        return extra[path] === null ? send(404, "text/plain", "gone") : send(200, "text/plain", extra[path]);
      const onDisk = listFiles(GRAPH).includes(path);
      if (onDisk) return send(200, "application/octet-stream", readFileSync(join(GRAPH, path)));
    }
    send(404, "text/plain", "not found");
  });
}

async function open(hash) {
  await page.evaluate((h) => {
    window.rendered = false;
    // Re-opening the current route: leave it first so that a hashchange fires.
    if (location.hash === h) location.hash = "#/";
    location.hash = h;
  }, hash);
  await page.waitForFunction(() => window.rendered === true, { timeout: 60_000 });
}

const text = (selector) => page.$eval(selector, (el) => el.textContent);
const texts = (selector) => page.$$eval(selector, (els) => els.map((el) => el.textContent));

describe("reader in Chromium (phone viewport)", { skip: !existsSync(CHROMIUM) && "no Chromium" }, () => {
  before(async () => {
    const bundleMs = await bundle();
    server = serve();
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${server.address().port}/`;
    const { default: puppeteer } = await import("puppeteer-core");
    const profile = mkdtempSync(join(tmpdir(), "read-chromium-"));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 360, height: 740, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    page.on("pageerror", (e) => console.error("page error:", e.message));
    await page.goto(base + route(PA), { waitUntil: "load" });
    await page.waitForFunction(() => window.rendered === true, { timeout: 60_000 });
    const first = await page.evaluate(() => performance.now());
    console.log(
      `# bundled in ${bundleMs.toFixed(0)} ms; first page on screen ${first.toFixed(0)} ms after navigation (worker start, fetch, parse, render)`,
    );
  });

  after(async () => {
    await browser?.close();
    server?.close();
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  test("a page renders as a Logseq outline", async () => {
    await open(route(PA));
    assert.equal(await text(".ls-page-title"), "Project Alpha");
    // page properties: tags:: as page links, alias::; the title:: property line shown too
    assert.deepEqual(await texts(".ls-page-props .ls-prop-key"), ["title", "tags", "alias"]);
    assert.deepEqual(await texts(".ls-page-props [data-key=tags] .ls-page-ref"), ["project", "Work"]);
    // block properties: owner:: shown, id:: and collapsed:: hidden
    assert.deepEqual(await texts(".ls-block-props .ls-prop-key"), ["owner"]);
    assert.equal(await page.$$eval("[data-key=id], [data-key=collapsed]", (e) => e.length), 0);
    // collapsed:: true → collapsed, children built only when opened
    const goals = '.ls-block[data-uuid="6571a9b2-0c1d-4a3e-9f00-00000000a001"]';
    assert.equal(await page.$eval(goals, (el) => el.classList.contains("ls-collapsed")), true);
    assert.equal(await page.$(".ls-block[data-pos='2']"), null);
    await page.click(goals + " > .ls-block-row > .ls-bullet");
    const depth = await page.$eval(".ls-block[data-pos='2']", (el) => {
      let n = 0;
      for (let e = el; e; e = e.parentElement?.closest(".ls-block")) n++;
      return { n, text: el.querySelector(".ls-block-title").textContent };
    });
    assert.deepEqual(depth, { n: 3, text: "Deep nested child" });
    // inline formatting
    assert.deepEqual(await texts(".ls-block[data-pos='1'] > .ls-block-row .ls-block-title > :not(.ls-marker)"), [
      "reader",
      "care",
      "haste",
      "focus",
    ]);
    assert.deepEqual(
      await page.$$eval(".ls-block[data-pos='1'] > .ls-block-row .ls-block-title > *", (els) =>
        els.map((e) => e.tagName),
      ),
      ["STRONG", "EM", "DEL", "MARK"],
    );
    // markers, priority, DEADLINE
    assert.deepEqual(await texts(".ls-outline .ls-marker"), ["NOW", "WAITING", "CANCELED", "DOING"]);
    assert.equal(await text(".ls-priority"), "[#A]");
    assert.equal(await text(".ls-when-deadline"), "DEADLINE: <2026-12-10 Thu 18:00>");
    // block refs: resolved to the block's text, unresolved shown as such
    assert.equal(await text('.ls-block-ref[data-uuid$="a002"]'), "Status");
    // Unresolved: marked missing once the whole graph has been read (until then: pending).
    await page.waitForFunction(() =>
      document.querySelector('.ls-block-ref[data-uuid$="0bad"]').classList.contains("ls-missing"),
    );
    // embeds and queries: labelled placeholders
    assert.equal(await text(".ls-embed"), "Embed Café Notes");
    assert.equal(await text(".ls-query"), "Query (task TODO NOW)");
    // code: text, not markup
    assert.equal(await text(".ls-src-code"), 'const x = "<b>not bold</b>";');
    assert.equal(await page.$$eval(".ls-outline b", (e) => e.length), 0);
    // table
    assert.deepEqual(await texts(".ls-table th"), ["name", "value"]);
    assert.deepEqual(await texts(".ls-table td"), ["a", "1", "b", "Work"]);
    // links: existing page, missing page (#[[Big Tag]]), external
    assert.equal(await page.$eval(".ls-tag.ls-missing", (e) => e.textContent), "#Big Tag");
    const ext = await page.$eval(".ls-external", (a) => [a.getAttribute("href"), a.rel, a.target]);
    assert.deepEqual(ext, ["https://example.com/vendor", "noopener noreferrer", "_blank"]);
    // assets: decrypted bytes → blob: URLs; a missing asset says so
    await page.waitForFunction(() => document.querySelector(".ls-asset-img")?.complete, { timeout: 10_000 });
    const img = await page.$eval(".ls-asset-img", (i) => [i.src.slice(0, 5), i.naturalWidth, i.alt]);
    assert.deepEqual(img, ["blob:", 64, "diagram"]);
    assert.equal(await page.$eval(".ls-asset-pdf", (a) => a.href.slice(0, 5)), "blob:");
    assert.match(await text(".ls-asset.ls-missing"), /missing: assets\/nothing_here\.png/);
    // clicking a page link navigates through graph.navigate
    await page.click(".ls-table td .ls-page-ref");
    await page.waitForFunction(() => window.rendered === true);
    assert.equal(await page.evaluate(() => window.navigations.at(-1)), route("pages/Work.md"));
    assert.equal(await text(".ls-page-title"), "Work");
  });

  test("linked references under the page, by title, alias and from an .org page", async () => {
    await open(route(PA));
    await page.waitForFunction(() => document.querySelectorAll(".ls-backlink-page").length === 4);
    const groups = await texts(".ls-backlink-page h3");
    assert.deepEqual(groups.sort(), ["Café Notes", "Dec 6th, 2026", "Jan 2nd, 2025", "Org Mode Page"]);
    assert.equal(await text(".ls-backlinks-title"), "4 Linked references");
  });

  test("journal: title from the file name, resolved ref to another page, TODO with SCHEDULED", async () => {
    await open(route("journals/2026_12_06.md"));
    assert.equal(await text(".ls-page-title"), "Dec 6th, 2026");
    assert.equal(await text('.ls-block-ref[data-uuid$="a001"]'), "Goals");
    assert.equal(await text(".ls-when-scheduled"), "SCHEDULED: <2026-12-07 Mon>");
    assert.deepEqual(await texts(".ls-marker"), ["TODO", "DONE"]);
    assert.equal(await page.$eval(".ls-link.ls-page-ref", (a) => a.getAttribute("href")), route(PA));
    mkdirSync(join(ROOT, "build"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "build/read-browser-journal.png"), fullPage: true });
  });

  test("an .org page", async () => {
    await open(route("pages/org_page.org"));
    assert.equal(await text(".ls-page-title"), "Org Mode Page");
    assert.deepEqual(await texts(".ls-marker"), ["TODO", "DONE"]);
    assert.equal(
      await page.$eval(".ls-block[data-pos='1']", (e) => e.parentElement.closest(".ls-block").dataset.pos),
      "0",
    );
    assert.equal(await text(".ls-block[data-pos='1'] .ls-code"), "verbatim");
    assert.equal(await page.$eval(".ls-src", (e) => e.dataset.lang), "python");
    assert.equal(await text(".ls-when-scheduled"), "SCHEDULED: <2026-12-08 Tue>");
  });

  test("a hostile page renders inert", async () => {
    const before = await page.title();
    await open(route("pages/hostile.md"));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await page.title(), before);
    const main = await page.$eval("#main", (m) => ({
      elements: m.querySelectorAll("script, img, iframe, object, embed, [onerror], [onclick], [style]").length,
      hrefs: [...m.querySelectorAll("[href]")].map((a) => a.getAttribute("href")),
      text: m.textContent,
    }));
    assert.equal(main.elements, 0);
    for (const href of main.hrefs) assert.match(href, /^(#\/|blob:|https?:)/);
    assert.match(main.text, /<script>document\.title = "pwned"<\/script>/);
    assert.match(main.text, /\[click me\]\(javascript:document\.title='pwned'\)/);
    assert.match(main.text, /\[:div \{:on-click "alert\(1\)"\} "hiccup"\]/);
    assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
    mkdirSync(join(ROOT, "build"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "build/read-browser-hostile.png"), fullPage: true });
  });

  test("a page that makes mldoc fail says so; the rest keeps working", async () => {
    await open(route("pages/deep quotes.md"));
    assert.equal(await text(".ls-page-title"), "deep quotes");
    assert.match(await text(".ls-error"), /^Logseq's parser \(mldoc\) could not read this page/);
    await open(route("pages/Work.md"));
    assert.equal(await text(".ls-block-title"), "Work page");
  });

  test("a page that cannot be loaded says so; the rest keeps working", async () => {
    await open(route("pages/unreadable.md"));
    assert.equal(await text(".ls-error"), "This file could not be downloaded.");
    await open(route("pages/missing-entirely.md"));
    assert.match(await text(".ls-error"), /not in the graph/);
  });

  test("deep link to a block inside a collapsed parent opens it", async () => {
    await open(route(PA, "2"));
    assert.equal(await page.$eval(".ls-target", (e) => e.dataset.pos), "2");
    assert.equal(await page.$eval(".ls-block[data-pos='0']", (e) => e.classList.contains("ls-collapsed")), false);
  });

  test("search finds blocks and titles", async () => {
    await page.evaluate(() => window.reader.whenIndexed());
    const results = await page.evaluate(() => window.reader.search("nested child"));
    assert.equal(results[0].path, PA);
    assert.equal(results[0].block, "2");
    assert.equal(results[0].route, route(PA, "2"));
    const titles = await page.evaluate(() => window.reader.search("org mode"));
    assert.equal(titles[0].title, "Org Mode Page");
  });

  test("line diff", async () => {
    const counts = await page.evaluate(() => {
      const el = document.createElement("div");
      document.body.append(el);
      window.reader.diff("- a\n- b\n- c\n", "- a\n- B\n- c\n- d\n", el);
      const n = (c) => el.querySelectorAll(c).length;
      return [
        n(".ls-diff-add"),
        n(".ls-diff-del"),
        n(".ls-diff-same"),
        el.querySelector(".ls-diff-summary").textContent,
      ];
    });
    assert.deepEqual(counts, [2, 1, 2, "+2 −1 lines"]);
  });

  test("a 100,000-line page: parsed in the worker while the page stays responsive, rendered lazily", async () => {
    // A fresh load of the app whose graph holds the big page.
    await page.goto(base + "?big" + route("pages/big.md"), { waitUntil: "domcontentloaded" });
    // The main thread answers while the worker parses.
    const pings = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await page.evaluate(() => 1);
      pings.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.waitForFunction(() => window.rendered === true, { timeout: 120_000 });
    const result = await page.evaluate(() => ({
      ms: performance.now(),
      blocks: document.querySelectorAll(".ls-block").length,
      more: document.querySelector(".ls-outline > .ls-show-more")?.textContent,
      error: document.querySelector(".ls-error")?.textContent,
      partial: document.querySelector(".ls-partial")?.textContent,
    }));
    assert.equal(result.error, undefined);
    console.log(
      `# 100,000-line page (${(BIG_PAGE.length / 1024).toFixed(0)} KiB): first blocks on screen ${result.ms.toFixed(0)} ms after the app started loading; main-thread pings ${pings.map((p) => p.toFixed(0)).join(",")} ms`,
    );
    assert.ok(Math.max(...pings) < 500, "main thread stayed responsive");
    assert.match(result.partial, /^A very large page: showing its first \d+ of 3,212 KiB/);
    assert.equal(result.blocks, 400);
    assert.match(result.more, /^Show 400 more of \d+ blocks$/);
    await page.click(".ls-outline > .ls-show-more");
    assert.equal(await page.$$eval(".ls-block", (e) => e.length), 800);
    // The whole page, once its background parse is done (pieces of 64 KiB: time grows linearly).
    const whole = performance.now();
    await page.click(".ls-partial .ls-show-more");
    await page.waitForFunction(() => !document.querySelector(".ls-partial") && document.querySelector(".ls-outline"), {
      timeout: 300_000,
    });
    console.log(
      `# 100,000-line page: whole page on screen ${((performance.now() - whole) / 1000).toFixed(1)} s after asking`,
    );
    assert.equal(await text(".ls-outline > .ls-show-more"), "Show 400 more of 99600 blocks");
  });

  test("re-rendering a parsed page is quick", async () => {
    await open(route(PA));
    const times = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await open(route(i % 2 ? PA : "pages/org_page.org"));
      times.push(performance.now() - t0);
    }
    console.log(
      `# re-render of a parsed page (incl. hash routing over CDP): ${times.map((t) => t.toFixed(0)).join(", ")} ms`,
    );
    assert.ok(Math.min(...times) < 300);
  });

  test("screenshot at 360×740", async () => {
    await page.goto(base + route(PA), { waitUntil: "load" });
    await page.waitForFunction(() => window.rendered === true, { timeout: 60_000 });
    await page.click('.ls-block[data-uuid$="a001"] > .ls-block-row > .ls-bullet');
    await page.waitForFunction(() => document.querySelector(".ls-asset-img")?.complete);
    // linked references appear while the rest of the graph is still being read
    await page.waitForFunction(() => document.querySelectorAll(".ls-backlink-page").length === 4, { timeout: 30_000 });
    mkdirSync(join(ROOT, "build"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "build/read-browser.png"), fullPage: true });
  });
});
