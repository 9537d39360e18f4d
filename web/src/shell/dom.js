// Building DOM without HTML strings: h("p", {class: "x"}, "text", child). Text always becomes text
// nodes; attributes are set with setAttribute, and never event-handler attributes (on*) or
// javascript: URLs, so nothing here can turn data into script.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (/^on/i.test(k)) throw new Error(`h(): event attributes are not allowed (${k})`);
    if ((k === "href" || k === "src") && /^\s*javascript:/i.test(String(v))) throw new Error("h(): javascript: URL");
    el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function on(el, event, fn) {
  el.addEventListener(event, fn);
  return el;
}

/**
 * Adds a stylesheet of the app (same origin, so the CSP's `style-src 'self'` allows it) and
 * resolves once it applies: screens loaded on first use bring their CSS with them.
 */
export function loadStylesheet(href) {
  const have = document.querySelector(`link[rel="stylesheet"][href="${href}"]`);
  if (have) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const link = h("link", { rel: "stylesheet", href });
    link.addEventListener("load", () => resolve());
    link.addEventListener("error", () => reject(new Error(`${href} could not be loaded`)));
    document.head.append(link);
  });
}

/** Shows a status message in `el` (its class says what kind: error, info, ok). */
export function message(el, text, kind = "error") {
  el.className = `msg ${kind}`;
  el.textContent = text;
}

/** "1.2 MB" */
export function bytes(n) {
  if (!Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  const u = ["KB", "MB", "GB", "TB"];
  let i = -1;
  do {
    n /= 1024;
    i++;
  } while (n >= 1024 && i < u.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${u[i]}`;
}

/** "2026-12-06 23:04" in local time. */
export function when(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  const p = (x) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
