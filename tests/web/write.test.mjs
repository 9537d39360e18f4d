// Pure modules of the browser's writing side (web/src/write), in Node: Logseq's own test
// vectors for block cutting and merging (LS = logseq/logseq tag 0.10.15,
// src/test/frontend/fs/diff_merge_test.cljs, ported as data), property tests of the splice
// on real pages, the desktop's file names, and the name/body crypto against rsapi.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Differ } from "@logseq/diff-merge";

import { cutBlocks, diffBlocks, parseAst } from "../../web/src/write/blocks.js";
import { threeWayMerge, finalNewline } from "../../web/src/write/merge.js";
import { openPage, applyEdit, applyEdits, editableText } from "../../web/src/write/splice.js";
import { PAGES, TABS, SPACES_CRLF_NO_FINAL, ORG } from "./write-fixtures.mjs";
import {
  readConfig,
  fileNameBody,
  pagePath,
  journalPath,
  newJournal,
  refusal,
  formatDate,
} from "../../web/src/write/names.js";
import { createGraphCrypto, nameKey, md5Hex } from "../../web/src/crypto/graphcrypto.js";
import * as rsapi from "../harness/rsapi.mjs";
import { createHash } from "node:crypto";

const U1 = "63e25526-3612-4fb1-8cf9-f66db1254a58";

// LS `md->ast->diff-blocks-alt-test`: body, uuid, level and raw body of each block.
const DIFF_BLOCKS_ALT = [
  [
    "- a\n\t- b\n\t\t- c",
    [
      ["a", null, 1, "- a"],
      ["b", null, 2, "\t- b"],
      ["c", null, 3, "\t\t- c"],
    ],
  ],
  [
    "- a\n\t- b\n\t\t- c\n\t\t  multiline\n- d",
    [
      ["a", null, 1, "- a"],
      ["b", null, 2, "\t- b"],
      ["c\nmultiline", null, 3, "\t\t- c\n\t\t  multiline"],
      ["d", null, 1, "- d"],
    ],
  ],
  [
    "## hello\n\t- world\n\t\t- nice\n\t\t\t- nice\n\t\t\t- bingo\n\t\t\t- world",
    [
      ["## hello", null, 1, "## hello"],
      ["world", null, 2, "\t- world"],
      ["nice", null, 3, "\t\t- nice"],
      ["nice", null, 4, "\t\t\t- nice"],
      ["bingo", null, 4, "\t\t\t- bingo"],
      ["world", null, 4, "\t\t\t- world"],
    ],
  ],
  [
    "# a\n## b\n### c\n#### d\n### e\n- f\n\t- g\n\t\t- h\n\t- i\n- j",
    [
      ["# a", null, 1, "# a"],
      ["## b", null, 1, "## b"],
      ["### c", null, 1, "### c"],
      ["#### d", null, 1, "#### d"],
      ["### e", null, 1, "### e"],
      ["f", null, 1, "- f"],
      ["g", null, 2, "\t- g"],
      ["h", null, 3, "\t\t- h"],
      ["i", null, 2, "\t- i"],
      ["j", null, 1, "- j"],
    ],
  ],
  [
    `- a\n  id:: ${U1}\n\t- b\n\t\t- c`,
    [
      [`a\nid:: ${U1}`, U1, 1, `- a\n  id:: ${U1}`],
      ["b", null, 2, "\t- b"],
      ["c", null, 3, "\t\t- c"],
    ],
  ],
  ["alias:: ⭐️\nicon:: ⭐️", [["alias:: ⭐️\nicon:: ⭐️", null, 1, "alias:: ⭐️\nicon:: ⭐️"]]],
];

// LS `org->ast->diff-blocks-test`.
const ORG_DIFF_BLOCKS = [
  [
    ":PROPERTIES:\n:ID:       72289d9a-eb2f-427b-ad97-b605a4b8c59b\n:END:\n#+tItLe: Well parsed!",
    ":PROPERTIES:\n:ID:       72289d9a-eb2f-427b-ad97-b605a4b8c59b\n:END:\n#+tItLe: Well parsed!",
    "72289d9a-eb2f-427b-ad97-b605a4b8c59b",
  ],
  ["#+title: Howdy", "#+title: Howdy", null],
  [
    ":PROPERTIES:\n:fiction: [[aldsjfklsda]]\n:END:\n#+title: Howdy",
    ":PROPERTIES:\n:fiction: [[aldsjfklsda]]\n:END:\n#+title: Howdy",
    null,
  ],
];

