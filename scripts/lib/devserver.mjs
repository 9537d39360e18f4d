// Starts the Worker locally with `wrangler dev`: local D1, R2 (with its S3
// endpoint), Durable Objects; migrations applied first.

import { cpSync, existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { runWrangler, spawnWrangler, log, run, ROOT } from "./tools.mjs";

/** Local-only credentials of wrangler's emulated R2 S3 endpoint (wrangler.toml). */
export const LOCAL_R2_S3 = {
  accessKeyId: "localdevaccesskey",
  secretAccessKey: "localdevsecretaccesskey",
  bucket: "logseq-sync",
};

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

/** Vars that point the Worker at itself and at the local R2 S3 endpoint. */
export function localVars(port) {
  const origin = `http://127.0.0.1:${port}`;
  return {
    PUBLIC_URL: origin,
    R2_S3_ENDPOINT: `${origin}/cdn-cgi/local/r2/s3`,
    R2_S3_BUCKET: LOCAL_R2_S3.bucket,
    R2_S3_ACCESS_KEY_ID: LOCAL_R2_S3.accessKeyId,
    R2_S3_SECRET_ACCESS_KEY: LOCAL_R2_S3.secretAccessKey,
  };
}

/**
 * Builds the worker once and copies it into `dir` with a configuration that
 * has no [build] step, so the running test worker is a fixed snapshot: edits
 * to src/ (or another `npm start` rebuilding build/) cannot reload it mid-run.
 * Returns the configuration's path.
 */
export function snapshotWorker(dir) {
  run(process.execPath, [join(ROOT, "scripts", "build.mjs")], { stdio: ["ignore", 2, 2] });
  const worker = join(dir, "worker");
  mkdirSync(worker, { recursive: true });
  // index.js imports index_bg.wasm; wasm-bindgen may also emit snippets/; assets/ is the web client.
  for (const f of ["index.js", "index_bg.wasm", "snippets", "assets"]) {
    const from = join(ROOT, "build", f);
    if (f === "snippets" && !existsSync(from)) continue;
    cpSync(from, join(worker, f), { recursive: true });
  }
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^\[build\]\n(?:(?!\[)[^\n]*\n)*/m, "")
    .replace(/^main = .*$/m, 'main = "worker/index.js"')
    .replace(/^directory = "build\/assets"$/m, 'directory = "worker/assets"')
    .replace(/^migrations_dir = .*$/m, `migrations_dir = ${JSON.stringify(join(ROOT, "migrations"))}`);
  if (
    /^\[build\]/m.test(toml) ||
    !toml.includes('main = "worker/index.js"') ||
    !toml.includes('directory = "worker/assets"')
  ) {
    throw new Error("could not derive the snapshot configuration from wrangler.toml");
  }
  const config = join(dir, "wrangler.toml");
  writeFileSync(config, toml);
  return config;
}

export function applyMigrations(node, persistTo, config) {
  const args = ["d1", "migrations", "apply", "DB", "--local"];
  if (persistTo) args.push("--persist-to", persistTo);
  if (config) args.push("--config", config);
  // wrangler's report goes to stderr: stdout is reserved for what a script prints as its result.
  runWrangler(node, args, { env: { CI: "true" }, stdio: ["ignore", 2, 2] });
}

/**
 * Starts `wrangler dev` on 127.0.0.1:<port>. Resolves once GET /logseq/version
 * answers 200, or rejects after `timeoutMs` (the first build can take minutes).
 */
export async function startDevServer({ node, port, persistTo, config, vars = {}, stdio, timeoutMs = 15 * 60_000 }) {
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--show-interactive-dev-session=false"];
  if (persistTo) args.push("--persist-to", persistTo);
  if (config) args.push("--config", config);
  for (const [k, v] of Object.entries({ ...localVars(port), ...vars })) args.push("--var", `${k}:${v}`);
  const child = spawnWrangler(node, args, { stdio, env: { CI: "true" } });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  child.on("exit", (code) => (exited = code ?? -1));
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`wrangler dev exited with ${exited} before it was ready`);
    try {
      const r = await fetch(`${url}/logseq/version`, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return { child, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill("SIGTERM");
  throw new Error(`wrangler dev was not ready on ${url} after ${timeoutMs / 1000}s`);
}

/** Stops a dev server and waits for it to exit (bounded). */
export async function stopDevServer(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => {
    log("wrangler dev did not stop; killing it");
    child.kill("SIGKILL");
  }, 5000);
  await exited;
  clearTimeout(timer);
}
