// The stock-desktop route in the browser engine the app runs on (Debian's Chromium, driven by
// puppeteer-core; no browser download): `npm run connect` started as a user starts it, its CA
// trusted through an NSS user store exactly as docs/CLIENT.md tells a Linux user (certutil), and
// Chromium pointed at it with --proxy-server. No certificate error is ignored. A page loaded from
// file:// (origin `null`, as the app's renderer) makes the app's own requests: both
// connectivity checks, the credentialed token refresh, API calls with a bearer token (CORS
// preflight), the websocket, and a push after a commit (made by the stock rsapi through the same
// proxy), signed in with a Logseq-account token. Negative control: without the CA in the store,
// the same request fails with a certificate error.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { CHROMIUM_FLAGS } from "../harness/chromium.mjs";
import { appCall, raw } from "../harness/client.mjs";
import { cognitoUser, idToken } from "../harness/cognito.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { makeDeviceDir, removeDirs, writeFiles } from "../harness/graph.mjs";

const BASE = process.env.WORKER_URL;
const CHROMIUM = process.env.CHROMIUM_BIN;
const CERTUTIL = ["/usr/bin/certutil"].find((p) => existsSync(p));
const DEPLOY_ALLOWED = process.env.COGNITO_DEPLOY_ALLOWED;
const missing = !CHROMIUM
  ? "chromium is not installed"
  : !CERTUTIL
    ? "certutil (libnss3-tools) is not installed"
    : null;
const STEP = { timeout: 60_000 };

const tmp = mkdtempSync(join(tmpdir(), "browser-route-"));
let connect; // the `npm run connect` child
let connectOut = ""; // its stdout: one line per intercepted request
let proxyUrl;
let caPath;
let caName;
const browsers = [];
const dirs = [];

/** Starts `npm run connect` (scripts/connect.mjs) on a free port; resolves its proxy URL. */
function startConnect(caDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["scripts/connect.mjs", BASE, "--port", "0", "--ca-dir", caDir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`connect did not start:\n${out}`)), 20_000);
    child.stdout.on("data", (d) => {
      out += d;
      connectOut += d;
      const m = out.match(/Proxy listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], out });
      }
    });
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => reject(new Error(`connect exited ${code}:\n${out}`)));
  });
}

/** A HOME whose NSS user store trusts the connect CA or not, set up with certutil as a user would. */
function makeHome(name, trustCa) {
  const home = join(tmp, name);
  const db = join(home, ".pki", "nssdb");
  mkdirSync(db, { recursive: true });
  execFileSync(CERTUTIL, ["-d", `sql:${db}`, "-N", "--empty-password"]);
  // docs/CLIENT.md: certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "<name>" -i <ca.pem>
  if (trustCa) execFileSync(CERTUTIL, ["-d", `sql:${db}`, "-A", "-t", "C,,", "-n", caName, "-i", caPath]);
  return home;
}

async function launch(home) {
  const { default: puppeteer } = await import("puppeteer-core");
  const profile = join(tmp, `profile-${browsers.length}`);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    acceptInsecureCerts: false,
    env: { ...process.env, HOME: home },
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, `--proxy-server=${proxyUrl}`],
  });
  browsers.push(browser);
  return browser;
}

// The app's requests, as the renderer makes them (PROTOCOL.md §2.7, §3.3, §6.22, §6.23, §8).
const APP_PAGE = `<!doctype html><meta charset="utf-8"><title>app requests</title><script>
window.app = {
  async connectivity() {
    const v = await fetch("https://api.logseq.com/logseq/version");
    const s3 = await fetch("https://logseq-connectivity-testing-prod.s3.us-east-1.amazonaws.com/logseq-connectivity-testing");
    return { version: v.status, versionBody: await v.json(), s3: s3.status, s3Body: await s3.text() };
  },
  // cljs-http: XHR with withCredentials (its default), form-encoded (LS user.cljs:134-140).
  refresh(refreshToken) {
    return new Promise((resolve) => {
      const x = new XMLHttpRequest();
      x.open("POST", "https://logseq-prod.auth.us-east-1.amazoncognito.com/oauth2/token");
      x.withCredentials = true;
      x.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
      x.onload = () => resolve({ status: x.status, body: x.responseText });
      x.onerror = () => resolve({ status: 0, error: "network error" });
      x.send("grant_type=refresh_token&client_id=69cs1lgme7p8kbgld8n5kseii6&refresh_token=" + encodeURIComponent(refreshToken));
    });
  },
  // LS sync.cljs:286-295: JSON body labelled form-urlencoded, bearer token (a preflight).
  async api(name, body, token) {
    const r = await fetch("https://api.logseq.com/file-sync/" + name, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded;charset=utf-8", Authorization: "Bearer " + token },
      body: JSON.stringify(body === undefined ? null : body),
    });
    return { status: r.status, body: await r.json() };
  },
  pushes: [],
  openSocket(graph) {
    return new Promise((resolve) => {
      const ws = new WebSocket("wss://ws.logseq.com/file-sync?graphuuid=" + graph);
      ws.onmessage = (e) => app.pushes.push(e.data);
      ws.onopen = () => resolve("open");
      ws.onerror = () => resolve("error");
    });
  },
  async waitForPush(txid) {
    for (let i = 0; i < 100; i++) {
      if (app.pushes.some((p) => { try { return JSON.parse(p).txid === txid; } catch { return false; } })) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  },
  async tryFetch(url) {
    try { const r = await fetch(url); return "status " + r.status; } catch (e) { return "failed: " + e.message; }
  },
};
</script>`;

