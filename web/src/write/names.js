// File names and first contents exactly as the Logseq 0.10.15 desktop makes them
// (LS = logseq/logseq tag 0.10.15), and refusal of names the sync protocol cannot carry.
//
// * graph settings from logseq/config.edn (read with edn.js): `:journal/file-name-format`
//   (default "yyyy_MM_dd", LS frontend/date.cljs `date->file-name`), `:file/name-format`
//   (`:triple-lowbar`, or absent = the legacy URL-encoding rule, LS util/fs.cljs
//   `file-name-sanity`), `:preferred-format` (default markdown, LS state.cljs
//   `get-preferred-format`), `:pages-directory` / `:journals-directory` (default "pages" /
//   "journals"), `:export/bullet-indentation` (default :tab), `:default-templates {:journals}`,
//   `:journal/page-title-format` (default "MMM do, yyyy") for `<% today %>`;
// * new page path: `<pages-directory>/<file-name-sanity(title)>.<md|org>` (LS
//   modules/file/core.cljs `transact-file-tx-if-not-exists!`);
// * new file text: blocks written as LS's `tree->file-content` writes them — `- ` + content,
//   continuation lines indented by the bullet indentation and two spaces, blocks joined by
//   "\n", no final newline;
// * refusal (PROTOCOL.md §10): the characters `: * ? " < > | # \`, hidden paths, `~` at the
//   end, the never-synced logseq/ files, and paths longer than 458 UTF-8 bytes (the 950-char
//   encrypted-name limit of LS sync.cljs:2604-2618).

import { cutBlocks, formatOfPath } from "./blocks.js";
import { Keyword, parseEdn } from "./edn.js";

const DEFAULTS = Object.freeze({
  journalFileNameFormat: "yyyy_MM_dd",
  journalTitleFormat: "MMM do, yyyy",
  fileNameFormat: "legacy",
  preferredFormat: "markdown",
  pagesDirectory: "pages",
  journalsDirectory: "journals",
  bulletIndentation: "tab",
  journalTemplate: null,
  preferredWorkflow: "now",
});

const kw = (v) => (v instanceof Keyword ? v.name : typeof v === "string" ? v.replace(/^:/, "") : null);
const str = (v) => (typeof v === "string" && v.trim() !== "" ? v : null);

/**
 * Read the settings that decide names and layout from logseq/config.edn.
 * @param {string|null} text the file's text (null or "" = defaults)
 * @returns {typeof DEFAULTS & {error?: string}} with `error` set (and defaults used) when the
 *   text is not valid EDN — the desktop refuses such a config, so the UI should say so.
 */
export function readConfig(text) {
  if (!text?.trim()) return { ...DEFAULTS };
  let m;
  try {
    m = parseEdn(text);
  } catch (e) {
    return { ...DEFAULTS, error: e.message };
  }
  if (!(m instanceof Map)) return { ...DEFAULTS, error: "config.edn is not a map" };
  const templates = m.get(":default-templates");
  const workflow = kw(m.get(":preferred-workflow"));
  return {
    journalFileNameFormat: str(m.get(":journal/file-name-format")) ?? DEFAULTS.journalFileNameFormat,
    journalTitleFormat: str(m.get(":journal/page-title-format")) ?? DEFAULTS.journalTitleFormat,
    fileNameFormat: kw(m.get(":file/name-format")) === "triple-lowbar" ? "triple-lowbar" : "legacy",
    // LS lower-cases the keyword's name: :Markdown and "markdown" both work
    preferredFormat: (kw(m.get(":preferred-format")) ?? "markdown").toLowerCase() === "org" ? "org" : "markdown",
    pagesDirectory: str(m.get(":pages-directory")) ?? DEFAULTS.pagesDirectory,
    journalsDirectory: str(m.get(":journals-directory")) ?? DEFAULTS.journalsDirectory,
    bulletIndentation: kw(m.get(":export/bullet-indentation")) ?? DEFAULTS.bulletIndentation,
    journalTemplate: templates instanceof Map ? str(templates.get(":journals")) : null,
    preferredWorkflow: workflow && /now/i.test(workflow) ? "now" : workflow ? "todo" : DEFAULTS.preferredWorkflow,
  };
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const ordinal = (d) => {
  const s = d % 100 >= 11 && d % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][d % 10] ?? "th");
  return `${d}${s}`;
};

