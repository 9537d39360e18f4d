// What the reader knows about one graph: its files and titles, the parsed pages, the block
// and link indexes and the search index. Fed by the `graph` seam (WEB-SEAMS.md) and a
// `parse(text, format, {priority})` function: the parse worker in the browser, parsePage
// directly in Node tests. No DOM here.
import { createRefIndex } from "./refs.js";
import { createSearchIndex } from "./search.js";
import { describeFile, formatOf, readConfig, sortPages } from "./titles.js";

const TEXT_CONCURRENCY = 4;
// Pages longer than this show their beginning first (PREVIEW_CHARS of whole top-level blocks).
export const HUGE_CHARS = 256 * 1024;
const PREVIEW_CHARS = 32 * 1024;

export function createLibrary(graph, parse) {
  let config = readConfig(null);
  let entries = new Map(); // path → {path, title, kind, date?, namespace?}
  let files = new Map(); // path → file meta from graph.files()
  const pages = new Map(); // path → parsed page model
  const loading = new Map(); // path → Promise<page>
  const refs = createRefIndex();
  const search = createSearchIndex();
  const progressListeners = new Set();
  const changeListeners = new Set();
  let indexed = 0;
  let indexTotal = 0;
  let indexRun = null;
  let generation = 0;
  let ready = null;

  async function load() {
    const [configText, list] = await Promise.all([graph.config().catch(() => null), graph.files()]);
    config = readConfig(configText);
    files = new Map(list.map((f) => [f.path, f]));
    const next = new Map();
    for (const path of files.keys()) {
      const known = pages.get(path);
      next.set(path, describeFile(path, config, known?.title ?? null));
    }
    entries = next;
    for (const entry of entries.values()) nameEntry(entry);
  }

  function nameEntry(entry) {
    if (entry.kind === "other") return;
    const page = pages.get(entry.path);
    const names = [entry.title];
    for (const prop of page?.properties ?? []) {
      if (prop.key === "alias") names.push(...prop.value.split(",").map((s) => s.trim().replace(/^\[\[|\]\]$/g, "")));
    }
    refs.setNames(entry.path, names);
    search.retitle(entry.path, entry.title);
  }

  function ingest(path, page) {
    pages.set(path, page);
    const entry = describeFile(path, config, page.title ?? null);
    entries.set(path, entry);
    nameEntry(entry);
    if (page.error) {
      refs.addPage(path, { blocks: [] });
      search.add(path, entry.title, []);
      return;
    }
    refs.addPage(path, page);
    search.add(
      path,
      entry.title,
      page.blocks.map((b) => ({ text: b.text, uuid: b.uuid, pos: b.pos })),
    );
  }

  function forget(path) {
    pages.delete(path);
    loading.delete(path);
    texts.delete(path);
    refs.removePath(path);
    search.remove(path);
  }

  const texts = new Map(); // path → Promise<{text} | {error}> while a page is being loaded

  function textOf(path) {
    let pending = texts.get(path);
    if (!pending) {
      pending = Promise.resolve()
        .then(() => graph.text(path))
        .then(
          (text) => ({ text: String(text) }),
          (e) => ({ error: e?.userMessage ?? "This page could not be loaded: " + (e?.message ?? e) }),
        );
      texts.set(path, pending);
    }
    return pending;
  }

  /**
   * The parsed page at `path` (fetched and parsed once). Never rejects: errors come as {error}.
   * `priority`: parse ahead of background indexing. `preview`: for a very large page, resolve
   * with its beginning (`partial` set) as soon as that is parsed; the whole page goes on parsing
   * in the background and a later call returns it.
   */
  function page(path, { priority = false, preview = false } = {}) {
    const known = pages.get(path);
    if (known) return Promise.resolve(known);
    let pending = loading.get(path);
    if (!pending) {
      const format = formatOf(path);
      const gen = generation;
      pending = (async () => {
        const got = await textOf(path);
        texts.delete(path);
        if (got.error) {
          // Not cached as a model: a later visit tries again (the network may be back).
          loading.delete(path);
          return { format, error: got.error };
        }
        const huge = got.text.length > HUGE_CHARS;
        const model = format
          ? await parse(got.text, format, { priority: priority && !huge })
          : { format, error: "Not a page." };
        if (gen === generation || !pages.has(path)) ingest(path, model);
        loading.delete(path);
        return model;
      })();
      loading.set(path, pending);
    }
    if (!preview) return pending;
    return (async () => {
      const got = await textOf(path);
      if (got.error || got.text.length <= HUGE_CHARS) return pending;
      const format = formatOf(path);
      return Promise.race([pending, parse(got.text, format, { priority: true, maxChars: PREVIEW_CHARS })]);
    })();
  }

  function pagePaths() {
    return [...entries.values()].filter((e) => e.kind !== "other").map((e) => e.path);
  }

  let lastEmit = 0;
  // At most every 200 ms while reading (a 20,000-file graph would otherwise call back 20,000 times).
  function emitProgress(force = false) {
    const now = Date.now();
    if (!force && indexed < indexTotal && now - lastEmit < 200) return;
    lastEmit = now;
    for (const fn of progressListeners) fn({ done: indexed, total: indexTotal });
  }

  /** Read and parse every page (journals newest first, then pages), reporting progress. */
  function indexAll() {
    if (indexRun) return indexRun;
    indexRun = (async () => {
      await ready;
      const todo = sortPages([...entries.values()].filter((e) => e.kind !== "other")).map((e) => e.path);
      indexTotal = todo.length;
      indexed = todo.filter((p) => pages.has(p)).length;
      emitProgress(true);
      // Very large pages last: one of them keeps a parse worker busy for a long while.
      const big = (p) => (files.get(p)?.size ?? 0) > HUGE_CHARS;
      const queue = [...todo.filter((p) => !pages.has(p) && !big(p)), ...todo.filter((p) => !pages.has(p) && big(p))];
      const workers = Array.from({ length: TEXT_CONCURRENCY }, async () => {
        while (queue.length) {
          await page(queue.shift());
          indexed++;
          emitProgress();
        }
      });
      await Promise.all(workers);
      emitProgress(true);
    })();
    return indexRun;
  }

  ready = load();

  if (typeof graph.onChange === "function") {
    graph.onChange(async (changed) => {
      generation++;
      for (const path of changed) forget(path);
      await (ready = load());
      // Pages that vanished from the file list leave the indexes too.
      for (const path of [...pages.keys()]) if (!entries.has(path)) forget(path);
      indexRun = null;
      const run = indexAll();
      for (const fn of changeListeners) fn(changed);
      await run;
    });
  }

  return {
    ready: () => ready,
    config: () => config,
    files: () => files,
    entry: (path) => entries.get(path) ?? null,
    /** Page list, best titles known so far (title:: wins once the body has been read). */
    async pageList() {
      await ready;
      return sortPages([...entries.values()].map((e) => ({ ...e })));
    },
    page,
    cachedPage: (path) => pages.get(path) ?? null,
    pagePaths,
    indexAll,
    isIndexed: () => indexRun !== null && indexed >= indexTotal && loading.size === 0,
    onProgress(fn) {
      progressListeners.add(fn);
      if (indexRun) fn({ done: indexed, total: indexTotal });
      return () => progressListeners.delete(fn);
    },
    onChange(fn) {
      changeListeners.add(fn);
      return () => changeListeners.delete(fn);
    },
    resolvePage: (name) => refs.resolve(name),
    block(uuid) {
      const at = refs.block(uuid);
      if (!at) return null;
      const model = pages.get(at.path);
      const block = model?.blocks?.[at.pos];
      return block ? { path: at.path, block } : null;
    },
    backlinks: (path) => refs.backlinks(path),
    search: (query, options) => search.search(query, options),
  };
}
