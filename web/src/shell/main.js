// The web app's entry point (served at /app/, docs/WEB.md): hash routes, the screens for signing
// in (pairing, pasted token), approving another device, the graphs list, unlocking, the page
// list, a page, search, a page's history and the graph's recent changes. Pages are read and
// rendered by the reader (web/src/read, through ./reader.js); this file never puts page text
// anywhere but text nodes.

import {
  account,
  browserLabel,
  call,
  pair,
  persistent,
  setSession,
  signedIn,
  signInWithRefreshToken,
  signOut,
} from "./api.js";
import { crypto } from "../crypto/crypto.js";
import { clearCache } from "./cache.js";
import { bytes, h, loadStylesheet, message, on, when } from "./dom.js";
import { editable } from "./editable.js";
import { pendingLink } from "./pendinglink.js";
import { Graph } from "./graph.js";
import { qrCanvas } from "./qr.js";
import { createReader } from "./reader.js";

const view = document.getElementById("view");
const nav = document.getElementById("nav");
const where = document.getElementById("where");

/** The open graph: { graph, reader } once unlocked. */
let open = null;
/** The route to go to after signing in / unlocking. */
let after = null;
/** Stops the current screen's timers (pairing poll) when the route changes. */
let leave = null;

/**
 * The editor's screens (editor.js, with the writing core and the Logseq parser it needs for a
 * merge) load on first use, after the graph is open: not part of what loads before unlocking.
 */
/**
 * The whole-file screens and buttons (pageops.js, upload.js: Today, New page, photos, delete,
 * restore, undo) load on first use too: they bring the writing core and the Logseq parser.
 */
let opsModule = null;
const opsScreens = () => {
  opsModule ??= Promise.all([import("./pageops.js"), import("./upload.js"), loadStylesheet("ops.css")]).then(
    ([o, u]) => ({ ...o, ...u }),
  );
  return opsModule;
};

let editorModule = null;
const editorScreens = () => {
  // The editor's photo button is upload.js's: its stylesheet (ops.css) comes along.
  editorModule ??= Promise.all([
    import("./editor.js"),
    import("./pending.js"),
    loadStylesheet("edit.css"),
    loadStylesheet("ops.css"),
  ]).then(([e, p]) => ({ ...e, ...p }));
  return editorModule;
};

/** A performance mark (read by `npm run bench`'s web section; nothing leaves the page). */
const mark = (name) => performance.mark(name);

/** Goes to a route (re-rendering even when the hash is already that route). */
const go = (to) => {
  if (location.hash === to || (to === "#/" && !location.hash)) route();
  else location.hash = to;
};

function screen(title, ...children) {
  where.textContent = title;
  document.title = title ? `${title} · Logseq notes` : "Logseq notes";
  view.replaceChildren(...children);
  view.focus({ preventScroll: true });
}

function errorText(e) {
  return e?.userMessage ?? e?.message ?? String(e);
}

function renderNav() {
  const items = [];
  if (open) {
    items.push(h("a", { href: "#/pages" }, "Pages"), h("a", { href: "#/recent" }, "Recent"));
    const { graph } = open;
    items.push(pendingLink(graph, () => editorScreens().then((m) => m.runQueue(graph))));
  }
  if (signedIn()) {
    items.push(h("a", { href: "#/graphs" }, "Graphs"));
    items.push(on(h("button", { type: "button", id: "signout" }, "Sign out"), "click", doSignOut));
  }
  nav.replaceChildren(...items);
}

async function doSignOut() {
  open?.graph.stop();
  open = null;
  await crypto.forget().catch(() => {});
  await clearCache().catch(() => {});
  await signOut();
  go("#/signin");
}

// --- signing in ---

