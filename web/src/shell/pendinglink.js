// The nav's "Pending N" link (issue 18 "Offline"; docs/WEB.md "Offline"): the number of edits
// not committed yet, and the trigger of the queue (on opening the graph, when the connection
// returns, every 30 s). Light on purpose: it needs only drafts.js, so showing the count right
// after unlocking does not load the editor and the Logseq parser on the page's thread; the
// queue (pending.js) is loaded only when there is something queued to commit.

import { h } from "./dom.js";
import * as drafts from "./drafts.js";

let queueGraph = null;
let queueTimer = null;
let commitQueued = null; // () => Promise: loads pending.js and runs the queue

/** Runs the queue when something is queued and the browser is online. */
async function kick() {
  if (!queueGraph || !commitQueued || !navigator.onLine) return;
  const c = await drafts.counts(queueGraph.uuid).catch(() => ({ queued: 0 }));
  if (c.queued > 0) await commitQueued().catch(() => {});
}

window.addEventListener("online", () => {
  kick();
});

/**
 * The link for the open graph; `runQueue()` commits its queued edits (main.js passes one that
 * loads pending.js on first use).
 */
export function pendingLink(graph, runQueue) {
  const count = h("span", { class: "count", id: "pending-count" });
  const a = h("a", { href: "#/pending", id: "pending-link", class: "pending-link", hidden: true }, "Pending", count);
  const refresh = async () => {
    const c = await drafts.counts(graph.uuid).catch(() => ({ draft: 0, queued: 0 }));
    const n = c.draft + c.queued;
    count.textContent = n ? ` ${n}` : "";
    // Shown only when something is pending (the bar is narrow on a phone).
    a.hidden = n === 0;
  };
  refresh();
  const off = drafts.onEditsChange(refresh);
  // The link is replaced on every route: stop listening when it leaves the document.
  const watch = setInterval(() => {
    if (!a.isConnected) {
      off();
      clearInterval(watch);
    }
  }, 5000);
  if (queueGraph !== graph) {
    queueGraph = graph;
    commitQueued = runQueue;
    clearInterval(queueTimer);
    queueTimer = setInterval(kick, 30_000);
    kick();
  }
  return a;
}
