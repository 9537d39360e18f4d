// The reader's pure parts in Node (web/src/read): page titles under Logseq's own rules,
// mldoc 1.5.7's AST → block model on real Logseq pages (tabs, properties, id::, markers,
// SCHEDULED/DEADLINE, links, tags, block refs, an .org page), the cross-page indexes (block
// refs, aliases, linked references), search (and its speed on 2,000 pages) and the line diff.
// The DOM side runs in Chromium: tests/web/read-browser.test.mjs.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { generateGraph } from "../../bench/workload.mjs";
import { lineDiff } from "../../web/src/read/diff.js";
import { createLibrary } from "../../web/src/read/library.js";
import { parsePage, splitTopLevel } from "../../web/src/read/parse.js";
import { assetPath } from "../../web/src/read/render.js";
import { createSearchIndex, snippet } from "../../web/src/read/search.js";
import {
  describeFile,
  formatDate,
  parseDate,
  readConfig,
  sortPages,
  titleFromFileBody,
} from "../../web/src/read/titles.js";
import { fixtureGraph } from "./lib/fixture-graph.mjs";

const GRAPH = fileURLToPath(new URL("./fixtures/graph", import.meta.url));
const parse = async (text, format) => parsePage(text, format);
const TRI = readConfig("{:file/name-format :triple-lowbar}");
const LEGACY = readConfig("{:meta/version 1}");

