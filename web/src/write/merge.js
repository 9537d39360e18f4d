// Three-way merge of a page exactly as Logseq 0.10.15 merges a file that changed on both
// sides (LS src/main/frontend/fs/diff_merge.cljs `three-way-merge`, called from
// fs/sync.cljs with (base, incoming, current)):
//
//   new Merger().mergeBlocks(base, [current, incoming])       (@logseq/diff-merge 0.2.2)
//
// with the blocks cut by blocks.js `diffBlocks`, and the result rebuilt as LS's
// `rebuild-content` does: keep ops 0 (equal) and 1 (insert), take each block's raw source
// (`meta.raw-body`, already right-trimmed), drop empty ones, join with "\n".
//
// What that means for a person (and what a UI must show before committing a merge):
// * edits of different blocks both survive;
// * two different edits of the SAME block come out as two sibling blocks, with no marker
//   (both texts kept, nothing chosen) — exactly as on the desktop;
// * LS's joined text has no final newline and uses "\n" between blocks even in a CRLF file;
//   text before the first block that is not page properties is dropped by LS's cutting. This
//   module reproduces LS; `finalNewline` below lets the caller restore the final newline.

import { Merger } from "@logseq/diff-merge";
import { diffBlocks } from "./blocks.js";

/** Which side a merged block came from (diff-merge's `src` / `srcBranch`). */
export const SIDE = Object.freeze({ BASE: "base", CURRENT: "current", INCOMING: "incoming" });

/**
 * @param {string} base the text both sides started from
 * @param {string} incoming the other side's text (for the browser: what is on the server now)
 * @param {string} current this side's text (for the browser: the person's edit)
 * @param {"markdown"|"org"} [format]
 * @returns {{text: string, lsText: string, blocks: MergedBlock[], conflicts: number,
 *   rescued: MergedBlock[]}}
 *   `lsText` is LS's merged text byte for byte. `text` is `lsText` plus the edits LS's merge
 *   drops (see `rescue` below); equal to `lsText` when nothing was dropped. `blocks` are the
 *   blocks of `text` in order, each `{raw, body, level, uuid, side, conflict}` with side "base"
 *   (unchanged on both sides), "current" or "incoming" (that side's text, inserted or changed)
 *   and `conflict` true for the versions of a block both sides changed. `conflicts` counts
 *   such blocks (both versions are in `text`, as siblings, with no marker in the text).
 */
export function threeWayMerge(base, incoming, current, format = "markdown") {
  // `meta` travels with each block through diff-merge untouched (it hashes body, uuid and
  // level only), so the side is tagged there; diff-merge's own `src`/`srcBranch` are not
  // set for blocks given from outside.
  const tag = (text, side) => diffBlocks(text, format).map((b) => ({ ...b, meta: { ...b.meta, side } }));
  const baseBlocks = tag(base, SIDE.BASE);
  const sides = { [SIDE.CURRENT]: tag(current, SIDE.CURRENT), [SIDE.INCOMING]: tag(incoming, SIDE.INCOMING) };
  const merged = new Merger().mergeBlocks(baseBlocks, [sides[SIDE.CURRENT], sides[SIDE.INCOMING]]);
  const baseRaws = new Set(baseBlocks.map((b) => b.meta["raw-body"]));
  const blocks = [];
  let conflicts = 0;
  for (const ops of merged) {
    const inserted = new Set(ops.filter(([op, b]) => op === 1 && b.meta?.["raw-body"]).map(([, b]) => b.meta.side));
    const both = inserted.has(SIDE.CURRENT) && inserted.has(SIDE.INCOMING);
    if (both) conflicts++;
    for (const [op, block] of ops) {
      if (op !== 0 && op !== 1) continue;
      const raw = block.meta?.["raw-body"];
      if (!raw) continue;
      const side = op === 0 && baseRaws.has(raw) ? SIDE.BASE : block.meta.side;
      const conflict = both && op === 1;
      blocks.push({ raw, body: block.body, level: block.level, uuid: block.uuid ?? null, side, conflict });
    }
  }
  const lsText = blocks.map((b) => b.raw).join("\n");
  const rescued = rescue(blocks, baseBlocks, sides);
  conflicts += rescued.filter((b) => b.conflict).length;
  return { text: blocks.map((b) => b.raw).join("\n"), lsText, blocks, conflicts, rescued };
}