// LS `diff-test` (2-way diff over the non-alt blocks): per base position, [op, body, level, uuid].
const DIFF_VECTORS = [
  [
    "## hello\n\t- world\n\t\t- nice\n\t\t\t- nice\n\t\t\t- bingo\n\t\t\t- world",
    "## Halooooo\n\t- world\n\t\t- nice\n\t\t\t- nice\n\t\t\t- bingo\n\t\t\t- world",
    [
      [],
      [
        [-1, "## hello", 1, null],
        [1, "## Halooooo", 1, null],
      ],
      [[0, "world", 2, null]],
      [[0, "nice", 3, null]],
      [[0, "nice", 4, null]],
      [[0, "bingo", 4, null]],
      [[0, "world", 4, null]],
    ],
  ],
  [
    "## hello\n\t- world\n\t  id:: 63e25526-3612-4fb1-8cf9-abcd12354abc\n\t\t- nice\n\t\t\t- nice\n\t\t\t- bingo\n\t\t\t- world",
    "## Halooooo\n\t- world\n\t\t- nice\n\t\t\t- nice\n\t\t\t- bingo\n\t\t\t- world",
    [
      [],
      [
        [-1, "## hello", 1, null],
        [1, "## Halooooo", 1, null],
        [1, "world", 2, null],
      ],
      [[-1, "world\nid:: 63e25526-3612-4fb1-8cf9-abcd12354abc", 2, "63e25526-3612-4fb1-8cf9-abcd12354abc"]],
      [[0, "nice", 3, null]],
      [[0, "nice", 4, null]],
      [[0, "bingo", 4, null]],
      [[0, "world", 4, null]],
    ],
  ],
  ["", "- abc def", [[[1, "abc def", 1, null]]]],
];

// LS `test-three-way-merge`: [base, incoming, current, merged].
const MERGE_VECTORS = [
  [
    "- a\n  id:: 648ab5e6-5e03-4c61-95d4-dd904a0a007f\n- b",
    "- a\n  id:: 648ab5e6-5e03-4c61-95d4-dd904a0a007f\n  aaa:: 111\n- b",
    "- c",
    "- a\n  id:: 648ab5e6-5e03-4c61-95d4-dd904a0a007f\n  aaa:: 111\n- c",
  ],
  ["- a\n- b\n- c", "- a\n- b\n- c\n- d", "- a\n\t- b\n- c", "- a\n\t- b\n- c\n- d"],
  ["- a\n- b\n- c", "- a\n\t- b\n- c", "- a\n- b\n- c\n- d", "- a\n- b\n- c\n- d"],
];

const plain = (b) => ({ body: b.body, level: b.level, uuid: b.uuid });

