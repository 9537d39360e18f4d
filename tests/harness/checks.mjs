// Assertions and small helpers shared by the end-to-end tests.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { raw } from "./client.mjs";

/** APIs the native library (rsapi) calls; the app calls the rest (PROTOCOL.md §13). */
export const RSAPI_SIDE = new Set([
  "get_temp_credential",
  "update_files",
  "delete_files",
  "get_files",
  "get_version_files",
  "rename_file",
  "get_upload_urls",
]);

/** Status and the start of the body, for assertion messages. */
export const show = (r) => `${r.status} ${String(r.text).slice(0, 300)}`;

/** A 200 JSON answer; returns the parsed body. */
export function ok(r) {
  assert.equal(r.status, 200, show(r));
  assert.match(String(r.headers["content-type"]), /^application\/json/, show(r));
  assert.ok(r.json !== undefined, `body is not JSON: ${show(r)}`);
  return r.json;
}

/** A JSON error answer `{"message": <string>}` with `status` ('4xx' = any 4xx). */
export function fails(r, status, message) {
  if (status === "4xx") assert.ok(r.status >= 400 && r.status < 500, `expected 4xx: ${show(r)}`);
  else assert.equal(r.status, status, show(r));
  assert.match(String(r.headers["content-type"]), /^application\/json/, show(r));
  assert.equal(typeof r.json?.message, "string", `no JSON message: ${show(r)}`);
  if (typeof message === "string") assert.equal(r.json.message, message);
  else if (message instanceof RegExp) assert.match(r.json.message, message);
  return r.json;
}

export const md5 = (data) => crypto.createHash("md5").update(data).digest("hex");

/** An absolute URL as [origin, raw path and query]. */
export function splitUrl(url) {
  const m = /^(https?:\/\/[^/]+)(\/.*)$/.exec(url);
  assert.ok(m, `not an absolute URL: ${url}`);
  return [m[1], m[2]];
}

/** A GET (or `opts.method`) of an absolute URL, e.g. a presigned one. */
export function fetchUrl(url, opts = {}) {
  const [origin, path] = splitUrl(url);
  return raw(origin, path, opts);
}

/** The object key a download URL names (`.../uploads/<user>/<random>?...`). */
export const keyOfUrl = (url) => decodeURIComponent(new URL(url).pathname.split("/").slice(-3).join("/"));

/** Runs async tasks, at most `width` at a time; resolves with their results in order. */
export async function pool(tasks, width) {
  const results = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, tasks.length) }, async () => {
      while (next < tasks.length) {
        const k = next++;
        results[k] = await tasks[k]();
      }
    }),
  );
  return results;
}
