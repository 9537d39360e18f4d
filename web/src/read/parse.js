// mldoc AST → a plain block model (structured-cloneable, so the parse worker can post it).
// Pure: runs in the parse worker and in Node tests. Logseq calls mldoc with the same config
// (LS deps/graph-parser/src/logseq/graph_parser/mldoc.cljc).
import mldoc from "mldoc";
import { bodyText, collectBlockRefs, collectInlineRefs, inlineText, propertyRefs, toProps, UUID_RE } from "./ast.js";

const { Mldoc } = mldoc;

const CONFIGS = {};
function mldocConfig(format) {
  CONFIGS[format] ??= JSON.stringify({
    toc: false,
    parse_outline_only: false,
    heading_number: false,
    keep_line_break: true,
    format,
    heading_to_list: false,
    export_md_remove_options: [],
  });
  return CONFIGS[format];
}

/** Raw mldoc AST: [[node, {start_pos, end_pos}], ...]. Throws what mldoc throws. */
export function parseAst(text, format) {
  return JSON.parse(Mldoc.parseJson(text, mldocConfig(format)));
}

function newBlock(heading, pos) {
  return {
    level: heading.level ?? 1,
    marker: heading.marker ?? null,
    priority: heading.priority ?? null,
    size: heading.size ?? null,
    title: heading.title ?? [],
    body: [],
    props: [],
    timestamps: [],
    uuid: null,
    collapsed: false,
    pos,
    text: "",
    refs: [],
    blockRefs: [],
  };
}

// A leading paragraph of SCHEDULED:/DEADLINE: timestamps becomes block data, as Logseq shows it.
function takeTimestamps(block, inline) {
  const rest = [];
  for (const node of inline) {
    if (node[0] === "Timestamp" && (node[1][0] === "Scheduled" || node[1][0] === "Deadline")) {
      block.timestamps.push({ kind: node[1][0], ...node[1][1] });
    } else rest.push(node);
  }
  const meaningful = rest.some((n) => !(n[0] === "Break_Line" || (n[0] === "Plain" && !n[1].trim())));
  return meaningful ? rest : null;
}

function finishBlock(block) {
  for (const prop of block.props) {
    if (prop.key === "id" && UUID_RE.test(prop.value.trim())) block.uuid = prop.value.trim().toLowerCase();
    if (prop.key === "collapsed") block.collapsed = prop.value.trim() === "true";
    block.refs.push(...propertyRefs(prop));
  }
  collectInlineRefs(block.title, block.refs, block.blockRefs);
  collectBlockRefs(block.body, block.refs, block.blockRefs);
  const title = inlineText(block.title).trim();
  const body = bodyText(block.body);
  block.text = body ? (title ? title + "\n" + body : body) : title;
}

// mldoc's time grows with a page's size (~4-10 ms per KiB): big pages are cut at top-level
// bullets (where Logseq's outline trees are independent) and parsed piece by piece.
const CHUNK_CHARS = 64 * 1024;

/** Cut `text` into pieces of about `maxChars`, only before a top-level bullet ("- " / "* "). */
export function splitTopLevel(text, format, maxChars = CHUNK_CHARS) {
  if (text.length <= maxChars) return [text];
  const bullet = format === "Org" ? /\n(?=\*+[ \t\n])/g : /\n(?=[-*+][ \t\n]|[-*+]$)/gm;
  const chunks = [];
  let start = 0;
  let lastCut = -1;
  for (const m of text.matchAll(bullet)) {
    const cut = m.index + 1;
    if (cut - start >= maxChars && lastCut > start) {
      chunks.push(text.slice(start, lastCut));
      start = lastCut;
    }
    lastCut = cut;
  }
  if (text.length - start > maxChars && lastCut > start) {
    chunks.push(text.slice(start, lastCut));
    start = lastCut;
  }
  chunks.push(text.slice(start));
  return chunks;
}

/**
 * Parse a page into {format, properties, title, pre, blocks}. Never throws: a page mldoc
 * cannot read comes back as {error}.
 * blocks are flat, in file order, each with its outline level; render.js nests them.
 * `maxChars` parses only the beginning (whole top-level blocks) of a very large page: the
 * result then has `partial: {shownChars, totalChars}`.
 */
export function parsePage(text, format, { maxChars = Number.POSITIVE_INFINITY, chunkChars = CHUNK_CHARS } = {}) {
  const chunks = splitTopLevel(text, format, chunkChars);
  let page = null;
  let consumed = 0;
  for (const chunk of chunks) {
    if (page && consumed >= maxChars) break;
    const part = parseChunk(chunk, format, page === null);
    if (part.error) return part;
    if (!page) page = part;
    else {
      for (const b of part.blocks) {
        b.pos = page.blocks.length;
        page.blocks.push(b);
      }
      page.pre.push(...part.pre);
    }
    consumed += chunk.length;
  }
  if (consumed < text.length) page.partial = { shownChars: consumed, totalChars: text.length };
  return page;
}

function parseChunk(text, format, first) {
  let ast;
  try {
    ast = parseAst(text, format);
  } catch (e) {
    const detail = String(e?.message ?? e).slice(0, 200);
    return { format, error: `Logseq's parser (mldoc) could not read this page (${detail}). The file is unchanged.` };
  }
  const page = { format, properties: [], title: null, pre: [], blocks: [] };
  let current = null;
  for (const [node] of ast) {
    const type = node[0];
    if (type === "Heading") {
      if (current) finishBlock(current);
      current = newBlock(node[1], page.blocks.length);
      page.blocks.push(current);
    } else if (!current) {
      if (type === "Property_Drawer" || type === "Properties") page.properties.push(...toProps(node[1]));
      else if (type === "Directive")
        page.properties.push({ key: String(node[1]).toLowerCase(), value: node[2], inline: [] });
      else if (!(type === "Paragraph" && !inlineText(node[1]).trim())) page.pre.push(node);
    } else if (type === "Property_Drawer" || type === "Properties") {
      current.props.push(...toProps(node[1]));
    } else if (type === "Paragraph" && current.body.length === 0) {
      const rest = takeTimestamps(current, node[1]);
      if (rest) current.body.push(["Paragraph", rest]);
    } else {
      current.body.push(node);
    }
  }
  if (current) finishBlock(current);
  // A first block holding only properties is the page's properties block (Logseq's pre-block).
  const firstBlock = page.blocks[0];
  if (
    first &&
    firstBlock &&
    page.properties.length === 0 &&
    firstBlock.props.length > 0 &&
    firstBlock.title.length === 0 &&
    firstBlock.body.length === 0
  ) {
    page.properties = firstBlock.props;
    page.blocks.shift();
    page.blocks.forEach((b, i) => {
      b.pos = i;
    });
  }
  page.refs = [];
  for (const prop of page.properties) page.refs.push(...propertyRefs(prop));
  page.title = page.properties.find((p) => p.key === "title")?.value.trim() || null;
  return page;
}