describe("blocks.js cuts pages as Logseq does", () => {
  it("LS md->ast->diff-blocks-alt vectors", () => {
    for (const [text, want] of DIFF_BLOCKS_ALT) {
      const got = diffBlocks(text).map((b) => [b.body, b.uuid, b.level, b.meta["raw-body"]]);
      assert.deepEqual(got, want, JSON.stringify(text));
    }
  });

  it("LS org->ast->diff-blocks vectors", () => {
    for (const [text, body, uuid] of ORG_DIFF_BLOCKS) {
      assert.deepEqual(diffBlocks(text, "org").map(plain), [{ body, level: 1, uuid }], text);
    }
  });

  it("LS diff vectors through @logseq/diff-merge's Differ", () => {
    for (const [a, b, want] of DIFF_VECTORS) {
      const ops = new Differ().diff_logseqMode(diffBlocks(a).map(plain), diffBlocks(b).map(plain));
      const got = ops.map((pos) => pos.map(([op, blk]) => [op, blk.body, blk.level, blk.uuid ?? null]));
      assert.deepEqual(got, want, a);
    }
  });

  it("blocks tile the text, with byte and char ranges, uuids and markers", () => {
    for (const [name, text] of Object.entries(PAGES)) {
      const cut = cutBlocks(text, { format: name === "ORG" ? "org" : "markdown" });
      const bytes = Buffer.from(text, "utf8");
      let at = cut.preBlock.end;
      assert.equal(cut.preBlock.src, text.slice(0, cut.preBlock.charEnd));
      for (const b of cut.blocks) {
        assert.equal(b.start, at, `${name} block ${b.index} starts where the previous ends`);
        assert.equal(bytes.subarray(b.start, b.end).toString("utf8"), b.src);
        assert.equal(text.slice(b.charStart, b.charEnd), b.src);
        at = b.end;
      }
      assert.equal(at, bytes.length, `${name}: last block ends at the end`);
    }
    const tabs = cutBlocks(TABS).blocks;
    assert.equal(tabs[0].uuid, "6571a3f0-1c2b-4d5e-8f90-0a1b2c3d4e5f");
    assert.deepEqual(
      tabs.map((b) => b.marker),
      [null, "TODO", "DONE", null, null, "LATER", null, null],
    );
    assert.equal(tabs[4].body, "A code block\n```js\nconst x = 1;\n\nconsole.log(x);\n```");
    assert.equal(cutBlocks(ORG, { format: "org" }).blocks[0].uuid, "6571a3f0-2222-4d5e-8f90-0a1b2c3d4e5f");
  });

  it("blank pages have no blocks; a given AST is used as is", () => {
    assert.deepEqual(cutBlocks("").blocks, []);
    assert.deepEqual(cutBlocks("  \n").blocks, []);
    const ast = parseAst(TABS);
    assert.deepEqual(cutBlocks(TABS, { ast }).blocks, cutBlocks(TABS).blocks);
  });
});

describe("merge.js merges as Logseq does", () => {
  it("LS test-three-way-merge vectors", () => {
    for (const [base, incoming, current, want] of MERGE_VECTORS) {
      assert.equal(threeWayMerge(base, incoming, current).lsText, want);
    }
  });

  it("edits of different blocks both survive; sides are reported", () => {
    const base = "- a\n- b\n- c\n";
    const r = threeWayMerge(base, "- a\n- b\n- c server\n", "- a\n- b browser\n- c\n");
    assert.equal(r.text, "- a\n- b browser\n- c server");
    assert.deepEqual(
      r.blocks.map((b) => [b.raw, b.side]),
      [
        ["- a", "base"],
        ["- b browser", "current"],
        ["- c server", "incoming"],
      ],
    );
    assert.equal(r.conflicts, 0);
    assert.equal(finalNewline(r.text, "- x\n"), "- a\n- b browser\n- c server\n");
  });

  it("LS's merge drops an edit of a block with id:: (diff-merge keeps current's); the rescue keeps it", () => {
    const U2 = "63e25526-3612-4fb1-8cf9-f66db1254a59";
    const base = `- A\n- B\n  id:: ${U1}\n- C\n  id:: ${U2}\n`;
    const incoming = `- A\n- B\n  id:: ${U1}\n- C changed by desktop\n  id:: ${U2}\n`;
    const current = `- A\n- B changed by browser\n  id:: ${U1}\n- C\n  id:: ${U2}\n`;
    const r = threeWayMerge(base, incoming, current);
    assert.ok(!r.lsText.includes("C changed by desktop"), "LS 0.10.15 / diff-merge 0.2.2 behaviour");
    assert.equal(r.text, `- A\n- B changed by browser\n  id:: ${U1}\n- C changed by desktop\n  id:: ${U2}`);
    assert.deepEqual(
      r.rescued.map((b) => b.side),
      ["incoming"],
    );
    assert.equal(r.conflicts, 0);
    // The third LS vector: incoming's indentation is dropped by LS, kept here.
    assert.equal(threeWayMerge("- a\n- b\n- c", "- a\n\t- b\n- c", "- a\n- b\n- c\n- d").text, "- a\n\t- b\n- c\n- d");
  });

  it("two edits of the same block come out as two sibling blocks", () => {
    const base = "- keep\n- shared block\n\t- child\n";
    const r = threeWayMerge(
      base,
      "- keep\n- shared block, server\n\t- child\n",
      "- keep\n- shared block, browser\n\t- child\n",
    );
    assert.equal(r.lsText, "- keep\n- shared block, browser\n- shared block, server\n\t- child");
    assert.equal(r.text, r.lsText);
    assert.equal(r.conflicts, 1, "LS gives no marker in the text; the sides tell them apart");
    assert.deepEqual(
      r.blocks.map((b) => b.side),
      ["base", "current", "incoming", "base"],
    );
  });

  it("two edits of the same block with id:: come out as two siblings, the id on one", () => {
    const base = `- keep\n- shared block\n  id:: ${U1}\n\t- child\n`;
    const incoming = `- keep\n- shared block, server's words\n  id:: ${U1}\n\t- child\n`;
    const current = `- keep\n- shared block, browser's words\n  id:: ${U1}\n\t- child\n`;
    const r = threeWayMerge(base, incoming, current);
    const raws = r.blocks.map((b) => [b.raw, b.side]);
    assert.ok(
      raws.some(([raw, side]) => raw.startsWith("- shared block, browser's words") && side === "current"),
      r.text,
    );
    assert.ok(
      raws.some(([raw, side]) => raw.startsWith("- shared block, server's words") && side === "incoming"),
      r.text,
    );
    assert.equal(r.conflicts, 1);
    const merged = cutBlocks(r.text).blocks;
    const both = merged.filter((b) => b.body.startsWith("shared block,"));
    assert.equal(both.length, 2, r.text);
    assert.equal(both[0].level, both[1].level, "siblings");
  });
});

