// A stand-in for mldoc's whole-page AST, for pages mldoc cannot parse in one piece: in a
// browser worker, mldoc (js_of_ocaml) overflows the stack on a block of 10,000 lines (seen in
// Chromium: "Stack overflow"; Node's larger stack parses it). cutBlocks (blocks.js) only needs
// each block's Heading node and the property nodes after it, at their UTF-8 byte positions;
// here each block's first line and property lines are parsed alone and placed at their offset.
// The editor (web/src/shell/edit.worker.js) uses it only when the whole-page parse throws.

import { parseAst } from "./blocks.js";

const encoder = new TextEncoder();
const FENCE = /^[ \t]*(```|~~~)/;
const PROPERTY_LINE = /^[ \t]*[\w.-]+:: /;

/**
 * The AST `cutBlocks` needs (each block's Heading node and the property nodes after it, at
 * their byte positions) built by parsing each block's first line and property lines alone:
 * used only when mldoc cannot parse the whole page. A block starts at a bullet line
 * (markdown, outside code fences; org: a `*` heading line) or a markdown `#` heading line at
 * the left margin. Returns null when the page has no block or a piece cannot be parsed.
 */
/** Heading title characters kept when a first line is too long for mldoc (see parseHead). */
const TITLE_KEPT = 256;

/**
 * One block's first line and property lines parsed alone, positions relative to the line. A
 * first line mldoc cannot parse alone either (in a browser worker it overflows the stack on a
 * line of some 40,000 characters) is parsed cut to its first TITLE_KEPT characters; positions
 * past the cut move by the bytes cut out, so the heading still ends where the line ends and the
 * property lines keep their places. Only the heading's title is shortened, never the text.
 */
function parseHead(lines, line, end, format) {
  const head = lines.slice(line, end).join("");
  try {
    return parseAst(head, format);
  } catch (e) {
    const first = lines[line];
    const body = first.replace(/\r?\n$/, "");
    if (body.length <= TITLE_KEPT) throw e;
    let cut = TITLE_KEPT;
    if (/[\uD800-\uDBFF]/.test(body[cut - 1])) cut--; // not inside a surrogate pair
    const cutAt = encoder.encode(body.slice(0, cut)).length;
    const shift = encoder.encode(body).length - cutAt;
    const short = body.slice(0, cut) + first.slice(body.length) + lines.slice(line + 1, end).join("");
    const move = (x) => (x > cutAt ? x + shift : x);
    return parseAst(short, format).map(([node, pos]) => [
      node,
      pos ? { start_pos: move(pos.start_pos), end_pos: move(pos.end_pos) } : pos,
    ]);
  }
}

export function headsAst(text, format) {
  const lines = text.split(/(?<=\n)/);
  const starts = [];
  let fenced = false;
  let offset = 0;
  let byteOffset = 0;
  lines.forEach((line, i) => {
    if (format !== "org" && FENCE.test(line)) fenced = !fenced;
    else if (!fenced) {
      const start =
        format === "org" ? /^\*+[ \t]/.test(line) : /^[ \t]*[-*+][ \t\r\n]/.test(line) || /^#+[ \t]/.test(line);
      if (start) starts.push({ line: i, char: offset, byte: byteOffset });
    }
    offset += line.length;
    byteOffset += encoder.encode(line).length;
  });
  if (!starts.length) return null;
  const ast = [];
  try {
    const pre = text.slice(0, starts[0].char);
    if (pre.trim()) for (const node of parseAst(pre, format)) ast.push(node);
    for (const { line, byte: at } of starts) {
      let end = line + 1;
      if (format === "org") {
        if (/^[ \t]*:PROPERTIES:/i.test(lines[end] ?? "")) {
          while (end < lines.length && !/^[ \t]*:END:/i.test(lines[end])) end++;
          end++;
        }
      } else while (end < lines.length && PROPERTY_LINE.test(lines[end])) end++;
      for (const [node, pos] of parseHead(lines, line, end, format)) {
        ast.push([node, pos ? { start_pos: pos.start_pos + at, end_pos: pos.end_pos + at } : pos]);
      }
    }
  } catch {
    return null;
  }
  return ast;
}
