// Whole-file operations of the web app (issue 18): "Today" and "New page" (names the desktop
// would give, web/src/write/names.js), delete a page (asks first; a delete_files of the
// version the person saw), restore any version from a page's history (deleted pages too), and
// undo this browser's last commit. Every write goes through writer.js (never clobbering: a
// page that changed meanwhile comes back as a merge to confirm). Page text only ever goes into
// text nodes and textareas.

import { crypto } from "../crypto/crypto.js";
import { call } from "./api.js";
import { bytes, h, on, when } from "./dom.js";
import { remove, save, undoLast } from "./writer.js";
import { localDay, newJournal, newPage, readConfig, journalPath } from "../write/names.js";
import { fileBody, titleFromFileBody } from "../read/titles.js";

/** A message as a sentence (a final full stop when it has none). */
export const sentence = (m) => (/[.!?)]$/.test(m) ? m : `${m}.`);

/** What went wrong, for the person (a refused token refresh means the sign-in was revoked). */
export function errorText(e) {
  if (e?.api === "/oauth2/token" && (e.status === 400 || e.status === 401)) {
    return "You are signed out: this browser's sign-in was revoked or expired (sign in again).";
  }
  if (e?.status === 403 && /storage-limit/.test(e.message ?? "")) {
    return "Your storage on the server is full (its storage limit): nothing was written.";
  }
  if (e?.status === 403 && /^upload failed/.test(e.message ?? "")) {
    return "The upload link expired or was refused (HTTP 403): nothing was written.";
  }
  return e?.userMessage ?? e?.message ?? String(e);
}
const pageRoute = (path) => `#/page/${encodeURIComponent(path)}`;
const titleOf = (path) =>
  path
    .split("/")
    .pop()
    .replace(/\.(md|org)$/i, "");

function say(el, text, kind = "error") {
  el.className = `msg ${kind}`;
  el.textContent = text;
}

/** The graph's settings from logseq/config.edn (defaults when absent or unreadable). */
async function configOf(graph) {
  try {
    return readConfig(await graph.config());
  } catch {
    return readConfig(null);
  }
}

/**
 * An in-page dialog (a modal <dialog>: works on phones, no window.confirm): `content` and
 * buttons [{label, value, kind}]; resolves with the chosen value (null when dismissed).
 */
export function ask(title, content, buttons) {
  return new Promise((resolve) => {
    const d = h("dialog", { class: "ops-dialog", "aria-labelledby": "ops-dialog-title" });
    const done = (v) => {
      d.close();
      d.remove();
      resolve(v);
    };
    d.append(
      h("h2", { id: "ops-dialog-title" }, title),
      ...[content].flat().filter(Boolean),
      h(
        "p",
        { class: "ops-buttons" },
        ...buttons.map((b) =>
          on(h("button", { type: "button", class: b.kind ?? "", "data-choice": b.value }, b.label), "click", () =>
            done(b.value),
          ),
        ),
      ),
    );
    on(d, "cancel", (ev) => {
      ev.preventDefault();
      done(null);
    });
    document.body.append(d);
    d.showModal();
  });
}

/**
 * What a write's result means for the person; a merge (the file changed since) is shown with
 * both sides marked and committed only when confirmed. Resolves true when committed.
 */
