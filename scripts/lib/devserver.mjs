// Starts the Worker locally with `wrangler dev`: local D1, R2 (with its S3
// endpoint), Durable Objects; migrations applied first. The one worker starter of
// `npm start`, `npm test` (and the tests that start a worker of their own), the bench and the soak.

import { randomBytes } from "node:crypto";
import {
  closeSync,
  cpSync,
  existsSync,
  mkdtempSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
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

/**
 * A worker of its own for a test run, the bench or the soak: builds once, snapshots the worker
 * into a new temporary directory (`workerBuild`: another build/ output instead, e.g. a branch's),
 * applies the migrations to fresh local state there and makes throwaway secrets.
 * @returns {{dir: string, config: string, state: string, wasm: string,
 *   secrets: {JWT_SECRET: string, S3_CREDENTIAL_SECRET: string}, cleanup(): void}}
 */
export function prepareWorker(node, { workerBuild, prefix = "logseq-sync-worker-" } = {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let config;
  const state = join(dir, "state");
  try {
    config = snapshotWorker(dir);
    if (workerBuild) {
      for (const f of ["index.js", "index_bg.wasm", "snippets"]) {
        rmSync(join(dir, "worker", f), { recursive: true, force: true });
        if (existsSync(join(workerBuild, f))) cpSync(join(workerBuild, f), join(dir, "worker", f), { recursive: true });
      }
    }
    applyMigrations(node, state, config);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const secrets = {
    JWT_SECRET: randomBytes(32).toString("hex"),
    S3_CREDENTIAL_SECRET: randomBytes(32).toString("hex"),
  };
  const wasm = join(dir, "worker", "index_bg.wasm");
  return { dir, config, state, secrets, wasm, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function applyMigrations(node, persistTo, config) {
  const args = ["d1", "migrations", "apply", "DB", "--local"];
  if (persistTo) args.push("--persist-to", persistTo);
  if (config) args.push("--config", config);
  // wrangler's report goes to stderr: stdout is reserved for what a script prints as its result.
  runWrangler(node, args, { env: { CI: "true" }, stdio: ["ignore", 2, 2] });
}

/**
 * Starts `wrangler dev` on 127.0.0.1:<port> (`inspectorPort`: its inspector there, instead of
 * wrangler's 9229 which another wrangler may hold). `logFile`: wrangler's output (the worker's
 * access log, one JSON line per request) is appended to that file instead of going to `stdio`.
 * Ready, by `waitFor`:
 * - "version" (default): GET /logseq/version answers 200;
 * - "ready-line": wrangler prints "Ready on": no request has reached the worker yet (the bench's
 *   cold start is the first one). Its output is then kept in `lines` (`stdio` is ignored) and
 *   `accessLog()` reads the worker's JSON access-log lines from it.
 * Rejects after `timeoutMs` (the first build can take minutes) or when wrangler exits first.
 * @returns {Promise<{child: import("node:child_process").ChildProcess, url: string, port: number,
 *   inspectorPort?: number, lines: Array<{at: number, text: string}>, accessLog(from?: number): object[],
 *   startedAt: number, readyAt: number, stop(): Promise<void>}>}
 */
export async function startDevServer({
  node,
  port,
  persistTo,
  config,
  vars = {},
  stdio,
  logFile,
  timeoutMs = 15 * 60_000,
  inspectorPort,
  waitFor = "version",
}) {
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--show-interactive-dev-session=false"];
  if (inspectorPort) args.push("--inspector-port", String(inspectorPort));
  if (persistTo) args.push("--persist-to", persistTo);
  if (config) args.push("--config", config);
  for (const [k, v] of Object.entries({ ...localVars(port), ...vars })) args.push("--var", `${k}:${v}`);
  const keepOutput = waitFor === "ready-line";
  const startedAt = performance.now();
  const fd = logFile && !keepOutput ? openSync(logFile, "a") : null;
  let child;
  try {
    child = spawnWrangler(node, args, {
      stdio: keepOutput ? ["ignore", "pipe", "pipe"] : fd !== null ? ["ignore", fd, fd] : stdio,
      env: { CI: "true" },
    });
  } finally {
    if (fd !== null) closeSync(fd); // the child holds its own copy
  }
  const url = `http://127.0.0.1:${port}`;
  const lines = [];
  let sawReadyLine = false;
  if (keepOutput) {
    let buffered = "";
    const onData = (d) => {
      buffered += d;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push({ at: performance.now(), text });
        if (/Ready on http/.test(text)) sawReadyLine = true;
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
  }
  const server = {
    child,
    url,
    port,
    inspectorPort,
    lines,
    startedAt,
    readyAt: 0,
    /** The worker's access-log lines (JSON with "route") seen so far ("ready-line" only). */
    accessLog(from = 0) {
      const out = [];
      for (let i = from; i < lines.length; i++) {
        const t = lines[i].text;
        const at = t.indexOf('{"');
        if (at < 0 || !t.includes('"route"')) continue;
        try {
          out.push(JSON.parse(t.slice(at)));
        } catch {
          // not a log line of ours
        }
      }
      return out;
    },
    stop: () => stopDevServer(child),
  };
  const ready = async () => {
    if (keepOutput) return sawReadyLine;
    try {
      const r = await fetch(`${url}/logseq/version`, { signal: AbortSignal.timeout(2000) });
      return r.status === 200;
    } catch {
      return false; // not listening yet
    }
  };
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  child.on("exit", (code) => (exited = code ?? -1));
  while (Date.now() < deadline) {
    if (exited !== null) {
      const tail = lines.slice(-20).map((l) => `\n${l.text}`);
      throw new Error(`wrangler dev exited with ${exited} before it was ready${tail.join("")}`);
    }
    if (await ready()) {
      server.readyAt = performance.now();
      return server;
    }
    await new Promise((r) => setTimeout(r, keepOutput ? 50 : 500));
  }
  await stopDevServer(child);
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