/**
 * Format a calendar date with a Joda/cljs-time pattern (what LS's `tf/formatter` takes):
 * yyyy yy MMMM MMM MM M dd d do EEEE EEE E, 'quoted text', anything else literal.
 * @param {{year:number, month:number, day:number}} date month 1-12
 * @param {string} pattern
 */
export function formatDate({ year, month, day }, pattern) {
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const pad = (n, w) => String(n).padStart(w, "0");
  const tokens = {
    yyyy: () => pad(year, 4),
    yy: () => pad(year % 100, 2),
    MMMM: () => MONTHS[month - 1],
    MMM: () => MONTHS[month - 1].slice(0, 3),
    MM: () => pad(month, 2),
    M: () => String(month),
    do: () => ordinal(day),
    dd: () => pad(day, 2),
    d: () => String(day),
    EEEE: () => DAYS[weekday],
    EEE: () => DAYS[weekday].slice(0, 3),
    E: () => DAYS[weekday].slice(0, 3),
  };
  return pattern.replace(/'([^']*)'|yyyy|yy|MMMM|MMM|MM|M|do|dd|d|EEEE|EEE|E/g, (t, quoted) =>
    quoted !== undefined ? quoted : tokens[t](),
  );
}

/** A Date's local calendar day (the person's "today"). */
export function localDay(date = new Date()) {
  return { year: date.getFullYear(), month: date.getMonth() + 1, day: date.getDate() };
}

// ---- title -> file name (LS frontend/util/fs.cljs) ----