export async function settle(graph, path, result, status) {
  if (result.status === "committed" || result.status === "deleted") return true;
  if (result.status === "unchanged") {
    say(status, "Nothing to change: the file already has this text.", "info");
    return true;
  }
  if (result.status === "gone") {
    say(status, "Another device deleted it already.", "info");
    return true;
  }
  if (result.status === "changed") {
    say(status, "It changed on another device since you opened it: nothing was deleted. Look at it again first.");
    return false;
  }
  if (result.status === "needs-confirmation") {
    const blocks = h(
      "ol",
      { class: "ops-merge", id: "ops-merge" },
      ...result.merge.blocks.map((b) =>
        h(
          "li",
          { class: `side-${b.side}${b.conflict ? " conflict" : ""}` },
          h("span", { class: "small muted" }, b.side === "current" ? "yours" : b.side === "incoming" ? "theirs" : ""),
          h("pre", {}, b.raw),
        ),
      ),
    );
    const choice = await ask(
      "The page changed meanwhile",
      [
        h(
          "p",
          {},
          `${path} was changed on another device. Both versions are merged below (yours / theirs marked${result.merge.conflicts ? `; ${result.merge.conflicts} block(s) were changed on both sides and are both kept` : ""}).`,
        ),
        blocks,
      ],
      [
        { label: "Save the merge", value: "save", kind: "primary" },
        { label: "Cancel", value: "cancel" },
      ],
    );
    if (choice !== "save") {
      say(status, "Not saved: nothing was written.", "info");
      return false;
    }
    const again = await save(graph, { path, base: result.remote, txid: result.txid, text: result.mergedText });
    return settle(graph, path, again, status);
  }
  say(status, `Not saved: ${sentence(errorText(result.error))} Your text is kept here; try again.`);
  return false;
}

// --- Today and New page ---

/** "Today": opens today's journal, or a screen to create it (the template's blocks if one is configured). */
export async function todayScreen({ graph, show: showAll, go }) {
  const show = (title, ...children) => showAll(title, ...children.filter(Boolean));
  const config = await configOf(graph);
  const day = localDay();
  let journal;
  try {
    journal = journalPath(day, config);
  } catch (e) {
    return show("Today", h("p", { class: "msg error" }, errorText(e)));
  }
  if (graph.byPath.has(journal.path)) return go(pageRoute(journal.path));
  let pages = [];
  if (config.journalTemplate) {
    const paths = graph
      .files()
      .map((f) => f.path)
      .filter((p) => /\.(md|org)$/i.test(p));
    pages = await Promise.all(paths.map(async (p) => ({ path: p, text: await graph.text(p).catch(() => "") })));
  }
  const first = h("textarea", { id: "ops-first", rows: "4", "aria-label": "first block" });
  const status = h("p", { class: "msg", role: "status", id: "ops-status" });
  const preview = h("pre", { class: "ops-preview", id: "ops-preview" });
  const time = () => {
    const d = new Date();
    return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  };
  const make = () => newJournal({ day, config, pages, firstBlock: first.value, time: time() });
  const template = make().template;
  const refresh = () => {
    preview.textContent = make().text;
  };
  on(first, "input", refresh);
  refresh();
  const create = on(
    h("button", { type: "button", id: "ops-create", class: "primary" }, "Create"),
    "click",
    async () => {
      create.disabled = true;
      say(status, "Saving…", "info");
      const j = make();
      try {
        const r = await save(graph, { path: j.path, base: null, txid: graph.txid, text: j.text });
        if (await settle(graph, j.path, r, status)) go(pageRoute(j.path));
      } catch (e) {
        say(status, `Not saved: ${sentence(errorText(e))} Your text is kept here; try again.`);
      } finally {
        create.disabled = false;
      }
    },
  );
  show(
    journal.title,
    h("h1", {}, journal.title),
    h("p", { class: "small muted" }, "New journal file ", h("code", { id: "ops-path" }, journal.path)),
    template
      ? h("p", { class: "small muted" }, `From the journal template “${template}”.`)
      : h("label", { for: "ops-first" }, "First block"),
    template ? null : first,
    h("p", { class: "small muted" }, "The file will hold:"),
    preview,
    create,
    status,
  );
  (template ? create : first).focus();
}

