// The queue of kept edits (issue 18 "Offline"; docs/WEB.md "Offline"): `runQueue` commits the
// saves that met no connection, through writer.save's merge rule (pendinglink.js calls it when
// the connection returns); `#/pending` lists them with the drafts. The edits themselves are
// kept by drafts.js.

import { persistent } from "./api.js";
import { h, message, on, when } from "./dom.js";
import * as drafts from "./drafts.js";
import { editingDraftId, failureText, isOffline } from "./editor.js";
import { save } from "./writer.js";

// --- the queue: saves that waited for a connection ---

const running = new Map(); // graph uuid → Promise
const needsMerge = new Set(); // ids of queued edits that met a change on the server

/** Commits every queued edit of the graph that can be committed without the person. */
export function runQueue(graph) {
  if (running.has(graph.uuid)) return running.get(graph.uuid);
  const p = (async () => {
    const queued = (await drafts.list(graph.uuid)).filter((d) => d.kind === "queued");
    for (const d of queued) {
      if (needsMerge.has(d.id) || editingDraftId() === d.id) continue;
      let r;
      try {
        r = await save(graph, { path: d.path, base: d.base, txid: d.txid, text: d.text, upload: d.upload ?? null });
      } catch (e) {
        r = { status: "failed", error: e, upload: d.upload };
      }
      if (r.status === "committed" || r.status === "unchanged") await drafts.drop(graph.uuid, d.id);
      else if (r.status === "needs-confirmation") {
        needsMerge.add(d.id);
        await drafts.keep({ ...d, error: "Changed on another device meanwhile: review the merge." });
      } else if (isOffline(r)) break;
      else await drafts.keep({ ...d, upload: r.upload ?? d.upload, error: failureText(r) });
    }
  })().finally(() => running.delete(graph.uuid));
  running.set(graph.uuid, p);
  return p;
}

/** `#/pending`: every edit not committed yet, with what happens to it. */
export async function pendingScreen(graph, ui) {
  const list = h("ul", { class: "list", id: "pending" }, h("li", { class: "muted" }, "Reading kept edits…"));
  const status = h("p", { class: "msg info", role: "status", id: "pending-status" });
  const commitAll = on(
    h("button", { type: "button", id: "pending-commit" }, "Commit queued edits now"),
    "click",
    async () => {
      commitAll.disabled = true;
      message(status, "Committing…", "info");
      await runQueue(graph).catch(() => {});
      commitAll.disabled = false;
      message(status, navigator.onLine ? "Done." : "Still offline.", "info");
      fill();
    },
  );
  ui.screen(
    "Pending edits",
    h("h1", {}, "Not committed yet"),
    h(
      "p",
      { class: "small muted" },
      persistent()
        ? "Kept encrypted on this device until committed or discarded. Queued edits commit by themselves when the connection returns."
        : "Kept in this tab only (this is not your device). Queued edits commit by themselves when the connection returns.",
    ),
    commitAll,
    status,
    list,
  );
  const fill = async () => {
    const all = await drafts.list(graph.uuid).catch(() => []);
    if (!all.length) {
      list.replaceChildren(
        h("li", { class: "muted", id: "pending-empty" }, "Nothing pending: every edit is committed."),
      );
      return;
    }
    list.replaceChildren(
      ...all.map((d) =>
        h(
          "li",
          { class: "pending-item", "data-id": d.id, "data-kind": d.kind },
          h(
            "div",
            { class: "row" },
            h("strong", {}, d.path),
            h("span", { class: `badge ${d.kind}` }, d.kind === "queued" ? "queued" : "draft"),
            h("span", { class: "small muted" }, when(d.updated)),
          ),
          d.error ? h("p", { class: "msg error small" }, d.error) : null,
          h(
            "p",
            { class: "pending-actions" },
            h(
              "a",
              {
                class: "button",
                href: `#/edit/${encodeURIComponent(d.path)}?draft=${encodeURIComponent(d.id)}`,
              },
              needsMerge.has(d.id) ? "Review the merge" : "Open",
            ),
            on(h("button", { type: "button", class: "secondary" }, "Discard"), "click", async () => {
              if (!window.confirm(`Discard your uncommitted edit of ${d.path}?`)) return;
              needsMerge.delete(d.id);
              await drafts.drop(graph.uuid, d.id);
              fill();
            }),
          ),
        ),
      ),
    );
  };
  await fill();
  const off = drafts.onEditsChange(() => fill());
  ui.setLeave(off);
}
