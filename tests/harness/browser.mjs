// The web client's browser harness, shared by tests/e2e/web*.test.mjs: Debian's headless
// Chromium through puppeteer-core at a phone viewport (360x740, touch), a record of every
// request the page and its workers make (websocket frames too) and of CSP reports, signing in
// with a pasted refresh token, waiting for text, and the check that nothing secret or
// plaintext left the browser. `state` is the test file's own {browsers, dirs, requests, csp,
// console}.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { CHROMIUM_FLAGS } from "./chromium.mjs";

/** A fresh headless Chromium with its own profile (kept in state.dirs for removal). */
export async function launch(state, name) {
  const { default: puppeteer } = await import("puppeteer-core");
  const profile = mkdtempSync(join(tmpdir(), `chromium-web-${name}-`));
  state.dirs.push(profile);
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM_BIN,
    headless: true,
    args: [...CHROMIUM_FLAGS.filter((f) => f !== "--headless"), `--user-data-dir=${profile}`],
  });
  state.browsers.push(browser);
  return browser;
}

/** A phone-sized page that records every request (page and its workers), websocket frame and CSP report. */
export async function phonePage(state, browser, label) {
  const page = await browser.newPage();
  await page.setViewport({ width: 360, height: 740, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const record = (r) => state.requests.push({ from: label, ...r });
  page.on("request", (req) =>
    record({ url: req.url(), method: req.method(), body: req.postData() ?? "", headers: req.headers() }),
  );
  page.on("console", (m) => {
    state.console.push(m.text());
    if (/Content.Security.Policy/i.test(m.text())) state.csp.push(m.text());
  });
  const cdp = await page.createCDPSession();
  await cdp.send("Network.enable");
  cdp.on("Network.webSocketFrameSent", (e) => record({ url: "websocket", method: "WS", body: e.response.payloadData }));
  cdp.on("Network.webSocketCreated", (e) => record({ url: e.url, method: "WS-OPEN", body: "" }));
  page.on("workercreated", async (w) => {
    try {
      await w.client.send("Network.enable");
      w.client.on("Network.requestWillBeSent", (e) =>
        record({ url: e.request.url, method: e.request.method, body: e.request.postData ?? "", worker: w.url() }),
      );
    } catch {
      // a worker that is already gone
    }
  });
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return page;
}

/** Signs a page in with a pasted refresh token (the fallback form, opened and submitted directly:
 * clicks on it raced the pairing code appearing above it on a loaded machine). */
export async function pasteToken(page, token) {
  await page.waitForSelector("#paste-form", { visible: false });
  await page.$eval("details", (d) => {
    d.open = true;
  });
  await page.type("#refresh-token", token);
  await page.$eval("#paste-form", (f) => f.requestSubmit());
}

export async function waitText(page, sel, needle, timeout = 30_000) {
  await page.waitForFunction((s, n) => document.querySelector(s)?.textContent.includes(n), { timeout }, sel, needle);
}

export async function assertNoCsp(state, page) {
  const fired = await page.evaluate(() => window.__csp);
  assert.deepEqual(fired, [], `CSP violations: ${fired.join("; ")}`);
  assert.deepEqual(state.csp, [], `CSP console reports: ${state.csp.join("; ")}`);
}

function decodeURIComponentSafe(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Every recorded request went to `base`'s origin (or blob:/data:/its websocket) and carried
 * none of `secrets` and none of `plain` (each also checked NFD and URL-encoded; strings shorter
 * than 5 characters are skipped); the websocket only ever sent PING.
 */
export function assertNothingLeft(state, base, { secrets, plain }) {
  const plainForms = plain.flatMap((s) => [s, s.normalize("NFD"), encodeURIComponent(s)]);
  const origin = new URL(base).origin;
  for (const r of state.requests) {
    if (r.url !== "websocket") {
      const u = new URL(r.url);
      assert.ok(
        u.origin === origin ||
          u.protocol === "blob:" ||
          u.protocol === "data:" ||
          (u.protocol === "ws:" && u.host === new URL(base).host),
        `request to another origin: ${r.url}`,
      );
    }
    const seen = `${r.url.split("#")[0]}\n${r.body}\n${decodeURIComponentSafe(r.url.split("#")[0])}`;
    for (const s of secrets) assert.ok(!seen.includes(s), `a secret left the browser in ${r.method} ${r.url}`);
    for (const s of plainForms) {
      if (s.length < 5) continue;
      assert.ok(!seen.includes(s), `plaintext "${s}" left the browser in ${r.method} ${r.url}`);
    }
  }
  const ws = state.requests.filter((r) => r.method === "WS");
  assert.ok(
    ws.every((r) => r.body === "PING"),
    "the websocket only ever sends PING",
  );
}
