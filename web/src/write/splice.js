// Apply block edits to a page by replacing only the affected blocks' characters in the original
// text. Everything else — the file's own indentation (tabs or spaces), `id::`/`collapsed::`
// lines, blank lines, CRLF or LF, the final newline or its absence, the text before the first
// block — stays as it was, because the desktop keeps block identity only through what is in
// the file (WEB.md "Writing pages without breaking the desktop"). A page is never
// re-serialised.
//
// Blocks are cut by blocks.js (mldoc, as Logseq cuts them); a block's segment runs from its
// first line to the next block's first line, so its trailing blank lines travel with it.
// Edits name blocks by their `index` in `cutBlocks(text).blocks`; apply one edit, re-cut,
// apply the next (`applyEdits`).
//
// Layout written for new or changed lines is the one Logseq writes (LS 0.10.15
// src/main/frontend/modules/file/core.cljs `transform-content`): markdown
// `<indent>- first line`, continuation lines `<indent>  line` (every line, empty ones too);
// org `** first line`, body lines as typed. `<indent>` is one unit per level below 1: the
// unit found in the page itself (first indented bullet), else the graph's
// `:export/bullet-indentation` (LS default :tab).
//
// Not done here (documented for the UI): org indent/outdent/move keep working on the stars
// only for headings written `* `; LS's time tracking (a :LOGBOOK: clock when NOW/DOING goes to
// DONE) is not written; a block's `collapsed:: true` is kept as is even when its last child is
// deleted (LS drops it then).

import { cutBlocks } from "./blocks.js";

const MARKERS = ["TODO", "DOING", "NOW", "LATER", "DONE", "WAIT", "WAITING", "CANCELED", "CANCELLED", "IN-PROGRESS"];
const MARKER_RE = new RegExp(`^(${MARKERS.join("|")})(?= |$)`);

/** `:export/bullet-indentation` value (keyword name, with or without ':') -> one indent unit. */
export function indentUnitOf(setting) {
  const name = String(setting ?? "tab").replace(/^:/, "");
  return { "two-spaces": "  ", "four-spaces": "    ", "eight-spaces": "        " }[name] ?? "\t";
}

/**
 * Open a page for editing.
 * @param {string} text
 * @param {{format?: "markdown"|"org", bulletIndentation?: string, ast?: Array}} [options]
 *   `ast`: `parseAst(text, format)` computed elsewhere (the parse worker), to skip a parse
 */
export function openPage(text, { format = "markdown", bulletIndentation, ast } = {}) {
  const cut = cutBlocks(text, { format, ast });
  const eolMatch = text.match(/\r?\n/);
  return {
    text,
    format,
    blocks: cut.blocks,
    preBlock: cut.preBlock,
    eol: eolMatch ? eolMatch[0] : "\n",
    finalNewline: /\n$/.test(text),
    unit: detectUnit(cut.blocks, text) ?? indentUnitOf(bulletIndentation),
  };
}

function detectUnit(blocks, text) {
  // The first indented bullet is a child of an unindented block: its indentation is one unit.
  for (const b of blocks) {
    if (!b.bullet) continue;
    const indent = text.slice(b.charStart).match(/^[ \t]*/)[0];
    if (indent) return indent;
  }
  return null;
}

/**
 * A block's depth in indentation units (0 = top level). mldoc's `level` is not that for
 * space-indented pages (two spaces give level 3), so depth is read from the line itself.
 * Exported for the editor (web/src/shell/edit.worker.js), which indents blocks by it.
 */
export function depthOf(page, index) {
  const first = page.text.slice(page.blocks[index].charStart).match(/^[^\r\n]*/)[0];
  if (page.format === "org") return (first.match(/^\*+/)?.[0].length ?? 1) - 1;
  const indent = first.match(/^[ \t]*/)[0];
  if (page.unit === "\t") return indent.replace(/ {1,2}/g, "\t").length;
  return indent.replace(/\t/g, page.unit).length / page.unit.length;
}

/** Split a block segment into its lines (each with its own line ending) and trailing blank tail. */
function linesOf(src) {
  const body = src.replace(/\s+$/, "");
  const tail = src.slice(body.length);
  const parts = body.split(/(\r?\n)/);
  const lines = [];
  for (let i = 0; i < parts.length; i += 2) lines.push({ text: parts[i], eol: parts[i + 1] ?? "" });
  return { lines, tail };
}

/** The first line's prefix (indentation + bullet + space) for md, stars + space for org. */
function firstPrefix(line, format) {
  const m = format === "org" ? line.match(/^\*+(?: |$)/) : line.match(/^[ \t]*[-*+](?: |$)/);
  return m ? m[0] : (line.match(/^[ \t]*/)?.[0] ?? "");
}