describe("the stock desktop route in Chromium", { skip: missing ?? false }, () => {
  let page;
  const failures = [];
  const pageUrl = `file://${join(tmp, "app.html")}`;

  before(
    async () => {
      writeFileSync(join(tmp, "app.html"), APP_PAGE);
      const caDir = join(tmp, "ca");
      const c = await startConnect(caDir);
      connect = c.child;
      proxyUrl = c.url;
      caPath = join(caDir, "ca.pem");
      caName = JSON.parse(readFileSync(join(caDir, "ca.json"), "utf8")).commonName;
      const browser = await launch(makeHome("home-trusting", true));
      page = await browser.newPage();
      page.on("requestfailed", (r) => failures.push(`${r.url()} ${r.failure()?.errorText}`));
      await page.goto(pageUrl);
    },
    { timeout: 60_000 },
  );

  after(
    async () => {
      for (const b of browsers) await b.close().catch(() => {});
      connect?.kill("SIGTERM");
      await rsapi.setProxy(null).catch(() => {});
      await removeDirs(dirs);
      rmSync(tmp, { recursive: true, force: true });
    },
    { timeout: 30_000 },
  );

  test("Chromium's version is recorded", async () => {
    const version = await browsers[0].version();
    assert.match(version, /Chrom(e|ium)\/\d+/);
    console.log(`# browser: ${version}`);
  });

  test("both connectivity checks pass over TLS verified against the trusted connect CA", STEP, async () => {
    const r = await page.evaluate(() => app.connectivity());
    assert.equal(r.version, 200);
    assert.ok(r.versionBody.version, JSON.stringify(r));
    assert.equal(r.s3, 200);
    assert.equal(r.s3Body, "OK");
    assert.deepEqual(failures, []);
  });

  let graph;
  const user = { ...cognitoUser("browser"), email: DEPLOY_ALLOWED };
  const token = idToken(user);

  test("the credentialed token refresh of this server's refresh token, from Origin null", STEP, async () => {
    const email = `browser-${Date.now()}@example.com`;
    await raw(BASE, "/admin/users", {
      method: "POST",
      headers: { authorization: `Bearer ${process.env.ADMIN_TOKEN}` },
      body: JSON.stringify({ email }),
    });
    const minted = await raw(BASE, "/admin/tokens", {
      method: "POST",
      headers: { authorization: `Bearer ${process.env.ADMIN_TOKEN}` },
      body: JSON.stringify({ email }),
    });
    assert.equal(minted.status, 200, minted.text);
    const r = await page.evaluate((rt) => app.refresh(rt), minted.json.refresh_token);
    assert.equal(r.status, 200, JSON.stringify(r));
    const body = JSON.parse(r.body);
    assert.ok(body.id_token && body.access_token);
    const info = await page.evaluate((t) => app.api("user_info", {}, t), body.id_token);
    assert.equal(info.status, 200, JSON.stringify(info));
  });

  test("API calls with a Logseq-account bearer token (CORS preflight), then the websocket", STEP, async () => {
    const info = await page.evaluate((t) => app.api("user_info", {}, t), token);
    assert.equal(info.status, 200, JSON.stringify(info));
    const created = await page.evaluate((t) => app.api("create_graph", { GraphName: "browser route" }, t), token);
    assert.equal(created.status, 200, JSON.stringify(created));
    graph = created.body.GraphUUID;
    const list = await page.evaluate((t) => app.api("list_graphs", undefined, t), token);
    assert.deepEqual(
      list.body.Graphs.map((g) => g.GraphUUID),
      [graph],
    );
    assert.match(
      connectOut,
      /OPTIONS api\.logseq\.com\/file-sync\/create_graph -> 20\d/,
      "Chromium sent the CORS preflight through the proxy",
    );
    const denied = await page.evaluate(() => app.api("user_info", {}, "not-a-token"));
    assert.equal(denied.status, 401);
    assert.deepEqual(denied.body, { message: "Unauthorized" });
    assert.equal(await page.evaluate((g) => app.openSocket(g), graph), "open");
  });

  test("a commit by the stock rsapi through the same proxy is pushed to the page's websocket", STEP, async () => {
    const keys = await rsapi.keygen();
    const armored = (await rsapi.ageEncryptWithPassphrase("pw", keys.secretKey)).toString("utf8");
    const up = await appCall(
      BASE,
      "upload_graph_encrypt_keys",
      { GraphUUID: graph, "public-key": keys.publicKey, "encrypted-private-key": armored },
      token,
    );
    assert.equal(up.status, 200, up.text);
    await rsapi.setProxy(proxyUrl);
    const dir = await makeDeviceDir("browser-route");
    dirs.push(dir);
    await writeFiles(dir, { "pages/browser.md": "- pushed to Chromium\n" });
    await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);
    const txid = await rsapi.updateRemoteFiles(graph, dir, ["pages/browser.md"], 0, token);
    assert.equal(txid, 1);
    assert.equal(await page.evaluate(() => app.waitForPush(1)), true, 'push {"txid":1} reached the browser');
    assert.deepEqual(failures, [], "no request failed");
  });

  test(
    "negative control: without the CA in the NSS store the same request fails on the certificate",
    STEP,
    async () => {
      const browser = await launch(makeHome("home-untrusting", false));
      const p = await browser.newPage();
      const errors = [];
      p.on("requestfailed", (r) => errors.push(r.failure()?.errorText));
      await p.goto(pageUrl);
      const r = await p.evaluate(() => app.tryFetch("https://api.logseq.com/logseq/version"));
      assert.match(r, /^failed/);
      assert.ok(
        errors.some((e) => /ERR_CERT_AUTHORITY_INVALID|ERR_CERT/.test(e)),
        `errors: ${errors.join(", ")}`,
      );
      assert.ok(new X509Certificate(readFileSync(caPath)).ca);
    },
  );
});