const RESERVED_RUN = /[:*?"<>|#\\]+/g; // `multiplatform-reserved-chars`
const WINDOWS_RESERVED = new Set(
  "CON PRN AUX NUL COM1 COM2 COM3 COM4 COM5 COM6 COM7 COM8 COM9 LPT1 LPT2 LPT3 LPT4 LPT5 LPT6 LPT7 LPT8 LPT9".split(
    " ",
  ),
);

/** gp-util `page-name-sanity`: drop one leading and one trailing slash, NFC. */
function pageNameSanity(title) {
  let s = title;
  if (s.startsWith("/")) s = s.slice(1);
  if (s.endsWith("/")) s = s.slice(0, -1);
  return s.normalize("NFC");
}

const urlEncodeFileName = (run) => encodeURIComponent(run).replaceAll("*", "%2A");

/** `tri-lb-file-name-sanity` (`:file/name-format :triple-lowbar`). */
function tripleLowbar(title) {
  let s = pageNameSanity(title)
    .replace(/%[0-9a-f]{2}/gi, (m) => m.replace("%", "%25"))
    .replace(RESERVED_RUN, urlEncodeFileName)
    .replace(/^\./, "%2E");
  if (WINDOWS_RESERVED.has(s) || s.endsWith(".")) s += "/";
  return s.replaceAll("___", "%5F%5F%5F").replaceAll("_/", "%5F/").replaceAll("/_", "/%5F").replaceAll("/", "___");
}

/** `legacy-url-file-name-sanity` (no `:file/name-format`). */
function legacyUrl(title) {
  const enc = (m) => encodeURIComponent(m).replace("+", "%20");
  return pageNameSanity(title)
    .replace(/[\\#|%]+/g, enc)
    .replace(/[:\\*?"<>|]+/g, enc)
    .replace(/\//g, enc)
    .replaceAll("*", "%2A");
}

/**
 * The file name body (no extension) the desktop gives a page title (LS `file-name-sanity`).
 * @param {string} title
 * @param {"triple-lowbar"|"legacy"} fileNameFormat
 */
export function fileNameBody(title, fileNameFormat) {
  return fileNameFormat === "triple-lowbar" ? tripleLowbar(title) : legacyUrl(title);
}

// ---- what the protocol can carry (PROTOCOL.md §10) ----

const MAX_PATH_BYTES = 458;

/**
 * Why a graph-relative path cannot be synced, or null when it can.
 * @param {string} path
 * @returns {string|null}
 */
export function refusal(path) {
  const p = path.normalize("NFC");
  if (p === "" || p.endsWith("/")) return "The name is empty.";
  const bad = p.match(/[:*?"<>|#\\]/);
  if (bad) return `Logseq Sync does not carry file names containing "${bad[0]}".`;
  if (p.startsWith(".") || p.includes("/."))
    return "Names starting with a dot are hidden files, which Logseq Sync skips.";
  if (p.endsWith("~")) return "Names ending with ~ are backup files, which Logseq Sync skips.";
  if (/^logseq\/(bak|version-files)\//.test(p) || p === "logseq/graphs-txid.edn" || p === "logseq/pages-metadata.edn") {
    return "Logseq Sync never syncs this file.";
  }
  if (p.split("/").includes("node_modules")) return "Logseq Sync skips node_modules folders.";
  const bytes = new TextEncoder().encode(p).length;
  if (bytes > MAX_PATH_BYTES) {
    return `The name is too long for Logseq Sync (${bytes} bytes of UTF-8, at most ${MAX_PATH_BYTES}).`;
  }
  return null;
}

/** An Error for a refused name, with `.userMessage` for the UI. */
function refused(reason) {
  const e = new Error(reason);
  e.userMessage = reason;
  e.refused = true;
  return e;
}

const extOf = (format) => (format === "org" ? "org" : "md");

/**
 * The path of a new page, as the desktop would name it.
 * @param {string} title
 * @param {ReturnType<typeof readConfig>} config
 * @returns {{path: string, format: "markdown"|"org"}}
 * @throws Error with `.userMessage` when the title gives no name the protocol can carry
 */
export function pagePath(title, config) {
  if (typeof title !== "string" || title.trim() === "") throw refused("A page needs a title.");
  const body = fileNameBody(title.trim(), config.fileNameFormat);
  if (body === "") throw refused("A page needs a title.");
  const path = `${config.pagesDirectory}/${body}.${extOf(config.preferredFormat)}`;
  const reason = refusal(path);
  if (reason) throw refused(reason);
  return { path, format: config.preferredFormat };
}

/**
 * The path of a day's journal.
 * @param {{year:number, month:number, day:number}} day
 * @param {ReturnType<typeof readConfig>} config
 * @returns {{path: string, format: "markdown"|"org", title: string}}
 */
export function journalPath(day, config) {
  const path = `${config.journalsDirectory}/${formatDate(day, config.journalFileNameFormat)}.${extOf(config.preferredFormat)}`;
  const reason = refusal(path);
  if (reason) throw refused(reason);
  return { path, format: config.preferredFormat, title: formatDate(day, config.journalTitleFormat) };
}

// ---- new file contents (LS modules/file/core.cljs `transform-content`, `tree->file-content`) ----

/** `:export/bullet-indentation` -> the string of one level. */
export function bulletUnit(setting) {
  return (
    { "two-spaces": "  ", "four-spaces": "    ", "eight-spaces": "        " }[String(setting).replace(/^:/, "")] ?? "\t"
  );
}

/**
 * A new file's text from blocks `{content, depth}` (depth 0 = top level), as LS writes it.
 * @param {Array<{content: string, depth?: number}>} blocks
 * @param {ReturnType<typeof readConfig>} config
 */
export function fileText(blocks, config) {
  const unit = bulletUnit(config.bulletIndentation);
  return blocks
    .map(({ content, depth = 0 }) => {
      const c = String(content).trim();
      if (config.preferredFormat === "org") return `${"*".repeat(depth + 1)}${c ? " " : ""}${c}`;
      const indent = unit.repeat(depth);
      return `${indent}-${c ? " " : ""}${c.split(/\r?\n/).join(`\n${indent}  `)}`;
    })
    .join("\n");
}

/**
 * The blocks of a journal template as LS's `insert-template!` inserts them into a new
 * journal: the block whose `template::` property equals `name` (with its children; without
 * itself when it says `template-including-parent:: false`), properties `id`, `template` and
 * `template-including-parent` removed, `<% today %>`, `<% yesterday %>`, `<% tomorrow %>`,
 * `<% time %>` and `<% current page %>` resolved (others are left as typed).
 * @param {string} name
 * @param {Array<{path: string, text: string}>} pages pages to search (markdown and org)
 * @param {{day: {year,month,day}, time?: string, config: ReturnType<typeof readConfig>}} ctx
 * @returns {Array<{content: string, depth: number}>|null} null when no block has that template
 */
export function templateBlocks(name, pages, { day, time = "", config }) {
  for (const { path, text } of pages) {
    const format = formatOfPath(path);
    let blocks;
    try {
      blocks = cutBlocks(text, { format }).blocks;
    } catch {
      continue;
    }
    const at = blocks.findIndex((b) => propertyOf(b.body, "template") === name);
    if (at < 0) continue;
    const root = blocks[at];
    let end = at + 1;
    while (end < blocks.length && blocks[end].level > root.level) end++;
    const includeParent = propertyOf(root.body, "template-including-parent") !== "false";
    const chosen = blocks.slice(includeParent ? at : at + 1, end);
    // depth relative to the first kept level, by nesting order (mldoc levels may skip on
    // space-indented pages)
    const stack = [];
    return chosen.map((b) => {
      while (stack.length && stack[stack.length - 1] >= b.level) stack.pop();
      stack.push(b.level);
      return { content: cleanTemplateContent(b.body, day, time, config), depth: stack.length - 1 };
    });
  }
  return null;
}

function propertyOf(body, key) {
  const m = body.match(new RegExp(`^${key}::[ \\t]*(.*)$`, "mi"));
  return m ? m[1].trim() : null;
}

function cleanTemplateContent(body, day, time, config) {
  const shift = (n) => {
    const d = new Date(Date.UTC(day.year, day.month - 1, day.day + n));
    return `[[${formatDate({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() }, config.journalTitleFormat)}]]`;
  };
  return body
    .split("\n")
    .filter((l) => !/^(id|template|template-including-parent)::/i.test(l))
    .join("\n")
    .replace(/<%\s*(today|yesterday|tomorrow|time|current page)\s*%>/gi, (_m, v) => {
      const k = v.toLowerCase();
      if (k === "today") return shift(0);
      if (k === "yesterday") return shift(-1);
      if (k === "tomorrow") return shift(1);
      if (k === "time") return time;
      return `[[${formatDate(day, config.journalTitleFormat)}]]`;
    });
}

/**
 * Today's journal: its path, and the text to create it with (the template's blocks if one is
 * configured and found, else one block holding `firstBlock`).
 * @param {{day: {year,month,day}, config: ReturnType<typeof readConfig>, pages?: Array<{path,text}>,
 *   firstBlock?: string, time?: string}} options
 */
export function newJournal({ day, config, pages = [], firstBlock = "", time = "" }) {
  const { path, format, title } = journalPath(day, config);
  const fromTemplate = config.journalTemplate
    ? templateBlocks(config.journalTemplate, pages, { day, time, config })
    : null;
  const blocks = fromTemplate ?? [{ content: firstBlock, depth: 0 }];
  return {
    path,
    format,
    title,
    text: fileText(blocks, config),
    template: fromTemplate ? config.journalTemplate : null,
  };
}

/**
 * A new page: its path and first text, as the desktop creates it (LS handler/page.cljs
 * `create!`): the file name from `pagePath`; under the legacy `:file/name-format` a
 * `title::` property first when the file name does not give the title back (LS
 * `create-title-property?`: legacy title parsing — `.` read as `/`, URL-decoded — differs from
 * the title); then one block holding `firstBlock`.
 * @param {string} title
 * @param {ReturnType<typeof readConfig>} config
 * @param {string} [firstBlock]
 * @returns {{path: string, format: "markdown"|"org", text: string, title: string}}
 * @throws Error with `.userMessage` (see pagePath)
 */
export function newPage(title, config, firstBlock = "") {
  const clean = title
    .trim()
    .replace(/^\[\[(.*)\]\]$/, "$1")
    .replace(/^#+/, "")
    .replace(/^\/|\/$/g, "");
  const { path, format } = pagePath(clean, config);
  const body = path.slice(config.pagesDirectory.length + 1).replace(/\.(md|org)$/, "");
  let parsed = body.replaceAll(".", "/");
  try {
    parsed = decodeURIComponent(parsed);
  } catch {
    // LS keeps the undecoded text
  }
  const titled = config.fileNameFormat === "legacy" && (parsed !== clean || /[:*?"<>|#\\]/.test(body));
  const blocks = fileText([{ content: firstBlock, depth: 0 }], config);
  const props = format === "org" ? `#+title: ${clean}` : `title:: ${clean}`;
  return { path, format, title: clean, text: titled ? `${props}\n\n${blocks}` : blocks };
}
