// The web client's figures (issue 17, docs/WEB.md), in Debian's Chromium at a phone viewport
// against the bench graph the official client uploaded: unlock at scrypt logN 18 and 20, time to
// the full page list, first render of a page, full-text search cold (bodies downloaded, parsed)
// and warm, and the app's bytes (gzip) before unlock and in total. Times are read from the
// app's own performance marks (web/src/shell/main.js), so Puppeteer's round trips do not count.

import { mkdtempSync, readFileSync, rmSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { armor, Encrypter } from "age-encryption";
import { CHROMIUM_FLAGS } from "../tests/harness/chromium.mjs";
import { appCall, raw } from "../tests/harness/client.mjs";
import { BENCH_PASSWORD as PASSWORD, rsapi } from "./context.mjs";
import { makeDeviceDir, removeDirs, writeFiles } from "../tests/harness/graph.mjs";

/** gzip -9 bytes of the built app's files, split into what loads before unlock and the rest. */
export function appBytes(assetsDir) {
  const app = join(assetsDir, "app");
  const gz = (f) => gzipSync(readFileSync(join(app, f)), { level: 9 }).length;
  // What a first visit loads until the password form: the page and every stylesheet and script
  // it links, the crypto worker (started for the remembered-key check), the manifest, and every
  // chunk those scripts import statically (a dynamic `import(...)` loads later, on use).
  const html = readFileSync(join(app, "index.html"), "utf8");
  const linked = [...html.matchAll(/(?:href|src)="([\w./-]+\.(?:css|js|webmanifest))"/g)].map((m) => m[1]);
  const before = new Set(["index.html", "crypto.worker.js", ...linked]);
  for (const f of before) {
    if (!f.endsWith(".js")) continue;
    const code = readFileSync(join(app, f), "utf8");
    for (const m of code.matchAll(/(?:\bfrom|\bimport)\s*"\.\/([\w.-]+\.js)"/g)) before.add(m[1]);
  }
  const all = [];
  const walk = (d, rel = "") => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p, `${rel}${f}/`);
      else if (!/\.png$/.test(f)) all.push(`${rel}${f}`);
    }
  };
  walk(app);
  return {
    beforeUnlock: [...before].reduce((n, f) => n + gz(f), 0),
    beforeFiles: [...before],
    total: all.reduce((n, f) => n + gz(f), 0),
    files: Object.fromEntries(all.map((f) => [f, gz(f)])),
  };
}

async function wrap(secretKey, logN) {
  const e = new Encrypter();
  e.setPassphrase(PASSWORD);
  e.setScryptWorkFactor(logN);
  return armor.encode(await e.encrypt(secretKey));
}

async function adminCall(url, token, path, body) {
  const r = await raw(url, path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
  return r.json;
}

/**
 * Runs the web figures. `main` is the bench's uploaded graph ({user, graph}), encrypted with
 * ctx.keys, whose key BenchContext stored wrapped at logN 18; a one-page graph gets the same key
 * wrapped at logN 20.
 */
export async function webFigures(ctx, { main, chromium, adminToken, assetsDir, log }) {
  const { url } = ctx;
  const up = (graph, key) =>
    appCall(
      url,
      "upload_graph_encrypt_keys",
      { GraphUUID: graph, "public-key": ctx.keys.publicKey, "encrypted-private-key": key },
      main.user.token,
    );
  // The bench graph's key is already wrapped at logN 18 (BenchContext.newGraph); a one-page
  // graph gets the same key wrapped at logN 20.
  log("web: wrapping the key at logN 20");
  const slow = await appCall(url, "create_graph", { GraphName: "bench logN 20" }, main.user.token);
  const slowGraph = slow.json.GraphUUID;
  await up(slowGraph, await wrap(ctx.keys.secretKey, 20));
  await rsapi.setEnv(slowGraph, "prod", ctx.keys.secretKey, ctx.keys.publicKey);
  const dir = await makeDeviceDir("bench-web");
  await writeFiles(dir, { "pages/one.md": "- one page\n" });
  await rsapi.updateRemoteFiles(slowGraph, dir, ["pages/one.md"], 0, main.user.token);
  await removeDirs([dir]);

  await adminCall(url, adminToken, "/admin/users", { email: main.user.email });
  const { refresh_token: refresh } = await adminCall(url, adminToken, "/admin/tokens", {
    email: main.user.email,
    label: "bench browser",
  });

  const { default: puppeteer } = await import("puppeteer-core");
  const profile = mkdtempSync(join(tmpdir(), "chromium-bench-web-"));
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: [...CHROMIUM_FLAGS.filter((f) => f !== "--headless"), `--user-data-dir=${profile}`],
  });
  const out = { bytes: appBytes(assetsDir) };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 360, height: 740, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const between = (a, b) =>
      page.evaluate(
        (x, y) => {
          const last = (n) => performance.getEntriesByName(n).at(-1)?.startTime;
          return last(y) - last(x);
        },
        a,
        b,
      );
    await page.goto(`${url}/app/#/signin`, { waitUntil: "load" });
    await page.$eval("details", (d) => {
      d.open = true;
    });
    await page.type("#refresh-token", refresh);
    await page.$eval("#paste-form", (f) => f.requestSubmit());
    await page.waitForSelector("#graphs li[data-graph]");

    const unlock = async (graph) => {
      await page.goto(`${url}/app/#/unlock/${graph}`);
      await page.waitForSelector("#password");
      await page.type("#password", PASSWORD);
      await page.click("#unlock");
      await page.waitForSelector("#pages li[data-path]", { timeout: 300_000 });
    };
    log("web: unlock logN 20");
    await unlock(slowGraph);
    out.unlock20 = await between("unlock:start", "unlock:done");
    log("web: unlock logN 18, page list");
    await unlock(main.graph);
    out.unlock18 = await between("unlock:start", "unlock:done");
    out.list = await between("unlock:done", "pages:listed");
    out.pages = await page.$$eval("#pages li[data-path]", (l) => l.length);

    // First render of a page right after the list appears (the graph is still being read).
    const first = await page.$eval("#pages li[data-path^='pages/']", (l) => l.dataset.path);
    await page.goto(`${url}/app/#/page/${encodeURIComponent(first)}`);
    await page.waitForFunction(() => performance.getEntriesByName("page:rendered").length > 0, { timeout: 60_000 });
    out.firstRender = await between("page:start", "page:rendered");

    const search = async (q) => {
      await page.evaluate(() => performance.clearMarks("search:done"));
      await page.goto(`${url}/app/#/search?q=${encodeURIComponent(q)}`);
      await page.waitForFunction(() => performance.getEntriesByName("search:done").length > 0, { timeout: 600_000 });
      return between("search:start", "search:done");
    };
    log("web: search cold (downloads and reads every page)");
    out.searchCold = await search("garden");
    // Reading every page started at unlock (the list starts it): the full cold answer is this.
    out.unlockToAllRead = await between("unlock:done", "search:done");
    out.searchWarm = await search("budget review");
  } finally {
    await browser.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  return out;
}