function signInScreen() {
  const notMine = h("input", { type: "checkbox", id: "not-mine" });
  const status = h("p", { class: "msg", id: "pair-status", role: "status" });
  const codeBox = h("div", { class: "pair-code", id: "pair-box" });
  let stopped = false;
  let timer = null;
  leave = () => {
    stopped = true;
    clearTimeout(timer);
  };

  const approved = (r) => {
    setSession({
      email: r.email,
      refreshToken: r.refresh_token,
      idToken: r.id_token,
      expiresIn: r.expires_in,
      persist: !notMine.checked,
    });
    stopped = true;
    const to = after ?? "#/graphs";
    after = null;
    go(to);
  };

  const startPairing = async () => {
    codeBox.replaceChildren(h("p", { class: "muted" }, "Getting a pairing code…"));
    let p;
    try {
      p = await pair.start(browserLabel());
    } catch (e) {
      codeBox.replaceChildren(h("p", { class: "msg error" }, `No pairing code: ${errorText(e)}`), retry);
      return;
    }
    const approveUrl = `${location.origin}/app/#/approve`;
    codeBox.replaceChildren(
      h("p", {}, "Pairing code for this browser:"),
      h("p", { class: "code", id: "pair-code" }, p.code),
      qrCanvas(`${approveUrl}?code=${p.code}`),
      h(
        "p",
        { class: "small" },
        "Approve it from a device that is already signed in (",
        h("code", {}, approveUrl),
        "), from the server's status page (Admin, Approve a device), or with ",
        h("code", {}, `npm run admin -- pair ${p.code} you@example.com`),
        ". The code works once and expires in 10 minutes.",
      ),
    );
    const poll = async () => {
      if (stopped) return;
      if (Date.now() > p.expires_at) {
        message(status, "The code expired.");
        codeBox.append(retry);
        return;
      }
      try {
        const r = await pair.poll(p.poll);
        if (r?.status === "approved") return approved(r);
        message(status, "Waiting for approval…", "info");
      } catch (e) {
        if (e.status === 404) {
          message(status, "The code expired or was used.");
          codeBox.append(retry);
          return;
        }
        message(status, `Still waiting (${errorText(e)})`, "info");
      }
      timer = setTimeout(poll, p.interval_ms ?? 2000);
    };
    timer = setTimeout(poll, p.interval_ms ?? 2000);
  };
  const retry = on(h("button", { type: "button" }, "Get a new code"), "click", () => {
    status.textContent = "";
    startPairing();
  });

  const pasted = h("input", {
    type: "password",
    id: "refresh-token",
    autocomplete: "off",
    placeholder: "lsrt.…",
    "aria-label": "refresh token",
  });
  const pasteMsg = h("p", { class: "msg", role: "status" });
  const pasteForm = on(
    h(
      "form",
      { id: "paste-form" },
      h("label", { for: "refresh-token" }, "Refresh token (from ", h("code", {}, "npm run admin -- mint"), ")"),
      pasted,
      h("button", { type: "submit" }, "Sign in with this token"),
      pasteMsg,
    ),
    "submit",
    async (ev) => {
      ev.preventDefault();
      try {
        await signInWithRefreshToken(pasted.value.trim(), !notMine.checked);
        stopped = true;
        const to = after ?? "#/graphs";
        after = null;
        go(to);
      } catch (e) {
        message(pasteMsg, e.status === 400 || e.status === 401 ? "That token was not accepted." : errorText(e));
      }
    },
  );

  screen(
    "Sign in",
    h("h1", {}, "Sign in this browser"),
    h("label", { class: "check" }, notMine, " This is not my device: keep nothing on it (you sign in again next time)"),
    codeBox,
    status,
    h("details", {}, h("summary", {}, "Paste a refresh token instead"), pasteForm),
  );
  startPairing();
}

function approveScreen(params) {
  const code = h("input", {
    id: "approve-code",
    inputmode: "text",
    autocomplete: "off",
    autocapitalize: "characters",
    placeholder: "XXXX-XXXX",
    value: params.get("code") ?? "",
    "aria-label": "pairing code",
  });
  const msg = h("p", { class: "msg", role: "status", id: "approve-status" });
  const form = on(
    h(
      "form",
      { id: "approve-form" },
      h("label", { for: "approve-code" }, "Code shown on the new device"),
      code,
      h("button", { type: "submit" }, "Approve"),
      msg,
    ),
    "submit",
    async (ev) => {
      ev.preventDefault();
      try {
        const r = await pair.approve(code.value.trim());
        message(msg, `Approved: ${r.label}. It can now open your graphs (it still needs each graph's password).`, "ok");
        code.value = "";
      } catch (e) {
        message(msg, e.status === 404 ? "No pending pairing with that code (wrong, expired or used)." : errorText(e));
      }
    },
  );
  screen(
    "Approve a device",
    h("h1", {}, "Approve a new device"),
    h(
      "p",
      {},
      `Signed in as ${account() ?? "this account"}. Approving gives the other browser its own sign-in to your account, which you can revoke (Sign out there, or `,
      h("code", {}, "npm run admin -- tokens"),
      ").",
    ),
    form,
  );
}

