// Page titles and the page list, as Logseq 0.10.15 computes them for a file graph.
// Sources (LS = logseq/logseq tag 0.10.15):
//   title-parsing, tri-lb-title-parsing, legacy-title-parsing: deps/graph-parser/src/logseq/graph_parser/util.cljs
//   get-page-name (title:: wins, "pages/contents." is "Contents"): graph_parser/extract.cljc
//   journal titles (safe-journal-title-formatters, default "MMM do, yyyy"): graph_parser/date_time_util.cljs,
//   graph_parser/config.cljs get-date-formatter; file names "yyyy_MM_dd": src/main/frontend/date.cljs

/** "Markdown" | "Org" | null (not a page) from a path's extension. */
export function formatOf(path) {
  const ext = /\.([^./]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext === "md" || ext === "markdown") return "Markdown";
  if (ext === "org") return "Org";
  return null;
}

/** The bits of logseq/config.edn that decide titles. Tolerant: unreadable config → defaults. */
export function readConfig(ednText) {
  // Drop ; comments outside strings, line by line (enough for the keys read here).
  const text = String(ednText ?? "")
    .split("\n")
    .map((line) => {
      let inString = false;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === "\\" && inString) i++;
        else if (c === '"') inString = !inString;
        else if (c === ";" && !inString) return line.slice(0, i);
      }
      return line;
    })
    .join("\n");
  const keyword = (key) => new RegExp(":" + key + "\\s+:([\\w.-]+)").exec(text)?.[1] ?? null;
  const string = (key) => new RegExp(":" + key + '\\s+"((?:[^"\\\\]|\\\\.)*)"').exec(text)?.[1] ?? null;
  return {
    fileNameFormat: keyword("file/name-format") === "triple-lowbar" ? "triple-lowbar" : "legacy",
    journalFileNameFormat: string("journal/file-name-format") || "yyyy_MM_dd",
    journalTitleFormat: string("journal/page-title-format") || string("date-formatter") || "MMM do, yyyy",
    journalsDirectory: trimSlashes(string("journals-directory") || "journals"),
    pagesDirectory: trimSlashes(string("pages-directory") || "pages"),
  };
}

