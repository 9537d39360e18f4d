// Assets (photos, any file) as the Logseq 0.10.15 desktop names and links them, and the size
// limits an upload must meet (LS = logseq/logseq tag 0.10.15).
//
// * name: LS handler/editor.cljs `save-assets!` (1405-1452): the picked file's base name is cut
//   into stem + extension — the last extension (node `path.extname`) when LS knows it
//   (config.cljs `extname-of-supported?`: image, document, audio, video, markup and text
//   formats), else the complete one from the first dot (npm `path-complete-extname` 1.0.0);
//   the stem's spaces, `%` and `/` become `_`, then `<stem>_<Date.now()>_<index>`, runs of `_`
//   collapsed to one, plus the extension, in `assets/`. A phone photo `image.jpg` becomes
//   `assets/image_1765100000000_0.jpg`.
//   Beyond the desktop: characters Logseq Sync cannot carry (`: * ? " < > | # \`, PROTOCOL.md
//   §10) also become `_` (the desktop would write a file that never syncs), and a stem too long
//   for the 458-byte path limit is shortened.
// * link: LS handler/assets.cljs `get-asset-file-link` (117-128) with the path relative to the
//   page's file (editor.cljs `resolve-relative-path`) and the picked file's own name as label:
//   Markdown `![image.jpg](../assets/image_…_0.jpg)` for images, audio, video and PDF, else
//   `[name](…)`; Org `[[../assets/…]]` for images, else `[[…][name]]`.
// * limits: LS does not upload a file of 102,400,000 bytes or more (sync.cljs:2552-2567) and
//   the server refuses an object (ciphertext) over MAX_OBJECT_BYTES, 102,400,000 by default
//   (docs/DEPLOY.md; no endpoint tells it); `user_info` tells the account's StorageLimit and
//   StorageUsage, and `update_files` refuses (403 storage-limit) a commit over it.

import { refusal } from "./names.js";

const IMAGE = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "svg", "heic"];
const DOC = ["doc", "docx", "xls", "xlsx", "ppt", "pptx", "one", "pdf", "epub"];
const AUDIO = ["mp3", "ogg", "mpeg", "wav", "m4a", "flac", "wma", "aac"];
const VIDEO = ["mp4", "webm", "mov", "flv", "avi", "mkv"];
const MARKUP = ["org", "md", "markdown", "asciidoc", "adoc", "rst"];
const TEXT = [
  "json",
  "org",
  "md",
  "yml",
  "dat",
  "asciidoc",
  "rst",
  "txt",
  "markdown",
  "adoc",
  "html",
  "js",
  "ts",
  "edn",
  "clj",
  "ml",
  "rb",
  "ex",
  "erl",
  "java",
  "php",
  "c",
  "css",
  "excalidraw",
  "tldr",
  "sh",
];
const SUPPORTED = new Set([...IMAGE, ...DOC, ...AUDIO, ...VIDEO, ...MARKUP, ...TEXT]);
// get-asset-file-link asks the html5 variants: no mkv, no wma/ogg
const MEDIA = new Set([...AUDIO.filter((e) => e !== "wma" && e !== "ogg"), ...VIDEO.filter((e) => e !== "mkv")]);

/** The largest object the server stores (MAX_OBJECT_BYTES default) and LS's own upload limit. */
export const MAX_OBJECT_BYTES = 102_400_000;

const lastExt = (s) => /\.[^.]*$/.exec(s)?.[0] ?? "";
const extLower = (s) => lastExt(s).slice(1).toLowerCase();

/** node `path.extname` on a base name: the last dot, not a leading one. */
function extname(base) {
  const i = base.lastIndexOf(".");
  return i <= 0 ? "" : base.slice(i);
}

/** npm `path-complete-extname` (posix) on a base name: from the first dot that is not the first character. */
function completeExtname(base) {
  let startDot = -1;
  for (let i = base.length - 1; i > 0; i--) {
    if (base[i] === "." && i + 1 !== startDot) startDot = i;
  }
  if (startDot === -1 || (startDot === base.length - 1 && startDot === 1)) return "";
  return base.slice(startDot);
}

/** Stem and extension of a picked file's name, as LS cuts it. */
export function splitName(fileName) {
  const base = String(fileName ?? "")
    .split(/[\\/]/)
    .pop();
  if (!base) return { stem: "", ext: "" };
  const last = extname(base);
  const ext = SUPPORTED.has(last.slice(1).toLowerCase()) ? last : completeExtname(base);
  return { stem: base.slice(0, base.length - ext.length), ext };
}

