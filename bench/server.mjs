// The Worker under benchmark: scripts/lib/devserver.mjs's `wrangler dev` on a free port with
// fresh local state (D1, R2 and its S3 endpoint, Durable Objects), a fixed snapshot of the built
// worker (so edits to src/ or another build cannot reload it mid-run), its inspector on a second
// free port (wrangler always opens one; a port of our own avoids clashing with another wrangler
// on 9229), and its output (one JSON access-log line per request) kept in memory. Ready when
// wrangler prints "Ready on", not when GET /logseq/version answers: the first request a fresh
// isolate serves is itself a figure (cold start). Here: the bench's vars and the /proc readers.

import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { freePort, prepareWorker as prepareOwnWorker, startDevServer } from "../scripts/lib/devserver.mjs";
import { cognitoVars } from "./cognito.mjs";

/**
 * Builds once, snapshots the worker and prepares fresh state (devserver.mjs `prepareWorker`),
 * with the bench's vars. Call `cleanup()` at the end.
 * @returns {{dir: string, config: string, state: string, secrets: Record<string,string>,
 *   vars: Record<string,string>, wasm: string, cleanup(): void}}
 */
export function prepareWorker(node, { workerBuild } = {}) {
  const prepared = prepareOwnWorker(node, { workerBuild, prefix: "logseq-sync-bench-" });
  // The web section signs a browser in with a refresh token minted through /admin/tokens.
  prepared.secrets.ADMIN_TOKEN = randomBytes(32).toString("hex");
  // BENCH_TIMING: the worker's local timing hook (x-worker-time-ms), if it has one.
  return { ...prepared, vars: { ...prepared.secrets, BENCH_TIMING: "true", ...cognitoVars } };
}

/**
 * Starts wrangler dev on the prepared snapshot. Resolves when wrangler reports "Ready on": no
 * request has reached the worker yet.
 * @returns {Promise<{url: string, port: number, inspectorPort: number, child: import('node:child_process').ChildProcess,
 *   lines: Array<{at: number, text: string}>, accessLog(): object[], startedAt: number, readyAt: number, stop(): Promise<void>}>}
 */
export async function startWorker({ node, prepared, timeoutMs = 120_000 }) {
  const server = await startDevServer({
    node,
    port: await freePort(),
    inspectorPort: await freePort(),
    persistTo: prepared.state,
    config: prepared.config,
    vars: prepared.vars,
    timeoutMs,
    waitFor: "ready-line",
  });
  const { child } = server;
  return Object.assign(server, {
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
  });
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
