// Cut a page's text into blocks exactly as Logseq 0.10.15 cuts them for its three-way merge
// (LS = logseq/logseq tag 0.10.15):
//
// * parse with mldoc 1.5.7 (the version LS pins) and LS's parse config
//   (LS deps/graph-parser/src/logseq/graph_parser/mldoc.cljc `default-config`, `->edn`:
//   blank text -> no AST; org `#+KEY:` directives are gathered into one leading
//   `Properties` node without position, `collect-page-properties`);
// * walk the AST backwards: a `Heading` starts a block that runs to the next heading's
//   start (or the end of the file); property nodes after a heading give it its `id::`
//   (LS src/main/frontend/fs/diff_merge.cljs `ast->diff-blocks-alt`);
// * body = the block's source without bullet and indentation
//   (LS graph_parser/block.cljs `get-block-content`, text.cljs `remove-level-spaces`,
//   mldoc.cljc `remove-indentation-spaces`, property.cljs `->new-properties`),
//   raw body = the exact source slice, right-trimmed (`:meta :raw-body`).
// * Text before the first heading is LS's "pre-block": LS's merge keeps it only when it
//   holds properties (page properties); `diffBlocks` does the same, `cutBlocks` always
//   reports it as `preBlock` so that splice.js can leave it alone.
//
// mldoc positions are UTF-8 byte offsets; every block here carries both its byte range
// and its UTF-16 (JavaScript string) range in the original text.

import mldocModule from "mldoc";

const Mldoc = mldocModule.Mldoc ?? mldocModule.default?.Mldoc;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** LS `default-config` (mldoc.cljc) for "markdown" | "org", as the JSON string mldoc takes. */
export function parseConfig(format) {
  return JSON.stringify({
    toc: false,
    parse_outline_only: false,
    heading_number: false,
    keep_line_break: true,
    format: format === "org" ? "Org" : "Markdown",
    heading_to_list: false,
    export_md_remove_options: [],
  });
}

/** "org" for `.org` paths, "markdown" otherwise (LS reads .md and .markdown as markdown). */
export function formatOfPath(path) {
  return /\.org$/i.test(path) ? "org" : "markdown";
}

/**
 * mldoc's AST as LS's `->edn` produces it: [] for blank text; org directives folded into a
 * leading `[["Properties", [[k, v, []], ...]], null]`. Unlike LS (which logs and returns []),
 * a parser failure throws: a page we cannot cut must never be spliced or merged.
 * @param {string} text
 * @param {"markdown"|"org"} format
 * @returns {Array<[any[], {start_pos:number,end_pos:number}|null]>}
 */
export function parseAst(text, format = "markdown") {
  if (isBlank(text)) return [];
  const ast = JSON.parse(Mldoc.parseJson(text, parseConfig(format)));
  const directives = [];
  const others = [];
  for (const node of ast) {
    if (String(node[0]?.[0]).toLowerCase() === "directive") directives.push(node[0]);
    else others.push(node);
  }
  if (directives.length === 0) return ast;
  return [[["Properties", directives.map(([, k, v]) => [k, v, []])], null], ...others];
}

/** cljs `string/blank?` */
function isBlank(s) {
  return /^\s*$/.test(s);
}

