// The reader: what the web shell calls (WEB-SEAMS.md, "The seam between shell and read").
//   createReader(graph) → {pageList, renderPage, search, indexProgress, diff}
// Pages are parsed by mldoc in a Web Worker (parse.worker.js, ~4 ms per KiB); this module and
// everything it imports stay free of mldoc so the shell's first bundle stays small.
import { renderDiff } from "./diff.js";
import { createLibrary } from "./library.js";
import {
  assetPath,
  h,
  pageRoute,
  renderBlockContent,
  renderBody,
  renderOutline,
  renderProperties,
  runDeferred,
} from "./render.js";

export { pageRoute } from "./render.js";

const MAX_IN_FLIGHT = 2;
const BACKLINK_BLOCKS = 200;

/** parse(text, format, {priority}) backed by the parse worker; a stuck or crashed worker is replaced. */
export function workerParser(workerUrl = new URL("./parse.worker.js", import.meta.url)) {
  let worker = null;
  let nextId = 1;
  const high = [];
  const low = [];
  const inFlight = new Map(); // id → {job, timer}

  function start() {
    worker = new Worker(workerUrl, { type: "module" });
    worker.onmessage = (event) => {
      const entry = inFlight.get(event.data.id);
      if (!entry) return;
      clearTimeout(entry.timer);
      inFlight.delete(event.data.id);
      entry.job.resolve(event.data.page);
      pump();
    };
    worker.onerror = (event) => {
      event.preventDefault?.();
      restart("The page reader stopped: " + (event.message || "worker error"));
    };
  }

  // Fail what was running (it may be what broke the worker) and carry on with a fresh one.
  function restart(message) {
    worker?.terminate();
    worker = null;
    for (const { job, timer } of inFlight.values()) {
      clearTimeout(timer);
      job.resolve({ format: job.format, error: message });
    }
    inFlight.clear();
    pump();
  }

  function pump() {
    while (inFlight.size < MAX_IN_FLIGHT && (high.length || low.length)) {
      if (!worker) start();
      const job = high.shift() ?? low.shift();
      const id = nextId++;
      // Generous: mldoc does ~250 KiB/s; a page taking far longer than that is stuck.
      const limit = 15_000 + job.text.length / 20;
      const timer = setTimeout(() => restart("This page took too long to read and was skipped."), limit);
      inFlight.set(id, { job, timer });
      worker.postMessage({ id, text: job.text, format: job.format });
    }
  }

  return (text, format, { priority = false } = {}) =>
    new Promise((resolve) => {
      (priority ? high : low).push({ text, format, resolve });
      pump();
    });
}

function message(el, className, text) {
  el.replaceChildren(h("div", "ls-page", h("p", className, text)));
}

/**
 * createReader(graph[, {parse}]): `parse` defaults to the parse worker; Node tests pass
 * parsePage from parse.js.
 */