// --- graphs ---

async function graphsScreen() {
  const list = h("ul", { class: "list", id: "graphs" }, h("li", { class: "muted" }, "Loading graphs…"));
  screen(
    "Graphs",
    h("h1", {}, "Your graphs"),
    list,
    h("p", {}, h("a", { href: "#/approve", class: "button" }, "Approve a new device")),
  );
  let r;
  try {
    r = await call("list_graphs", null);
  } catch (e) {
    list.replaceChildren(h("li", { class: "msg error" }, errorText(e)));
    if (e.status === 401) go("#/signin");
    return;
  }
  const graphs = r?.Graphs ?? [];
  if (!graphs.length) {
    list.replaceChildren(h("li", { class: "muted" }, "No graphs yet: sync one from the desktop app first."));
    return;
  }
  list.replaceChildren(
    ...graphs.map((g) => {
      const last = h("span", { class: "small muted" });
      const li = h(
        "li",
        { "data-graph": g.GraphUUID },
        h(
          "a",
          { href: `#/unlock/${g.GraphUUID}`, class: "row" },
          h("strong", {}, g.GraphName),
          h("span", { class: "small muted" }, bytes(g.GraphStorageUsage)),
          last,
        ),
      );
      lastChange(g.GraphUUID).then((t) => {
        last.textContent = t ? `changed ${when(t)}` : "";
      });
      return li;
    }),
  );
}

/** The newest LastModified of a graph's files (metadata only; nothing decrypted). */
async function lastChange(uuid) {
  try {
    let t = 0;
    let token;
    do {
      const r = await call(
        "get_all_files",
        token ? { GraphUUID: uuid, ContinuationToken: token } : { GraphUUID: uuid },
      );
      for (const o of r?.Objects ?? []) t = Math.max(t, o.LastModified ?? 0);
      token = r?.NextContinuationToken;
    } while (token);
    return t;
  } catch {
    return null;
  }
}

// --- unlocking ---

async function unlockScreen(uuid) {
  if (open?.graph.uuid === uuid) {
    const to = after ?? "#/pages";
    after = null;
    return go(to);
  }
  open?.graph.stop();
  open = null;
  const msg = h("p", { class: "msg", role: "status", id: "unlock-status" });
  screen("Unlock", h("h1", {}, "Open graph"), msg);
  let graphs;
  let keys;
  try {
    graphs = (await call("list_graphs", null))?.Graphs ?? [];
    keys = await call("get_graph_encrypt_keys", { GraphUUID: uuid });
  } catch (e) {
    if (e.status === 404) {
      message(msg, "This graph has no encryption key yet: open this graph in the desktop app first (with sync on).");
      return;
    }
    return message(msg, errorText(e));
  }
  const name = graphs.find((g) => g.GraphUUID === uuid)?.GraphName ?? uuid;
  if (!keys?.["encrypted-private-key"]) {
    return message(
      msg,
      "This graph has no encryption key yet: open this graph in the desktop app first (with sync on).",
    );
  }
  // A key remembered on this device opens the graph without the password.
  try {
    if (await crypto.restore(uuid)) return openGraph(uuid, name);
  } catch {
    // nothing remembered, or storage refused: ask for the password
  }
  const pw = h("input", { type: "password", id: "password", autocomplete: "current-password", required: true });
  const remember = h("input", { type: "checkbox", id: "remember" });
  const bar = h("progress", { id: "unlock-progress", max: "100", hidden: true });
  const button = h("button", { type: "submit", id: "unlock" }, "Unlock");
  const form = on(
    h(
      "form",
      { id: "unlock-form" },
      h("label", { for: "password" }, `Password of “${name}”`),
      pw,
      // Not offered on "this is not my device", which keeps nothing on disk.
      persistent() && h("label", { class: "check" }, remember, " Remember on this device"),
      persistent() &&
        h(
          "p",
          { class: "small muted" },
          "Remembering keeps this graph's key in this browser's storage, so you are not asked again here. " +
            "It protects against nothing on this device: anyone who can use this browser profile (or copy its files) can read the graph. " +
            "Your password and key still never leave the device. Sign out forgets it.",
        ),
      button,
      bar,
      msg,
    ),
    "submit",
    async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      message(msg, "Unlocking…", "info");
      let tick = null;
      const started = performance.now();
      try {
        mark("unlock:start");
        await crypto.unlock(
          uuid,
          keys["encrypted-private-key"],
          pw.value,
          persistent() && remember.checked,
          ({ logN }) => {
            // scrypt reports no progress of its own: the bar follows the expected time (about 2.7 s
            // at logN 20 on a laptop, a phone several times that) and the text says what is happening.
            const expect = 2700 * 2 ** (logN - 20) * 1.5;
            bar.hidden = false;
            message(msg, `Unlocking the key (scrypt, ${2 ** (logN - 10)} MiB of memory)…`, "info");
            tick = setInterval(() => {
              bar.value = Math.min(95, ((performance.now() - started) / expect) * 100);
            }, 100);
          },
        );
        mark("unlock:done");
        pw.value = "";
        bar.value = 100;
        openGraph(uuid, name);
      } catch (e) {
        pw.select();
        message(msg, e.code === "wrong-password" ? "Wrong password for this graph." : errorText(e));
      } finally {
        clearInterval(tick);
        button.disabled = false;
        bar.hidden = true;
      }
    },
  );
  screen("Unlock", h("h1", {}, name), form);
  pw.focus();
}

