// Which reader the shell uses. Until web-read's modules (web/src/read/index.js) are merged this
// is a plain stand-in with the same interface (docs/WEB.md "the seam"): titles from file names,
// the page as plain text in a <pre> (textContent), substring search, a line-by-line diff.

import { h } from "./dom.js";

function titleOf(path) {
  const j = /^journals\/(\d{4})_(\d{2})_(\d{2})\.(md|org)$/.exec(path);
  if (j) return { title: `${j[1]}-${j[2]}-${j[3]}`, kind: "journal", date: `${j[1]}-${j[2]}-${j[3]}` };
  const base = path.replace(/^pages\//, "").replace(/\.(md|org)$/, "");
  return { title: base.replaceAll("___", "/"), kind: /^pages\/.*\.(md|org)$/.test(path) ? "page" : "other" };
}

export function createReader(graph) {
  const texts = new Map();
  const progress = new Set();
  const text = async (path) => {
    if (!texts.has(path)) texts.set(path, await graph.text(path));
    return texts.get(path);
  };
  graph.onChange((paths) => {
    for (const p of paths) texts.delete(p);
  });
  const pages = () => graph.files().filter((f) => /\.(md|org)$/.test(f.path) && !f.path.startsWith("logseq/"));
  return {
    async pageList() {
      const list = pages().map((f) => ({ path: f.path, ...titleOf(f.path) }));
      return list.sort((a, b) =>
        a.kind === "journal" && b.kind === "journal"
          ? b.date.localeCompare(a.date)
          : a.kind === "journal"
            ? -1
            : b.kind === "journal"
              ? 1
              : a.title.localeCompare(b.title),
      );
    },
    async renderPage(el, path) {
      el.replaceChildren(h("p", { class: "muted" }, "Loading…"));
      try {
        el.replaceChildren(
          h("h1", { class: "page-title" }, titleOf(path).title),
          h("pre", { class: "page-text" }, await text(path)),
        );
      } catch (e) {
        el.replaceChildren(h("p", { class: "error" }, e.userMessage ?? e.message));
      }
    },
    indexProgress(fn) {
      progress.add(fn);
    },
    async search(query, { limit = 50 } = {}) {
      const q = query.toLowerCase();
      const all = pages();
      let done = 0;
      const out = [];
      await Promise.all(
        all.map(async (f) => {
          const t = await text(f.path).catch(() => "");
          done++;
          for (const fn of progress) fn({ done, total: all.length });
          const i = t.toLowerCase().indexOf(q);
          const title = titleOf(f.path).title;
          if (i >= 0 || title.toLowerCase().includes(q))
            out.push({
              path: f.path,
              title,
              snippet: i >= 0 ? t.slice(Math.max(0, i - 40), i + 80) : title,
              offset: i,
            });
        }),
      );
      return out.slice(0, limit);
    },
    diff(oldText, newText, el) {
      const a = oldText.split("\n");
      const b = newText.split("\n");
      const rows = [];
      const bs = new Set(b);
      const as = new Set(a);
      for (const l of a) if (!bs.has(l)) rows.push(h("div", { class: "del" }, `- ${l}`));
      for (const l of b) rows.push(h("div", { class: as.has(l) ? "same" : "add" }, `${as.has(l) ? " " : "+"} ${l}`));
      el.replaceChildren(h("pre", { class: "diff" }, rows));
    },
  };
}