const UNSYNCABLE = /[:*?"<>|#\\]/g;
const MAX_PATH_BYTES = 458;
const utf8 = new TextEncoder();

/**
 * The path a picked file gets in `assets/`.
 * @param {string} fileName the picked file's name (`File.name`)
 * @param {{now?: number, index?: number}} [options] now = Date.now() (ms), index = position among the files picked together
 * @returns {string} e.g. "assets/image_1765100000000_0.jpg"
 */
export function assetPath(fileName, { now = Date.now(), index = 0 } = {}) {
  let { stem, ext } = splitName(fileName);
  ext = ext.replace(UNSYNCABLE, "_");
  const name = (s) =>
    `assets/${`${s.replace(/[ %/]/g, "_").replace(UNSYNCABLE, "_")}_${now}_${index}`.replace(/_+/g, "_")}${ext}`;
  let path = name(stem.normalize("NFC"));
  // shorten the stem (by whole characters) until the path fits the protocol's limit
  const chars = [...stem.normalize("NFC")];
  while (utf8.encode(path).length > MAX_PATH_BYTES && chars.length) {
    chars.pop();
    path = name(chars.join(""));
  }
  const why = refusal(path);
  if (why) throw Object.assign(new Error(why), { userMessage: why, refused: true });
  return path;
}

/** Is this path an image as LS decides it (`ext-of-image?`)? */
export function isImage(path) {
  return IMAGE.includes(extLower(path));
}

/** The relative path from a page's file to a graph path (LS `get-relative-path`). */
export function relativePath(fromFile, toPath) {
  const from = fromFile.split("/").slice(0, -1);
  const to = toPath.split("/");
  let i = 0;
  while (i < from.length && i < to.length - 1 && from[i] === to[i]) i++;
  return [...Array(from.length - i).fill(".."), ...to.slice(i)].join("/") || toPath;
}

/**
 * The link the desktop inserts for an uploaded asset.
 * @param {{format: "markdown"|"org", pagePath: string, assetPath: string, label: string}} a
 *   label: the picked file's name
 */
export function assetLink({ format, pagePath, assetPath: target, label }) {
  const url = relativePath(pagePath, target);
  const ext = extLower(url);
  const image = isImage(target);
  if (format === "org") return image ? `[[${url}]]` : `[[${url}][${label}]]`;
  const embed = image || MEDIA.has(ext) || url.toLowerCase().endsWith(".pdf");
  return `${embed ? "!" : ""}[${label}](${url})`;
}

/** age's ciphertext size for n bytes of plaintext: header (one X25519 stanza) + 16 bytes per 64 KiB chunk. */
export function encryptedSize(n) {
  const HEADER = 200; // "age-encryption.org/v1", one X25519 stanza, the MAC line, the nonce: 183–200 bytes
  return HEADER + n + 16 * Math.max(1, Math.ceil(n / 65536));
}

/**
 * Why a file of `size` bytes cannot be uploaded, or null.
 * @param {number} size plaintext bytes
 * @param {{limit?: number, usage?: number}|null} storage the account's StorageLimit and StorageUsage (user_info), if known
 * @param {number} [maxObject] the server's largest object
 */
export function uploadRefusal(size, storage = null, maxObject = MAX_OBJECT_BYTES) {
  if (size >= maxObject || encryptedSize(size) > maxObject) {
    return `Too large: this file is ${formatBytes(size)} (${size.toLocaleString("en")} bytes); Logseq Sync takes files under ${maxObject.toLocaleString("en")} bytes (${formatBytes(maxObject)}), encryption included.`;
  }
  if (storage && Number.isFinite(storage.limit) && Number.isFinite(storage.usage)) {
    const left = storage.limit - storage.usage;
    if (encryptedSize(size) > left) {
      return `This file is ${formatBytes(size)} but only ${formatBytes(Math.max(0, left))} of your ${formatBytes(storage.limit)} storage is left.`;
    }
  }
  return null;
}

/** "97.7 MB" (1024-based, like the rest of the app). */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  const u = ["KB", "MB", "GB", "TB"];
  let i = -1;
  let x = n;
  do {
    x /= 1024;
    i++;
  } while (x >= 1024 && i < u.length - 1);
  return `${x.toFixed(x < 100 ? 1 : 0)} ${u[i]}`;
}