async function openGraph(uuid, name) {
  const graph = new Graph(uuid, name);
  sessionStorage.setItem("logseq-web:graph", uuid);
  screen(name, h("h1", {}, name), h("p", { class: "muted", id: "loading" }, "Listing pages…"));
  try {
    await graph.load();
  } catch (e) {
    return screen(name, h("p", { class: "msg error" }, errorText(e)));
  }
  open = { graph, reader: createReader(graph) };
  graph.startLive();
  graph.warm();
  renderNav();
  const to = after ?? "#/pages";
  after = null;
  go(to);
}

// --- reading ---

async function pagesScreen(params) {
  const { graph, reader } = open;
  const q = h("input", {
    type: "search",
    id: "search",
    placeholder: "Search all pages",
    value: params.get("q") ?? "",
    "aria-label": "search",
  });
  const searchForm = on(h("form", { id: "search-form", role: "search" }, q), "submit", (ev) => {
    ev.preventDefault();
    if (q.value.trim()) go(`#/search?q=${encodeURIComponent(q.value.trim())}`);
  });
  const list = h("ul", { class: "list", id: "pages" }, h("li", { class: "muted" }, "Reading titles…"));
  const others = h("details", { id: "other-files" });
  const notes = [];
  if (graph.undecryptable.length)
    notes.push(
      h(
        "p",
        { class: "msg error" },
        `${graph.undecryptable.length} file names could not be decrypted and are left out.`,
      ),
    );
  const make = h(
    "p",
    { class: "tools" },
    h("a", { href: "#/new", class: "button", id: "new-page" }, "New page"),
    " ",
    h("a", { href: "#/today", class: "button", id: "today" }, "Today"),
  );
  screen(graph.name, searchForm, make, ...notes, list, others);
  const fill = async () => {
    try {
      const all = await reader.pageList();
      mark("pages:listed");
      const item = (p) =>
        h(
          "li",
          { "data-path": p.path },
          h("a", { href: `#/page/${encodeURIComponent(p.path)}`, class: "row" }, h("span", {}, p.title)),
        );
      // Journals and pages first; assets, config.edn and the like (read-only here) folded away.
      const other = all.filter((p) => p.kind === "other");
      list.replaceChildren(...all.filter((p) => p.kind !== "other").map(item));
      others.hidden = !other.length;
      others.replaceChildren(
        ...(other.length
          ? [h("summary", {}, `Other files (${other.length})`), h("ul", { class: "list" }, ...other.map(item))]
          : []),
      );
    } catch (e) {
      list.replaceChildren(h("li", { class: "msg error" }, errorText(e)));
    }
  };
  await fill();
  const off = graph.onChange(fill);
  leave = off;
}

