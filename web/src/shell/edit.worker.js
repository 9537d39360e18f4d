// The edit worker: the writing core's parsing work (mldoc via blocks.js, splice.js, merge.js)
// off the page's thread, so typing never waits for a parse (a 10,000-line block costs seconds).
// It holds the page opened last; an edit is applied to it, and the result is opened again
// (one parse per applied edit, none per keystroke: the editor applies a block's text when the
// person leaves the block, saves, or makes a structural edit).
//
// Messages in: {id, op, ...}; out: {id, ok, value} or {id, ok: false, error}.
//   open  {text, format, bulletIndentation}         → view
//   apply {text, format, bulletIndentation, edits}  → {text, view, selected}
//   merge {base, incoming, current, format}         → {text, blocks, conflicts, rescued}
//   rebase {text, format, bulletIndentation, original, index, typed}
//         → {text, view, selected} or null: the typed text of one block applied to another
//           version of the page (found by its original text, nearest to `index`), so a change
//           from another device to other blocks is taken in byte for byte
// A view is {blocks: [{index, depth, marker, text}]}: `text` is what the person edits
// (splice.js `editableText`: no bullet, no indentation, no `id::`/`collapsed::` lines).

import { finalNewline, threeWayMerge } from "../write/merge.js";
import { headsAst } from "../write/heads.js";
import { applyEdit, depthOf, editableText, openPage } from "../write/splice.js";

let held = null; // {key, page}

function open(text, format, bulletIndentation) {
  const key = `${format}|${bulletIndentation ?? ""}|${text}`;
  if (held?.key !== key) {
    let page;
    try {
      page = openPage(text, { format, bulletIndentation });
    } catch (e) {
      // mldoc overflows the worker's stack on a very long block (a 10,000-line paste): cut
      // the page block by block instead (`headsAst`), so it stays editable.
      const ast = headsAst(text, format);
      if (!ast) throw e;
      page = openPage(text, { format, bulletIndentation, ast });
    }
    held = { key, page };
  }
  return held.page;
}

function viewOf(page) {
  return {
    blocks: page.blocks.map((b, index) => ({
      index,
      depth: depthOf(page, index),
      marker: b.marker ?? null,
      text: editableText(page, index),
    })),
  };
}

/** Index of the first block after `index`'s subtree (levels as mldoc reports them). */
function subtreeEnd(page, index) {
  const level = page.blocks[index].level;
  let j = index + 1;
  while (j < page.blocks.length && page.blocks[j].level > level) j++;
  return j;
}

/** Which block the edited one is after the edit (the editor keeps it selected). */
function selectedAfter(page, edit) {
  const i = edit.index;
  switch (edit.type) {
    case "add":
      if (i === -1 || page.blocks.length === 0) return page.blocks.length;
      if (edit.position === "before") return i;
      if (edit.position === "child") return i + 1;
      return subtreeEnd(page, i);
    case "moveUp": {
      const level = page.blocks[i].level;
      for (let j = i - 1; j >= 0; j--) if (page.blocks[j].level <= level) return j;
      return i;
    }
    case "moveDown": {
      const next = subtreeEnd(page, i);
      return i + (subtreeEnd(page, next) - next);
    }
    case "delete":
      return Math.max(0, i - 1);
    default:
      return i;
  }
}

const ops = {
  open: ({ text, format, bulletIndentation }) => viewOf(open(text, format, bulletIndentation)),
  apply: ({ text, format, bulletIndentation, edits }) => {
    let page = open(text, format, bulletIndentation);
    let selected = null;
    for (const edit of edits) {
      selected = selectedAfter(page, edit);
      page = open(applyEdit(page, edit).text, format, bulletIndentation);
    }
    return { text: page.text, view: viewOf(page), selected };
  },
  rebase: ({ text, format, bulletIndentation, original, index, typed }) => {
    const page = open(text, format, bulletIndentation);
    let best = -1;
    for (let i = 0; i < page.blocks.length; i++) {
      if (editableText(page, i) !== original) continue;
      if (best < 0 || Math.abs(i - index) < Math.abs(best - index)) best = i;
    }
    if (best < 0) return null;
    const after = open(applyEdit(page, { type: "edit", index: best, text: typed }).text, format, bulletIndentation);
    return { text: after.text, view: viewOf(after), selected: best };
  },
  merge: ({ base, incoming, current, format }) => {
    const m = threeWayMerge(base, incoming, current, format);
    return {
      text: finalNewline(m.text, incoming || current),
      blocks: m.blocks.map(({ raw, level, side, conflict, uuid }) => ({ raw, level, side, conflict, uuid })),
      conflicts: m.conflicts,
      rescued: m.rescued.length,
    };
  },
};

self.onmessage = (event) => {
  const { id, op, ...args } = event.data;
  try {
    self.postMessage({ id, ok: true, value: ops[op](args) });
  } catch (e) {
    self.postMessage({ id, ok: false, error: e?.message ?? String(e) });
  }
};
