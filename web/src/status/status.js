// The status page's admin section (served at /status/status.js; the page is src/status.rs).
// With the admin token typed in, it lists usage, users, graphs and deleted graphs, each graph's
// recent transactions with a restore preview (dry_run) and restore, and an undelete per deleted
// graph, all through the same /admin/* routes as `npm run admin`. Data from the server only ever
// goes into the page as text (textContent), never as HTML. A file of its own so the page's CSP
// needs no 'unsafe-inline'.

const $ = (id) => document.getElementById(id);
const el = (tag, text, attrs = {}) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
};
async function admin(path, body) {
  const r = await fetch("/admin/" + path, {
    method: body ? "POST" : "GET",
    headers: { authorization: "Bearer " + $("token").value, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(path.split("?")[0] + ": " + r.status + " " + (j.message || ""));
  return j;
}
function table(id, head, rows) {
  const t = el("table", undefined, { id });
  const h = el("tr");
  for (const c of head) h.append(el("th", c));
  t.append(h);
  for (const r of rows) t.append(r);
  return t;
}
function say(text) {
  $("action").textContent = text;
}
async function showHistory(graph) {
  const h = await admin("graphs/" + graph + "/history");
  const rows = h.transactions.map((t) => {
    const tr = el("tr", undefined, { "data-txid": t.txid });
    for (const c of [t.txid, new Date(t.created_at).toISOString(), t.tx_type, t.files, t.bytes ?? ""])
      tr.append(el("td", c));
    const td = el("td");
    if (t.txid >= h.restorable_from && t.txid < h.txid) {
      const b = el("button", "Preview restore to here", { "data-preview": t.txid });
      b.onclick = () => preview(graph, t.txid).catch((e) => say("Failed: " + e.message));
      td.append(b);
    }
    tr.append(td);
    return tr;
  });
  const box = $("history-box");
  box.replaceChildren(
    el(
      "h3",
      "Recent transactions of " +
        graph +
        " (now at txid " +
        h.txid +
        "; restorable back to txid " +
        h.restorable_from +
        ")",
    ),
    table("history", ["txid", "time (UTC)", "type", "files", "bytes", ""], rows),
  );
}
async function preview(graph, txid) {
  const d = await admin("restore", { graph, to_txid: txid, dry_run: true });
  const box = $("restore-box");
  box.replaceChildren(
    el(
      "p",
      "Restore to txid " +
        txid +
        ": " +
        d.reverted.files +
        " files go back (" +
        d.reverted.bytes +
        " bytes), " +
        d.revived.files +
        " deleted files come back (" +
        d.revived.bytes +
        " bytes), " +
        d.removed.files +
        " files created since go (" +
        d.removed.bytes +
        " bytes).",
      { id: "preview" },
    ),
  );
  if (d.transactions > 0) {
    const go = el("button", "Restore to txid " + txid, { id: "restore-go" });
    go.onclick = async () => {
      try {
        const first = await admin("restore", { graph, to_txid: txid });
        let r = first;
        for (let i = 0; i < 100000 && !r.complete; i++) {
          say("Restoring: " + r.remaining_files + " files to go");
          r = await admin("restore", { graph, to_txid: txid });
        }
        say(
          "Restored: the graph is at txid " +
            r.txid +
            ". Undo: restore to txid " +
            first.from_txid +
            " (" +
            first.undo +
            ")",
        );
        box.replaceChildren();
        await showHistory(graph);
      } catch (e) {
        say("Failed: " + e.message);
      }
    };
    box.append(go);
  }
}
async function load() {
  const [usage, users, graphs, deleted] = await Promise.all(
    ["usage", "users", "graphs", "deleted"].map((p) => admin(p)),
  );
  const g = graphs.graphs.map((x) => {
    const tr = el("tr", undefined, { "data-graph": x.id });
    for (const c of [x.name, x.id, x.txid, x.storage_usage]) tr.append(el("td", c));
    const b = el("button", "History", { "data-history": x.id });
    b.onclick = () => showHistory(x.id).catch((e) => say("Failed: " + e.message));
    const td = el("td");
    td.append(b);
    tr.append(td);
    return tr;
  });
  const d = deleted.graphs.map((x) => {
    const tr = el("tr", undefined, { "data-deleted": x.id });
    for (const c of [
      x.name,
      x.id,
      x.email ?? x.user_id,
      new Date(x.deleted_at).toISOString(),
      new Date(x.recoverable_until).toISOString(),
    ])
      tr.append(el("td", c));
    const td = el("td");
    if (x.recoverable) {
      const name = el("input", undefined, { placeholder: "new name (optional)", "data-undelete-name": x.id });
      const b = el("button", "Undelete", { "data-undelete": x.id });
      b.onclick = async () => {
        try {
          const r = await admin("undelete", { graph: x.id, name: name.value || undefined });
          await load();
          say("Undeleted " + r.undeleted + " as " + r.name);
        } catch (e) {
          say("Failed: " + e.message);
        }
      };
      td.append(name, b);
    }
    tr.append(td);
    return tr;
  });
  // Approve a browser's pairing code for an account (POST /admin/pair, docs/WEB.md).
  const code = el("input", undefined, { id: "pair-code", placeholder: "pairing code XXXX-XXXX", autocomplete: "off" });
  const who = el("input", undefined, { id: "pair-email", placeholder: "account email", autocomplete: "off" });
  const approve = el("button", "Approve", { id: "pair-approve" });
  approve.onclick = async () => {
    try {
      const r = await admin("pair", { code: code.value.trim(), email: who.value.trim() });
      say("Approved: " + r.label + " is now signed in as " + who.value.trim());
      code.value = "";
    } catch (e) {
      say("Failed: " + e.message);
    }
  };
  $("manage").replaceChildren(
    el("p", "", { id: "action" }),
    el("h3", "Approve a device (a pairing code from /app/)"),
    code,
    who,
    approve,
    el("h3", "Graphs"),
    table("graphs", ["name", "id", "txid", "bytes", ""], g),
    el("div", undefined, { id: "history-box" }),
    el("div", undefined, { id: "restore-box" }),
    el("h3", "Deleted graphs (kept " + deleted.undelete_retention_days + " days)"),
    table("deleted", ["name", "id", "owner", "deleted (UTC)", "recoverable until", ""], d),
  );
  $("admin").textContent = [
    ["usage", usage],
    ["users", users],
    ["graphs", graphs],
    ["deleted", deleted],
  ]
    .map(([p, v]) => p + ":\n" + JSON.stringify(v, null, 2))
    .join("\n\n");
}
$("load").addEventListener("click", () =>
  load().catch((e) => {
    $("admin").textContent = "Failed: " + e.message;
  }),
);