describe("titles", () => {
  test("triple-lowbar: Logseq's own vectors (LS graph-parser file_name_test.cljs)", () => {
    const t = (s) => titleFromFileBody(s, "triple-lowbar");
    assert.equal(t("abc.def.ghi.jkl"), "abc.def.ghi.jkl");
    assert.equal(t("abc%2Fdef%2Fghi%2Fjkl"), "abc/def/ghi/jkl");
    assert.equal(t("abc%25%2Fdef%2Fghi%2Fjkl"), "abc%/def/ghi/jkl");
    assert.equal(t("abc%2——ef%2Fghi%2Fjkl"), "abc%2——ef/ghi/jkl");
    assert.equal(t("abc&amp;2Fghi%2Fjkl"), "abc&amp;2Fghi/jkl");
    assert.equal(t("abc&semi;&;2Fghi%2Fjkl"), "abc&semi;&;2Fghi/jkl");
    const reserved = ':\\*\\?"<>|\\#\\\\';
    assert.equal(t(reserved), reserved);
    for (const junk of [
      "___-_-_-_---___----",
      "_____///____---___----",
      "/_/////---/_----",
      "dsa&amp&semi;l dsalfjk jkl",
    ]) {
      assert.equal(typeof t(junk), "string");
    }
  });

  test("triple-lowbar: namespaces, empty parts dropped, non-ASCII kept, lone bytes of multi-byte escapes stay", () => {
    const t = (s) => titleFromFileBody(s, "triple-lowbar");
    assert.equal(t("Work___Meetings___2026"), "Work/Meetings/2026");
    assert.equal(t("a______b"), "a/b");
    assert.equal(t("Zürich___Café"), "Zürich/Café");
    assert.equal(t("Cafe\u0301"), "Café"); // decomposed on disk (macOS) → NFC
    assert.equal(t("100%25 done"), "100% done");
    assert.equal(t("what%3F"), "what?");
    // each %XX is decoded alone (LS replaces url-encoded-pattern one match at a time)
    assert.equal(t("%E6%97%A5"), "%E6%97%A5");
  });

  test("legacy: dots are namespaces, the whole name percent-decoded, invalid escapes kept", () => {
    const t = (s) => titleFromFileBody(s, "legacy");
    assert.equal(t("dsal dsalfjk aldsaf.jkl"), "dsal dsalfjk aldsaf/jkl");
    assert.equal(t("a%2Fb"), "a/b");
    assert.equal(t("%E6%97%A5%E6%9C%AC"), "日本");
    assert.equal(t("100% sure"), "100% sure");
    assert.equal(t("v1.2"), "v1/2");
  });

  test("config.edn: the keys that decide titles, comments ignored", () => {
    const c = readConfig(`{;; :file/name-format :legacy
 :file/name-format :triple-lowbar
 :journal/page-title-format "EEEE, dd.MM.yyyy" ; comment with "quotes"
 :journal/file-name-format "yyyy-MM-dd"}`);
    assert.deepEqual(c, {
      fileNameFormat: "triple-lowbar",
      journalFileNameFormat: "yyyy-MM-dd",
      journalTitleFormat: "EEEE, dd.MM.yyyy",
      journalsDirectory: "journals",
      pagesDirectory: "pages",
    });
    assert.equal(readConfig(";; :file/name-format :triple-lowbar\n{}").fileNameFormat, "legacy");
    assert.equal(readConfig(null).journalTitleFormat, "MMM do, yyyy");
  });

  test("dates: Logseq's default and custom journal formats", () => {
    const d = { year: 2026, month: 12, day: 6 };
    assert.equal(formatDate(d, "MMM do, yyyy"), "Dec 6th, 2026");
    assert.equal(formatDate({ year: 2024, month: 1, day: 1 }, "MMM do, yyyy"), "Jan 1st, 2024");
    assert.equal(formatDate({ year: 2024, month: 1, day: 12 }, "MMM do, yyyy"), "Jan 12th, 2024");
    assert.equal(formatDate({ year: 2024, month: 1, day: 23 }, "MMMM do, yyyy"), "January 23rd, 2024");
    assert.equal(formatDate(d, "EEEE, dd.MM.yyyy"), "Sunday, 06.12.2026");
    assert.equal(formatDate(d, "yyyy-MM-dd EEE"), "2026-12-06 Sun");
    assert.deepEqual(parseDate("2026_12_06", "yyyy_MM_dd"), d);
    assert.equal(parseDate("2026_02_30", "yyyy_MM_dd"), null);
    assert.equal(parseDate("notes", "yyyy_MM_dd"), null);
  });

  test("describeFile: journals, pages, title::, contents, other files", () => {
    assert.deepEqual(describeFile("journals/2026_12_06.md", TRI), {
      path: "journals/2026_12_06.md",
      title: "Dec 6th, 2026",
      kind: "journal",
      date: "2026-12-06",
    });
    const custom = readConfig('{:journal/file-name-format "yyyy-MM-dd" :journal/page-title-format "dd.MM.yyyy"}');
    assert.equal(describeFile("journals/2026-12-06.md", custom).title, "06.12.2026");
    assert.equal(describeFile("journals/2026_12_06.org", TRI).kind, "journal");
    assert.equal(describeFile("journals/not a date.md", TRI).kind, "page");
    assert.deepEqual(describeFile("pages/Work___Meetings.md", TRI), {
      path: "pages/Work___Meetings.md",
      title: "Work/Meetings",
      kind: "page",
      namespace: ["Work", "Meetings"],
    });
    assert.equal(describeFile("pages/Work.Meetings.md", LEGACY).title, "Work/Meetings");
    assert.equal(describeFile("pages/v1.2.3 release.md", TRI).title, "v1.2.3 release");
    assert.equal(describeFile("pages/x.md", TRI, "Real Title").title, "Real Title");
    assert.equal(describeFile("pages/contents.md", TRI).title, "Contents");
    assert.equal(describeFile("pages/nested/dir/Deep Page.md", TRI).title, "Deep Page");
    for (const other of [
      "logseq/config.edn",
      "logseq/custom.css",
      "assets/a.png",
      "logseq/bak/pages/x.md",
      "draws/d.excalidraw",
    ]) {
      assert.equal(describeFile(other, TRI).kind, "other", other);
    }
  });

  test("sortPages: journals newest first, then pages by title (case- and accent-blind), then the rest", () => {
    const list = [
      "pages/b.md",
      "journals/2025_01_02.md",
      "assets/x.png",
      "pages/Ä.md",
      "journals/2026_12_06.md",
      "pages/a.md",
    ];
    const sorted = sortPages(list.map((p) => describeFile(p, TRI))).map((e) => e.title);
    assert.deepEqual(sorted, ["Dec 6th, 2026", "Jan 2nd, 2025", "a", "Ä", "b", "assets/x.png"]);
  });
});