/** "New page": a title, the file name the desktop gives it (or why it cannot be synced), a first block. */
export async function newPageScreen({ graph, show, go }) {
  const config = await configOf(graph);
  const title = h("input", { type: "text", id: "ops-title", autocomplete: "off", "aria-label": "title" });
  const first = h("textarea", { id: "ops-first", rows: "4", "aria-label": "first block" });
  const name = h("p", { class: "small", id: "ops-name", role: "status" });
  const status = h("p", { class: "msg", role: "status", id: "ops-status" });
  const create = h("button", { type: "submit", id: "ops-create", class: "primary", disabled: true }, "Create");
  let planned = null;
  const refresh = () => {
    planned = null;
    create.disabled = true;
    if (!title.value.trim()) {
      name.className = "small muted";
      name.textContent = "Type a title.";
      return;
    }
    try {
      planned = newPage(title.value, config, first.value);
    } catch (e) {
      name.className = "small msg error";
      name.textContent = errorText(e);
      return;
    }
    if (graph.byPath.has(planned.path)) {
      name.className = "small msg error";
      name.replaceChildren(
        "A page with this file name exists already: ",
        h("a", { href: pageRoute(planned.path) }, planned.path),
      );
      planned = null;
      return;
    }
    name.className = "small muted";
    name.replaceChildren("File: ", h("code", {}, planned.path));
    create.disabled = false;
  };
  on(title, "input", refresh);
  on(first, "input", refresh);
  const form = on(
    h(
      "form",
      { id: "ops-new" },
      h("label", { for: "ops-title" }, "Title"),
      title,
      name,
      h("label", { for: "ops-first" }, "First block"),
      first,
      create,
      status,
    ),
    "submit",
    async (ev) => {
      ev.preventDefault();
      refresh();
      if (!planned) return;
      const p = planned;
      create.disabled = true;
      say(status, "Saving…", "info");
      try {
        const r = await save(graph, { path: p.path, base: null, txid: graph.txid, text: p.text });
        if (await settle(graph, p.path, r, status)) go(pageRoute(p.path));
      } catch (e) {
        say(status, `Not saved: ${sentence(errorText(e))} Your text is kept here; try again.`);
      } finally {
        create.disabled = false;
      }
    },
  );
  refresh();
  show("New page", h("h1", {}, "New page"), form);
  title.focus();
}

// --- delete, undo ---

const isPage = (path) => /\.(md|org)$/i.test(path);
const isAsset = (path) => path.startsWith("assets/");

/** The page screen's buttons: Delete (pages and assets only) and "Undo last change" (this browser's last commit). */
export function pageTools({ graph, path, go }) {
  const status = h("p", { class: "msg", role: "status", id: "ops-page-status" });
  const out = [];
  if (isPage(path) || isAsset(path)) {
    out.push(
      on(h("button", { type: "button", id: "ops-delete", class: "danger" }, "Delete"), "click", async () => {
        const f = graph.byPath.get(path);
        if (!f) return say(status, "This page is not in the graph (deleted meanwhile?).");
        const seen = f.checksum;
        const choice = await ask(
          "Delete this page?",
          h(
            "p",
            {},
            `Delete ${path} on every device? Its text stays in its history for 30 days (Recent changes → it → Restore).`,
          ),
          [
            { label: "Delete", value: "delete", kind: "danger" },
            { label: "Cancel", value: "cancel" },
          ],
        );
        if (choice !== "delete") return;
        say(status, "Deleting…", "info");
        try {
          const r = await remove(graph, { path, checksum: seen });
          if (await settle(graph, path, r, status)) go("#/pages");
        } catch (e) {
          say(status, `Not deleted: ${errorText(e)}`);
        }
      }),
    );
  }
  const last = graph.lastCommit;
  if (last) {
    const what = (name) =>
      last.after === null ? `bring back ${name}` : last.before === null ? `remove ${name}` : name;
    const undo = h("button", { type: "button", id: "ops-undo" }, `Undo last change (${what(titleOf(last.path))})`);
    // the page's title as the reader shows it (the file name body decoded by the graph's name format)
    configOf(graph).then((config) => {
      if (!isPage(last.path)) return;
      undo.textContent = `Undo last change (${what(titleFromFileBody(fileBody(last.path), config.fileNameFormat))})`;
    });
    out.push(
      on(undo, "click", async () => {
        undo.disabled = true;
        say(status, "Undoing…", "info");
        try {
          const r = await undoLast(graph);
          if (r && (await settle(graph, last.path, r, status))) {
            say(status, "Undone.", "ok");
            go(graph.byPath.has(last.path) ? pageRoute(last.path) : "#/pages");
          }
        } catch (e) {
          say(status, `Not undone: ${errorText(e)}`);
        } finally {
          undo.disabled = false;
        }
      }),
    );
  }
  out.push(status);
  return out;
}