/** Small seeded PRNG (mulberry32) so a failing run can be replayed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ["Zoë", "日本語", "[[Café déjà vu]]", "#tag", "**bold**", "`code`", "📝", "plain", "words", "ünïcödé"];
const randomText = (rnd) => {
  const line = () =>
    Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(" ");
  return rnd() < 0.3 ? `${line()}\n${line()}` : line();
};

const FORMAT = { TABS: "markdown", SPACES_CRLF_NO_FINAL: "markdown", JOURNAL: "markdown", ORG: "org" };

function randomEdit(page, rnd) {
  const n = page.blocks.length;
  const index = Math.floor(rnd() * n);
  const kinds = ["edit", "edit", "toggle", "add", "delete", "indent", "outdent", "moveUp", "moveDown"];
  const type = kinds[Math.floor(rnd() * kinds.length)];
  if (type === "edit") return { type, index, text: randomText(rnd) };
  if (type === "add")
    return { type, index, position: ["after", "child", "before"][Math.floor(rnd() * 3)], text: randomText(rnd) };
  return { type, index };
}

/** Everything outside [start, end) of the original is byte for byte in the result. */
function assertOutsideUnchanged(before, r, what) {
  assert.ok(r.start <= r.end && r.end <= before.length, `${what}: range`);
  assert.equal(r.text.slice(0, r.start), before.slice(0, r.start), `${what}: bytes before the edit`);
  const suffix = before.slice(r.end);
  assert.ok(r.text.length >= r.start + suffix.length && r.text.endsWith(suffix), `${what}: bytes after the edit`);
}