export function createReader(graph, { parse } = {}) {
  const lib = createLibrary(graph, parse ?? workerParser());
  const renders = new WeakMap(); // container → {token, urls}
  let started = false;
  const whenIndexed = () => lib.indexAll();
  const startIndexing = () => {
    if (!started) {
      started = true;
      lib.indexAll().catch(() => {});
    }
  };

  function releaseUrls(el) {
    const previous = renders.get(el);
    if (previous) for (const url of previous.urls) URL.revokeObjectURL(url);
  }

  async function renderPageImpl(el, path, { block } = {}) {
    releaseUrls(el);
    const state = { token: {}, urls: [] };
    renders.set(el, state);
    const current = () => renders.get(el) === state;
    message(el, "ls-loading", "Loading…");
    await lib.ready();
    startIndexing();
    const entry = lib.entry(path);
    if (!entry) return message(el, "ls-error", "This page is not in the graph (it may have been deleted or renamed).");
    const ctx = { graph, lib, path, urls: state.urls, deferred: [], depth: 0, whenIndexed };
    if (entry.kind === "other") return renderOtherFile(el, entry, ctx, current);
    const size = lib.files().get(path)?.size ?? 0;
    if (size > 512 * 1024) message(el, "ls-loading", `Reading a large page (${Math.round(size / 1024)} KiB)…`);
    const page = await lib.page(path, { priority: true });
    if (!current()) return;
    const title = lib.entry(path)?.title ?? entry.title;
    const article = h("article", "ls-page");
    article.dataset.path = path;
    article.append(h("h1", "ls-page-title", title));
    if (page.error) {
      article.append(h("p", "ls-error", page.error));
      el.replaceChildren(article);
      return;
    }
    const props = renderProperties(page.properties, ctx, "ls-props ls-page-props");
    if (props) article.append(props);
    if (page.pre.length) article.append(h("div", "ls-pre", renderBody(page.pre, ctx)));
    const outline = h("div", "ls-outline");
    article.append(outline);
    let reveal = -1;
    if (block !== undefined && block !== null && block !== "") {
      const key = String(block).toLowerCase();
      reveal = /^\d+$/.test(key) ? Number(key) : page.blocks.findIndex((b) => b.uuid === key);
      if (reveal >= page.blocks.length) reveal = -1;
    }
    if (!page.blocks.length && !page.pre.length) outline.append(h("p", "ls-empty", "This page is empty."));
    const target = renderOutline(outline, page.blocks, ctx, { reveal });
    const backlinks = h("section", "ls-backlinks");
    article.append(backlinks);
    el.replaceChildren(article);
    target?.scrollIntoView?.({ block: "center" });
    runDeferred(ctx);
    fillBacklinks(backlinks, path, ctx, current);
  }

  async function fillBacklinks(section, path, ctx, current) {
    const heading = h("h2", "ls-backlinks-title", "Linked references");
    if (!lib.isIndexed()) {
      const waiting = h("p", "ls-loading", "Reading the rest of the graph for linked references…");
      section.replaceChildren(heading, waiting);
      const stop = lib.onProgress(({ done, total }) => {
        waiting.textContent = `Reading the rest of the graph for linked references… ${done} of ${total} pages`;
      });
      await whenIndexed();
      stop();
      if (!current()) return;
    }
    const groups = lib.backlinks(path);
    const count = groups.reduce((n, g) => n + g.positions.length, 0);
    heading.textContent = count ? `${count} Linked reference${count === 1 ? "" : "s"}` : "No linked references";
    section.replaceChildren(heading);
    let shown = 0;
    for (const group of groups) {
      if (shown >= BACKLINK_BLOCKS) {
        section.append(h("p", "ls-note", `… and more (showing the first ${BACKLINK_BLOCKS}).`));
        break;
      }
      const from = lib.cachedPage(group.path);
      const fromEntry = lib.entry(group.path);
      if (!from || !fromEntry) continue;
      const box = h("div", "ls-backlink-page");
      box.dataset.path = group.path;
      const pageLink = h("a", "ls-backlink-title", fromEntry.title);
      pageLink.href = pageRoute(group.path);
      pageLink.addEventListener("click", (event) => {
        event.preventDefault();
        graph.navigate(pageRoute(group.path));
      });
      box.append(h("h3", null, pageLink));
      const refCtx = { ...ctx, path: group.path };
      for (const pos of group.positions) {
        shown++;
        if (pos < 0) {
          box.append(h("div", "ls-backlink-props", renderProperties(from.properties, refCtx, "ls-props") ?? ""));
          continue;
        }
        const block = from.blocks[pos];
        if (!block) continue;
        const route = pageRoute(group.path, block.uuid ?? pos);
        const item = h("div", "ls-backlink-block", renderBlockContent(block, refCtx));
        item.dataset.pos = String(pos);
        const open = h("a", "ls-backlink-open", "Open");
        open.href = route;
        open.addEventListener("click", (event) => {
          event.preventDefault();
          graph.navigate(route);
        });
        item.append(open);
        box.append(item);
      }
      section.append(box);
    }
    runDeferred(ctx);
  }

  async function renderOtherFile(el, entry, ctx, current) {
    const article = h("article", "ls-page ls-file");
    article.append(h("h1", "ls-page-title", entry.path));
    const asset = assetPath("", entry.path);
    const ext = entry.path.split(".").pop().toLowerCase();
    if (asset || !["edn", "css", "js", "md", "org", "txt", "json", "html"].includes(ext)) {
      const link = renderBody(
        [["Paragraph", [["Link", { url: ["Search", entry.path], label: [], full_text: "![](" + entry.path + ")" }]]]],
        ctx,
      );
      article.append(link);
      el.replaceChildren(article);
      return;
    }
    try {
      const text = await graph.text(entry.path);
      if (!current()) return;
      article.append(h("pre", "ls-file-text", text));
    } catch (e) {
      article.append(h("p", "ls-error", e?.userMessage ?? "This file could not be loaded."));
    }
    el.replaceChildren(article);
  }

  return {
    async pageList() {
      startIndexing();
      return lib.pageList();
    },
    async renderPage(el, path, options = {}) {
      try {
        await renderPageImpl(el, path, options);
      } catch (e) {
        message(el, "ls-error", "This page could not be shown: " + (e?.userMessage ?? e?.message ?? String(e)));
      }
    },
    async search(query, { limit = 50 } = {}) {
      await lib.ready();
      startIndexing();
      return lib.search(query, { limit }).map((r) => ({ ...r, route: pageRoute(r.path, r.block) }));
    },
    indexProgress(fn) {
      const stop = lib.onProgress(fn);
      startIndexing();
      return stop;
    },
    diff(oldText, newText, el) {
      return renderDiff(oldText, newText, el);
    },
    /** Resolves when every page has been read (search and linked references are complete). */
    whenIndexed,
    /** fn(changedPaths) after the reader has taken in a graph change (re-render the open page). */
    onChange: (fn) => lib.onChange(fn),
  };
}
