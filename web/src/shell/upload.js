// Photos and files into the graph's assets/ (issue 18): pick or take a photo (or any file),
// check it against the server's limits before anything is sent, encrypt it in the crypto
// worker, PUT it with progress and commit it under the name the desktop would give it
// (web/src/write/assets.js), then hand back the link the desktop would insert. The bytes are
// kept in memory until committed, so a failure offers "Try again" without picking again.

import { call } from "./api.js";
import { h, on } from "./dom.js";
import { save, startEdit } from "./writer.js";
import { assetLink, assetPath, formatBytes, MAX_OBJECT_BYTES, uploadRefusal } from "../write/assets.js";
import { formatOfPath } from "../write/blocks.js";
import { applyEdit, openPage } from "../write/splice.js";
import { errorText, sentence, settle } from "./pageops.js";

/** The account's storage (user_info: StorageLimit, StorageUsage), or null when it cannot be read. */
export async function storage() {
  try {
    const r = await call("user_info", {});
    return Number.isFinite(r?.StorageLimit) ? { limit: r.StorageLimit, usage: r.StorageUsage ?? 0 } : null;
  } catch {
    return null;
  }
}

/** "Up to 97.7 MB a file; 4.9 GB of 5.0 GB free" */
export function limitsText(s) {
  const perFile = `Files under ${formatBytes(MAX_OBJECT_BYTES)}`;
  return s
    ? `${perFile}; ${formatBytes(Math.max(0, s.limit - s.usage))} of ${formatBytes(s.limit)} storage free.`
    : `${perFile}.`;
}

/**
 * Uploads one picked file into assets/ and commits it (a new file: never over another).
 * @returns {Promise<{path: string, result: object}>} writer.save's result for the asset
 * @throws Error with .userMessage when the file is over a limit (nothing was sent)
 */
export async function uploadFile(graph, file, { onProgress, limits, again = null } = {}) {
  const why = uploadRefusal(file.size, limits === undefined ? await storage() : limits);
  if (why) throw Object.assign(new Error(why), { userMessage: why });
  // a retry keeps the name and reuses an upload that was PUT but not committed
  const path = again?.path ?? assetPath(file.name || "image.png", { now: Date.now() });
  const bytes = new Uint8Array(await file.arrayBuffer());
  const result = await save(
    graph,
    { path, base: null, txid: graph.txid, text: bytes, upload: again?.upload ?? null },
    { onProgress },
  );
  return { path, result };
}

/**
 * A button that picks (or, on a phone, takes) a photo or any file, uploads it with progress and
 * calls `onLink(linkText)` with the Markdown/Org link the desktop would insert for a page at
 * `pagePath` (default: a page in pages/). The limits are shown under it before anything is picked.
 * @param {{graph: object, onLink: (link: string) => unknown, pagePath?: string, format?: "markdown"|"org", label?: string}} o
 */
export function attachButton({ graph, onLink, pagePath = "pages/_.md", format, label = "Add photo or file" }) {
  const input = h("input", { type: "file", class: "ops-file", id: `ops-file-${Math.random().toString(36).slice(2)}` });
  const pick = h("label", { for: input.id, class: "button ops-pick", role: "button", tabindex: "0" }, label);
  const limits = h("p", { class: "small muted ops-limits" }, limitsText(null));
  const bar = h("progress", { class: "ops-progress", max: "100", value: "0", hidden: true });
  const status = h("p", { class: "msg", role: "status" });
  const retry = h("button", { type: "button", class: "ops-retry", hidden: true }, "Try again");
  let known;
  storage().then((s) => {
    known = s;
    limits.textContent = limitsText(s);
  });
  on(pick, "keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      input.click();
    }
  });
  let pending = null;
  let again = null;
  const run = async () => {
    const file = pending;
    if (!file) return;
    retry.hidden = true;
    input.disabled = true; // one upload at a time
    bar.hidden = false;
    bar.value = 0;
    status.className = "msg info";
    status.textContent = `Uploading ${file.name} (${formatBytes(file.size)})…`;
    try {
      const { path, result } = await uploadFile(graph, file, {
        limits: known,
        again,
        onProgress: ({ sent, total }) => {
          bar.value = total ? Math.round((sent / total) * 100) : 0;
          status.textContent = `Uploading ${file.name}: ${formatBytes(sent)} of ${formatBytes(total)}`;
        },
      });
      again = { path, upload: result.upload ?? null };
      if (result.status !== "committed") {
        status.className = "msg error";
        status.textContent = `Not uploaded: ${sentence(errorText(result.error))} The file is kept here.`;
        retry.hidden = false;
        return;
      }
      pending = null;
      status.className = "msg ok";
      status.textContent = `Uploaded as ${path}.`;
      const fmt = format ?? formatOfPath(pagePath);
      await onLink(assetLink({ format: fmt, pagePath, assetPath: path, label: file.name || "image" }));
    } catch (e) {
      status.className = "msg error";
      const limit = Boolean(e.userMessage) && e.status === undefined; // over a limit: nothing to retry
      status.textContent = limit ? e.userMessage : `Not uploaded: ${sentence(errorText(e))} The file is kept here.`;
      retry.hidden = limit;
    } finally {
      bar.hidden = true;
      input.disabled = false;
      input.value = "";
    }
  };
  on(input, "change", () => {
    pending = input.files?.[0] ?? null;
    again = null;
    run();
  });
  on(retry, "click", run);
  return h("div", { class: "ops-attach" }, input, pick, limits, bar, status, retry);
}

/**
 * The page screen's "Add photo": uploads, then appends a new block holding the link at the end
 * of the page (splice.js) and commits it (a merge to confirm if the page changed meanwhile).
 */
export function addPhotoButton({ graph, path }) {
  const format = formatOfPath(path);
  const status = h("p", { class: "msg", role: "status", id: "ops-photo-status" });
  const retry = h("button", { type: "button", hidden: true }, "Add the link again");
  let link = null;
  const addLink = async () => {
    retry.hidden = true;
    status.className = "msg info";
    status.textContent = "Adding the link to the page…";
    try {
      const edit = await startEdit(graph, path);
      const text = applyEdit(openPage(edit.base?.text ?? "", { format }), { type: "add", index: -1, text: link }).text;
      const r = await save(graph, { ...edit, text, format });
      if (await settle(graph, path, r, status)) {
        status.className = "msg ok";
        status.textContent = "Added to the page.";
        link = null;
        return;
      }
    } catch (e) {
      status.className = "msg error";
      status.textContent = `The file is uploaded but the page was not saved: ${errorText(e)}`;
    }
    retry.hidden = link === null;
  };
  on(retry, "click", addLink);
  const button = attachButton({
    graph,
    pagePath: path,
    format,
    label: "Add photo",
    onLink: (l) => {
      link = l;
      return addLink();
    },
  });
  button.id = "ops-photo";
  return h("div", { class: "ops-photo" }, button, status, retry);
}
