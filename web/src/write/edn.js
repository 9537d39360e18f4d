// A small EDN reader for logseq/config.edn (https://github.com/edn-format/edn): enough of the
// format to read any config the desktop accepts — maps, vectors, lists, sets, keywords,
// symbols, strings, characters, numbers, booleans, nil, comments, `#_` discards, tagged
// literals (the tag is dropped) and ClojureScript regex literals `#"..."` (read as strings).
// Written here rather than taken from npm: the only npm EDN readers are unmaintained or larger
// than this file, and the app reads a handful of keys. An invalid config throws (the desktop
// refuses it too, LS handler/file.cljs:151-156), so the caller can fall back to the defaults
// and say so.

/** A keyword, `:name` or `:ns/name`. */
export class Keyword {
  constructor(name) {
    this.name = name;
  }
  toString() {
    return `:${this.name}`;
  }
}

/** A symbol (e.g. `true` is not one: it reads as a boolean). */
export class EdnSymbol {
  constructor(name) {
    this.name = name;
  }
}

/**
 * Parse one EDN value. Maps become `Map`s keyed by `":ns/name"` for keywords, the string
 * itself for strings, and `String(key)` for anything else; sets become `Set`s; lists and
 * vectors arrays.
 * @param {string} text
 */
export function parseEdn(text) {
  let i = 0;
  const fail = (what) => {
    throw new SyntaxError(`config.edn: ${what} at offset ${i}`);
  };
  const ws = () => {
    for (;;) {
      const c = text[i];
      if (c === ";") {
        while (i < text.length && text[i] !== "\n") i++;
      } else if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === ",") {
        i++;
      } else if (c === "#" && text[i + 1] === "_") {
        i += 2;
        value();
      } else return;
    }
  };
  const DELIM = /[\s,;()[\]{}"]/;
  const token = () => {
    const start = i;
    while (i < text.length && !DELIM.test(text[i])) i++;
    return text.slice(start, i);
  };
  const string = () => {
    i++;
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i++];
      if (c === '"') return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = text[i++];
      const map = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\", b: "\b", f: "\f" };
      if (e in map) out += map[e];
      else if (e === "u") {
        out += String.fromCharCode(Number.parseInt(text.slice(i, i + 4), 16));
        i += 4;
      } else out += `\\${e}`; // regex literals keep their escapes
    }
  };
  const seq = (close) => {
    const items = [];
    for (;;) {
      ws();
      if (i >= text.length) fail(`missing ${close}`);
      if (text[i] === close) {
        i++;
        return items;
      }
      items.push(value());
    }
  };
  const keyOf = (k) => (k instanceof Keyword ? `:${k.name}` : typeof k === "string" ? k : String(k));
  const value = () => {
    ws();
    const c = text[i];
    if (c === undefined) fail("unexpected end");
    if (c === '"') return string();
    if (c === "(") {
      i++;
      return seq(")");
    }
    if (c === "[") {
      i++;
      return seq("]");
    }
    if (c === "{") {
      i++;
      const items = seq("}");
      if (items.length % 2) fail("odd number of forms in a map");
      const m = new Map();
      for (let k = 0; k < items.length; k += 2) m.set(keyOf(items[k]), items[k + 1]);
      return m;
    }
    if (c === ")" || c === "]" || c === "}") fail(`unexpected ${c}`);
    if (c === "#") {
      i++;
      if (text[i] === "{") {
        i++;
        return new Set(seq("}"));
      }
      if (text[i] === '"') return string();
      token(); // tag: #inst, #uuid, #js ...
      return value();
    }
    if (c === "\\") {
      i++;
      const t = text[i] + token();
      return { newline: "\n", space: " ", tab: "\t", return: "\r" }[t] ?? t[0];
    }
    if (c === ":") {
      i++;
      const name = token();
      if (!name) fail("empty keyword");
      return new Keyword(name);
    }
    const t = token();
    if (!t) fail(`unexpected ${c}`);
    if (t === "nil") return null;
    if (t === "true") return true;
    if (t === "false") return false;
    if (/^[-+]?\d/.test(t)) {
      const n = Number(t.replace(/[NM]$/, ""));
      if (Number.isNaN(n)) fail(`bad number ${t}`);
      return n;
    }
    return new EdnSymbol(t);
  };
  const result = value();
  ws();
  if (i < text.length) fail("more than one form");
  return result;
}
