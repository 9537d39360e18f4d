// The Worker under benchmark: `wrangler dev` on a free port with fresh local state (D1, R2 and
// its S3 endpoint, Durable Objects), a fixed snapshot of the built worker (so edits to src/ or
// another build cannot reload it mid-run), its inspector on a second free port (wrangler always
// opens one; a port of our own avoids clashing with another wrangler on 9229), and its output
// (one JSON access-log line per request) kept in memory.
//
// Reuses scripts/lib: snapshotWorker, applyMigrations, localVars, stopDevServer, spawnWrangler.
// startDevServer is not used because it sends GET /logseq/version until the worker answers, and
// the first request a fresh isolate serves is itself a figure (cold start): readiness here is
// wrangler's "Ready on" line.

import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { spawnWrangler } from "../scripts/lib/tools.mjs";
import { applyMigrations, freePort, localVars, snapshotWorker, stopDevServer } from "../scripts/lib/devserver.mjs";
import { cognitoVars } from "./cognito.mjs";

/**
 * Builds once, snapshots the worker and prepares fresh state. Call `cleanup()` at the end.
 * @returns {{dir: string, config: string, state: string, secrets: Record<string,string>, cleanup(): void}}
 */
export function prepareWorker(node, { workerBuild } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "logseq-sync-bench-"));
  let config;
  const state = join(dir, "state");
  try {
    config = snapshotWorker(dir);
    if (workerBuild) {
      // Bench another build of the worker (e.g. a branch): its build/ output replaces the snapshot's.
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
    // The web section signs a browser in with a refresh token minted through /admin/tokens.
    ADMIN_TOKEN: randomBytes(32).toString("hex"),
  };
  // BENCH_TIMING: the worker's local timing hook (x-worker-time-ms), if it has one.
  const vars = { ...secrets, BENCH_TIMING: "true", ...cognitoVars };
  const wasm = join(dir, "worker", "index_bg.wasm");
  return { dir, config, state, secrets, vars, wasm, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts wrangler dev on the prepared snapshot. Resolves when wrangler reports "Ready on" and the
 * inspector lists the worker: no request has reached the worker yet.
 * @returns {Promise<{url: string, port: number, inspectorPort: number, child: import('node:child_process').ChildProcess,
 *   lines: Array<{at: number, text: string}>, accessLog(): object[], startedAt: number, readyAt: number, stop(): Promise<void>}>}
 */
export async function startWorker({ node, prepared, timeoutMs = 120_000 }) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--show-interactive-dev-session=false",
    "--persist-to",
    prepared.state,
    "--config",
    prepared.config,
  ];
  for (const [k, v] of Object.entries({ ...localVars(port), ...prepared.vars })) args.push("--var", `${k}:${v}`);
  const startedAt = performance.now();
  const child = spawnWrangler(node, args, { stdio: ["ignore", "pipe", "pipe"], env: { CI: "true" } });
  const lines = [];
  let ready = false;
  let buffered = "";
  const onData = (d) => {
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lines.push({ at: performance.now(), text });
      if (/Ready on http/.test(text)) ready = true;
    }
  };
  child.stdout.setEncoding("utf8").on("data", onData);
  child.stderr.setEncoding("utf8").on("data", onData);
  let exited = null;
  child.on("exit", (code) => (exited = code ?? -1));
  const server = {
    url: `http://127.0.0.1:${port}`,
    port,
    inspectorPort,
    child,
    lines,
    startedAt,
    readyAt: 0,
    /** The worker's access-log lines (JSON with "route") seen so far. */
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
    async stop() {
      await stopDevServer(child);
    },
    /** The workerd process that runs the worker (the one with the inspector), or null. */
    runtimePid() {
      if (this._runtime) return this._runtime;
      for (const p of processTree(child.pid)) {
        try {
          if (readFileSync(`/proc/${p}/comm`, "utf8").trim() !== "workerd") continue;
          if (readFileSync(`/proc/${p}/cmdline`, "utf8").includes("--inspector-addr")) return (this._runtime = p);
        } catch {
          // gone
        }
      }
      return null;
    },
    /** workerd processes under this wrangler. */
    workerdPids() {
      return processTree(child.pid).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/comm`, "utf8").trim() === "workerd";
        } catch {
          return false;
        }
      });
    },
    /** On-CPU nanoseconds so far of the runtime's main thread, where every isolate runs. */
    threadNs() {
      return this.threadSched().run;
    },
    /**
     * The runtime main thread's scheduler counters (/proc/<pid>/task/<tid>/schedstat): `run` ns
     * on a CPU, `wait` ns runnable but waiting for a CPU (other processes had it).
     */
    threadSched() {
      const pid = this.runtimePid();
      if (!pid) return { run: NaN, wait: NaN };
      try {
        const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ").map(Number);
        return { run, wait };
      } catch {
        return { run: NaN, wait: NaN };
      }
    },
  };
  const deadline = Date.now() + timeoutMs;
  try {
    while (!ready) {
      if (exited !== null)
        throw new Error(
          `wrangler dev exited with ${exited}:\n${lines
            .slice(-20)
            .map((l) => l.text)
            .join("\n")}`,
        );
      if (Date.now() > deadline) throw new Error(`wrangler dev not ready after ${timeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await stopDevServer(child);
    throw e;
  }
  server.readyAt = performance.now();
  return server;
}

/** Process ids of `pid` and all its descendants (Linux /proc). */
export function processTree(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone
    }
  }
  const out = [];
  const walk = (p) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/** CPU seconds (user + system) used so far by the given processes (Linux /proc). */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
    } catch {
      // gone
    }
  }
  return ticks / 100; // USER_HZ
}
