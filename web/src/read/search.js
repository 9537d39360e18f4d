// Full-text search over page titles and block texts. Pure and incremental: pages are added
// (or replaced, or removed) one at a time as their bodies are parsed. A query is a scan of
// lower-cased strings: 2,000 pages stay well under the 200 ms target (tests/web/read.test.mjs
// measures it), and there is no tokenizer to disagree with what the person typed.

const SNIPPET_RADIUS = 60;

function fold(s) {
  return s.toLowerCase();
}

const SEP = "\u0001";

export function createSearchIndex() {
  // path → {title, titleLc, blocks: [{text, uuid, pos}], lc: all block texts lower-cased and
  // joined by SEP, starts: where each block begins in lc, blockLc: each block's part of lc}
  const pages = new Map();

  function blockAt(page, offset) {
    let lo = 0;
    let hi = page.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (page.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  function result(path, page, b, at, length) {
    const block = page.blocks[b];
    const snip = snippet(block.text, at, length);
    const out = { path, title: page.title, snippet: snip.text, offset: snip.offset, length };
    if (block.uuid) out.blockUuid = block.uuid;
    out.block = block.uuid ?? String(block.pos);
    return out;
  }

  return {
    /** Add or replace a page: blocks are [{text, uuid, pos}]. */
    add(path, title, blocks = []) {
      const kept = blocks.filter((b) => b.text).map((b) => ({ text: b.text, uuid: b.uuid, pos: b.pos }));
      const starts = [];
      let at = 0;
      for (const b of kept) {
        starts.push(at);
        at += b.text.length + SEP.length;
      }
      const lc = kept.map((b) => fold(b.text)).join(SEP);
      pages.delete(path);
      pages.set(path, {
        title,
        titleLc: fold(title),
        blocks: kept,
        lc,
        starts,
        // views into lc (V8 keeps substrings as slices of their parent)
        blockLc: kept.map((b, i) => lc.slice(starts[i], starts[i] + b.text.length)),
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
     * → [{path, title, blockUuid?, block?, snippet, offset, length}], best first: titles holding
     * every word, then blocks holding the whole phrase, then blocks holding every word (in page
     * order: the order pages were added, journals newest first). `block` is the uuid or, without
     * one, the block's position in its page; `offset`/`length` locate the match in `snippet`.
     * Stops as soon as `limit` results of the best kinds are found.
     */
    search(query, { limit = 50 } = {}) {
      const phrase = fold(String(query).trim().replace(/\s+/g, " "));
      if (!phrase || limit <= 0) return [];
      const terms = [...new Set(phrase.split(" "))];
      const titles = [];
      for (const [path, page] of pages) {
        if (titles.length >= limit) break;
        if (terms.every((t) => page.titleLc.includes(t))) {
          const at = page.titleLc.indexOf(phrase);
          const first = page.titleLc.indexOf(terms[0]);
          titles.push({
            path,
            title: page.title,
            snippet: page.title,
            offset: at >= 0 ? at : first,
            length: at >= 0 ? phrase.length : terms[0].length,
          });
        }
      }
      const phraseHits = [];
      const wordHits = [];
      const room = () => limit - titles.length - phraseHits.length;
      for (const [path, page] of pages) {
        if (room() <= 0) break;
        const lc = page.lc;
        let from = lc.indexOf(phrase);
        const seen = new Set();
        while (from >= 0 && room() > 0) {
          const b = blockAt(page, from);
          seen.add(b);
          phraseHits.push(result(path, page, b, from - page.starts[b], phrase.length));
          const next = page.starts[b + 1];
          if (next === undefined) break;
          from = lc.indexOf(phrase, next);
        }
        if (terms.length < 2 || wordHits.length >= limit || !terms.every((t) => lc.includes(t))) continue;
        // Blocks holding every word: walk the first word's occurrences, check the others in that block.
        let at = lc.indexOf(terms[0]);
        while (at >= 0 && wordHits.length < limit) {
          const b = blockAt(page, at);
          const start = page.starts[b];
          if (!seen.has(b) && terms.every((t) => page.blockLc[b].includes(t))) {
            seen.add(b);
            wordHits.push(result(path, page, b, at - start, terms[0].length));
          }
          const next = page.starts[b + 1];
          if (next === undefined) break;
          at = lc.indexOf(terms[0], next);
        }
      }
      return [...titles, ...phraseHits, ...wordHits].slice(0, limit);
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
