// The fixed benchmark workload (docs/PERFORMANCE.md "Workload"): a synthetic Logseq graph made
// from a fixed seed. 95 % Markdown pages of 1-8 KiB (a fifth of them journals, the rest in nested
// folders under pages/, one in eight with a non-ASCII NFC name), 5 % binary assets of
// 50-500 KiB of incompressible bytes. Every file is derived from (seed, its index) only, so the
// first N files of a bigger graph are the files of the smaller one and a given index always has
// the same path and bytes.

import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Prng } from "./prng.mjs";

export const SEED = 0x10c5eed;
export const PAGE_SHARE = 0.95;
export const PAGE_BYTES = [1024, 8 * 1024];
export const ASSET_BYTES = [50 * 1024, 500 * 1024];

const WORDS = (
  "alpha beta gamma delta notes meeting project garden reading book idea draft review plan " +
  "research summary weekly daily task habit travel recipe music film paper code design " +
  "system sync graph outline block page query link tag journal archive inbox someday " +
  "decision question answer reference quote person place event budget health sleep run"
).split(" ");
// NFC on purpose: the client normalises paths to NFC before encrypting them (PROTOCOL.md §10).
const WORDS_INTL = [
  "café",
  "naïve",
  "Ärger",
  "Größe",
  "smörgåsbord",
  "façade",
  "jalapeño",
  "crème brûlée",
  "日本語",
  "東京",
  "北京",
  "Москва",
  "Ελληνικά",
  "한국어",
  "São Paulo",
  "Zürich",
  "élan",
  "Łódź",
].map((w) => w.normalize("NFC"));
const FOLDERS = ["work", "personal", "areas", "projects", "archive", "reading", "people", "topics"];
const FOLDERS_INTL = ["Bücher", "résumés", "ノート", "проекты"].map((w) => w.normalize("NFC"));
const ASSET_EXT = ["png", "jpg", "pdf", "webp", "mp3"];

/**
 * @typedef {object} GraphFile
 * @property {string} path relative, `/`-separated, NFC
 * @property {'page'|'asset'} kind
 * @property {Buffer} bytes
 */

/**
 * The workload graph.
 * @param {object} [o]
 * @param {number} [o.files=2000] number of files
 * @param {number} [o.seed=SEED]
 * @param {number} [o.sizeScale=1] multiplies every file size (the 20,000-file graph uses 1/8)
 * @returns {{files: GraphFile[], pages: number, assets: number, bytes: number, sizeScale: number, seed: number}}
 */
export function generateGraph({ files = 2000, seed = SEED, sizeScale = 1 } = {}) {
  const out = [];
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const f = fileAt(seed, i, sizeScale);
    bytes += f.bytes.length;
    out.push(f);
  }
  const assets = out.filter((f) => f.kind === "asset").length;
  return { files: out, pages: files - assets, assets, bytes, sizeScale, seed };
}

/** Every 20th index is an asset (5 %), the others pages. */
function isAsset(i) {
  return i % 20 === 19;
}

/** File number `i` of the graph of `seed`. */
export function fileAt(seed, i, sizeScale = 1) {
  const rng = new Prng(seed, i);
  if (isAsset(i)) {
    const size = Math.max(64, Math.round(rng.int(ASSET_BYTES[0], ASSET_BYTES[1]) * sizeScale));
    const intl = rng.chance(1 / 8);
    const stem = intl ? `${rng.pick(WORDS_INTL)} ${rng.pick(WORDS)}` : `${rng.pick(WORDS)}_${rng.pick(WORDS)}`;
    const name = `assets/${stem}_${i}.${rng.pick(ASSET_EXT)}`.normalize("NFC");
    return { path: name, kind: "asset", bytes: rng.bytes(size) };
  }
  const size = Math.max(64, Math.round(rng.int(PAGE_BYTES[0], PAGE_BYTES[1]) * sizeScale));
  let name;
  if (rng.chance(0.2)) {
    const d = new Date(Date.UTC(2000, 0, 1) + i * 86_400_000);
    const ymd = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()].map((n) => String(n).padStart(2, "0"));
    name = `journals/${ymd.join("_")}.md`;
  } else {
    const intl = rng.chance(1 / 8);
    const depth = rng.int(0, 3);
    const folders = [];
    for (let d = 0; d < depth; d++) folders.push(intl && d === 0 ? rng.pick(FOLDERS_INTL) : rng.pick(FOLDERS));
    const title = intl
      ? `${rng.pick(WORDS_INTL)} ${rng.pick(WORDS)} ${i}`
      : `${rng.pick(WORDS)} ${rng.pick(WORDS)} ${i}`;
    name = ["pages", ...folders, `${title}.md`].join("/").normalize("NFC");
  }
  return { path: name, kind: "page", bytes: pageBody(rng, size) };
}

/** A Logseq-style outline of exactly `size` UTF-8 bytes. */
function pageBody(rng, size) {
  const lines = [];
  let length = 0;
  while (length < size) {
    const indent = "  ".repeat(rng.int(0, 2));
    const words = [];
    const n = rng.int(4, 18);
    for (let w = 0; w < n; w++) {
      const r = rng.float();
      if (r < 0.04) words.push(`[[${rng.pick(WORDS)} ${rng.pick(WORDS)}]]`);
      else if (r < 0.07) words.push(`#${rng.pick(WORDS)}`);
      else if (r < 0.09) words.push(rng.pick(WORDS_INTL));
      else words.push(rng.pick(WORDS));
    }
    const prefix = rng.chance(0.1) ? "TODO " : "";
    const line = `${indent}- ${prefix}${words.join(" ")}\n`;
    lines.push(line);
    length += Buffer.byteLength(line);
  }
  return truncateUtf8(Buffer.from(lines.join(""), "utf8"), size);
}

/** Cut to at most `size` bytes without splitting a UTF-8 sequence; pad with newlines to exactly `size`. */
function truncateUtf8(buf, size) {
  let end = Math.min(size, buf.length);
  while (end > 0 && end < buf.length && (buf[end] & 0xc0) === 0x80) end--;
  const out = Buffer.alloc(size, 0x0a);
  buf.copy(out, 0, 0, end);
  return out;
}

/** Write the graph's files under `dir`. */
export async function writeGraph(dir, files) {
  const made = new Set();
  for (const f of files) {
    const abs = path.join(dir, ...f.path.split("/"));
    const parent = path.dirname(abs);
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true });
      made.add(parent);
    }
    await writeFile(abs, f.bytes);
  }
}

/** The page edit number `n` changes (a fixed stride through the pages). */
export function pageNumber(files, n) {
  const pages = files.filter((f) => f.kind === "page");
  return pages[(n * 7919) % pages.length];
}

/** The page edited by the n-th propagation run (deterministic), and its new body. */
export function editedPage(files, n) {
  const page = pageNumber(files, n);
  const bytes = Buffer.concat([page.bytes, Buffer.from(`- edit ${n} from device A\n`, "utf8")]);
  return { path: page.path, bytes };
}

/** One line describing a generated graph. */
export function describeGraph(g) {
  const mb = (g.bytes / 1048576).toFixed(1);
  return `${g.files.length} files (${g.pages} pages, ${g.assets} assets), ${mb} MiB plaintext, seed 0x${g.seed.toString(16)}, size scale ${g.sizeScale}`;
}