describe("parse: mldoc AST → block model", () => {
  test("a Markdown page: page properties, levels from tabs, id::, collapsed::, markers, timestamps, refs", async () => {
    const graph = fixtureGraph(GRAPH);
    const page = parsePage(await graph.text("pages/project_alpha.md"), "Markdown");
    assert.equal(page.title, "Project Alpha");
    assert.deepEqual(
      page.properties.map((p) => [p.key, p.value]),
      [
        ["title", "Project Alpha"],
        ["tags", "project, [[Work]]"],
        ["alias", "PA"],
      ],
    );
    assert.deepEqual(page.refs, ["project", "Work", "PA"]);
    const b = page.blocks;
    assert.deepEqual(
      b.slice(0, 5).map((x) => [x.level, x.marker, x.text]),
      [
        [1, null, "Goals"],
        [2, null, "Ship the reader with care, haste and focus"],
        [3, null, "Deep nested child"],
        [2, "NOW", "Write tests"],
        [1, null, "Status"],
      ],
    );
    assert.equal(b[0].uuid, "6571a9b2-0c1d-4a3e-9f00-00000000a001");
    assert.equal(b[0].collapsed, true);
    assert.deepEqual(b[3].timestamps, [
      {
        kind: "Deadline",
        date: { year: 2026, month: 12, day: 10 },
        wday: "Thu",
        time: { hour: 18, min: 0 },
        active: true,
      },
    ]);
    assert.deepEqual(b[4].refs, ["Zoë"]);
    assert.deepEqual(b[5].blockRefs, ["6571a9b2-0c1d-4a3e-9f00-00000000a002", "6571a9b2-0c1d-4a3e-9f00-000000000bad"]);
    assert.deepEqual(b[6].refs, ["Café Notes"]);
    const last = b.at(-1);
    assert.deepEqual([last.marker, last.priority, last.text], ["DOING", "A", "urgent work"]);
    assert.deepEqual(b.at(-3).refs, ["Big Tag"]);
  });

  test("an .org page: #+TITLE, stars, :PROPERTIES: drawer, SCHEDULED", async () => {
    const graph = fixtureGraph(GRAPH);
    const page = parsePage(await graph.text("pages/org_page.org"), "Org");
    assert.equal(page.title, "Org Mode Page");
    assert.deepEqual(
      page.blocks.map((x) => [x.level, x.marker, x.uuid]),
      [
        [1, "TODO", "6571a9b2-0c1d-4a3e-9f00-00000000b001"],
        [2, null, null],
        [1, "DONE", null],
      ],
    );
    assert.equal(page.blocks[0].timestamps[0].kind, "Scheduled");
    assert.deepEqual(page.blocks[0].refs, ["Project Alpha"]);
  });

  test("a first block of properties only is the page's properties (Logseq's pre-block)", () => {
    const page = parsePage("- title:: From First Block\n  tags:: x\n- content\n", "Markdown");
    assert.equal(page.title, "From First Block");
    assert.deepEqual(
      page.blocks.map((x) => [x.pos, x.text]),
      [[0, "content"]],
    );
  });

  test("a large page is parsed in pieces cut at top-level bullets, with the same blocks", () => {
    const lines = [];
    for (let i = 0; i < 3000; i++) {
      lines.push(
        `- top ${i} [[Page ${i % 7}]]`,
        `  id:: 6571a9b2-0c1d-4a3e-9f00-${String(i).padStart(12, "0")}`,
        `\t- child ${i}`,
        "\t  ```",
        "- not a bullet inside code",
        "\t  ```",
      );
    }
    const text = "title:: Big\n\n" + lines.join("\n") + "\n";
    assert.ok(splitTopLevel(text, "Markdown", 16 * 1024).every((c, i) => i === 0 || c.startsWith("- ")));
    const whole = parsePage(text, "Markdown", { chunkChars: Number.POSITIVE_INFINITY });
    const pieces = parsePage(text, "Markdown", { chunkChars: 16 * 1024 });
    const view = (p) => p.blocks.map((b) => [b.pos, b.level, b.uuid, b.text, b.refs.join()]);
    assert.equal(pieces.title, "Big");
    assert.deepEqual(view(pieces), view(whole));
    const head = parsePage(text, "Markdown", { chunkChars: 16 * 1024, maxChars: 20 * 1024 });
    assert.ok(head.blocks.length < whole.blocks.length && head.partial.totalChars === text.length);
    assert.deepEqual(view(head), view(whole).slice(0, head.blocks.length));
  });

  test("a page that makes mldoc fail is an error, not an exception", async () => {
    const graph = fixtureGraph(GRAPH);
    const page = parsePage(await graph.text("pages/deep quotes.md"), "Markdown");
    assert.match(page.error, /^Logseq's parser \(mldoc\) could not read this page \(.+\)\. The file is unchanged\.$/);
  });

  test("hostile text stays data: raw HTML and hiccup are kept as source, javascript: links as text", async () => {
    const graph = fixtureGraph(GRAPH);
    const page = parsePage(await graph.text("pages/hostile.md"), "Markdown");
    assert.equal(page.blocks.length, 6);
    assert.match(page.blocks[0].text, /<script>/);
    assert.match(page.blocks[2].text, /click me/);
  });
});

describe("library: titles, refs, linked references, changes", () => {
  test("the fixture graph end to end", async () => {
    const graph = fixtureGraph(GRAPH);
    const lib = createLibrary(graph, parse);
    const early = await lib.pageList();
    assert.equal(early.find((e) => e.path === "pages/project_alpha.md").title, "project_alpha");
    await lib.indexAll();
    const list = await lib.pageList();
    assert.deepEqual(
      list.filter((e) => e.kind !== "other").map((e) => e.title),
      [
        "Dec 6th, 2026",
        "Nov 30th, 2026",
        "Jan 2nd, 2025",
        "a/b",
        "Café Notes",
        "deep quotes",
        "hostile",
        "Org Mode Page",
        "Project Alpha",
        "v1.2.3 release",
        "Work",
        "Work/Meetings/2026",
      ],
    );
    assert.equal(lib.resolvePage("project alpha"), "pages/project_alpha.md");
    assert.equal(lib.resolvePage("pa"), "pages/project_alpha.md"); // alias::
    assert.equal(lib.resolvePage("dec 6th, 2026"), "journals/2026_12_06.md");
    assert.equal(lib.resolvePage("Missing Page"), null);
    assert.equal(lib.block("6571A9B2-0C1D-4A3E-9F00-00000000A002").block.text, "Status");
    assert.equal(lib.block("6571a9b2-0c1d-4a3e-9f00-000000000bad"), null);
    assert.deepEqual(
      lib.backlinks("pages/project_alpha.md").map((g) => [g.path, g.positions]),
      [
        ["journals/2026_12_06.md", [0]],
        ["journals/2025_01_02.md", [0]],
        ["pages/Café Notes.md", [1]],
        ["pages/org_page.org", [0]],
      ],
    );
    // Work is linked from the table (block) and from tags:: (page properties, pos -1)
    assert.deepEqual(
      lib.backlinks("pages/Work.md").find((g) => g.path === "pages/project_alpha.md").positions,
      [-1, 11],
    );
    // a live change: the title:: changes, the old name stops resolving, search sees the new text
    await graph.change("pages/Work.md", "title:: Office\n\n- renamed page with a zebra\n");
    assert.equal(lib.resolvePage("Work"), null);
    assert.equal(lib.resolvePage("Office"), "pages/Work.md");
    assert.equal(lib.search("zebra")[0].path, "pages/Work.md");
  });

  test("a body that cannot be fetched is an error model, and is retried on the next visit", async () => {
    const graph = fixtureGraph(GRAPH);
    const lib = createLibrary(graph, parse);
    await lib.ready();
    const page = await lib.page("pages/nowhere.md");
    assert.equal(page.error, "This file is not in the graph.");
    assert.equal(lib.cachedPage("pages/nowhere.md"), null);
  });
});

describe("search", () => {
  test("all words in one block, phrase first, snippets around the match", () => {
    const index = createSearchIndex();
    index.add("pages/a.md", "Garden plans", [
      { text: "Plant tomatoes in the garden before May", uuid: null, pos: 0 },
      { text: "the tomatoes garden was small", uuid: "u-1", pos: 1 },
    ]);
    index.add("pages/b.md", "Other", [{ text: "Nothing about plants", uuid: null, pos: 0 }]);
    const hits = index.search("Tomatoes  GARDEN");
    assert.deepEqual(
      hits.map((h) => [h.path, h.block, h.snippet.slice(h.offset, h.offset + h.length).toLowerCase()]),
      [
        ["pages/a.md", "u-1", "tomatoes garden"],
        ["pages/a.md", "0", "tomatoes"],
      ],
    );
    assert.equal(index.search("garden plans")[0].title, "Garden plans");
    assert.deepEqual(index.search("  "), []);
    index.remove("pages/a.md");
    assert.deepEqual(index.search("garden"), []);
    const long = "word ".repeat(100) + "needle" + " tail".repeat(100);
    const s = snippet(long, long.indexOf("needle"), 6);
    assert.equal(s.text.slice(s.offset, s.offset + 6), "needle");
    assert.ok(s.text.length < 150 && s.text.startsWith("…") && s.text.endsWith("…"));
  });

  test("warm search on 2,000 real-looking pages is well under 200 ms", async () => {
    // The bench workload's pages (bench/workload.mjs), parsed by mldoc. mldoc does ~4-10 ms per
    // KiB here, so 100 pages are parsed and their block models reused under 20 titles each:
    // the index then holds 2,000 pages' worth of text, which is what a query scans.
    const g = generateGraph({ files: 105 });
    const parsed = g.files
      .filter((f) => f.kind === "page")
      .slice(0, 100)
      .map((f) => parsePage(f.bytes.toString("utf8"), "Markdown"));
    const index = createSearchIndex();
    let blocks = 0;
    let chars = 0;
    for (let copy = 0; copy < 20; copy++) {
      parsed.forEach((page, i) => {
        blocks += page.blocks.length;
        for (const b of page.blocks) chars += b.text.length;
        index.add(`pages/p${copy}-${i}.md`, `page ${copy} ${i}`, page.blocks);
      });
    }
    assert.equal(index.size, 2000);
    const queries = ["garden", "project meeting", "café", "crème brûlée", "zzzz not there", "t", "sync graph outline"];
    index.search("warm up");
    const times = [];
    for (const q of queries) {
      const t0 = performance.now();
      const hits = index.search(q, { limit: 50 });
      times.push(performance.now() - t0);
      if (q !== "zzzz not there") assert.ok(hits.length > 0, q);
    }
    const worst = Math.max(...times);
    console.log(
      `# search: 2,000 pages, ${blocks} blocks, ${(chars / 1048576).toFixed(1)} M chars; warm queries ${times.map((t) => t.toFixed(1)).join(", ")} ms (worst ${worst.toFixed(1)})`,
    );
    assert.ok(worst < 200, `worst query ${worst} ms`);
  });
});

describe("asset links", () => {
  test("../assets/… from a page, assets/… from the root; nothing outside assets/, no URLs", () => {
    assert.equal(assetPath("pages/a.md", "../assets/img_1.png"), "assets/img_1.png");
    assert.equal(assetPath("pages/a.md", "../assets/My%20File.pdf"), "assets/My File.pdf");
    assert.equal(assetPath("journals/2026_12_06.md", "/assets/x.mp3"), "assets/x.mp3");
    assert.equal(assetPath("pages/a.md", "assets/x.png"), "assets/x.png");
    assert.equal(assetPath("pages/a.md", "../logseq/config.edn"), null);
    assert.equal(assetPath("pages/a.md", "../assets/../logseq/config.edn"), null);
    assert.equal(assetPath("pages/a.md", "https://example.com/assets/x.png"), null);
    assert.equal(assetPath("pages/a.md", "javascript:alert(1)"), null);
  });
});

describe("diff", () => {
  test("line diff: added, removed, unchanged", () => {
    assert.deepEqual(lineDiff("a\nb\nc\n", "a\nB\nc\nd\n"), [
      { type: "same", text: "a" },
      { type: "del", text: "b" },
      { type: "add", text: "B" },
      { type: "same", text: "c" },
      { type: "add", text: "d" },
    ]);
    assert.deepEqual(lineDiff("", "x"), [{ type: "add", text: "x" }]);
    assert.deepEqual(lineDiff("same\n", "same\n"), [{ type: "same", text: "same" }]);
  });
});
