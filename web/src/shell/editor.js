// The page editor (issue 18 "Edit a page", "Commit, never clobber", "Offline", "Live";
// docs/WEB.md "Writing from the browser"): `#/edit/<path>` edits a Markdown or Org page block
// by block, `#/pending` lists what is not committed yet. Every change is a splice.js edit (only
// the edited blocks' characters change), run in the edit worker (edit.worker.js) so a parse
// never blocks typing; every commit goes through writer.save (never over a change it has not
// seen: a changed file comes back as a merge to confirm). Unsaved work is kept by drafts.js
// (memory, and encrypted on disk unless "this is not my device"); a save without a connection
// is queued and committed when the connection returns, through the same merge rule.
// Page text only ever goes into text nodes and textarea values.

import { persistent } from "./api.js";
import { h, message, on, when } from "./dom.js";
import { editable } from "./editable.js";
import * as drafts from "./drafts.js";
import { attachButton } from "./upload.js";
import { save, startEdit } from "./writer.js";
import { readConfig } from "../write/names.js";
import { formatOfPath } from "../write/blocks.js";

const PREVIEW_LINES = 6; // a block that is not being edited shows this many lines
const MAX_DEPTH_CLASS = 8;

// --- the edit worker ---

let worker = null;
let nextId = 1;
const waiting = new Map();

function work(op, args) {
  if (!worker) {
    worker = new Worker(new URL("./edit.worker.js", import.meta.url), { type: "module", name: "edit" });
    worker.onmessage = (ev) => {
      const { id, ok, value, error } = ev.data;
      const w = waiting.get(id);
      waiting.delete(id);
      if (ok) w?.resolve(value);
      else w?.reject(Object.assign(new Error(error), { userMessage: error }));
    };
    worker.onerror = (ev) => {
      const e = new Error(`the edit worker failed: ${ev.message ?? "unknown error"}`);
      for (const w of waiting.values()) w.reject(e);
      waiting.clear();
      worker = null;
    };
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, op, ...args });
  });
}

// --- the open editor (one at a time) ---

/** The open editing session, or null. */
let session = null;

/**
 * Inserts text at the cursor of the block being edited (the photo button of web/src/shell/upload.js
 * calls this with the link it made). Returns false when no block is being edited.
 */
/** The id of the kept edit open in the editor (the queue leaves it to the person), or null. */
export function editingDraftId() {
  return session?.draftId ?? null;
}

export function insertIntoEditor(text) {
  const ta = session?.textarea;
  if (!ta?.isConnected) return false;
  const start = ta.selectionStart ?? ta.value.length;
  const end = ta.selectionEnd ?? start;
  ta.setRangeText(text, start, end, "end");
  ta.dispatchEvent(new Event("input", { bubbles: true }));
  ta.focus();
  return true;
}

// Closing the tab with unsaved work warns (the text is also kept as a draft).
window.addEventListener("beforeunload", (ev) => {
  if (session?.unsaved()) {
    ev.preventDefault();
    ev.returnValue = "";
  }
});

function errorText(e) {
  return e?.userMessage ?? e?.message ?? String(e);
}

/** What a failed save tells the person (their text is always kept). */
export function failureText(r) {
  const e = r.error;
  const status = e?.status;
  const why = errorText(e);
  if (r.stage === "put")
    return `The upload failed (${why}). Nothing was committed and your text is kept: save again to retry.`;
  if (status === 0) return "No connection. Your edit is queued and commits when the connection returns.";
  // A revoked sign-in: the API answers 401 and the refresh token is refused at /oauth2/token.
  if (status === 401 || (e?.api === "/oauth2/token" && status >= 400 && status < 500))
    return "You are signed out: this browser's sign-in was revoked or expired. Your text is kept on this device: sign out, sign in again, open this page and its kept edit, then save.";
  if (/storage-limit/.test(why))
    return "Your storage on this server is full: the commit was refused and nothing was applied. Your text is kept: free space (delete pages or assets you no longer need, or ask the server's admin to raise STORAGE_LIMIT_BYTES), then save again.";
  if (r.stage === "update" && /limit|quota|storage|too large|exceed/i.test(why))
    return `The server refused the commit: ${why}. Nothing was committed; your text is kept.`;
  return `Not saved (${r.stage}: ${why}). Nothing half-done was committed; your text is kept: save again to retry.`;
}