/**
 * @logseq/diff-merge 0.2.2 matches blocks carrying `id::` by uuid and then keeps branch 0's
 * (current's) version: an incoming edit of such a block is dropped even when current did not
 * touch it, and when both changed it, incoming's text is dropped (checked in
 * tests/web/write.test.mjs; LS 0.10.15 behaves the same on the desktop). A browser must not
 * overwrite an edit it has not seen, so every changed block of either side that is missing
 * from the result is put back:
 * - the other side left that block as in base (found by uuid, else by body) -> the changed
 *   version replaces it (the plain three-way answer; this also keeps an indentation change);
 * - a block with the same body is in the result -> nothing is lost (only its place differs);
 * - both sides changed it -> the dropped version is added as a sibling after the kept block's
 *   children, without its `id::` line (ids stay unique), and counted as a conflict — the same
 *   shape LS gives two edits of a block without id;
 * - the block is gone from the result (deleted on the other side) -> it is added after the
 *   block that precedes it in its own side, also as a conflict.
 */
function rescue(blocks, baseBlocks, sides) {
  const rescued = [];
  const baseRaws = new Set(baseBlocks.map((b) => b.meta["raw-body"]));
  for (const [side, list] of Object.entries(sides)) {
    list.forEach((b, i) => {
      const raw = b.meta["raw-body"];
      if (!raw || baseRaws.has(raw) || blocks.some((r) => r.raw === raw)) return;
      const entry = { raw, body: b.body, level: b.level, uuid: b.uuid ?? null, side };
      const byUuid = b.uuid ? blocks.findIndex((r) => r.uuid === b.uuid) : -1;
      const byBody = byUuid < 0 ? blocks.findIndex((r) => r.body === b.body && baseRaws.has(r.raw)) : -1;
      const sameBody = blocks.some((r) => r.body === b.body);
      const at = byUuid >= 0 ? byUuid : byBody;
      if (at >= 0 && baseRaws.has(blocks[at].raw)) {
        blocks[at] = entry; // the other side left it as in base: take this side's change
      } else if (sameBody) {
        return; // same text, only placed or indented differently: nothing is lost
      } else {
        entry.conflict = true;
        if (at >= 0) {
          blocks[at].conflict = true;
          entry.raw = raw.replace(/\r?\n[ \t]*id::[^\n]*/i, "");
          entry.uuid = null;
        }
        blocks.splice(insertionPoint(blocks, at, list, i), 0, entry);
      }
      rescued.push(entry);
    });
  }
  return rescued;
}

/** After the subtree of blocks[at]; or after the block preceding list[i] in its own side. */
function insertionPoint(blocks, at, list, i) {
  if (at < 0) {
    for (let k = i - 1; k >= 0; k--) {
      const prev = blocks.findIndex((r) => r.raw === list[k].meta["raw-body"]);
      if (prev >= 0) return prev + 1;
    }
    return 0;
  }
  let j = at + 1;
  while (j < blocks.length && blocks[j].level > blocks[at].level) j++;
  return j;
}

/**
 * LS's merged text ends without a newline; give it back the final newline (and the line
 * ending) of `like` (for example the server's current text), so a commit does not change the
 * file's last byte. Lines inside blocks are LS's; only the ending is adjusted.
 * @param {string} text
 * @param {string} like
 */
export function finalNewline(text, like) {
  const eol = /\r\n$/.test(like) ? "\r\n" : /\n$/.test(like) ? "\n" : "";
  return text === "" ? text : text + eol;
}