function trimSlashes(s) {
  return s.replace(/^\/+|\/+$/g, "");
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** File name body (no directory, no extension) → page title under a :file/name-format. */
export function titleFromFileBody(body, fileNameFormat) {
  if (fileNameFormat === "triple-lowbar") {
    // "___" is "/", then each %XX is decoded on its own (a lone byte of a multi-byte
    // sequence stays encoded, as in Logseq), then empty namespace parts go away.
    const decoded = body.replaceAll("___", "/").replace(/%[0-9a-f]{2}/gi, (m) => safeDecode(m));
    return decoded
      .split("/")
      .filter((p) => p !== "")
      .join("/")
      .normalize("NFC");
  }
  // :legacy — "." was the namespace separator, the rest is percent-encoded.
  return safeDecode(body.replaceAll(".", "/")).normalize("NFC");
}

export function fileBody(path) {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

// --- dates, in the subset of Joda/cljs-time patterns Logseq's settings offer ---

const MONTHS = "January February March April May June July August September October November December".split(" ");
const WEEKDAYS = "Sunday Monday Tuesday Wednesday Thursday Friday Saturday".split(" ");
const TOKEN_RE = /yyyy|yy|MMMM|MMM|MM|M|do|dd|d|EEEE|EEE|E|'[^']*'/g;

function ordinal(n) {
  const t = n % 100;
  if (t >= 11 && t <= 13) return n + "th";
  return n + ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th");
}

/** Format {year, month, day} with a Logseq date pattern such as "MMM do, yyyy". */
export function formatDate({ year, month, day }, pattern) {
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const pad = (n) => String(n).padStart(2, "0");
  return pattern.replace(TOKEN_RE, (t) => {
    switch (t) {
      case "yyyy":
        return String(year);
      case "yy":
        return pad(year % 100);
      case "MMMM":
        return MONTHS[month - 1];
      case "MMM":
        return MONTHS[month - 1].slice(0, 3);
      case "MM":
        return pad(month);
      case "M":
        return String(month);
      case "do":
        return ordinal(day);
      case "dd":
        return pad(day);
      case "d":
        return String(day);
      case "EEEE":
        return WEEKDAYS[weekday];
      case "EEE":
      case "E":
        return WEEKDAYS[weekday].slice(0, 3);
      default:
        return t.slice(1, -1);
    }
  });
}

/** Parse a string under a numeric date pattern ("yyyy_MM_dd", "yyyy-MM-dd"…) → {year, month, day} | null. */
export function parseDate(s, pattern) {
  const fields = [];
  let re = "";
  let last = 0;
  for (const m of pattern.matchAll(TOKEN_RE)) {
    re += escapeRe(pattern.slice(last, m.index));
    last = m.index + m[0].length;
    const t = m[0];
    if (t === "yyyy") re += "(\\d{4})";
    else if (t === "MM" || t === "dd") re += "(\\d{2})";
    else if (t === "M" || t === "d") re += "(\\d{1,2})";
    else if (t === "MMM" || t === "MMMM") re += "([A-Za-z]+)";
    else if (t === "do") re += "(\\d{1,2})(?:st|nd|rd|th)";
    else if (t.startsWith("'")) {
      re += escapeRe(t.slice(1, -1));
      continue;
    } else if (t.startsWith("E")) {
      re += "[A-Za-z]+";
      continue;
    } else return null;
    fields.push(t);
  }
  re += escapeRe(pattern.slice(last));
  const m = new RegExp("^" + re + "$").exec(s);
  if (!m) return null;
  const date = {};
  fields.forEach((t, i) => {
    const v = m[i + 1];
    if (t === "yyyy") date.year = Number(v);
    else if (t === "MMM" || t === "MMMM") {
      const idx = MONTHS.findIndex((name) => name.toLowerCase().startsWith(v.toLowerCase()) && v.length >= 3);
      date.month = idx + 1;
    } else if (t.startsWith("M")) date.month = Number(v);
    else date.day = Number(v);
  });
  const { year, month, day } = date;
  if (!year || !month || !day) return null;
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  return { year, month, day };
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function isoDate({ year, month, day }) {
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/**
 * One file → {path, title, kind, date?, namespace?}. `titleProperty` is the page's `title::`
 * when its body has been read (it wins over the file name, as in Logseq).
 */
export function describeFile(path, config, titleProperty = null) {
  const format = formatOf(path);
  const top = path.split("/")[0];
  const underDir = (dir) => path.startsWith(dir + "/");
  if (!format || top === "logseq" || top === "assets" || top === "draws" || top.startsWith(".")) {
    return { path, title: path, kind: "other" };
  }
  const body = fileBody(path);
  if (underDir(config.journalsDirectory)) {
    const date =
      parseDate(body, config.journalFileNameFormat) ?? parseDate(body, "yyyy_MM_dd") ?? parseDate(body, "yyyy-MM-dd");
    if (date) {
      const title = titleProperty ?? formatDate(date, config.journalTitleFormat);
      return { path, title, kind: "journal", date: isoDate(date) };
    }
  }
  let title;
  if (titleProperty) title = titleProperty.normalize("NFC");
  else if (/^pages\/contents\.[^/]+$/i.test(path)) title = "Contents";
  else title = titleFromFileBody(body, config.fileNameFormat);
  if (!title) title = body;
  const entry = { path, title, kind: "page" };
  if (title.includes("/")) {
    const parts = title.split("/").filter((p) => p !== "");
    if (parts.length > 1) entry.namespace = parts;
  }
  return entry;
}

/** Journals newest first, then pages by title, then everything else by path. */
export function sortPages(entries) {
  const rank = { journal: 0, page: 1, other: 2 };
  const collator = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });
  return entries.sort((a, b) => {
    if (a.kind !== b.kind) return rank[a.kind] - rank[b.kind];
    if (a.kind === "journal") return a.date < b.date ? 1 : a.date > b.date ? -1 : 0;
    if (a.kind === "page") return collator.compare(a.title, b.title) || (a.path < b.path ? -1 : 1);
    return a.path < b.path ? -1 : 1;
  });
}

/** Lower-cased, NFC page name: how Logseq keys pages (page-name-sanity-lc). */
export function pageKey(name) {
  return String(name)
    .replace(/^\/+|\/+$/g, "")
    .toLowerCase()
    .normalize("NFC");
}