/** Prefix of continuation lines: the first line's indentation plus spaces under the bullet. */
function contPrefix(first, format) {
  if (format === "org") return "";
  const indent = first.match(/^[ \t]*/)[0];
  const bullet = firstPrefix(first, format).slice(indent.length);
  return indent + " ".repeat(bullet.length === 1 ? 2 : bullet.length);
}

function stripPrefix(line, prefix) {
  if (line.startsWith(prefix)) return line.slice(prefix.length);
  let i = 0;
  while (i < prefix.length && i < line.length && (line[i] === " " || line[i] === "\t")) i++;
  return line.slice(i);
}

const HIDDEN_MD = /^(id|collapsed)::/i;

/** Which of a block's lines the desktop hides from the editor and we keep byte for byte. */
function hiddenFlags(lines, format, prefix) {
  if (format === "org") {
    const flags = lines.map(() => false);
    const start = lines.findIndex((l, i) => i > 0 && l.text.trim().toUpperCase() === ":PROPERTIES:");
    if (start > 0) {
      const end = lines.findIndex((l, i) => i > start && l.text.trim().toUpperCase() === ":END:");
      if (end > start) for (let i = start; i <= end; i++) flags[i] = true;
    }
    return flags;
  }
  return lines.map((l, i) => i > 0 && HIDDEN_MD.test(stripPrefix(l.text, prefix).trimStart()));
}

/**
 * The text a person edits for a block: its lines without bullet and indentation, without the
 * lines the desktop hides (`id::`, `collapsed::`; org: the property drawer), joined with "\n".
 * On write-back the hidden lines keep their place (after as many visible lines as before).
 * @param {ReturnType<typeof openPage>} page
 * @param {number} index
 */
export function editableText(page, index) {
  const block = page.blocks[index];
  const { lines } = linesOf(block.src);
  const first = lines[0].text;
  const cont = contPrefix(first, page.format);
  const hidden = hiddenFlags(lines, page.format, cont);
  return lines
    .map((l, i) => (i === 0 ? first.slice(firstPrefix(first, page.format).length) : stripPrefix(l.text, cont)))
    .filter((_, i) => !hidden[i])
    .join("\n");
}

/** Where a block's subtree ends (index of the first later block at its level or above). */
function subtreeEnd(page, index) {
  const level = page.blocks[index].level;
  let j = index + 1;
  while (j < page.blocks.length && page.blocks[j].level > level) j++;
  return j;
}

const charEndOf = (page, j) => (j < page.blocks.length ? page.blocks[j].charStart : page.text.length);

