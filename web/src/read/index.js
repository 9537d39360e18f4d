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
  routeLink,
  runDeferred,
} from "./render.js";

export { pageRoute } from "./render.js";

const BACKLINK_BLOCKS = 200;

/**
 * parse(text, format, {priority, maxChars}) backed by two parse workers: one for the page being
 * viewed, one for background indexing, so opening a page never waits behind the index. A
 * stuck or crashed worker is replaced and its page reported as unreadable.
 */
export function workerParser(workerUrl = new URL("./parse.worker.js", import.meta.url)) {
  let nextId = 1;
  const lanes = [makeLane(), makeLane()]; // [viewing, indexing]

  function makeLane() {
    return { worker: null, queue: [], job: null, timer: null };
  }

  function start(lane) {
    lane.worker = new Worker(workerUrl, { type: "module" });
    lane.worker.onmessage = (event) => {
      if (!lane.job || event.data.id !== lane.job.id) return;
      clearTimeout(lane.timer);
      const job = lane.job;
      lane.job = null;
      job.resolve(event.data.page);
      pump(lane);
    };
    lane.worker.onerror = (event) => {
      event.preventDefault?.();
      fail(lane, "The page reader stopped: " + (event.message || "worker error"));
    };
  }

  // Fail the running job (it may be what broke the worker) and carry on with a fresh worker.
  function fail(lane, text) {
    lane.worker?.terminate();
    lane.worker = null;
    clearTimeout(lane.timer);
    const job = lane.job;
    lane.job = null;
    job?.resolve({ format: job.format, error: text });
    pump(lane);
  }

  function pump(lane) {
    if (lane.job || !lane.queue.length) return;
    if (!lane.worker) start(lane);
    const job = lane.queue.shift();
    job.id = nextId++;
    lane.job = job;
    // Generous: mldoc reads ~100-250 KiB/s; a page taking far longer than that is stuck.
    const limit = 30_000 + Math.min(job.text.length, job.maxChars ?? Number.POSITIVE_INFINITY) / 10;
    lane.timer = setTimeout(() => fail(lane, "This page took too long to read and was skipped."), limit);
    lane.worker.postMessage({ id: job.id, text: job.text, format: job.format, maxChars: job.maxChars });
  }

  // Start the viewing worker now: loading mldoc (~420 KB of JavaScript) then overlaps with
  // fetching the file list and the first page.
  start(lanes[0]);

  return (text, format, { priority = false, maxChars } = {}) =>
    new Promise((resolve) => {
      const lane = lanes[priority ? 0 : 1];
      lane.queue.push({ text, format, maxChars, resolve });
      pump(lane);
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

  async function renderPageImpl(el, path, { block, full = false } = {}) {
    releaseUrls(el);
    const state = { token: {}, urls: [] };
    renders.set(el, state);
    const current = () => renders.get(el) === state;
    if (!full) message(el, "ls-loading", "Loading…");
    await lib.ready();
    startIndexing();
    const entry = lib.entry(path);
    if (!entry) return message(el, "ls-error", "This page is not in the graph (it may have been deleted or renamed).");
    const ctx = { graph, lib, path, urls: state.urls, deferred: [], depth: 0, whenIndexed };
    if (entry.kind === "other") return renderOtherFile(el, entry, ctx, current);
    const page = await lib.page(path, { priority: true, preview: !full });
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
    if (page.partial) {
      const kib = (n) => Math.round(n / 1024).toLocaleString("en");
      const whole = h("button", "ls-show-more", "Show the whole page");
      whole.type = "button";
      whole.addEventListener("click", () => {
        whole.disabled = true;
        whole.textContent = "Reading the whole page…";
        renderPageImpl(el, path, { block, full: true });
      });
      article.insertBefore(
        h(
          "div",
          "ls-note ls-partial",
          `A very large page: showing its first ${kib(page.partial.shownChars)} of ${kib(page.partial.totalChars)} KiB while the rest is read. `,
          whole,
        ),
        outline,
      );
    }
    const target = renderOutline(outline, page.blocks, ctx, { reveal });
    const backlinks = h("section", "ls-backlinks");
    article.append(backlinks);
    el.replaceChildren(article);
    target?.scrollIntoView?.({ block: "center" });
    runDeferred(ctx);
    fillBacklinks(backlinks, path, ctx, current);
  }

  // Linked references need every page read: show what is known, refresh as pages arrive.
  async function fillBacklinks(section, path, ctx, current) {
    if (!lib.isIndexed()) {
      let last = 0;
      let stop = null;
      stop = lib.onProgress(({ done, total }) => {
        if (!current()) return stop?.();
        if (done < total && performance.now() - last < 1000) return;
        last = performance.now();
        drawBacklinks(section, path, ctx, done < total ? `Still reading ${total - done} of ${total} pages…` : null);
      });
      drawBacklinks(section, path, ctx, "Reading the rest of the graph…");
      await whenIndexed();
      stop?.();
      if (!current()) return;
    }
    drawBacklinks(section, path, ctx, null);
  }

  function drawBacklinks(section, path, ctx, pending) {
    const heading = h("h2", "ls-backlinks-title", "Linked references");
    const groups = lib.backlinks(path);
    const count = groups.reduce((n, g) => n + g.positions.length, 0);
    heading.textContent = count
      ? `${count} Linked reference${count === 1 ? "" : "s"}`
      : pending
        ? "Linked references"
        : "No linked references";
    section.replaceChildren(heading);
    if (pending) section.append(h("p", "ls-note ls-backlinks-pending", pending));
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
      box.append(h("h3", null, routeLink(ctx, pageRoute(group.path), "ls-backlink-title", fromEntry.title)));
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
        item.append(routeLink(ctx, route, "ls-backlink-open", "Open"));
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