// --- restore ---

/**
 * "Restore this version" for one history entry: asks, then commits the version's text as the
 * page's new version (a merge to confirm when the page changed since this browser read it; a
 * deleted page is created again).
 */
export function restoreButton({ graph, path, version, text }) {
  // what the person sees now is the base: a change arriving after this is merged, not overwritten
  const f = graph.byPath.get(path);
  const seen = f ? graph.text(path).then((t) => ({ text: t, checksum: f.checksum })) : Promise.resolve(null);
  seen.catch(() => {});
  const status = h("span", { class: "msg small", role: "status" });
  const b = on(
    h("button", { type: "button", "data-restore": version.id, class: "ops-restore" }, "Restore this version"),
    "click",
    async () => {
      const choice = await ask(
        "Restore this version?",
        [
          h(
            "p",
            {},
            `Make the version of ${when(version.time)} the current text of ${path}? The current text stays in its history.`,
          ),
          h("pre", { class: "ops-preview" }, text),
        ],
        [
          { label: "Restore", value: "restore", kind: "primary" },
          { label: "Cancel", value: "cancel" },
        ],
      );
      if (choice !== "restore") return;
      b.disabled = true;
      say(status, "Restoring…", "info");
      try {
        const r = await save(graph, { path, base: await seen, txid: graph.txid, text });
        if (await settle(graph, path, r, status)) graph.navigate(pageRoute(path));
      } catch (e) {
        say(status, `Not restored: ${errorText(e)}`);
      } finally {
        b.disabled = false;
      }
    },
  );
  return h("span", { class: "ops-restore-box" }, b, status);
}

/** A page's versions by its path, also for a deleted page (its encrypted name is its name). */
async function versionsOf(graph, path) {
  const [name] = await crypto.encryptNames(graph.uuid, [path]);
  const r = await call("get_file_version_list", { GraphUUID: graph.uuid, File: name });
  return (r?.VersionList ?? [])
    .map((v) => ({ id: `${v.FileUUID}/${v.VersionUUID}`, time: v.CreateTime }))
    .sort((a, b) => b.time - a.time);
}

/** `#/restore/<path>`: the kept versions of a page (deleted or not), each with "Restore this version". */
export async function restoreScreen({ graph, path, show: showAll }) {
  const show = (title, ...children) => showAll(title, ...children.filter(Boolean));
  const list = h("ul", { class: "list", id: "ops-versions" }, h("li", { class: "muted" }, "Loading versions…"));
  const gone = !graph.byPath.has(path);
  show(
    `Restore: ${titleOf(path)}`,
    h("h1", {}, gone ? "Deleted: " : "Versions of ", h("code", {}, path)),
    gone
      ? h("p", { class: "small muted" }, "This page was deleted. Restoring a version creates it again on every device.")
      : h("p", { class: "small" }, h("a", { href: pageRoute(path) }, "Open the page")),
    list,
  );
  try {
    const versions = await versionsOf(graph, path);
    if (!versions.length) {
      list.replaceChildren(h("li", { class: "muted" }, "No versions are kept for this page."));
      return;
    }
    const texts = await graph.versionTexts(versions.map((v) => v.id));
    list.replaceChildren(
      ...versions.map((v, i) => {
        const t = texts[i];
        return h(
          "li",
          { class: "row" },
          h("span", {}, when(v.time)),
          h("span", { class: "small muted" }, t?.error ? t.error : bytes(t?.size)),
          t?.error ? null : h("span", { class: "snippet" }, t.text.slice(0, 120)),
          t?.error || !isPage(path) ? null : restoreButton({ graph, path, version: v, text: t.text }),
        );
      }),
    );
  } catch (e) {
    list.replaceChildren(h("li", { class: "msg error" }, errorText(e)));
  }
}
