// Full-text search over page titles and block texts. Pure and incremental: pages are added
// (or replaced, or removed) one at a time as their bodies are parsed. A query is a scan of
// lower-cased strings: 2,000 pages stay well under the 200 ms target (tests/web/read.test.mjs
// measures it), and there is no tokenizer to disagree with what the person typed.

const SNIPPET_RADIUS = 60;

function fold(s) {
  return s.toLowerCase();
}

export function createSearchIndex() {
  const pages = new Map(); // path → {title, titleLc, blocks: [{text, lc, uuid, pos}]}

  return {
    /** Add or replace a page: blocks are [{text, uuid, pos}]. */
    add(path, title, blocks = []) {
      pages.set(path, {
        title,
        titleLc: fold(title),
        blocks: blocks.filter((b) => b.text).map((b) => ({ text: b.text, lc: fold(b.text), uuid: b.uuid, pos: b.pos })),
      });
    },
    /** Change a page's title only (title:: discovered later, or a rename). */
    retitle(path, title) {
      const page = pages.get(path);
      if (page) {
        page.title = title;
        page.titleLc = fold(title);
      } else this.add(path, title, []);
    },
    remove(path) {
      pages.delete(path);
    },
    get size() {
      return pages.size;
    },
    /**
     * → [{path, title, blockUuid?, block?, snippet, offset, length}] best first. A hit needs every
     * word of the query in the same title or block; the whole phrase and title hits rank higher.
     * `block` is the uuid or, without one, the block's position in its page; `offset`/`length` locate
     * the match in `snippet`.
     */
    search(query, { limit = 50 } = {}) {
      const phrase = fold(String(query).trim().replace(/\s+/g, " "));
      if (!phrase) return [];
      const terms = [...new Set(phrase.split(" "))];
      const hits = [];
      for (const [path, page] of pages) {
        if (terms.every((t) => page.titleLc.includes(t))) {
          const at = page.titleLc.indexOf(phrase);
          hits.push({
            score: 100 + (at >= 0 ? 50 : 0) - page.title.length / 100,
            result: {
              path,
              title: page.title,
              snippet: page.title,
              offset: Math.max(at, page.titleLc.indexOf(terms[0])),
              length: at >= 0 ? phrase.length : terms[0].length,
            },
          });
        }
        for (const block of page.blocks) {
          const lc = block.lc;
          let all = true;
          for (const t of terms) {
            if (!lc.includes(t)) {
              all = false;
              break;
            }
          }
          if (!all) continue;
          const phraseAt = lc.indexOf(phrase);
          const at = phraseAt >= 0 ? phraseAt : lc.indexOf(terms[0]);
          const length = phraseAt >= 0 ? phrase.length : terms[0].length;
          const snip = snippet(block.text, at, length);
          const result = { path, title: page.title, snippet: snip.text, offset: snip.offset, length };
          if (block.uuid) result.blockUuid = block.uuid;
          result.block = block.uuid ?? String(block.pos);
          hits.push({ score: (phraseAt >= 0 ? 20 : 0) + 10 / (1 + block.pos / 10), result });
        }
      }
      hits.sort((a, b) => b.score - a.score);
      return hits.slice(0, limit).map((h) => h.result);
    },
  };
}

/** A one-line excerpt of `text` around [at, at+length). */
export function snippet(text, at, length) {
  let start = Math.max(0, at - SNIPPET_RADIUS);
  let end = Math.min(text.length, at + length + SNIPPET_RADIUS);
  if (start > 0) {
    const space = text.indexOf(" ", start);
    if (space >= 0 && space < at) start = space + 1;
  }
  if (end < text.length) {
    const space = text.lastIndexOf(" ", end);
    if (space > at + length) end = space;
  }
  const prefix = start > 0 ? "…" : "";
  const suffix = end < text.length ? "…" : "";
  const body = text.slice(start, end).replace(/\s/g, " ");
  return { text: prefix + body + suffix, offset: prefix.length + (at - start) };
}
