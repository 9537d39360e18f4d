// The API client: the sign-in state (refresh token → short-lived ID token, PAIRING-CONTRACT in
// docs/WEB.md), the sync API (POST /file-sync/<name>, JSON, Bearer ID token) and the pairing
// routes. Same origin only. The refresh token is kept in localStorage unless the person said
// "this is not my device" (then in memory only, gone with the tab).

const STORE = "logseq-web:session";

/** { email, refreshToken, persist } or null; idToken and its expiry stay in memory. */
let session = null;
let idToken = null;
let idTokenExpires = 0;
let refreshing = null;

export class ApiError extends Error {
  constructor(status, message, api) {
    super(message);
    this.status = status;
    this.api = api;
    this.userMessage =
      status === 0
        ? "The server cannot be reached. Check the connection and try again."
        : status === 401
          ? "You are signed out: this browser's sign-in was revoked or expired."
          : `${api ?? "request"}: ${message}`;
  }
}

function load() {
  if (session) return session;
  try {
    const s = JSON.parse(localStorage.getItem(STORE) ?? "null");
    if (s?.refreshToken) session = { ...s, persist: true };
  } catch {
    session = null;
  }
  return session;
}

export function signedIn() {
  return Boolean(load());
}

/** False when the person chose "this is not my device": then nothing of theirs is written to disk. */
export function persistent() {
  return Boolean(load()?.persist);
}

export function account() {
  return load()?.email ?? null;
}

/** Keeps a new sign-in: on disk (localStorage) unless persist is false. */
export function setSession({ email, refreshToken, idToken: tok, expiresIn, persist }) {
  session = { email: email ?? null, refreshToken, persist };
  if (persist) localStorage.setItem(STORE, JSON.stringify({ email: session.email, refreshToken }));
  else localStorage.removeItem(STORE);
  idToken = tok ?? null;
  idTokenExpires = tok ? Date.now() + (expiresIn ?? 3600) * 1000 : 0;
}

async function request(path, { method = "POST", body, form, auth = false } = {}) {
  const headers = {};
  let payload;
  if (form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    payload = new URLSearchParams(form).toString();
  } else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (auth) headers.authorization = `Bearer ${await token()}`;
  let r;
  try {
    r = await fetch(path, { method, headers, body: payload, credentials: "omit", cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, e.message, path);
  }
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!r.ok) throw new ApiError(r.status, json?.message ?? `HTTP ${r.status}`, path);
  return json;
}

/** A valid ID token, refreshed from the refresh token when under a minute is left. */
async function token(force = false) {
  if (!force && idToken && Date.now() < idTokenExpires - 60_000) return idToken;
  const s = load();
  if (!s) throw new ApiError(401, "not signed in", "sign-in");
  refreshing ??= request("/oauth2/token", {
    form: { grant_type: "refresh_token", client_id: "logseq-web", refresh_token: s.refreshToken },
  }).finally(() => {
    refreshing = null;
  });
  const r = await refreshing;
  idToken = r.id_token;
  idTokenExpires = Date.now() + (r.expires_in ?? 3600) * 1000;
  return idToken;
}

/** Checks a pasted refresh token by trading it for an ID token. */
export async function signInWithRefreshToken(refreshToken, persist) {
  const r = await request("/oauth2/token", {
    form: { grant_type: "refresh_token", client_id: "logseq-web", refresh_token: refreshToken },
  });
  const email = emailOf(r.id_token);
  setSession({ email, refreshToken, idToken: r.id_token, expiresIn: r.expires_in, persist });
  return email;
}

function emailOf(jwt) {
  try {
    const b64 = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)))).email ?? null;
  } catch {
    return null;
  }
}

/** One sync API call (PROTOCOL.md §6); retries once with a fresh ID token on 401. */
export async function call(api, body) {
  try {
    return await request(`/file-sync/${api}`, { body, auth: true });
  } catch (e) {
    if (e.status !== 401 || !load()) throw e;
    await token(true);
    return request(`/file-sync/${api}`, { body, auth: true });
  }
}

/** Sign out: revoke the refresh token on the server (RFC 7009, always 200) and forget it here. */
export async function signOut() {
  const s = load();
  session = null;
  idToken = null;
  localStorage.removeItem(STORE);
  if (s?.refreshToken) await request("/oauth2/revoke", { body: { token: s.refreshToken } }).catch(() => {});
}

// Device pairing (docs/WEB.md "Open your graph from a phone").
export const pair = {
  start: (label) => request("/pair/start", { body: { label } }),
  poll: (poll) => request("/pair/poll", { body: { poll } }),
  approve: async (code) => request("/pair/approve", { body: { code }, auth: true }),
};

/** Downloads one presigned URL (R2 or this origin's /s3/): no credentials, no referrer. */
export async function download(url) {
  let r;
  try {
    r = await fetch(url, { credentials: "omit", referrerPolicy: "no-referrer", cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, e.message, "download");
  }
  if (!r.ok) throw new ApiError(r.status, `download failed: HTTP ${r.status}`, "download");
  return r.arrayBuffer();
}

/** "Chromium 156 on Linux": the label a pairing shows in `admin tokens`. */
export function browserLabel() {
  const d = navigator.userAgentData;
  const ua = navigator.userAgent;
  let brand = null;
  if (d?.brands) {
    const b =
      d.brands.find((x) => !/not.?a.?brand/i.test(x.brand) && x.brand !== "Chromium") ??
      d.brands.find((x) => x.brand === "Chromium");
    if (b) brand = `${b.brand} ${b.version}`;
  }
  if (!brand) {
    const m = /(Firefox|Edg|OPR|SamsungBrowser|Chrome|Chromium)\/(\d+)/.exec(ua) ?? /Version\/(\d+).*(Safari)/.exec(ua);
    if (m) brand = m[2] === "Safari" ? `Safari ${m[1]}` : `${m[1] === "Edg" ? "Edge" : m[1]} ${m[2]}`;
  }
  const os =
    d?.platform ||
    (/Android/.test(ua)
      ? "Android"
      : /iPhone|iPad/.test(ua)
        ? "iOS"
        : /Mac OS X/.test(ua)
          ? "macOS"
          : /Windows/.test(ua)
            ? "Windows"
            : /Linux/.test(ua)
              ? "Linux"
              : null);
  return [brand ?? "web browser", os ? `on ${os}` : ""].join(" ").trim().slice(0, 80);
}