/** Rebuild one block's lines with new editable text; unchanged lines keep their bytes. */
function rewriteBlock(page, index, newText) {
  const block = page.blocks[index];
  const { lines, tail } = linesOf(block.src);
  const eol = lines.find((l) => l.eol)?.eol ?? tail.match(/\r?\n/)?.[0] ?? page.eol;
  const first = lines[0].text;
  const prefix = firstPrefix(first, page.format);
  const cont = contPrefix(first, page.format);
  const hidden = hiddenFlags(lines, page.format, cont);
  const oldVisible = [];
  lines.forEach((l, i) => {
    if (!hidden[i])
      oldVisible.push({ raw: l.text, text: i === 0 ? first.slice(prefix.length) : stripPrefix(l.text, cont) });
  });
  const wanted = newText.split(/\r?\n/);
  // A markdown `# heading` line without bullet stays one only while it starts with '#';
  // otherwise it is written as the desktop writes blocks, with a bullet.
  const bare = page.format === "markdown" && !block.bullet;
  const out = wanted.map((t, i) => {
    if (oldVisible[i] && oldVisible[i].text === t) return oldVisible[i].raw;
    if (i === 0 && bare && !/^#+[ \t]/.test(t)) return `${first.match(/^[ \t]*/)[0]}- ${t}`;
    return i === 0 ? prefix + t : cont + t;
  });
  // Hidden lines stay after the same number of visible lines as before (for LS-written
  // blocks: right after the first line, where mldoc reads block properties).
  const after = new Map();
  let visible = 0;
  lines.forEach((l, i) => {
    if (!hidden[i]) visible++;
    else {
      const k = Math.max(1, Math.min(visible, out.length));
      after.set(k, [...(after.get(k) ?? []), l.text]);
    }
  });
  const all = out.flatMap((line, i) => [line, ...(after.get(i + 1) ?? [])]);
  return all.join(eol) + tail;
}

/** Indent (delta > 0) or outdent (delta < 0) every line of a text chunk by |delta| units. */
function reindent(chunk, delta, page) {
  if (delta === 0) return chunk;
  const parts = chunk.split(/(\r?\n)/);
  for (let i = 0; i < parts.length; i += 2) {
    let line = parts[i];
    if (line === "") continue;
    if (page.format === "org") {
      if (/^\*+ /.test(line) || /^\*+$/.test(line)) {
        line = delta > 0 ? "*".repeat(delta) + line : line.slice(Math.min(-delta, line.match(/^\*+/)[0].length - 1));
      }
    } else {
      for (let k = 0; k < Math.abs(delta); k++) line = delta > 0 ? page.unit + line : outdentLine(line, page.unit);
    }
    parts[i] = line;
  }
  return parts.join("");
}

function outdentLine(line, unit) {
  if (line.startsWith(unit)) return line.slice(unit.length);
  if (line.startsWith("\t")) return line.slice(1);
  let i = 0;
  while (i < unit.length && line[i] === " ") i++;
  return line.slice(i);
}

function ensureEol(s, eol) {
  return s === "" || /\n$/.test(s) ? s : s + eol;
}

/** Keep the original's final newline (or its absence) after an edit that touched the end. */
function keepFinalNewline(page, text) {
  if (page.finalNewline && text !== "" && !/\n$/.test(text)) return text + page.eol;
  if (!page.finalNewline && /\r?\n$/.test(text) && page.text !== "") return text.replace(/\r?\n$/, "");
  return text;
}

/** A new block's text at `depth` (0 = top level), laid out as Logseq writes it. */
function newBlockText(page, depth, content) {
  const lines = String(content).split(/\r?\n/);
  if (page.format === "org") return `${"*".repeat(depth + 1)} ${lines.join(page.eol)}${page.eol}`;
  const indent = page.unit.repeat(depth);
  return `${indent}- ${lines[0]}${lines
    .slice(1)
    .map((l) => `${page.eol}${indent}  ${l}`)
    .join("")}${page.eol}`;
}

function previousSibling(page, index) {
  const level = page.blocks[index].level;
  for (let j = index - 1; j >= 0; j--) {
    if (page.blocks[j].level === level) return j;
    if (page.blocks[j].level < level) return -1;
  }
  return -1;
}

/** Replace chars [start, end) of the page text; returns the edit result. */
function replaceRange(page, start, end, replacement) {
  const before = page.text.slice(0, start);
  const after = page.text.slice(end);
  let ins = replacement;
  // A block inserted after a last line without newline needs one before it.
  if (ins !== "" && before !== "" && !/\n$/.test(before)) ins = page.eol + ins;
  const text = keepFinalNewline(page, before + ins + after);
  return { text, ...changedRange(page.text, text, start, end) };
}

/**
 * The final-newline rule may take the line ending before `start` (deleting the last block of a
 * file that ends without one): widen the reported range to what really changed.
 */
function changedRange(old, text, start, end) {
  let s = start;
  while (s > 0 && text.slice(0, s) !== old.slice(0, s)) s--;
  return { start: s, end };
}

/**
 * Apply one edit. Block indices refer to `openPage(page.text).blocks`.
 * Edits:
 *   {type:"edit", index, text}          new editable text (see editableText)
 *   {type:"toggle", index, workflow?}   not DONE -> DONE; DONE -> TODO (LATER when workflow "now")
 *   {type:"marker", index, marker}      set a marker ("" removes it)
 *   {type:"add", index, position:"after"|"child"|"before", text}  index -1: end of page
 *   {type:"delete", index}              the block and its children
 *   {type:"indent", index} / {type:"outdent", index}   with the block's children; outdent is
 *                                       LS's default (direct): later siblings become children
 *   {type:"move", index, target, position:"before"|"after"|"child"}   with children
 *   {type:"moveUp", index} / {type:"moveDown", index}   among siblings
 * @returns {{text: string, start: number, end: number}} the new text and the original char
 *   range [start, end) that was replaced (everything outside it is unchanged, except the final
 *   newline rule when the range reaches the end).
 * @throws Error with a message fit for a person when the edit is not possible.
 */
export function applyEdit(page, edit) {
  const n = page.blocks.length;
  const check = (i) => {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`No block ${i} on this page`);
    return page.blocks[i];
  };
  switch (edit.type) {
    case "edit": {
      const b = check(edit.index);
      return replaceRange(page, b.charStart, b.charEnd, rewriteBlock(page, edit.index, edit.text));
    }
    case "toggle": {
      const b = check(edit.index);
      const undone = edit.workflow === "now" || edit.workflow === ":now" ? "LATER" : "TODO";
      return applyEdit(page, { type: "marker", index: edit.index, marker: b.marker === "DONE" ? undone : "DONE" });
    }
    case "marker": {
      const b = check(edit.index);
      const first = b.src.match(/^[^\r\n]*/)[0];
      // A markdown `## heading` line that is not a list item takes its marker after the hashes.
      const heading = page.format === "markdown" && !b.bullet ? first.match(/^[ \t]*#+[ \t]+/) : null;
      const prefix = heading ? heading[0] : firstPrefix(first, page.format);
      const rest = first.slice(prefix.length);
      const m = rest.match(MARKER_RE);
      const stripped = m ? rest.slice(m[0].length).replace(/^ /, "") : rest;
      const line = prefix + (edit.marker ? `${edit.marker} ${stripped}` : stripped);
      return replaceRange(page, b.charStart, b.charStart + first.length, line);
    }
    case "add": {
      const pos = edit.position ?? "after";
      if (edit.index === -1 || n === 0) {
        return replaceRange(page, page.text.length, page.text.length, newBlockText(page, 0, edit.text));
      }
      const b = check(edit.index);
      const depth = depthOf(page, edit.index);
      if (pos === "before") return replaceRange(page, b.charStart, b.charStart, newBlockText(page, depth, edit.text));
      if (pos === "child") return replaceRange(page, b.charEnd, b.charEnd, newBlockText(page, depth + 1, edit.text));
      const at = charEndOf(page, subtreeEnd(page, edit.index));
      return replaceRange(page, at, at, newBlockText(page, depth, edit.text));
    }
    case "delete": {
      const b = check(edit.index);
      return replaceRange(page, b.charStart, charEndOf(page, subtreeEnd(page, edit.index)), "");
    }
    case "indent":
    case "outdent": {
      const b = check(edit.index);
      if (page.format === "markdown" && !b.bullet) throw new Error("A # heading line cannot be indented");
      if (edit.type === "indent" && previousSibling(page, edit.index) < 0) {
        throw new Error("The first block at its level cannot be indented");
      }
      if (edit.type === "outdent" && depthOf(page, edit.index) === 0)
        throw new Error("A top-level block cannot be outdented");
      const end = charEndOf(page, subtreeEnd(page, edit.index));
      const chunk = page.text.slice(b.charStart, end);
      return replaceRange(page, b.charStart, end, reindent(chunk, edit.type === "indent" ? 1 : -1, page));
    }
    case "moveUp": {
      const prev = previousSibling(page, edit.index);
      if (prev < 0) throw new Error("Already the first block at its level");
      return applyEdit(page, { type: "move", index: edit.index, target: prev, position: "before" });
    }
    case "moveDown": {
      check(edit.index);
      const next = subtreeEnd(page, edit.index);
      if (next >= n || page.blocks[next].level !== page.blocks[edit.index].level) {
        throw new Error("Already the last block at its level");
      }
      return applyEdit(page, { type: "move", index: edit.index, target: next, position: "after" });
    }
    case "move":
      return move(page, edit);
    default:
      throw new Error(`Unknown edit ${edit.type}`);
  }
}

function move(page, { index, target, position }) {
  const b = page.blocks[index];
  const t = page.blocks[target];
  if (!b || !t) throw new Error("No such block");
  const endIdx = subtreeEnd(page, index);
  if (target >= index && target < endIdx) throw new Error("A block cannot move into itself");
  let at;
  let depth = depthOf(page, target);
  if (position === "before") {
    at = t.charStart;
  } else if (position === "child") {
    at = t.charEnd;
    depth += 1;
  } else {
    at = charEndOf(page, subtreeEnd(page, target));
  }
  const start = b.charStart;
  const end = charEndOf(page, endIdx);
  const chunk = ensureEol(reindent(page.text.slice(start, end), depth - depthOf(page, index), page), page.eol);
  const text = page.text;
  let out;
  let range;
  if (at <= start) {
    const mid = ensureEol(text.slice(at, start), page.eol);
    out = text.slice(0, at) + chunk + mid + text.slice(end);
    range = [at, end];
  } else {
    const before = ensureEol(text.slice(0, start) + text.slice(end, at), page.eol);
    out = before + chunk + text.slice(at);
    range = [start, at];
  }
  const result = keepFinalNewline(page, out);
  return { text: result, ...changedRange(text, result, range[0], range[1]) };
}

/**
 * Apply several edits in order; each edit's indices refer to the page as left by the edits
 * before it.
 * @param {string} text
 * @param {object[]} edits
 * @param {{format?: string, bulletIndentation?: string}} [options]
 */
export function applyEdits(text, edits, options = {}) {
  let current = text;
  for (const edit of edits) current = applyEdit(openPage(current, options), edit).text;
  return current;
}
