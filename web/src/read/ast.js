// Pure helpers over mldoc's AST (no mldoc import: the main bundle uses these without the parser).

// Properties Logseq keeps out of sight (LS graph_parser/property.cljs hidden-built-in-properties).
export const HIDDEN_PROPERTIES = new Set(
  (
    "id custom-id background-color background_color heading collapsed created-at updated-at " +
    "last-modified-at created_at last_modified_at query-table query-properties query-sort-by " +
    "query-sort-desc ls-type hl-type hl-page hl-stamp hl-color logseq.macro-name " +
    "logseq.macro-arguments logseq.order-list-type logseq.tldraw.page logseq.tldraw.shape " +
    "todo doing now later done"
  ).split(" "),
);

// Properties whose comma-separated values are page references even without [[ ]].
const LIST_REF_PROPERTIES = new Set(["tags", "alias"]);

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function toProps(entries) {
  return entries.map(([key, value, inline]) => ({
    key: String(key).toLowerCase(),
    value: String(value ?? ""),
    inline: Array.isArray(inline) ? inline : [],
  }));
}

/** Page names a property value refers to (tags::/alias:: are comma-separated page names, else its links). */
export function propertyRefs(prop) {
  if (LIST_REF_PROPERTIES.has(prop.key)) {
    const names = [];
    for (const part of prop.value.split(",")) {
      const name = part
        .trim()
        .replace(/^#/, "")
        .replace(/^\[\[(.*)\]\]$/, "$1")
        .trim();
      if (name) names.push(name);
    }
    return names;
  }
  const names = [];
  collectInlineRefs(prop.inline, names, []);
  return names;
}

function pageRefOfLink(link) {
  const [kind, target] = link.url ?? [];
  return kind === "Page_ref" ? target : null;
}

/** Name of a #tag node: ["Tag", [["Plain","x"]]] or ["Tag", [["Link", {Page_ref}]]]. */
export function tagName(children) {
  let name = "";
  for (const child of children ?? []) {
    if (child[0] === "Plain") name += child[1];
    else if (child[0] === "Link") name += pageRefOfLink(child[1]) ?? child[1].full_text ?? "";
    else name += inlineText([child]);
  }
  return name;
}

export function collectInlineRefs(nodes, pages, blocks) {
  for (const node of nodes ?? []) {
    const [type, arg] = node;
    if (type === "Link") {
      const [kind, target] = arg.url ?? [];
      if (kind === "Page_ref") pages.push(target);
      else if (kind === "Block_ref") blocks.push(target);
      collectInlineRefs(arg.label, pages, blocks);
    } else if (type === "Tag") {
      pages.push(tagName(arg));
    } else if (type === "Emphasis") {
      collectInlineRefs(arg[1], pages, blocks);
    } else if (type === "Macro" && arg.name === "embed") {
      const target = String(arg.arguments?.[0] ?? "").trim();
      const page = /^\[\[(.+)\]\]$/.exec(target);
      const block = /^\(\((.+)\)\)$/.exec(target);
      if (page) pages.push(page[1]);
      else if (block) blocks.push(block[1]);
    }
  }
}

export function collectBlockRefs(nodes, pages, blocks) {
  for (const node of nodes ?? []) {
    const [type, arg] = node;
    if (type === "Paragraph") collectInlineRefs(arg, pages, blocks);
    else if (type === "Quote" || type === "Custom") collectBlockRefs(type === "Quote" ? arg : node[3], pages, blocks);
    else if (type === "List") for (const item of arg) collectBlockRefs(item.content, pages, blocks);
    else if (type === "Table") {
      for (const cell of arg.header ?? []) collectInlineRefs(cell, pages, blocks);
      for (const group of arg.groups ?? [])
        for (const row of group) for (const cell of row) collectInlineRefs(cell, pages, blocks);
    }
  }
}

/** Plain text of inline nodes, as a person reads it (for search, snippets and block refs). */
export function inlineText(nodes) {
  let out = "";
  for (const node of nodes ?? []) {
    const [type, arg] = node;
    switch (type) {
      case "Plain":
      case "Code":
      case "Verbatim":
      case "Inline_Html":
      case "Inline_Hiccup":
      case "Entity":
        out += typeof arg === "string" ? arg : (arg?.unicode ?? "");
        break;
      case "Break_Line":
      case "Hard_Break_Line":
        out += "\n";
        break;
      case "Emphasis":
        out += inlineText(arg[1]);
        break;
      case "Tag":
        out += "#" + tagName(arg);
        break;
      case "Link": {
        const label = inlineText(arg.label);
        const [kind, target] = arg.url ?? [];
        if (label) out += label;
        else if (kind === "Page_ref") out += target;
        else if (kind === "Block_ref") out += "((" + target + "))";
        else out += arg.full_text ?? "";
        break;
      }
      case "Macro":
        out += "{{" + arg.name + (arg.arguments?.length ? " " + arg.arguments.join(", ") : "") + "}}";
        break;
      case "Latex_Fragment":
        out += arg[1] ?? "";
        break;
      case "Subscript":
      case "Superscript":
        out += inlineText(arg);
        break;
      default:
        break;
    }
  }
  return out;
}

/** Plain text of block-level nodes. */
export function bodyText(nodes) {
  const parts = [];
  for (const node of nodes ?? []) {
    const [type, arg] = node;
    if (type === "Paragraph") parts.push(inlineText(arg));
    else if (type === "Src") parts.push((arg.lines ?? []).join(""));
    else if (type === "Quote") parts.push(bodyText(arg));
    else if (type === "Custom") parts.push(bodyText(node[3]));
    else if (type === "List") for (const item of arg) parts.push(bodyText(item.content));
    else if (type === "Table") {
      const rows = [arg.header ?? [], ...(arg.groups ?? []).flat()];
      for (const row of rows) parts.push(row.map((cell) => inlineText(cell)).join(" "));
    } else if (type === "Example") parts.push((arg ?? []).join(""));
    else if (type === "Raw_Html" || type === "Hiccup" || type === "Displayed_Math" || type === "Latex_Environment")
      parts.push(typeof arg === "string" ? arg : node.slice(1).join(" "));
  }
  return parts
    .join("\n")
    .replace(/\n{2,}/g, "\n")
    .trim();
}