/** cljs `string/split-lines`: split on \n or \r\n, drop trailing empty strings. */
function splitLines(s) {
  const lines = s.split(/\r?\n/);
  while (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** LS text.cljs `remove-level-spaces` with space? false, trim-left? true. */
function removeLevelSpaces(text, format, pattern) {
  if (isBlank(text)) return "";
  if (format === "markdown" && text.startsWith("---")) return text;
  const re = new RegExp(`^[${pattern === "*" ? "*" : "-"}]+\\s?`);
  return text.replace(/^\s+/, "").replace(re, "");
}

/** LS mldoc.cljc `remove-indentation-spaces` (remove-first-line? false). */
function removeIndentationSpaces(s, level) {
  const [first, ...rest] = splitLines(s);
  const body = rest.map((line) => (isBlank(line.slice(0, level)) ? line.slice(level) : line.replace(/^\s+/, "")));
  return [first, ...body].join("\n");
}

/** LS property.cljs `->new-properties`: an org-style drawer inside a markdown block -> `k:: v`. */
function toNewProperties(content) {
  if (!content.includes(":PROPERTIES:") || !/:END:[\t\r ]*\n|(:END:\s*$)/.test(content)) return content;
  const lines = splitLines(content);
  const start = lines.indexOf(":PROPERTIES:");
  const end = lines.indexOf(":END:");
  if (!(start >= 0 && end > 0 && end > start)) return content;
  const middle = lines.slice(start + 1, end).map((text) => {
    const rest = text.slice(1);
    const i = rest.indexOf(":");
    if (i < 0) return text;
    let k = rest.slice(0, i).replaceAll("_", "-");
    const v = rest.slice(i + 1);
    const lower = k.toLowerCase();
    if (["id", "custom_id", "custom-id"].includes(lower)) k = "id";
    if (lower === "last-modified-at") k = "updated-at";
    return `${k}:: ${v.trim()}`;
  });
  return [...lines.slice(0, start), ...middle, ...lines.slice(end + 1)].join("\n");
}

/** LS block.cljs `get-block-content` on a UTF-8 slice. `heading` null for the pre-block. */
function blockContent(slice, heading, format, pattern) {
  let content = removeLevelSpaces(slice, format, pattern);
  if (format !== "org") {
    // LS passes (inc (:level block)); for the pre-block the "block" is nil, and in
    // ClojureScript (inc nil) is 1.
    content = removeIndentationSpaces(content, (heading?.level ?? 0) + 1);
  }
  return format === "org" ? content : toNewProperties(content);
}

/** The `id` of a property node the way LS's `extract-properties` keys it (lower-case, _ -> -). */
function idOfProperties(node, into) {
  for (const [k, v] of node[1] ?? []) {
    into.count = (into.count ?? 0) + 1;
    const key = String(k).toLowerCase().replaceAll(" ", "-").replaceAll("_", "-");
    if (key === "id" || key === "custom-id") into.id = typeof v === "string" ? v.trim() : v;
  }
}

const isHeading = (node) => Array.isArray(node) && node[0] === "Heading";
const isProperties = (node) => Array.isArray(node) && (node[0] === "Property_Drawer" || node[0] === "Properties");

/**
 * Cut `text` into Logseq blocks.
 * @param {string} text the page's full text
 * @param {{format?: "markdown"|"org", ast?: Array}} [options] `ast`: mldoc's AST of exactly this
 *   text with LS's config (`parseAst`), e.g. from the parse worker, to skip a second parse
 * @returns {{format: string, bytes: Uint8Array, preBlock: Segment, blocks: Block[]}}
 *
 * Segment: {start, end} UTF-8 byte range, {charStart, charEnd} string range, `src` the exact
 *   slice (trailing blank lines and the final newline included).
 * Block (a Segment plus): `index`, `level` (mldoc's), `uuid` (from `id::`, or null),
 *   `body` (LS's diff body), `raw` (LS's `:raw-body`: `src` right-trimmed), `marker`
 *   ("TODO", "DONE"... or null), `bullet` (true for `- ` / org `*` outline blocks, false for
 *   a markdown `# heading` line that is not a list item), `properties` ({id?}).
 * Blocks tile the text: preBlock.end === blocks[0].start, each block ends where the next starts,
 * the last ends at bytes.length.
 */
export function cutBlocks(text, { format = "markdown", ast: given } = {}) {
  const bytes = encoder.encode(text);
  const ast = given ?? parseAst(text, format);
  const pattern = format === "org" ? "*" : "-";
  const headings = [];
  let properties = {};
  let end = bytes.length;
  for (let i = ast.length - 1; i >= 0; i--) {
    const [node, pos] = ast[i];
    if (isHeading(node)) {
      headings.push({ node, start: pos.start_pos, end, id: properties.id ?? null });
      properties = {};
      end = pos.start_pos;
    } else if (isProperties(node)) {
      idOfProperties(node, properties);
    }
  }
  headings.reverse();
  const firstStart = headings.length ? headings[0].start : bytes.length;
  const charAt = charOffsets(bytes, [0, ...headings.map((h) => h.start), bytes.length]);
  const slice = (a, b) => decoder.decode(bytes.subarray(a, b));
  const preSrc = slice(0, firstStart);
  const preBlock = {
    start: 0,
    end: firstStart,
    charStart: 0,
    charEnd: charAt.get(firstStart),
    src: preSrc,
    uuid: properties.id ?? null,
    hasProperties: (properties.count ?? 0) > 0,
  };
  const blocks = headings.map((h, index) => {
    const src = slice(h.start, h.end);
    return {
      index,
      level: h.node[1].level,
      uuid: h.id,
      body: blockContent(src, h.node[1], format, pattern),
      raw: src.replace(/\s+$/, ""),
      src,
      start: h.start,
      end: h.end,
      charStart: charAt.get(h.start),
      charEnd: charAt.get(h.end),
      marker: h.node[1].marker ?? null,
      bullet: format === "org" || h.node[1].unordered === true,
    };
  });
  preBlock.body = preBlock.hasProperties ? blockContent(preSrc, null, format, pattern) : null;
  preBlock.raw = preSrc.replace(/\s+$/, "");
  return { format, bytes, preBlock, blocks };
}

/** Map UTF-8 byte offsets (sorted) to UTF-16 offsets in one pass. */
function charOffsets(bytes, offsets) {
  const map = new Map();
  let chars = 0;
  let b = 0;
  for (const target of offsets) {
    while (b < target) {
      const x = bytes[b];
      const len = x < 0x80 ? 1 : x < 0xe0 ? 2 : x < 0xf0 ? 3 : 4;
      chars += len === 4 ? 2 : 1;
      b += len;
    }
    map.set(target, chars);
  }
  return map;
}

/**
 * The blocks LS's `three-way-merge` hands to `@logseq/diff-merge`: `{body, meta:{raw-body},
 * level, uuid}` (`ast->diff-blocks-alt`), the pre-block first when it holds properties.
 * @param {string} text
 * @param {"markdown"|"org"} [format]
 */
export function diffBlocks(text, format = "markdown") {
  const { preBlock, blocks } = cutBlocks(text, { format });
  const out = blocks.map((b) => ({ body: b.body, meta: { "raw-body": b.raw }, level: b.level, uuid: b.uuid }));
  if (preBlock.hasProperties) {
    out.unshift({ body: preBlock.body, meta: { "raw-body": preBlock.raw }, level: 1, uuid: preBlock.uuid });
  }
  return out;
}