async function pageScreen(path, params) {
  const { graph, reader } = open;
  const body = h("article", { id: "page", class: "page" });
  const bar = h(
    "p",
    { class: "tools" },
    editable(path) && h("a", { href: `#/edit/${encodeURIComponent(path)}`, class: "button", id: "edit-link" }, "Edit"),
    " ",
    h("a", { href: `#/history/${encodeURIComponent(path)}`, class: "button", id: "history-link" }, "History"),
  );
  const photo = h("div", { hidden: true });
  screen(
    path
      .split("/")
      .pop()
      .replace(/\.(md|org)$/, ""),
    body,
    photo,
    bar,
  );
  // The page first; its whole-file tools when their module is in (it loads once).
  opsScreens()
    .then((ops) => {
      if (!bar.isConnected) return;
      bar.append(...ops.pageTools({ graph, path, go }));
      if (/\.(md|org)$/i.test(path)) photo.replaceWith(ops.addPhotoButton({ graph, path }));
    })
    .catch((e) => bar.append(h("span", { class: "msg error" }, errorText(e))));
  const render = () => reader.renderPage(body, path, { block: params.get("block") ?? undefined });
  mark("page:start");
  await render();
  mark("page:rendered");
  // After a live update: re-render once the reader has taken the change in (block refs and
  // linked references can change with any page, so any change re-renders).
  const subscribe = reader.onChange ?? graph.onChange.bind(graph);
  leave = subscribe((paths) => {
    if (paths.length) render();
  });
}

async function searchScreen(params) {
  const { reader } = open;
  const query = params.get("q") ?? "";
  const progress = h("p", { class: "small muted", id: "search-progress" });
  const results = h("ul", { class: "list", id: "results" });
  const reading = h("p", { class: "small muted", id: "search-reading" });
  screen(`Search: ${query}`, h("h1", {}, "Search: ", h("q", {}, query)), progress, reading, results);
  const stopProgress = reader.indexProgress?.(({ done, total }) => {
    reading.textContent = done < total ? `Reading pages ${done}/${total}…` : "";
  });
  const stopSearch = () => stopProgress?.();
  leave = stopSearch;
  const show = (found) => {
    results.replaceChildren(
      ...found.map((r) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href:
                r.route ??
                `#/page/${encodeURIComponent(r.path)}${r.blockUuid ? `?block=${encodeURIComponent(r.blockUuid)}` : ""}`,
              class: "row",
            },
            h("strong", {}, r.title),
            h("span", { class: "small snippet" }, r.snippet),
          ),
        ),
      ),
    );
    return found.length;
  };
  mark("search:start");
  const count = (n, more) => `${n} result${n === 1 ? "" : "s"}${more ? " so far (still reading pages…)" : ""}`;
  try {
    // Results from what is read so far at once, then the full answer once every page is read
    // (searched again even if reading finished meanwhile: the first search may have missed it).
    let indexed = false;
    const whenIndexed = reader.whenIndexed?.().then(() => {
      indexed = true;
    });
    const n = show(await reader.search(query, { limit: 100 }));
    progress.textContent = count(n, whenIndexed && !indexed);
    if (whenIndexed) {
      await whenIndexed;
      if (leave !== stopSearch) return; // the person went elsewhere
      progress.textContent = count(show(await reader.search(query, { limit: 100 })), false);
    }
    mark("search:done");
  } catch (e) {
    progress.textContent = errorText(e);
  }
}