describe("splice.js replaces only the edited blocks' bytes", () => {
  it("editing one block keeps id::, collapsed::, tabs, blank lines and the final newline", () => {
    const page = openPage(TABS);
    assert.equal(editableText(page, 0), "Goals for the week");
    const r = applyEdit(page, { type: "edit", index: 0, text: "Goals for the week — revised" });
    assert.equal(
      r.text,
      TABS.replace("- Goals for the week\n", "- Goals for the week — revised\n"),
      "only the first line of the block changed",
    );
    const r2 = applyEdit(page, { type: "edit", index: 3, text: "nested note edited\nsecond line of the note\nthird" });
    assert.equal(
      r2.text,
      TABS.replace(
        "\t\t- nested note with #tag and [[Café déjà vu]]\n\t\t  second line of the note\n",
        "\t\t- nested note edited\n\t\t  second line of the note\n\t\t  third\n",
      ),
    );
    assert.equal(applyEdit(page, { type: "edit", index: 4, text: editableText(page, 4) }).text, TABS, "no-op edit");
    // hidden lines keep their place among the visible ones
    const odd = "- title\n  line two\n  collapsed:: true\n\t- child\n";
    assert.equal(editableText(openPage(odd), 0), "title\nline two");
    assert.equal(
      applyEdit(openPage(odd), { type: "edit", index: 0, text: "title\nline 2\nline 3" }).text,
      "- title\n  line 2\n  collapsed:: true\n  line 3\n\t- child\n",
    );
  });

  it("CRLF, two-space indentation and a missing final newline survive every kind of edit", () => {
    const page = openPage(SPACES_CRLF_NO_FINAL);
    assert.equal(page.unit, "  ");
    for (const edit of [
      { type: "edit", index: 1, text: "child one\nmore text, edited" },
      { type: "toggle", index: 2 },
      { type: "add", index: 5, position: "after", text: "fourth" },
      { type: "add", index: 0, position: "child", text: "new child" },
      { type: "delete", index: 5 },
      { type: "indent", index: 5 },
      { type: "outdent", index: 3 },
      { type: "moveUp", index: 5 },
    ]) {
      const r = applyEdit(page, edit);
      assert.ok(!/[^\r]\n/.test(r.text), `${edit.type}: only CRLF`);
      assert.ok(!r.text.endsWith("\n"), `${edit.type}: still no final newline`);
      assert.ok(r.text.includes("  id:: 6571a3f0-1111-4d5e-8f90-0a1b2c3d4e5f\r\n"), `${edit.type}: id:: kept`);
      assertOutsideUnchanged(SPACES_CRLF_NO_FINAL, r, edit.type);
    }
    assert.equal(
      applyEdit(page, { type: "add", index: 0, position: "child", text: "new child" }).text,
      SPACES_CRLF_NO_FINAL.replace("\r\n  - child one", "\r\n  - new child\r\n  - child one"),
    );
    assert.equal(
      applyEdit(page, { type: "indent", index: 5 }).text,
      SPACES_CRLF_NO_FINAL.replace("- third without", "  - third without"),
    );
  });

  it("toggle, indent, outdent and move do what the desktop does", () => {
    const page = openPage(TABS);
    assert.match(applyEdit(page, { type: "toggle", index: 1 }).text, /\t- DONE write the report\n/);
    assert.match(applyEdit(page, { type: "toggle", index: 2 }).text, /\t- TODO call Zoë/);
    assert.match(applyEdit(page, { type: "toggle", index: 2, workflow: "now" }).text, /\t- LATER call Zoë/);
    assert.match(applyEdit(page, { type: "toggle", index: 0 }).text, /\n- DONE Goals for the week\n {2}id::/);
    // indent with children: every line of the subtree gains one tab
    const indented = applyEdit(page, { type: "indent", index: 5 }).text;
    assert.ok(
      indented.includes(
        "\t- LATER read **the paper**\n\t  id:: 6571a3f0-0000-4d5e-8f90-0a1b2c3d4e60\n\t\t- child of later\n",
      ),
    );
    // outdent (LS default, direct): the later sibling becomes its child
    const outdented = openPage(applyEdit(page, { type: "outdent", index: 1 }).text);
    assert.deepEqual(
      outdented.blocks.slice(1, 4).map((b) => [b.level, b.marker]),
      [
        [1, "TODO"],
        [2, "DONE"],
        [3, null],
      ],
    );
    const moved = applyEdit(page, { type: "moveUp", index: 7 }).text;
    assert.ok(
      moved.endsWith(
        "- emoji 📝 and 日本語のブロック\n- LATER read **the paper**\n  id:: 6571a3f0-0000-4d5e-8f90-0a1b2c3d4e60\n\t- child of later\n",
      ),
    );
    assert.throws(() => applyEdit(page, { type: "indent", index: 0 }), /cannot be indented/);
    assert.throws(() => applyEdit(page, { type: "outdent", index: 0 }), /cannot be outdented/);
    assert.throws(() => applyEdit(page, { type: "edit", index: 99, text: "x" }), /No block 99/);
  });

  it("adds to an empty page and to a page without a final newline", () => {
    assert.equal(applyEdits("", [{ type: "add", index: -1, text: "first" }]), "- first\n");
    assert.equal(applyEdits("- a", [{ type: "add", index: 0, text: "b" }]), "- a\n- b");
    assert.equal(applyEdits("title:: x\n", [{ type: "add", index: -1, text: "b" }]), "title:: x\n- b\n");
    assert.equal(
      applyEdits(ORG, [{ type: "add", index: 1, position: "child", text: "deeper" }], { format: "org" }),
      ORG.replace("** child heading\n", "** child heading\n*** deeper\n"),
    );
  });

  it("property: random edits on real pages leave every byte outside the edited blocks alone", () => {
    const seed = Number(process.env.SPLICE_SEED ?? 20261206);
    const rnd = prng(seed);
    let applied = 0;
    for (let round = 0; round < 400; round++) {
      const name = Object.keys(PAGES)[round % 4];
      const format = FORMAT[name];
      // a chain of edits: each starts from the previous result
      let text = PAGES[name];
      for (let step = 0; step < 4; step++) {
        const page = openPage(text, { format });
        if (page.blocks.length === 0) break;
        const edit = randomEdit(page, rnd);
        const what = `seed ${seed} round ${round} step ${step} ${name} ${JSON.stringify(edit)}`;
        let r;
        try {
          r = applyEdit(page, edit);
        } catch (e) {
          assert.match(e.message, /cannot|Already|heading/, what);
          continue;
        }
        applied++;
        assertOutsideUnchanged(text, r, what);
        const b = page.blocks[edit.index];
        const subEnd = (() => {
          let j = edit.index + 1;
          while (j < page.blocks.length && page.blocks[j].level > b.level) j++;
          return j < page.blocks.length ? page.blocks[j].charStart : text.length;
        })();
        if (["edit", "toggle"].includes(edit.type)) {
          assert.ok(r.start >= b.charStart && r.end <= b.charEnd, `${what}: inside the block`);
        }
        if (["delete", "indent", "outdent"].includes(edit.type)) {
          // deleting the last blocks of a file without final newline also takes the line
          // ending before them (the file keeps ending without one)
          const slack = subEnd === text.length && !/\n$/.test(text) ? 2 : 0;
          assert.ok(r.start >= b.charStart - slack && r.end <= subEnd, `${what}: inside the subtree`);
        }
        if (edit.type === "add") assert.equal(r.start, r.end, `${what}: pure insertion`);
        assert.equal(/\n$/.test(r.text), /\n$/.test(text), `${what}: final newline`);
        if (text.includes("\r\n") && !/(^|[^\r])\n/.test(text)) {
          assert.ok(!/(^|[^\r])\n/.test(r.text), `${what}: CRLF stays CRLF ${JSON.stringify([text, r.text])}`);
        }
        const after = openPage(r.text, { format });
        // every block outside the range is still there, byte for byte
        const srcs = after.blocks.map((x) => x.src.replace(/\r?\n$/, ""));
        for (const old of page.blocks) {
          if (old.charEnd <= r.start || old.charStart >= r.end) {
            assert.ok(srcs.includes(old.src.replace(/\r?\n$/, "")), `${what}: block ${old.index} kept`);
          }
        }
        // no block loses its id:: unless it was deleted
        const ids = (p) => p.blocks.map((x) => x.uuid).filter(Boolean);
        if (edit.type !== "delete") assert.deepEqual(ids(after).sort(), ids(page).sort(), `${what}: ids`);
        if (edit.type === "edit") {
          const i = after.blocks.findIndex((x) => x.charStart === b.charStart);
          assert.equal(editableText(after, i), edit.text, `${what}: new text`);
        }
        text = r.text;
      }
    }
    assert.ok(applied > 800, `applied ${applied} edits`);
  });
});

