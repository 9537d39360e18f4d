// web/src/write/heads.js: the block-by-block AST cuts real pages exactly as mldoc's whole-page
// AST does (same blocks, byte ranges, levels, markers, ids), so splice.js edits through it
// write the same bytes.

import { test } from "node:test";
import assert from "node:assert/strict";

import { cutBlocks } from "../../web/src/write/blocks.js";
import { headsAst } from "../../web/src/write/heads.js";
import { applyEdit, openPage } from "../../web/src/write/splice.js";
import { TABS, SPACES_CRLF_NO_FINAL } from "./write-fixtures.mjs";

const ORG =
  "#+title: Org Page\n* TODO An org heading\n:PROPERTIES:\n:id: 6571a3f0-2222-4d5e-8f90-0a1b2c3d4e5f\n:END:\n** nested org child with *bold*\n* DONE done\n";
const FENCED = "- a block with code\n  ```md\n  - not a block\n  ```\n- # heading block\n\t- child 日本語\n";

const shape = (cut) =>
  cut.blocks.map((b) => ({ start: b.start, end: b.end, level: b.level, marker: b.marker, uuid: b.uuid, src: b.src }));

for (const [name, text, format] of [
  ["tabs, id::, collapsed::", TABS, "markdown"],
  ["two spaces, CRLF, no final newline", SPACES_CRLF_NO_FINAL, "markdown"],
  ["a code fence with a bullet inside", FENCED, "markdown"],
  ["org with a property drawer", ORG, "org"],
]) {
  test(`headsAst cuts like the whole-page parse: ${name}`, () => {
    const whole = cutBlocks(text, { format });
    const heads = cutBlocks(text, { format, ast: headsAst(text, format) });
    assert.deepEqual(shape(heads), shape(whole));
    assert.equal(heads.preBlock.src, whole.preBlock.src);
  });
}

test("a 10,000-line block is edited through headsAst byte for byte", () => {
  const text = [
    "- before",
    "- log start",
    ...Array.from({ length: 9_999 }, (_, i) => `  line ${i + 1}\twith a tab`),
    "- after",
    "",
  ].join("\n");
  const page = openPage(text, { ast: headsAst(text, "markdown") });
  assert.equal(page.blocks.length, 3);
  const body = text
    .split("\n")
    .slice(1, 10_001)
    .map((l, i) => (i === 0 ? l.slice(2) : l.slice(2)))
    .join("\n");
  const edited = applyEdit(page, { type: "edit", index: 1, text: body.replace("log start", "log start (edited)") });
  assert.equal(edited.text, text.replace("- log start\n", "- log start (edited)\n"));
});

test("a first line too long for mldoc's stack: cut short for the parse, the blocks as the whole-page parse cuts them", async () => {
  const { Worker } = await import("node:worker_threads");
  const long = `TODO Goals ${"0123456789abcdef".repeat(2_500)} [[Café]]`; // 40,000+ characters on one line
  const text = `title:: Long line\n\n- first\n- ${long}\n  id:: 6571a3f0-1c2b-4d5e-8f90-0a1b2c3d4e5f\n\t- child 日本語\n- last\n`;
  // A half-megabyte stack overflows mldoc on that line, as a browser worker's does (Node's
  // default stack parses it, which gives the whole-page answer to compare with).
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    Promise.all([import(workerData.blocks), import(workerData.heads)]).then(([blocks, heads]) => {
      let whole = "parsed";
      try { blocks.cutBlocks(workerData.text, { format: "markdown" }); } catch { whole = "failed"; }
      const cut = blocks.cutBlocks(workerData.text, { format: "markdown", ast: heads.headsAst(workerData.text, "markdown") });
      parentPort.postMessage({ whole, blocks: cut.blocks.map((b) => ({ start: b.start, end: b.end, level: b.level, marker: b.marker, uuid: b.uuid, src: b.src })) });
    });`;
  const url = (p) => new URL(p, import.meta.url).href;
  const w = new Worker(code, {
    eval: true,
    workerData: { text, blocks: url("../../web/src/write/blocks.js"), heads: url("../../web/src/write/heads.js") },
    resourceLimits: { stackSizeMb: 0.5 },
  });
  const got = await new Promise((resolve, reject) => w.once("message", resolve).once("error", reject));
  await w.terminate();
  assert.equal(got.whole, "failed", "the whole-page parse overflows in the small stack");
  assert.deepEqual(got.blocks, shape(cutBlocks(text, { format: "markdown" })));
});