/**
 * A save that met no connection (queued, committed when the connection returns). A PUT that
 * breaks off while the browser is online is an upload failure instead: saving again retries it.
 */
export const isOffline = (r) =>
  r.status === "failed" && (!navigator.onLine || (r.error?.status === 0 && r.stage !== "put"));

/**
 * `#/edit/<path>`: the block editor. `ui` is the shell's {screen, go, setLeave}.
 */
export async function editScreen(graph, path, params, ui) {
  const title = path
    .split("/")
    .pop()
    .replace(/\.(md|markdown|org)$/i, "");
  if (!editable(path)) {
    ui.screen(title, h("p", { class: "msg error" }, `${path} is read-only in the app: only pages are edited here.`));
    return;
  }
  const format = formatOfPath(path);
  const status = h("p", { class: "msg info", id: "edit-status", role: "status" }, "Opening…");
  const banner = h("div", { id: "edit-banner", class: "edit-banner" });
  const list = h("ol", { id: "blocks", class: "blocks", "aria-label": "blocks" });
  const saveButton = h("button", { type: "button", id: "edit-save" }, "Save");
  const discardButton = h("button", { type: "button", id: "edit-discard", class: "secondary" }, "Discard");
  const closeLink = h(
    "a",
    { href: `#/page/${encodeURIComponent(path)}`, class: "button secondary", id: "edit-close" },
    "Close",
  );
  const addEnd = h("button", { type: "button", id: "edit-add-end", class: "secondary" }, "+ Block at the end");
  const root = h(
    "div",
    { id: "editor", class: "editor" },
    h("p", { class: "small muted edit-path" }, h("code", {}, path)),
    banner,
    list,
    addEnd,
    // A photo or file: uploaded into assets/ at once, its link typed at the cursor of the block
    // being edited, or added as a new block at the end when none is (saved with the page).
    attachButton({
      graph,
      pagePath: path,
      format,
      onLink: (link) => {
        if (insertIntoEditor(link)) return;
        if (s.busy) return say(`Uploaded. The editor was busy: type this link where it belongs: ${link}`);
        apply({ type: "add", index: -1, position: "after", text: link }, { select: s.view.blocks.length });
      },
    }),
    h("div", { class: "edit-bar" }, saveButton, discardButton, closeLink, status),
  );
  ui.screen(`Edit: ${title}`, root);

  let bulletIndentation;
  try {
    bulletIndentation = readConfig(await graph.config()).bulletIndentation;
  } catch {
    bulletIndentation = undefined;
  }

  const s = {
    graph,
    path,
    format,
    base: null,
    txid: graph.txid,
    text: "",
    view: { blocks: [] },
    selected: null, // index of the block being edited
    original: null, // its text when the person started editing it
    textarea: null,
    draftId: drafts.newId(),
    kind: "draft", // "queued" once a save met no connection
    created: null,
    upload: null,
    busy: false,
    closed: false,
    unsaved() {
      return this.text !== (this.base?.text ?? "") || this.dirty();
    },
    dirty() {
      return Boolean(this.textarea && this.original !== null && this.textarea.value !== this.original);
    },
  };
  session = s;

  const say = (text, kind = "info") => {
    status.className = `msg ${kind}`;
    status.textContent = text;
  };
  const setBusy = (b) => {
    s.busy = b;
    root.classList.toggle("busy", b);
    for (const el of root.querySelectorAll(".blk-tools button, .edit-bar button, #edit-add-end")) el.disabled = b;
  };

  // --- drafts ---

  let draftTimer = null;
  const record = (kind = s.kind) => ({
    id: s.draftId,
    graph: graph.uuid,
    kind,
    path,
    base: s.base,
    txid: s.txid,
    text: s.text,
    block: s.dirty() ? { index: s.selected, text: s.textarea.value } : null,
    upload: s.upload,
    created: s.created,
  });
  const keepDraft = async (kind = s.kind) => {
    clearTimeout(draftTimer);
    if (!s.unsaved()) return drafts.drop(graph.uuid, s.draftId);
    const r = await drafts.keep(record(kind));
    s.created = r.created;
  };
  const keepDraftSoon = () => {
    clearTimeout(draftTimer);
    draftTimer = setTimeout(() => keepDraft().catch(() => {}), 600);
  };

  // --- rendering ---

  const depthClass = (d) => `d${Math.min(Math.max(d, 0), MAX_DEPTH_CLASS)}`;
  const previewOf = (text) => {
    const lines = text.split("\n");
    if (lines.length <= PREVIEW_LINES) return text || " ";
    return `${lines.slice(0, PREVIEW_LINES).join("\n")}\n… (${lines.length - PREVIEW_LINES} more lines)`;
  };
  const toolButton = (id, label, aria, fn) =>
    on(h("button", { type: "button", id, class: "tool", "aria-label": aria, title: aria }, label), "click", fn);

  function renderBlocks(focusCaret = null) {
    s.textarea = null;
    list.replaceChildren(
      ...s.view.blocks.map((b) => {
        const li = h("li", { class: `blk ${depthClass(b.depth)}`, "data-index": b.index });
        if (b.index !== s.selected) {
          li.append(
            on(
              h(
                "button",
                { type: "button", class: "blk-show", "aria-label": `edit block ${b.index + 1}` },
                previewOf(b.text),
              ),
              "click",
              () => select(b.index),
            ),
          );
          if (b.marker === "DONE") li.classList.add("done");
          return li;
        }
        li.classList.add("selected");
        const lines = b.text.split("\n").length;
        const ta = h("textarea", {
          id: "block-text",
          class: "blk-text",
          rows: String(Math.min(Math.max(lines + 1, 3), 14)),
          autocapitalize: "sentences",
          spellcheck: "true",
          "aria-label": "block text",
        });
        ta.value = b.text;
        s.original = b.text;
        on(ta, "input", () => {
          if (!root.classList.contains("unsaved")) say("Not saved yet.");
          root.classList.add("unsaved");
          keepDraftSoon();
        });
        s.textarea = ta;
        li.append(
          h(
            "div",
            { class: "blk-tools", role: "toolbar", "aria-label": "block tools" },
            toolButton("tb-todo", b.marker === "DONE" ? "↺ TODO" : "✓ DONE", "toggle TODO / DONE", () =>
              structural({ type: "toggle", index: s.selected }),
            ),
            toolButton("tb-outdent", "⇤", "outdent", () => structural({ type: "outdent", index: s.selected })),
            toolButton("tb-indent", "⇥", "indent", () => structural({ type: "indent", index: s.selected })),
            toolButton("tb-up", "↑", "move up", () => structural({ type: "moveUp", index: s.selected })),
            toolButton("tb-down", "↓", "move down", () => structural({ type: "moveDown", index: s.selected })),
            toolButton("tb-add", "+", "new block after this one", () =>
              structural({ type: "add", index: s.selected, position: "after", text: "" }),
            ),
            toolButton("tb-delete", "✕", "delete this block and its children", () => {
              if (window.confirm("Delete this block and everything under it?"))
                structural({ type: "delete", index: s.selected });
            }),
            toolButton("tb-done", "Done", "stop editing this block", () => select(null)),
          ),
          ta,
        );
        return li;
      }),
    );
    if (s.textarea && focusCaret !== false) {
      s.textarea.focus({ preventScroll: false });
      if (typeof focusCaret === "number") s.textarea.setSelectionRange(focusCaret, focusCaret);
      s.textarea.scrollIntoView({ block: "nearest" });
    }
    root.classList.toggle("unsaved", s.unsaved());
    for (const el of root.querySelectorAll(".blk-tools button")) el.disabled = s.busy;
  }

  /** Applies the block's typed text (and maybe one more edit) in the worker; re-renders. */
  async function apply(extra, { select: next } = {}) {
    const edits = [];
    const typed = s.dirty() ? s.textarea.value : null;
    if (typed !== null) edits.push({ type: "edit", index: s.selected, text: typed });
    if (extra) edits.push(extra);
    if (!edits.length) {
      if (next !== undefined) {
        s.selected = next;
        s.original = null;
        renderBlocks();
      }
      return true;
    }
    setBusy(true);
    say(edits.length > 1 || extra ? "Applying…" : "Applying the block's text…");
    try {
      const r = await work("apply", { text: s.text, format, bulletIndentation, edits });
      if (s.closed) return false;
      s.text = r.text;
      s.view = r.view;
      s.selected = next !== undefined ? next : extra ? r.selected : s.selected;
      if (s.selected !== null && s.selected >= s.view.blocks.length) s.selected = s.view.blocks.length - 1;
      s.original = null;
      // Typed while the worker ran: kept in the re-rendered textarea.
      const later = s.textarea && typed !== null && s.textarea.value !== typed ? s.textarea.value : null;
      renderBlocks(false);
      if (later !== null && s.textarea) s.textarea.value = later;
      if (s.textarea) s.textarea.focus();
      say(s.unsaved() ? "Not saved yet." : "No changes.");
      await keepDraft().catch(() => {});
      return true;
    } catch (e) {
      // The edit was not possible (e.g. indenting a first block): nothing changed, text kept.
      say(errorText(e), "error");
      return false;
    } finally {
      setBusy(false);
    }
  }

  function structural(edit) {
    if (s.busy || s.selected === null) return;
    return apply(edit);
  }

  async function select(index) {
    if (s.busy) return;
    if (s.dirty()) {
      await apply(null, { select: index });
      return;
    }
    s.selected = index;
    s.original = null;
    renderBlocks();
  }

  const rerender = (caret) => renderBlocks(caret);

  async function reopen(text, { keepSelection = true } = {}) {
    s.text = text;
    s.view = await work("open", { text, format, bulletIndentation });
    if (!keepSelection || s.selected === null || s.selected >= s.view.blocks.length) s.selected = null;
    s.original = null;
    rerender(false);
  }

  // --- saving ---

  async function saveNow() {
    if (s.busy) return;
    if (!(await apply(null))) return;
    if (!s.unsaved()) {
      say("No changes to save.");
      return;
    }
    setBusy(true);
    say("Saving…");
    // Kept before anything is sent: a tab closed between the upload and the commit loses nothing.
    await keepDraft().catch(() => {});
    let r;
    try {
      r = await save(graph, { path, base: s.base, txid: s.txid, text: s.text, upload: s.upload });
    } catch (e) {
      r = { status: "failed", stage: "save", error: e, text: s.text, upload: s.upload };
    }
    setBusy(false);
    await handle(r);
  }

  async function handle(r) {
    if (s.closed) return;
    if (r.status === "committed" || r.status === "unchanged") {
      s.base = { text: s.text, checksum: r.checksum };
      s.txid = r.txid;
      s.upload = null;
      await drafts.drop(graph.uuid, s.draftId);
      s.draftId = drafts.newId();
      s.kind = "draft";
      s.created = null;
      root.classList.remove("unsaved");
      say(
        r.status === "committed" ? `Saved (transaction ${r.txid}).` : "Saved (the server already had this text).",
        "ok",
      );
      return;
    }
    if (r.status === "needs-confirmation") {
      s.upload = r.upload ?? null;
      showMerge(r, "save");
      return;
    }
    s.upload = r.upload ?? s.upload;
    if (isOffline(r)) {
      s.kind = "queued";
      await keepDraft().catch(() => {});
      say("No connection: your edit is queued and commits when the connection returns (see Pending).", "error");
      return;
    }
    await keepDraft().catch(() => {});
    say(failureText(r), "error");
  }

  // --- the merge preview ---

  function showMerge(r, mode) {
    const blocks = r.merge?.blocks ?? [];
    const conflicts = r.merge?.conflicts ?? 0;
    const rescued = Array.isArray(r.merge?.rescued) ? r.merge.rescued.length : (r.merge?.rescued ?? 0);
    const sideLabel = { base: "unchanged", current: "yours", incoming: "other device" };
    const confirm = h(
      "button",
      { type: "button", id: "merge-confirm" },
      mode === "save" ? "Commit the merged page" : "Use the merged page",
    );
    const editFirst = h("button", { type: "button", id: "merge-edit", class: "secondary" }, "Edit it first");
    const back = h("button", { type: "button", id: "merge-back", class: "secondary" }, "Back to my version");
    const msg = h("p", { class: "msg", role: "status", id: "merge-status" });
    const box = h(
      "div",
      { id: "merge", class: "merge" },
      h("h1", {}, "This page changed on another device"),
      h(
        "p",
        {},
        mode === "save"
          ? "Your edit and the other device's were merged. Nothing is committed until you confirm."
          : "A change from another device touches the block you are editing. Here is the merge; your text is kept either way.",
      ),
      conflicts
        ? h(
            "p",
            { class: "msg error", id: "merge-conflicts" },
            `${conflicts} block${conflicts === 1 ? " was" : "s were"} changed on both sides: both versions are kept, one after the other (marked “both changed”). Edit it first to keep only one.`,
          )
        : null,
      rescued
        ? h(
            "p",
            { class: "small muted" },
            `${rescued} change${rescued === 1 ? "" : "s"} to blocks with an id:: kept that Logseq's own merge would drop.`,
          )
        : null,
      h(
        "p",
        { class: "merge-legend small" },
        h("span", { class: "side current" }, "yours"),
        h("span", { class: "side incoming" }, "other device"),
        h("span", { class: "side base" }, "unchanged"),
      ),
      h(
        "ol",
        { id: "merge-blocks", class: "merge-blocks" },
        ...blocks.map((b) =>
          h(
            "li",
            {
              class: `mb ${b.side}${b.conflict ? " conflict" : ""} ${depthClass((b.level ?? 1) - 1)}`,
              "data-side": b.side,
            },
            h(
              "span",
              { class: `side ${b.side}` },
              b.conflict ? `${sideLabel[b.side]} · both changed` : sideLabel[b.side],
            ),
            h("pre", { class: "mb-text" }, b.raw),
          ),
        ),
      ),
      h("div", { class: "edit-bar" }, confirm, editFirst, back, msg),
    );
    const restore = () => {
      root.hidden = false;
      box.remove();
    };
    on(back, "click", () => {
      restore();
      say("Your version is kept, not saved. Saving it again shows the merge again.", "info");
    });
    on(editFirst, "click", async () => {
      restore();
      s.base = r.remote;
      s.txid = r.txid;
      s.upload = null;
      s.selected = null;
      await reopen(r.mergedText, { keepSelection: false });
      root.classList.add("unsaved");
      await keepDraft().catch(() => {});
      say("The merged page: edit it, then save.", "info");
    });
    on(confirm, "click", async () => {
      confirm.disabled = true;
      if (mode !== "save") {
        restore();
        s.base = r.remote;
        s.txid = r.txid;
        await reopen(r.mergedText);
        await keepDraft().catch(() => {});
        say("The merged page is in the editor, not saved yet.", "info");
        return;
      }
      message(msg, "Committing…", "info");
      let again;
      try {
        again = await save(graph, { path, base: r.remote, txid: r.txid, text: r.mergedText, upload: null });
      } catch (e) {
        again = { status: "failed", stage: "save", error: e, text: r.mergedText, upload: null };
      }
      restore();
      s.base = r.remote;
      s.txid = r.txid;
      await reopen(r.mergedText);
      await handle(again);
    });
    root.hidden = true;
    root.after(box);
    box.scrollIntoView({ block: "start" });
  }

  // --- live: a change from another device while the page is open ---

  let liveRunning = false;
  async function onRemote() {
    if (liveRunning || s.busy || s.closed) return;
    const f = graph.byPath.get(path);
    if (!f || f.checksum === s.base?.checksum) return;
    liveRunning = true;
    try {
      const remote = { text: await graph.text(path), checksum: f.checksum };
      const txid = graph.txid;
      if (!s.unsaved()) {
        s.base = remote;
        s.txid = txid;
        await reopen(remote.text);
        banner.replaceChildren(
          h("p", { class: "msg info", id: "live-note" }, "Updated with a change from another device."),
        );
        return;
      }
      const typed = s.dirty() ? s.textarea.value : null;
      // Only the open block was changed: apply it to the other device's text (every other
      // byte is theirs), unless they changed that block too.
      if (typed !== null && s.text === (s.base?.text ?? "")) {
        const original = s.original;
        const r = await work("rebase", {
          text: remote.text,
          format,
          bulletIndentation,
          original,
          index: s.selected,
          typed,
        });
        if (s.closed) return;
        if (r) {
          const caret = s.textarea?.selectionStart ?? null;
          const now = s.textarea?.value ?? typed;
          s.base = remote;
          s.txid = txid;
          s.text = remote.text;
          s.view = await work("open", { text: remote.text, format, bulletIndentation });
          s.selected = r.selected;
          rerender(false);
          if (s.textarea) {
            s.textarea.value = now;
            s.textarea.focus();
            if (caret !== null) s.textarea.setSelectionRange(caret, caret);
          }
          banner.replaceChildren(
            h(
              "p",
              { class: "msg info", id: "live-note" },
              "Took in a change from another device; your block is as you typed it.",
            ),
          );
          await keepDraft().catch(() => {});
          return;
        }
      }
      const mine =
        typed !== null
          ? (
              await work("apply", {
                text: s.text,
                format,
                bulletIndentation,
                edits: [{ type: "edit", index: s.selected, text: typed }],
              })
            ).text
          : s.text;
      const m = await work("merge", { base: s.base?.text ?? "", incoming: remote.text, current: mine, format });
      if (s.closed) return;
      if (m.conflicts === 0) {
        const now = s.textarea?.value ?? null;
        const caret = s.textarea?.selectionStart ?? null;
        s.base = remote;
        s.txid = txid;
        s.text = m.text;
        s.view = await work("open", { text: m.text, format, bulletIndentation });
        // The block being edited keeps its place: find it by the text it had.
        if (typed !== null) {
          const found = s.view.blocks.findIndex((b) => b.text === typed);
          s.selected = found >= 0 ? found : null;
        } else if (s.selected !== null && s.selected >= s.view.blocks.length) s.selected = null;
        rerender(false);
        if (s.textarea && now !== null) {
          s.textarea.value = now; // what was typed during the merge, too
          s.textarea.focus();
          if (caret !== null) s.textarea.setSelectionRange(caret, caret);
        }
        banner.replaceChildren(
          h("p", { class: "msg info", id: "live-note" }, "Merged a change from another device into your edit."),
        );
        await keepDraft().catch(() => {});
        return;
      }
      const review = on(h("button", { type: "button", id: "live-review" }, "Review the merge"), "click", () => {
        banner.replaceChildren();
        showMerge({ merge: m, mergedText: m.text, remote, txid }, "live");
      });
      banner.replaceChildren(
        h(
          "div",
          { class: "msg error", id: "live-conflict" },
          h("p", {}, "Another device changed the block you are editing. Your text is kept."),
          review,
        ),
      );
    } catch (e) {
      banner.replaceChildren(h("p", { class: "msg error" }, `A change from another device: ${errorText(e)}`));
    } finally {
      liveRunning = false;
    }
  }

  // --- wiring ---

  on(saveButton, "click", saveNow);
  on(addEnd, "click", () => {
    if (s.busy) return;
    const last = s.view.blocks.length - 1;
    apply({ type: "add", index: -1, position: "after", text: "" }, { select: last + 1 });
  });
  on(discardButton, "click", async () => {
    if (s.busy) return;
    if (s.unsaved() && !window.confirm("Discard your changes to this page?")) return;
    await drafts.drop(graph.uuid, s.draftId);
    s.draftId = drafts.newId();
    s.kind = "draft";
    s.upload = null;
    s.selected = null;
    s.original = null;
    s.textarea = null;
    await reopen(s.base?.text ?? "", { keepSelection: false });
    root.classList.remove("unsaved");
    say("Discarded.", "info");
  });
  const offChange = graph.onChange((paths) => {
    if (paths.includes(path)) onRemote();
  });
  ui.setLeave(() => {
    s.closed = true;
    offChange();
    clearTimeout(draftTimer);
    // Leaving with unsaved work: it stays a draft (see #/pending).
    if (s.unsaved()) drafts.keep(record()).catch(() => {});
    if (session === s) session = null;
  });

  // --- opening ---

  try {
    const start = await startEdit(graph, path);
    if (!start.base) {
      say(`${path} is not in this graph (deleted, or not synced yet).`, "error");
      return;
    }
    s.base = start.base;
    s.txid = start.txid;
    s.text = start.base?.text ?? "";
    s.view = await work("open", { text: s.text, format, bulletIndentation });
  } catch (e) {
    say(errorText(e), "error");
    return;
  }
  if (s.closed) return;
  rerender(false);
  say(
    persistent()
      ? "Tap a block to edit it."
      : "Tap a block to edit it. (Not my device: unsaved edits live in this tab only.)",
  );

  // A kept edit of this page (an earlier visit, another tab, or the queue): offer it.
  const kept = (await drafts.list(graph.uuid).catch(() => [])).filter((d) => d.path === path);
  const wanted = params.get("draft");
  const restoreDraft = async (d) => {
    s.draftId = d.id;
    s.kind = d.kind;
    s.created = d.created;
    s.base = d.base;
    s.txid = d.txid;
    s.upload = d.upload ?? null;
    s.selected = null;
    let text = d.text;
    if (d.block) {
      try {
        text = (await work("apply", { text, format, bulletIndentation, edits: [{ type: "edit", ...d.block }] })).text;
      } catch {
        // the block's text cannot be applied: keep the applied text and show the typed one
        s.selected = d.block.index;
      }
    }
    await reopen(text);
    if (s.selected !== null && s.textarea && d.block) s.textarea.value = d.block.text;
    root.classList.add("unsaved");
    banner.replaceChildren();
    say(
      `Your kept edit from ${when(d.updated)} is open. Save to commit it (a merge is shown if the page changed).`,
      "info",
    );
  };
  const chosen = wanted ? kept.find((d) => d.id === wanted) : null;
  if (chosen) {
    await restoreDraft(chosen);
    if (chosen.kind === "queued" || params.get("commit") === "1") saveNow();
  } else if (kept.length) {
    const d = kept[0];
    banner.replaceChildren(
      h(
        "div",
        { class: "msg info", id: "draft-offer" },
        h(
          "p",
          {},
          `An edit of this page that is not committed is kept (${d.kind === "queued" ? "queued" : "draft"}, ${when(d.updated)}).`,
        ),
        on(h("button", { type: "button", id: "draft-restore" }, "Open it"), "click", () => restoreDraft(d)),
        on(h("button", { type: "button", id: "draft-drop", class: "secondary" }, "Discard it"), "click", async () => {
          if (!window.confirm("Discard the kept edit?")) return;
          await drafts.drop(graph.uuid, d.id);
          banner.replaceChildren();
        }),
      ),
    );
  }
}
