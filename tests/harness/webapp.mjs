// The web app (/app/) in headless Chromium at a phone viewport, shared by the browser tests
// (web.test.mjs, web-ops.test.mjs): launching a browser with a fresh profile, a 360x740 touch
// page that records every request (page and its workers, websocket frames) and CSP report,
// screenshots, signing in with a pasted refresh token, and the check that nothing secret or
// plaintext left the browser. Also `png()`: a real 8x8 PNG for asset fixtures.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

import { CHROMIUM_FLAGS } from "./chromium.mjs";
import { appCall, raw } from "./client.mjs";
import * as rsapi from "./rsapi.mjs";

/** `(method, path, body) => json` for the worker's /admin/ routes (asserts a 200). */
export function adminClient(base, adminToken) {
  return async (method, path, body) => {
    const r = await raw(base, path, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    return r.json;
  };
}

/**
 * A graph as the desktop makes one: created, its key made by rsapi and wrapped with the
 * password by rsapi, uploaded, and rsapi set to use it (rsapi's proxy must be set already).
 * @returns {Promise<{graph: string, keys: {secretKey: string, publicKey: string}}>}
 */
export async function passwordGraph({ base, idToken, name, password }) {
  const keys = await rsapi.keygen();
  const made = await appCall(base, "create_graph", { GraphName: name }, idToken);
  assert.equal(made.status, 200, made.text);
  const graph = made.json.GraphUUID;
  const wrapped = (await rsapi.ageEncryptWithPassphrase(password, keys.secretKey)).toString();
  const up = await appCall(
    base,
    "upload_graph_encrypt_keys",
    { GraphUUID: graph, "public-key": keys.publicKey, "encrypted-private-key": wrapped },
    idToken,
  );
  assert.equal(up.status, 200, up.text);
  await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);
  return { graph, keys };
}

/** A real (tiny) PNG: 8x8 of one colour (teal by default). */
export function png(rgb = [0x1f, 0x5f, 0x6b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b) => {
    let x = ~0;
    for (const v of b) x = crcTable[(x ^ v) & 255] ^ (x >>> 8);
    return ~x >>> 0;
  };
  const chunk = (t, d) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(d.length);
    const td = Buffer.concat([Buffer.from(t), d]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(8, 0);
  ihdr.writeUInt32BE(8, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const rows = Buffer.alloc(8 * 25);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) rows.set(rgb, y * 25 + 1 + x * 3);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
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

/** Signs in with a refresh token, opens `graph` from the graphs list, unlocks it with `password`
 * and waits for the page list. */
export async function signInAndUnlock(page, { base, refreshToken, graph, password }) {
  await page.goto(`${base}/app/#/signin`);
  await pasteToken(page, refreshToken);
  await page.waitForSelector(`li[data-graph="${graph}"] a`, { timeout: 30_000 });
  await page.click(`li[data-graph="${graph}"] a`);
  await page.waitForSelector("#password");
  await page.type("#password", password);
  await page.click("#unlock");
  await page.waitForSelector("#pages li[data-path]", { timeout: 60_000 });
}

export async function waitText(page, sel, needle, timeout = 30_000) {
  await page.waitForFunction((s, n) => document.querySelector(s)?.textContent.includes(n), { timeout }, sel, needle);
}

function decodeURIComponentSafe(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * One test file's browsers: `state` holds what was recorded ({browsers, dirs, requests, csp,
 * console}); `close()` closes the browsers and removes their profiles.
 * @param {{chromium: string, shots?: string}} options shots: a folder for screenshots (none if unset)
 */
export function browserKit({ chromium, shots }) {
  const state = { browsers: [], dirs: [], requests: [], csp: [], console: [] };

  async function launch(name) {
    const { default: puppeteer } = await import("puppeteer-core");
    const profile = mkdtempSync(join(tmpdir(), `chromium-web-${name}-`));
    state.dirs.push(profile);
    const browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: [...CHROMIUM_FLAGS.filter((f) => f !== "--headless"), `--user-data-dir=${profile}`],
    });
    state.browsers.push(browser);
    return browser;
  }

  /** A phone-sized page that records every request (page and its workers), websocket frame and CSP report. */
  async function phonePage(browser, label) {
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
    cdp.on("Network.webSocketFrameSent", (e) =>
      record({ url: "websocket", method: "WS", body: e.response.payloadData }),
    );
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

  async function shot(page, name) {
    if (!shots) return;
    mkdirSync(shots, { recursive: true });
    // What is on the screen at its scroll position (not the page from its top).
    await page.screenshot({ path: join(shots, `${name}.png`), captureBeyondViewport: false });
  }

  async function assertNoCsp(page) {
    const fired = await page.evaluate(() => window.__csp);
    assert.deepEqual(fired, [], `CSP violations: ${fired.join("; ")}`);
    assert.deepEqual(state.csp, [], `CSP console reports: ${state.csp.join("; ")}`);
  }

  /** Body downloads (presigned GETs: wrangler's local R2 endpoint or the Worker's /s3/). */
  const downloads = (from) =>
    state.requests.filter(
      (r) => r.from === from && r.method === "GET" && /\/(cdn-cgi\/local\/r2\/s3|s3)\//.test(new URL(r.url).pathname),
    );

  /**
   * Every recorded request went to `base`'s origin (or blob:/data:/its websocket) and carried
   * none of `secrets` nor any of `plain` (5 characters or more; also checked NFD and URL-encoded).
   */
  function assertNothingLeft({ base, secrets, plain }) {
    const phrases = plain.flatMap((s) => [s, s.normalize("NFD"), encodeURIComponent(s)]);
    const origin = new URL(base).origin;
    assert.ok(state.requests.length > 20, `recorded ${state.requests.length} requests`);
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
      for (const s of phrases) {
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

  async function close() {
    for (const b of state.browsers) await b.close().catch(() => {});
    for (const d of state.dirs) rmSync(d, { recursive: true, force: true });
  }

  return { state, launch, phonePage, shot, assertNoCsp, downloads, assertNothingLeft, close };
}