async function historyScreen(path) {
  const { graph, reader } = open;
  const list = h("ul", { class: "list", id: "versions" }, h("li", { class: "muted" }, "Loading versions…"));
  const diff = h("div", { id: "diff" });
  screen(`History: ${path}`, h("h1", {}, "History of ", h("code", {}, path)), list, diff);
  try {
    const [versions, ops] = await Promise.all([graph.versions(path), opsScreens()]);
    if (!versions.length) {
      list.replaceChildren(h("li", { class: "muted" }, "No earlier versions are kept for this page."));
      return;
    }
    const texts = await graph.versionTexts(versions.map((v) => v.id));
    const current = await graph.text(path);
    list.replaceChildren(
      ...versions.map((v, i) => {
        const t = texts[i];
        const b = on(h("button", { type: "button", "data-version": v.id }, "Compare with now"), "click", () => {
          if (t?.text === undefined) return;
          diff.replaceChildren(h("h2", {}, `${when(v.time)} → now`));
          const box = h("div", { class: "diff-box" });
          diff.append(box);
          reader.diff(t.text, current, box);
        });
        return h(
          "li",
          { class: "row" },
          h("span", {}, when(v.time)),
          h("span", { class: "small muted" }, t?.error ? t.error : bytes(t?.size)),
          t?.error ? null : b,
          t?.error || !/\.(md|org)$/i.test(path) ? null : ops.restoreButton({ graph, path, version: v, text: t.text }),
        );
      }),
    );
  } catch (e) {
    list.replaceChildren(h("li", { class: "msg error" }, errorText(e)));
  }
}

async function recentScreen() {
  const { graph } = open;
  const list = h("ul", { class: "list", id: "recent" }, h("li", { class: "muted" }, "Loading…"));
  screen("Recent changes", h("h1", {}, "Recent changes"), list);
  try {
    const txs = await graph.recent(50);
    list.replaceChildren(
      ...txs.map((t) =>
        h(
          "li",
          { class: "row" },
          h("span", { class: "small muted" }, `#${t.txid} ${t.time ? when(t.time) : ""}`),
          h("span", {}, t.type === "delete_files" ? "deleted " : t.type === "rename_file" ? "renamed " : "changed "),
          ...t.paths.map((p) =>
            h("a", { href: `#/${graph.byPath.has(p) ? "page" : "restore"}/${encodeURIComponent(p)}` }, p),
          ),
        ),
      ),
    );
  } catch (e) {
    list.replaceChildren(h("li", { class: "msg error" }, errorText(e)));
  }
}

// --- routing ---

async function route() {
  leave?.();
  leave = null;
  const hash = location.hash || "#/";
  const [pathPart, query = ""] = hash.slice(1).split("?");
  const params = new URLSearchParams(query);
  const parts = pathPart.split("/").filter(Boolean);
  renderNav();
  if (parts[0] === "signin" || !signedIn()) {
    if (parts[0] !== "signin") after = hash;
    return signInScreen();
  }
  switch (parts[0]) {
    case "approve":
      return approveScreen(params);
    case "unlock":
      return unlockScreen(parts[1]);
    case "page":
    case "search":
    case "history":
    case "recent":
    case "today":
    case "new":
    case "restore":
    case "edit":
    case "pending":
    case "pages": {
      if (!open) {
        const last = sessionStorage.getItem("logseq-web:graph");
        after = hash;
        return last ? unlockScreen(last) : graphsScreen();
      }
      const path = decodeURIComponent(parts.slice(1).join("/"));
      if (parts[0] === "page") return pageScreen(path, params);
      if (parts[0] === "history") return historyScreen(path);
      if (parts[0] === "search") return searchScreen(params);
      if (parts[0] === "recent") return recentScreen();
      if (parts[0] === "today") return (await opsScreens()).todayScreen({ graph: open.graph, show: screen, go });
      if (parts[0] === "new") return (await opsScreens()).newPageScreen({ graph: open.graph, show: screen, go });
      if (parts[0] === "restore") return (await opsScreens()).restoreScreen({ graph: open.graph, path, show: screen });
      const ui = { screen, go, setLeave: (fn) => (leave = fn) };
      if (parts[0] === "edit") return (await editorScreens()).editScreen(open.graph, path, params, ui);
      if (parts[0] === "pending") return (await editorScreens()).pendingScreen(open.graph, ui);
      return pagesScreen(params);
    }
    default:
      return graphsScreen();
  }
}

window.addEventListener("hashchange", () =>
  route().catch((e) => screen("Error", h("p", { class: "msg error" }, errorText(e)))),
);
route().catch((e) => screen("Error", h("p", { class: "msg error" }, errorText(e))));

// The service worker caches the app shell only (sw.js); no API answer or plaintext.
if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("sw.js", { scope: "./" }).catch(() => {});
}
