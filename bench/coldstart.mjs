// Figure 8 (and the fresh-isolate line of figure 4): the size of the built worker, and what a
// fresh isolate costs (docs/PERFORMANCE.md "Size and cold start").
//
// Cold start, measured by restarting `wrangler dev` on the same state (the snapshot is already
// built, so a restart does not compile Rust):
// * ready: from spawning wrangler to its "Ready on" (wrangler, workerd and miniflare start-up;
//   says little about production, reported for completeness);
// * startup CPU: on-CPU time of workerd's main thread at that point: workerd's own start, every
//   miniflare service, and our module (compiling and instantiating the wasm, the shim's top
//   level) — an upper bound of the script start-up the platform limits;
// * first request: latency, thread CPU and worker time (hook) of the first API request the fresh
//   isolate serves (get_txid: routing, JWT check, one D1 read), against the same request warm;
// * split (a diagnostic, one more restart each): the fresh isolate's first request is the floor
//   route GET /logseq/version (routing and the log line only), then get_txid: what the first
//   request of any kind pays, and what get_txid's own path adds the first time it runs.
// The wasm is also compiled with this Node's V8 (same engine family as workerd): compile time
// of the module alone.

import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { appCall, raw } from "../tests/harness/client.mjs";
import { startWorker } from "./server.mjs";
import { median, now, sleep } from "./stats.mjs";

/**
 * Sizes of the built worker, and the median time `node` (wrangler's Node 22: Node 20's V8
 * cannot compile this module, it uses reference types) takes to compile the wasm module.
 */
export function sizes(wasmPath, jsPath, node) {
  const wasm = readFileSync(wasmPath);
  const js = readFileSync(jsPath);
  const script = `const b = require('fs').readFileSync(${JSON.stringify(wasmPath)}); const t = [];
    for (let i = 0; i < 5; i++) { const t0 = performance.now(); new WebAssembly.Module(b); t.push(performance.now() - t0); }
    t.sort((a, b) => a - b); console.log(JSON.stringify({ median: t[2], v8: process.versions.v8 }));`;
  const r = spawnSync(node, ["-e", script], { encoding: "utf8", timeout: 60_000 });
  let compile = { median: NaN, v8: "?" };
  try {
    compile = JSON.parse(r.stdout.trim().split("\n").pop());
  } catch {
    // reported as n/a
  }
  return {
    nodeCompileMs: compile.median,
    v8: compile.v8,
    wasmBytes: wasm.length,
    wasmGzip: gzipSync(wasm, { level: 9 }).length,
    jsBytes: js.length,
    jsGzip: gzipSync(js, { level: 9 }).length,
  };
}

async function timedCall(server, name, body, token) {
  await sleep(3);
  const ns0 = server.threadNs();
  const t0 = now();
  const reply = await appCall(server.url, name, body, token, { timeoutMs: 60_000 });
  const wall = now() - t0;
  await sleep(5);
  const ns1 = server.threadNs();
  if (reply.status !== 200) throw new Error(`${name}: ${reply.status} ${reply.text.slice(0, 200)}`);
  const hook = reply.headers["x-worker-time-ms"];
  return { wall, threadMs: (ns1 - ns0) / 1e6, hookMs: hook === undefined ? NaN : Number(hook) };
}

async function timedFloor(server) {
  await sleep(3);
  const ns0 = server.threadNs();
  const t0 = now();
  const reply = await raw(server.url, "/logseq/version", { timeoutMs: 60_000 });
  const wall = now() - t0;
  await sleep(5);
  const ns1 = server.threadNs();
  if (reply.status !== 200) throw new Error(`GET /logseq/version: ${reply.status}`);
  const hook = reply.headers["x-worker-time-ms"];
  return { wall, threadMs: (ns1 - ns0) / 1e6, hookMs: hook === undefined ? NaN : Number(hook) };
}

/** Restarts the worker `runs` times on the prepared state and measures each fresh start. */
export async function coldStarts(node, prepared, { runs = 3, user, graph, warm = 10, log = () => {} }) {
  const out = [];
  for (let k = 0; k < runs; k++) {
    const server = await startWorker({ node, prepared });
    try {
      const readyMs = server.readyAt - server.startedAt;
      const startupCpuMs = server.threadNs() / 1e6;
      const first = await timedCall(server, "get_txid", { GraphUUID: graph }, user.token);
      const again = [];
      for (let i = 0; i < warm; i++) again.push(await timedCall(server, "get_txid", { GraphUUID: graph }, user.token));
      const row = {
        readyMs,
        startupCpuMs,
        first,
        warm: {
          wall: median(again.map((a) => a.wall)),
          threadMs: median(again.map((a) => a.threadMs)),
          hookMs: median(again.map((a) => a.hookMs)),
        },
      };
      out.push(row);
      log(
        `cold start ${k + 1}: ready ${(readyMs / 1000).toFixed(1)} s, first get_txid ${first.wall.toFixed(0)} ms (warm ${row.warm.wall.toFixed(1)} ms)`,
      );
    } finally {
      await server.stop();
    }
    const again = await startWorker({ node, prepared });
    try {
      const floor = await timedFloor(again);
      const then = await timedCall(again, "get_txid", { GraphUUID: graph }, user.token);
      out[k].split = { floor, then };
      log(`cold start ${k + 1}, floor first: worker ${floor.hookMs} ms, then get_txid ${then.hookMs} ms`);
    } finally {
      await again.stop();
    }
  }
  return out;
}