const CONFIG = `{:meta/version 1
 ;; a comment, and a discarded form
 :preferred-format :markdown #_ :ignored
 :file/name-format :triple-lowbar
 :journal/file-name-format "yyyy_MM_dd"
 :journal/page-title-format "MMM do, yyyy"
 :default-templates {:journals "Daily"}
 :export/bullet-indentation :two-spaces
 :hidden []
 :query/views {:x (fn [r] [:div r])}
 :default-queries {:journals [{:title "🔨 NOW"
                               :query [:find (pull ?h [*]) :where [?h :block/marker ?m]
                                       [(contains? #{"NOW" "DOING"} ?m)]]}]}
 :file-sync/ignore-files [#"^tmp/\\d+"]
 :ref/linkable-drawers? false, :char \\a}`;

describe("names.js names files as the desktop does", () => {
  it("reads the settings from a real config.edn (EDN reader)", () => {
    const c = readConfig(CONFIG);
    assert.equal(c.error, undefined);
    assert.equal(c.fileNameFormat, "triple-lowbar");
    assert.equal(c.journalFileNameFormat, "yyyy_MM_dd");
    assert.equal(c.preferredFormat, "markdown");
    assert.equal(c.bulletIndentation, "two-spaces");
    assert.equal(c.journalTemplate, "Daily");
    assert.equal(c.pagesDirectory, "pages");
    assert.deepEqual(readConfig(null).fileNameFormat, "legacy", "no :file/name-format: the legacy rule");
    assert.equal(readConfig('{:preferred-format "Org" :pages-directory "notes"}').preferredFormat, "org");
    assert.match(readConfig("{:a 1").error, /missing \}/);
    assert.equal(readConfig("{:a 1").fileNameFormat, "legacy", "defaults when the config is invalid");
  });

  it("title -> file name, triple-lowbar and legacy (LS util/fs.cljs file-name-sanity)", () => {
    const cases = [
      // title, triple-lowbar, legacy
      ["a/b", "a___b", "a%2Fb"],
      ["What? Yes: no", "What%3F Yes%3A no", "What%3F Yes%3A no"],
      [".hidden", "%2Ehidden", ".hidden"],
      ["CON", "CON___", "CON"],
      ["foo.", "foo.___", "foo."],
      ["Cafe\u0301", "Café", "Café"], // decomposed input comes out NFC
      ["a___b", "a%5F%5F%5Fb", "a___b"],
      ["a_/b", "a%5F___b", "a_%2Fb"],
      ["100%", "100%", "100%25"],
      ["x%20y", "x%2520y", "x%2520y"],
      ['#tag|pipe*star"<>\\', "%23tag%7Cpipe%2Astar%22%3C%3E%5C", "%23tag%7Cpipe%2Astar%22%3C%3E%5C"],
      ["/lead/", "lead", "lead"],
      ["日本語/ページ", "日本語___ページ", "日本語%2Fページ"],
    ];
    for (const [title, tri, legacy] of cases) {
      assert.equal(fileNameBody(title, "triple-lowbar"), tri, `triple-lowbar ${title}`);
      assert.equal(fileNameBody(title, "legacy"), legacy, `legacy ${title}`);
    }
  });

  it("new pages: pages directory, format, and refusal with the reason", () => {
    const tri = readConfig(CONFIG);
    assert.deepEqual(pagePath("Project/Café: plan?", tri), {
      path: "pages/Project___Café%3A plan%3F.md",
      format: "markdown",
    });
    const org = readConfig('{:preferred-format :org :pages-directory "notes"}');
    assert.deepEqual(pagePath("a/b", org), { path: "notes/a%2Fb.org", format: "org" });
    assert.throws(
      () => pagePath("   ", tri),
      (e) => e.userMessage === "A page needs a title.",
    );
    assert.throws(
      () => pagePath("/", tri),
      (e) => e.userMessage === "A page needs a title.",
    );
    assert.throws(
      () => pagePath(".hidden", org),
      (e) => /dot/.test(e.userMessage),
      "legacy keeps the dot: refused",
    );
    assert.throws(
      () => pagePath("é".repeat(300), tri),
      (e) => /too long.*609 bytes.*458/.test(e.userMessage),
    );
    // "pages/" + 448 bytes + "a" + ".md" = 458 bytes: the longest that fits in 950 encrypted chars
    assert.equal(pagePath(`${"é".repeat(224)}a`, tri).path, `pages/${"é".repeat(224)}a.md`);
    assert.throws(() => pagePath("é".repeat(225), tri), /too long.*\(459 bytes/);
    assert.equal(refusal("pages/a:b.md"), 'Logseq Sync does not carry file names containing ":".');
    assert.equal(refusal("pages/notes~"), "Names ending with ~ are backup files, which Logseq Sync skips.");
    assert.equal(refusal("logseq/bak/pages/x.md"), "Logseq Sync never syncs this file.");
    assert.equal(refusal("pages/x.md"), null);
  });

  it("today's journal: file name format, format, template as LS inserts it", () => {
    const day = { year: 2026, month: 12, day: 6 };
    const config = readConfig(CONFIG);
    assert.deepEqual(journalPath(day, readConfig(null)), {
      path: "journals/2026_12_06.md",
      format: "markdown",
      title: "Dec 6th, 2026",
    });
    const custom = readConfig(
      '{:journal/file-name-format "yyyy-MM-dd" :preferred-format :org :journals-directory "daily"}',
    );
    assert.equal(journalPath(day, custom).path, "daily/2026-12-06.org");
    assert.throws(() => journalPath(day, readConfig('{:journal/file-name-format "yyyy:MM:dd"}')), /":"/);
    const pages = [
      {
        path: "pages/templates.md",
        text: [
          "- Daily",
          "  template:: Daily",
          "  template-including-parent:: false",
          "  id:: 6571a3f0-1c2b-4d5e-8f90-0a1b2c3d4e5f",
          "\t- ## Morning <% today %>",
          "\t\t- TODO plan the day",
          "\t\t  id:: 6571a3f0-1c2b-4d5e-8f90-0a1b2c3d4e60",
          "\t- ## Evening, see <% yesterday %>",
          "- not part of it",
          "",
        ].join("\n"),
      },
    ];
    const j = newJournal({ day, config, pages });
    assert.equal(j.template, "Daily");
    assert.equal(j.text, "- ## Morning [[Dec 6th, 2026]]\n  - TODO plan the day\n- ## Evening, see [[Dec 5th, 2026]]");
    // including the parent (the default): the template:: line goes, the block stays
    const withParent = pages[0].text.replace("  template-including-parent:: false\n", "");
    assert.equal(
      newJournal({ day, config: { ...config, bulletIndentation: "tab" }, pages: [{ path: "p.md", text: withParent }] })
        .text,
      "- Daily\n\t- ## Morning [[Dec 6th, 2026]]\n\t\t- TODO plan the day\n\t- ## Evening, see [[Dec 5th, 2026]]",
    );
    assert.equal(newJournal({ day, config: readConfig(null), firstBlock: "first thought" }).text, "- first thought");
    assert.equal(
      formatDate({ year: 2026, month: 1, day: 2 }, "EEEE, MMMM do 'week' yy"),
      "Friday, January 2nd week 26",
    );
  });

  it("names encrypt as rsapi's and rsapi reads them back", async () => {
    const keys = await rsapi.keygen();
    const graph = "6571a3f0-aaaa-4bbb-8ccc-0a1b2c3d4e5f";
    await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);
    const c = createGraphCrypto(keys);
    const paths = [
      "pages/contents.md",
      pagePath("Project/Café: plan?", readConfig(CONFIG)).path,
      "journals/2026_12_06.md",
      "pages/Cafe\u0301.md",
    ];
    const ours = paths.map((p) => c.encryptName(p));
    assert.deepEqual(ours, rsapi.encryptFnames(graph, paths));
    assert.deepEqual(
      rsapi.decryptFnames(graph, ours),
      paths.map((p) => p.normalize("NFC")),
    );
    assert.equal(c.decryptName(ours[1]), paths[1]);
    // the longest name pagePath accepts is exactly the 950 characters LS sync allows
    const longest = pagePath(`${"é".repeat(224)}a`, readConfig(CONFIG)).path;
    assert.equal(rsapi.encryptFnames(graph, [longest])[0].length, 950);
    // a key made elsewhere is not clamped: only the clamped name key gives rsapi's names
    assert.equal(nameKey(keys.secretKey)[0] & 7, 0);
    assert.equal(md5Hex("- a\n"), createHash("md5").update("- a\n").digest("hex"));
  });
});
