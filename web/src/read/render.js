// Block model (parse.js) → DOM outline. Elements and text nodes only: page text is untrusted,
// so nothing here ever parses HTML (no innerHTML), sets an inline style or an event-handler
// attribute, and the only hrefs are "#/…" routes, blob: URLs and http(s) links.
// Styles: web/public/app/read.css (classes prefixed "ls-").
import { HIDDEN_PROPERTIES, inlineText, propertyRefs, tagName } from "./ast.js";

/** How many blocks one page shows before a "Show more" button (a 100,000-line page stays usable). */
export const BLOCK_BUDGET = 400;
const REF_DEPTH = 3;

const MARKERS = new Set([
  "TODO",
  "DOING",
  "DONE",
  "LATER",
  "NOW",
  "WAITING",
  "CANCELED",
  "CANCELLED",
  "IN-PROGRESS",
  "WAIT",
]);
const IMAGE_EXT = new Set(["png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "avif"]);
const AUDIO_EXT = new Set(["mp3", "ogg", "wav", "m4a", "flac", "opus", "aac"]);
const VIDEO_EXT = new Set(["mp4", "webm", "mov", "mkv"]);

export function h(tag, className, ...children) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

export function pageRoute(path, block) {
  return (
    "#/page/" +
    encodeURIComponent(path) +
    (block !== undefined && block !== null ? "?block=" + encodeURIComponent(block) : "")
  );
}

/** An <a> to an app route that navigates through graph.navigate (href kept for long-press/new tab). */
export function routeLink(ctx, route, className, ...children) {
  const a = h("a", className, ...children);
  a.href = route;
  a.addEventListener("click", (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    ctx.graph.navigate(route);
  });
  return a;
}

/**
 * Render context shared by one renderPage call:
 * {graph, lib, path, urls: [blob URLs to revoke], deferred: [fns to re-run once the graph is indexed], depth}
 */
export function renderInline(nodes, ctx) {
  const frag = document.createDocumentFragment();
  for (const node of nodes ?? []) frag.append(inlineNode(node, ctx));
  return frag;
}

function inlineNode(node, ctx) {
  const [type, arg] = node;
  switch (type) {
    case "Plain":
      return document.createTextNode(arg);
    case "Break_Line":
    case "Hard_Break_Line":
      return h("br");
    case "Emphasis": {
      const tag =
        { Bold: "strong", Italic: "em", Strike_through: "del", Highlight: "mark", Underline: "u" }[arg[0][0]] ?? "span";
      return h(tag, "ls-" + tag, renderInline(arg[1], ctx));
    }
    case "Code":
    case "Verbatim":
      return h("code", "ls-code", arg);
    case "Tag": {
      const name = tagName(arg);
      return pageLink(ctx, name, "#" + name, "ls-tag");
    }
    case "Link":
      return link(arg, ctx);
    case "Macro":
      return macro(arg, ctx);
    case "Timestamp":
      return h("span", "ls-timestamp", timestampText(arg[1]?.date ? arg[1] : (arg[1] ?? {})));
    case "Inline_Html":
    case "Inline_Hiccup":
    case "Export_Snippet":
      // Shown as its source text: never interpreted.
      return h("code", "ls-raw", typeof arg === "string" ? arg : node.slice(1).join(" "));
    case "Latex_Fragment":
      return h("span", "ls-math", arg[1] ?? "");
    case "Subscript":
      return h("sub", null, renderInline(arg, ctx));
    case "Superscript":
      return h("sup", null, renderInline(arg, ctx));
    case "Footnote_Reference":
      return h("sup", "ls-footnote", "[" + (arg.name ?? arg.id ?? "") + "]");
    case "Entity":
      return document.createTextNode(arg?.unicode ?? "");
    case "Email":
      return document.createTextNode(arg ? `${arg.local_part}@${arg.domain}` : "");
    default:
      return document.createTextNode(inlineText([node]));
  }
}

function timestampText(ts) {
  const d = ts?.date;
  if (!d) return "";
  const pad = (n) => String(n).padStart(2, "0");
  let s = `${d.year}-${pad(d.month)}-${pad(d.day)}`;
  if (ts.wday) s += " " + ts.wday;
  if (ts.time) s += ` ${pad(ts.time.hour)}:${pad(ts.time.min)}`;
  if (ts.repetition)
    s +=
      " " +
      (ts.repetition[0]?.[0] === "Plus" ? "+" : ".+") +
      ts.repetition[1] +
      (ts.repetition[2]?.[0]?.[0]?.toLowerCase() ?? "");
  return "<" + s + ">";
}

/** [[page]], #tag, [label]([[page]]): a route link when the page exists, a marked span when not. */
function pageLink(ctx, name, text, className) {
  const path = ctx.lib.resolvePage(name);
  if (path) return routeLink(ctx, pageRoute(path), className + " ls-page-ref", text);
  // Not (yet) known: pages whose title:: differs from their file name are learnt while indexing.
  const span = h("span", className + " ls-page-ref ls-missing", text);
  span.title = "No page called “" + name + "” in this graph";
  if (!ctx.lib.isIndexed()) {
    ctx.deferred.push(() => {
      const found = ctx.lib.resolvePage(name);
      if (found && span.isConnected)
        span.replaceWith(routeLink(ctx, pageRoute(found), className + " ls-page-ref", text));
    });
  }
  return span;
}

function link(arg, ctx) {
  const [kind, target] = arg.url ?? [];
  const labelNodes = (arg.label ?? []).filter((n) => !(n[0] === "Plain" && n[1] === ""));
  const full = arg.full_text ?? "";
  if (kind === "Page_ref") {
    const text = labelNodes.length ? inlineText(labelNodes) : target;
    return pageLink(ctx, target, text, "ls-link");
  }
  if (kind === "Block_ref") return blockRef(target, ctx);
  const url =
    kind === "Complex"
      ? `${target.protocol}:${target.protocol === "mailto" ? "" : "//"}${target.link}`
      : String(target ?? "");
  const asset = assetPath(ctx.path, url);
  if (asset) return assetElement(asset, labelNodes, full.startsWith("!"), ctx);
  if (/^https?:\/\//i.test(url)) {
    const a = h("a", "ls-external", labelNodes.length ? renderInline(labelNodes, ctx) : url);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }
  // javascript:, data:, file:, relative paths outside assets/…: shown inert, as their source.
  const span = h("span", "ls-inert-link", full || url);
  span.title = "Link not opened by the web reader";
  return span;
}

/** "../assets/x.png" (relative to the page) → "assets/x.png" when that file is in the graph. */
export function assetPath(pagePath, url) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return null;
  let rel;
  try {
    rel = decodeURI(url.split(/[?#]/)[0]);
  } catch {
    rel = url;
  }
  const parts = pagePath.split("/").slice(0, -1);
  for (const part of rel.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  const path = parts.join("/").normalize("NFC");
  if (path.startsWith("assets/")) return path;
  // "assets/x.png" or "/assets/x.png" written from the graph's root
  const root = rel.replace(/^\/+/, "").normalize("NFC");
  return root.startsWith("assets/") && !root.includes("..") ? root : null;
}

function assetElement(path, labelNodes, embedded, ctx) {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const ext = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : "";
  const label = labelNodes.length ? inlineText(labelNodes) : name;
  if (!ctx.lib.files().has(path)) {
    return h("span", "ls-asset ls-missing", label + " (missing: " + path + ")");
  }
  const holder = h("span", "ls-asset ls-loading", label);
  const kind = IMAGE_EXT.has(ext)
    ? "image"
    : ext === "pdf"
      ? "pdf"
      : AUDIO_EXT.has(ext)
        ? "audio"
        : VIDEO_EXT.has(ext)
          ? "video"
          : "file";
  holder.dataset.asset = path;
  ctx.graph
    .blob(path)
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      ctx.urls.push(url);
      let el;
      if (kind === "image" && embedded) {
        el = h("img", "ls-asset-img");
        el.alt = label;
        el.src = url;
      } else if ((kind === "audio" || kind === "video") && embedded) {
        el = h(kind, "ls-asset-" + kind);
        el.controls = true;
        el.src = url;
      } else {
        el = h(
          "a",
          "ls-asset-link ls-asset-" + kind,
          h("span", "ls-asset-kind", kind === "pdf" ? "PDF" : ext.toUpperCase() || "FILE"),
          " " + label,
        );
        el.href = url;
        el.target = "_blank";
        el.rel = "noopener noreferrer";
        el.download = kind === "pdf" ? "" : name;
        if (kind === "pdf") el.removeAttribute("download");
      }
      el.dataset.asset = path;
      holder.replaceWith(el);
    })
    .catch((e) => {
      holder.className = "ls-asset ls-error";
      holder.textContent = label + " — " + (e?.userMessage ?? "could not be loaded");
    });
  return holder;
}

function blockRef(uuid, ctx) {
  const span = h("span", "ls-block-ref");
  span.dataset.uuid = uuid;
  const fill = () => {
    const found = ctx.lib.block(uuid);
    if (!found) return false;
    span.classList.remove("ls-pending", "ls-missing");
    span.replaceChildren();
    const route = pageRoute(found.path, found.block.uuid ?? found.block.pos);
    const inner =
      ctx.depth >= REF_DEPTH
        ? document.createTextNode(inlineText(found.block.title))
        : renderInline(found.block.title, { ...ctx, depth: ctx.depth + 1 });
    span.append(routeLink(ctx, route, "ls-block-ref-link", inner));
    return true;
  };
  if (fill()) return span;
  span.textContent = "((" + uuid + "))";
  if (ctx.lib.isIndexed()) {
    span.classList.add("ls-missing");
    span.title = "Referenced block not found in this graph";
  } else {
    span.classList.add("ls-pending");
    ctx.deferred.push(() => {
      if (!fill()) {
        span.classList.replace("ls-pending", "ls-missing");
        span.title = "Referenced block not found in this graph";
      }
    });
  }
  return span;
}

function macro(arg, ctx) {
  const name = String(arg.name ?? "");
  const args = (arg.arguments ?? []).map(String);
  if (name === "embed" || name === "query") {
    const box = h(
      "span",
      "ls-placeholder ls-" + name,
      h("span", "ls-placeholder-label", name === "embed" ? "Embed" : "Query"),
    );
    const target = args.join(", ").trim();
    const page = /^\[\[(.+)\]\]$/.exec(target);
    const block = /^\(\((.+)\)\)$/.exec(target);
    if (name === "embed" && page) box.append(" ", pageLink(ctx, page[1], page[1], "ls-link"));
    else if (name === "embed" && block) box.append(" ", blockRef(block[1], ctx));
    else box.append(" ", h("code", "ls-code", target));
    box.title = name === "embed" ? "Embeds are not expanded in the web reader" : "Queries run only in the Logseq app";
    return box;
  }
  return h("code", "ls-macro", "{{" + name + (args.length ? " " + args.join(", ") : "") + "}}");
}

/** Block-level nodes (a block's body, or what precedes the first bullet). */
export function renderBody(nodes, ctx) {
  const frag = document.createDocumentFragment();
  for (const node of nodes ?? []) frag.append(bodyNode(node, ctx));
  return frag;
}

function bodyNode(node, ctx) {
  const [type, arg] = node;
  switch (type) {
    case "Paragraph":
      return h("div", "ls-paragraph", renderInline(trimBreaks(arg), ctx));
    case "Src": {
      const code = h("code", "ls-src-code", dedent((arg.lines ?? []).join("").replace(/\n$/, "")));
      const pre = h("pre", "ls-src", code);
      if (arg.language) pre.dataset.lang = arg.language;
      return arg.language ? h("div", "ls-src-wrap", h("span", "ls-src-lang", arg.language), pre) : pre;
    }
    case "Example":
      return h("pre", "ls-example", (arg ?? []).join(""));
    case "Quote":
      return h("blockquote", "ls-quote", renderBody(arg, ctx));
    case "Custom": {
      const name = String(arg ?? "").toLowerCase();
      const kind = /^[a-z0-9_-]+$/.test(name) ? name : "custom";
      if (kind === "export" || kind === "src") return h("pre", "ls-raw", String(node[4] ?? ""));
      return h(
        "div",
        "ls-custom ls-custom-" + kind,
        h("span", "ls-custom-label", name.toUpperCase()),
        renderBody(Array.isArray(node[3]) ? node[3] : [], ctx),
      );
    }
    case "List": {
      const ordered = arg[0]?.ordered;
      const list = h(ordered ? "ol" : "ul", "ls-list");
      for (const item of arg) {
        const li = h("li", null, renderBody(item.content, ctx));
        if (item.items?.length) li.append(bodyNode(["List", item.items], ctx));
        list.append(li);
      }
      return list;
    }
    case "Table":
      return table(arg, ctx);
    case "Raw_Html":
    case "Hiccup":
      return h("pre", "ls-raw", typeof arg === "string" ? arg : "");
    case "Displayed_Math":
    case "Latex_Environment":
      return h("div", "ls-math", typeof arg === "string" ? arg : node.slice(1).join(" "));
    case "Horizontal_Rule":
      return h("hr", "ls-hr");
    case "Drawer":
    case "Property_Drawer":
    case "Properties":
    case "Comment":
      return document.createTextNode("");
    case "Footnote_Definition":
      return h("div", "ls-footnote-def", "[" + arg + "] ", renderInline(node[2], ctx));
    case "Heading":
      return h("div", "ls-paragraph", renderInline(arg.title, ctx));
    default:
      return h("div", "ls-paragraph", inlineTextOfNode(node));
  }
}

/** Remove the indentation every non-blank line shares (a block's code keeps its bullet's indent in the file). */
export function dedent(text) {
  const lines = text.split("\n");
  let common = null;
  for (const line of lines) {
    if (!line.trim()) continue;
    const indent = /^[\t ]*/.exec(line)[0];
    if (common === null || !indent.startsWith(common)) {
      let i = 0;
      while (common !== null && i < common.length && i < indent.length && common[i] === indent[i]) i++;
      common = common === null ? indent : common.slice(0, i);
    }
  }
  return common
    ? lines.map((l) => (l.startsWith(common) ? l.slice(common.length) : l.trim() ? l : "")).join("\n")
    : text;
}

function inlineTextOfNode(node) {
  try {
    return typeof node[1] === "string" ? node[1] : "";
  } catch {
    return "";
  }
}

function trimBreaks(nodes) {
  const out = [...(nodes ?? [])];
  while (out.length && (out.at(-1)[0] === "Break_Line" || (out.at(-1)[0] === "Plain" && !out.at(-1)[1].trim())))
    out.pop();
  while (out.length && out[0][0] === "Plain" && !out[0][1].trim()) out.shift();
  return out;
}

function table(arg, ctx) {
  const el = h("table", "ls-table");
  if (arg.header?.length) {
    const tr = h("tr");
    for (const cell of arg.header) tr.append(h("th", null, renderInline(cell, ctx)));
    el.append(h("thead", null, tr));
  }
  const tbody = h("tbody");
  for (const group of arg.groups ?? []) {
    for (const row of group) {
      const tr = h("tr");
      for (const cell of row) tr.append(h("td", null, renderInline(cell, ctx)));
      tbody.append(tr);
    }
  }
  el.append(tbody);
  return h("div", "ls-table-wrap", el);
}

/** Key/value list of visible properties (id::, collapsed:: … hidden as in Logseq). */
export function renderProperties(props, ctx, className) {
  const visible = props.filter((p) => !HIDDEN_PROPERTIES.has(p.key));
  if (!visible.length) return null;
  const dl = h("dl", className);
  for (const prop of visible) {
    const dd = h("dd", "ls-prop-value");
    if (prop.key === "tags" || prop.key === "alias") {
      propertyRefs(prop).forEach((name, i) => {
        if (i) dd.append(", ");
        dd.append(pageLink(ctx, name, name, "ls-link"));
      });
    } else if (prop.inline.length) dd.append(renderInline(prop.inline, ctx));
    else dd.append(prop.value);
    const row = h("div", "ls-prop", h("dt", "ls-prop-key", prop.key), dd);
    row.dataset.key = prop.key;
    dl.append(row);
  }
  return dl;
}

/** The content of one block (marker, title, timestamps, body, properties) without children. */
export function renderBlockContent(block, ctx) {
  const content = h("div", "ls-block-content");
  const head = h(block.size ? "div" : "div", "ls-block-title" + (block.size ? " ls-h" + Math.min(6, block.size) : ""));
  if (block.marker) {
    const marker = block.marker.toUpperCase();
    const cls = MARKERS.has(marker) ? marker.toLowerCase() : "other";
    const m = h("span", "ls-marker ls-marker-" + cls, marker);
    m.dataset.marker = marker;
    head.append(m, " ");
    content.classList.add("ls-task-" + cls);
  }
  if (block.priority)
    head.append(h("span", "ls-priority ls-priority-" + block.priority.toLowerCase(), "[#" + block.priority + "]"), " ");
  head.append(renderInline(trimBreaks(block.title), ctx));
  // A bullet whose first line is a code fence or a table has no title: its body starts the row.
  if (block.title.length || block.marker || block.priority || !block.body.length) content.append(head);
  for (const ts of block.timestamps ?? []) {
    const label = ts.kind === "Scheduled" ? "SCHEDULED" : "DEADLINE";
    content.append(
      h(
        "div",
        "ls-when ls-when-" + label.toLowerCase(),
        h("span", "ls-when-label", label + ": "),
        h("span", "ls-timestamp", timestampText(ts)),
      ),
    );
  }
  if (block.body.length) content.append(h("div", "ls-block-body", renderBody(block.body, ctx)));
  const props = renderProperties(block.props, ctx, "ls-props ls-block-props");
  if (props) content.append(props);
  return content;
}

/** Parent/children structure of a flat block list (a block's parent is the nearest earlier block with a lower level). */
export function outlineTree(blocks) {
  const children = blocks.map(() => []);
  const roots = [];
  const parent = new Array(blocks.length).fill(-1);
  const stack = [];
  for (let i = 0; i < blocks.length; i++) {
    while (stack.length && blocks[stack.at(-1)].level >= blocks[i].level) stack.pop();
    if (stack.length) {
      parent[i] = stack.at(-1);
      children[stack.at(-1)].push(i);
    } else roots.push(i);
    stack.push(i);
  }
  return { roots, children, parent };
}

/**
 * Render an outline into `container`. Lazily: collapsed blocks render their children when
 * opened, and at most `budget` blocks are built before a "Show more" button.
 * `reveal` (a block index) is rendered, its ancestors opened, and it gets class ls-target.
 */
export function renderOutline(container, blocks, ctx, { reveal = -1, budget = BLOCK_BUDGET } = {}) {
  const tree = outlineTree(blocks);
  const open = new Set();
  for (let i = reveal; i >= 0; i = tree.parent[i]) if (i !== reveal) open.add(i);
  let left = budget;
  let target = null;

  function blockEl(i) {
    const block = blocks[i];
    left--;
    const kids = tree.children[i];
    const el = h("div", "ls-block");
    el.dataset.pos = String(i);
    el.dataset.level = String(block.level);
    if (block.uuid) el.dataset.uuid = block.uuid;
    const bullet = h("button", "ls-bullet");
    bullet.type = "button";
    const content = renderBlockContent(block, ctx);
    el.append(h("div", "ls-block-row", bullet, content));
    if (i === reveal) {
      el.classList.add("ls-target");
      target = el;
    }
    if (!kids.length) {
      bullet.disabled = true;
      bullet.setAttribute("aria-label", "Block");
      return el;
    }
    const childBox = h("div", "ls-children");
    el.append(childBox);
    let built = false;
    const setOpen = (isOpen) => {
      el.classList.toggle("ls-collapsed", !isOpen);
      bullet.setAttribute("aria-expanded", String(isOpen));
      bullet.setAttribute("aria-label", isOpen ? "Collapse block" : "Expand block (" + kids.length + " children)");
      if (isOpen && !built) {
        built = true;
        fillList(childBox, kids);
      }
      childBox.hidden = !isOpen;
    };
    bullet.addEventListener("click", () => setOpen(el.classList.contains("ls-collapsed")));
    setOpen(!block.collapsed || open.has(i));
    return el;
  }

  // Build siblings until the budget runs out; the rest wait behind one "Show more" button.
  function fillList(box, indices, from = 0) {
    let k = from;
    for (; k < indices.length; k++) {
      const mustShow = reveal >= 0 && target === null && containsReveal(indices[k]);
      if (left <= 0 && !mustShow) break;
      box.append(blockEl(indices[k]));
    }
    if (k < indices.length) {
      const rest = indices.length - k;
      const more = h("button", "ls-show-more", "Show " + Math.min(rest, budget) + " more of " + rest + " blocks");
      more.type = "button";
      more.addEventListener("click", () => {
        more.remove();
        left = budget;
        fillList(box, indices, k);
        runDeferred(ctx);
      });
      box.append(more);
    }
  }

  function containsReveal(i) {
    for (let j = reveal; j >= 0; j = tree.parent[j]) if (j === i) return true;
    return false;
  }

  fillList(container, tree.roots);
  return target;
}

function runDeferred(ctx) {
  if (!ctx.deferred.length) return;
  if (ctx.lib.isIndexed()) {
    for (const fn of ctx.deferred.splice(0)) fn();
  } else {
    ctx.whenIndexed().then(() => {
      for (const fn of ctx.deferred.splice(0)) fn();
    });
  }
}

export { runDeferred };
