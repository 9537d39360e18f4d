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

/**
 * Parse a page into {format, properties, title, pre, blocks}. Never throws: a page mldoc
 * cannot read comes back as {error}.
 * blocks are flat, in file order, each with its outline level; render.js nests them.
 */
export function parsePage(text, format) {
  let ast;
  try {
    ast = parseAst(text, format);
  } catch (e) {
    return { format, error: "mldoc could not parse this page: " + (e?.message ?? String(e)) };
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
  const first = page.blocks[0];
  if (
    first &&
    page.properties.length === 0 &&
    first.props.length > 0 &&
    first.title.length === 0 &&
    first.body.length === 0
  ) {
    page.properties = first.props;
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
