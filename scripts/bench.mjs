// `npm run bench`: builds the worker, starts it locally (`wrangler dev`, fresh state, its own
// ports) and measures the figures of docs/PERFORMANCE.md on a fixed synthetic graph; prints one
// table, every figure beside its target. Not part of `npm test`; takes several minutes.
//
//   npm run bench                       the full bench (2,000 and 20,000 files)
//   npm run bench -- --files 200 --scale-files 0 --seconds 5    a quick look while developing
// Options and defaults: USAGE below (`npm run bench -- --help`).

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseCli, numberOption, usageError } from "./lib/cli.mjs";
import { setup, log } from "./lib/tools.mjs";

const USAGE = `usage: npm run bench [-- options]
Builds the worker, starts it locally (wrangler dev, fresh state in a temp directory, its own
ports) and measures docs/PERFORMANCE.md's figures on a synthetic graph with the official client.
Options (default in brackets):
  --files N          files in the main graph [2000] (at least 100)
  --runs N           upload and download runs [3]
  --edits N          edit-propagation samples [9]
  --samples N        compute samples per endpoint [30]
  --scale-files N    files in the scale graph [20000] (0 skips the scale section)
  --scale-size X     body-size factor of the scale graph [0.125]
  --scale-runs N     scale upload/download runs [1]
  --clients N        concurrent clients [20]
  --seconds N        concurrency duration, at most 600 [30]
  --cold-runs N      cold-start samples [3]
  --only LIST        comma-separated sections [all]: upload,download,propagation,compute,
                     roundtrips,proxy,concurrency,scale,web,size,cold
  --endpoints REGEX  compute: only the endpoints whose name matches [all]
  --worker-build DIR bench that build/ output instead of building this checkout
  --compare-build DIR  compute: also run that build/ output (a second worker with the same
                     graph) and measure both endpoint by endpoint in turn, in --passes rounds
                     of --samples / passes requests each, order alternating (an A/B that sees
                     the same machine load on both sides) [none]
  --passes N         rounds of the --compare-build A/B [3]
  --json FILE        also write the raw results as JSON [none]
  --markdown FILE    also write the table as Markdown [none]
Output: progress on stderr, the table on stdout. Quick look: --files 200 --scale-files 0 --seconds 5 --clients 4`;

const str = { type: "string" };
const { values: opt } = parseCli(process.argv.slice(2), {
  usage: USAGE,
  options: {
    files: { ...str, default: "2000" },
    runs: { ...str, default: "3" },
    edits: { ...str, default: "9" },
    samples: { ...str, default: "30" },
    "scale-files": { ...str, default: "20000" },
    "scale-size": { ...str, default: "0.125" },
    "scale-runs": { ...str, default: "1" },
    clients: { ...str, default: "20" },
    seconds: { ...str, default: "30" },
    "cold-runs": { ...str, default: "3" },
    only: str,
    endpoints: str,
    "worker-build": str,
    "compare-build": str,
    passes: { ...str, default: "3" },
    json: str,
    markdown: str,
  },
});
const num = (k) => numberOption(USAGE, opt, k);
const N = {
  files: num("files"),
  runs: Math.max(1, num("runs")),
  edits: Math.max(1, num("edits")),
  samples: Math.max(3, num("samples")),
  scaleFiles: num("scale-files"),
  scaleSize: num("scale-size"),
  scaleRuns: Math.max(1, num("scale-runs")),
  clients: Math.max(1, num("clients")),
  seconds: Math.min(600, num("seconds")),
  coldRuns: num("cold-runs"),
  passes: Math.max(1, num("passes")),
};
const SECTIONS = [
  "upload",
  "download",
  "propagation",
  "compute",
  "roundtrips",
  "proxy",
  "concurrency",
  "scale",
  "web",
  "size",
  "cold",
];
const only = new Set(opt.only ? opt.only.split(",").map((s) => s.trim()) : SECTIONS);
for (const s of only)
  if (!SECTIONS.includes(s)) usageError(USAGE, `--only: unknown section ${s} (${SECTIONS.join(", ")})`);
if (opt["compare-build"] && (only.size !== 1 || !only.has("compute")))
  usageError(USAGE, "--compare-build needs --only compute");
if (N.files < 100) usageError(USAGE, "--files must be at least 100 (the compute figures need 100 files)");
if (opt.endpoints) {
  try {
    new RegExp(opt.endpoints);
  } catch (e) {
    usageError(USAGE, `--endpoints: ${e.message}`);
  }
}

// Installs npm dependencies and the Rust tools first: the bench modules load the official
// client library (node_modules) when they are imported, so they are imported only after.
const { node } = setup();
const { prepareWorker, startWorker } = await import("../bench/server.mjs");
const { BenchContext, rsapi } = await import("../bench/context.mjs");
const { generateGraph, writeGraph, describeGraph } = await import("../bench/workload.mjs");
const { uploadRun, downloadRun } = await import("../bench/transfer.mjs");
const { propagationRuns, browserPropagationRuns } = await import("../bench/propagation.mjs");
const { computeFigures, endpointSpecs, prioritise, roundTrips } = await import("../bench/compute.mjs");
const { concurrencyRun } = await import("../bench/concurrency.mjs");
const { proxyCost } = await import("../bench/proxycost.mjs");
const { sizes, coldStarts } = await import("../bench/coldstart.mjs");
const { Table, fmt } = await import("../bench/report.mjs");
const { median, now, percentile } = await import("../bench/stats.mjs");

const CLIENT_BUCKET = "logseq-file-sync-bucket-prod";

const benchStart = now();
const say = (msg) => log(`[bench ${((now() - benchStart) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
const results = {
  startedAt: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  loadavgAtStart: loadavg(),
  options: N,
};

say("building the worker and preparing fresh local state");
const prepared = prepareWorker(node, { workerBuild: opt["worker-build"] });
const dirs = [];
let server;
let ctx;
try {
  server = await startWorker({ node, prepared });
  say(`worker on ${server.url} (inspector ${server.inspectorPort}) after ${fmt.s(server.readyAt - server.startedAt)}`);
  ctx = new BenchContext(server, prepared.secrets);
  await ctx.init();

  // ---- the workload
  const graph = generateGraph({ files: N.files });
  results.workload = describeGraph(graph);
  say(`workload: ${results.workload}`);
  const dirA = await mkdtemp(join(tmpdir(), "logseq-sync-bench-a-"));
  dirs.push(dirA);
  await writeGraph(dirA, graph.files);
  const expected = new Map(graph.files.map((f) => [f.path, f.bytes]));

  // ---- 1. upload (always: every later section works on the uploaded graph)
  results.upload = [];
  const uploadRuns = only.has("upload") ? N.runs : 1;
  for (let r = 0; r < uploadRuns; r++) {
    say(`upload run ${r + 1}/${uploadRuns}`);
    const user = ctx.newUser("upload");
    const run = await uploadRun(ctx, { user, files: graph.files, dir: dirA, name: `bench upload ${r}`, log: say });
    results.upload.push({ ...run, user: undefined });
    if (r === 0) results.main = { user, graph: run.graph, txid: run.txid };
  }
  const main = results.main;
  const names = ctx.encryptedNames(
    main.graph,
    graph.files.map((f) => f.path),
  );

  // ---- 2. download
  if (only.has("download")) {
    results.download = [];
    await rsapi.setEnv(main.graph, "prod", ctx.keys.secretKey, ctx.keys.publicKey);
    for (let r = 0; r < N.runs; r++) {
      say(`download run ${r + 1}/${N.runs}`);
      results.download.push(await downloadRun(ctx, { user: main.user, graph: main.graph, expected, log: say }));
    }
  }

  // ---- 3. edit propagation
  if (only.has("propagation")) {
    say(`edit propagation, ${N.edits} edits`);
    await rsapi.setEnv(main.graph, "prod", ctx.keys.secretKey, ctx.keys.publicKey);
    const p = await propagationRuns(
      ctx,
      [{ label: "main", user: main.user, graph: main.graph, files: graph.files, dirA, txid: main.txid }],
      { runs: N.edits, log: say },
    );
    results.propagation = p.main.runs;
    main.txid = p.main.txid;
    say(`browser edits (the web app's commit code in Node) → desktop B, ${N.edits} edits`);
    const b = await browserPropagationRuns(
      ctx,
      { user: main.user, graph: main.graph, files: graph.files, txid: main.txid },
      { runs: N.edits, log: say },
    );
    results.browserPropagation = b.runs;
    main.txid = b.txid;
  }

  // ---- 4. compute per request (and most D1 figures)
  if (only.has("compute")) {
    say(`worker compute per request, ${N.samples} samples per endpoint`);
    const state = { txid: main.txid };
    const filter = opt.endpoints ? new RegExp(opt.endpoints) : null;
    const specs = endpointSpecs(ctx, {
      user: main.user,
      graph: main.graph,
      names,
      state,
      bucketPrefix: CLIENT_BUCKET,
    }).filter((sp) => sp.floor || !filter || filter.test(sp.name));
    // enough transactions for get_diff (10) and a version for the version endpoints
    await ensureTransactions(ctx, main, names, state, 10);
    if (opt["compare-build"]) {
      results.compare = await compareBuilds(specs, filter);
    } else {
      const restore = prioritise(server.runtimePid());
      try {
        results.compute = await computeFigures(ctx, specs, { samples: N.samples, log: say });
      } finally {
        restore();
      }
    }
    main.txid = state.txid;
  }

  // ---- 4b. round trips: 50 ms injected before every D1 and R2 call
  if (only.has("roundtrips")) {
    say("round trips: every endpoint with 50 ms before each storage call, against without");
    const state = { txid: main.txid };
    const filter = opt.endpoints ? new RegExp(opt.endpoints) : null;
    const specs = endpointSpecs(ctx, {
      user: main.user,
      graph: main.graph,
      names,
      state,
      bucketPrefix: CLIENT_BUCKET,
    }).filter((sp) => !sp.floor && (!filter || filter.test(sp.name)));
    await ensureTransactions(ctx, main, names, state, 10);
    results.roundTrips = await roundTrips(ctx, specs, {
      latencyMs: 50,
      samples: Math.max(3, Math.round(N.samples / 6)),
      log: say,
    });
    main.txid = state.txid;
  }

  // ---- 4c. the connect proxy's own cost (issue 20, item 4)
  if (only.has("proxy")) {
    say("connect proxy: API calls and uploads through scripts/lib/connect-proxy.mjs, against direct");
    results.proxy = await proxyCost(ctx, { token: main.user.token, graph: main.graph, log: say });
  }

  // ---- 7. concurrency
  if (only.has("concurrency")) {
    say(`${N.clients} clients for ${N.seconds} s`);
    results.concurrency = await concurrencyRun(ctx, {
      clients: N.clients,
      seconds: N.seconds,
      bucketPrefix: CLIENT_BUCKET,
      log: say,
    });
  }

  // ---- 6. scale: the same figures on a 10× graph; the per-request figures are taken on both
  // graphs in turn (same isolate, same machine load), so that only the graph size differs.
  if (only.has("scale") && N.scaleFiles > 0) {
    const big = generateGraph({ files: N.scaleFiles, sizeScale: N.scaleSize });
    results.scaleWorkload = describeGraph(big);
    say(`scale workload: ${results.scaleWorkload}`);
    const dirS = await mkdtemp(join(tmpdir(), "logseq-sync-bench-s-"));
    dirs.push(dirS);
    await writeGraph(dirS, big.files);
    results.scale = { upload: [], download: [] };
    let scaleMain;
    for (let r = 0; r < N.scaleRuns; r++) {
      say(`scale upload run ${r + 1}/${N.scaleRuns}`);
      // the first scale graph belongs to the main user: both graphs then share rsapi's credential
      const user = r === 0 ? main.user : ctx.newUser("scale");
      const run = await uploadRun(ctx, {
        user,
        files: big.files,
        dir: dirS,
        name: `bench scale ${r}`,
        diagnostics: false,
        log: say,
      });
      results.scale.upload.push({ ...run, user: undefined });
      if (r === 0) scaleMain = { user, graph: run.graph, txid: run.txid };
    }
    await rsapi.setEnv(scaleMain.graph, "prod", ctx.keys.secretKey, ctx.keys.publicKey);
    const bigExpected = new Map(big.files.map((f) => [f.path, f.bytes]));
    for (let r = 0; r < N.scaleRuns; r++) {
      say(`scale download run ${r + 1}/${N.scaleRuns}`);
      results.scale.download.push(
        await downloadRun(ctx, {
          user: scaleMain.user,
          graph: scaleMain.graph,
          expected: bigExpected,
          doubleGet: false,
          log: say,
        }),
      );
    }
    const small = `${fmt.n(N.files)} files`;
    const large = `${fmt.n(N.scaleFiles)} files`;
    say("edit propagation on both graphs in turn");
    const p = await propagationRuns(
      ctx,
      [
        { label: small, user: main.user, graph: main.graph, files: graph.files, dirA, txid: main.txid },
        {
          label: large,
          user: scaleMain.user,
          graph: scaleMain.graph,
          files: big.files,
          dirA: dirS,
          txid: scaleMain.txid,
        },
      ],
      { runs: N.edits, offset: 1000, log: say },
    );
    results.scale.propagation = { [small]: p[small].runs, [large]: p[large].runs };
    main.txid = p[small].txid;
    scaleMain.txid = p[large].txid;
    say("compute on both graphs in turn");
    const wanted = [
      "get_txid",
      "get_files_meta (20 files)",
      "get_all_files (page of 1,000)",
      "get_files (100 files)",
      "get_diff (10 transactions)",
      "update_files (20 files, overwrites)",
    ];
    const bigNames = ctx.encryptedNames(
      scaleMain.graph,
      big.files.map((f) => f.path),
    );
    const smallState = { txid: main.txid };
    const bigState = { txid: scaleMain.txid };
    const smallSpecs = endpointSpecs(ctx, {
      user: main.user,
      graph: main.graph,
      names,
      state: smallState,
      bucketPrefix: CLIENT_BUCKET,
    });
    const bigSpecs = endpointSpecs(ctx, {
      user: scaleMain.user,
      graph: scaleMain.graph,
      names: bigNames,
      state: bigState,
      bucketPrefix: CLIENT_BUCKET,
    });
    await ensureTransactions(ctx, scaleMain, bigNames, bigState, 10);
    await ensureTransactions(ctx, main, names, smallState, 10);
    const specs = [smallSpecs.find((sp) => sp.floor)];
    for (const w of wanted) {
      specs.push({ ...smallSpecs.find((sp) => sp.name === w), name: `${w} — ${small}` });
      specs.push({ ...bigSpecs.find((sp) => sp.name === w), name: `${w} — ${large}` });
    }
    const restore = prioritise(server.runtimePid());
    try {
      results.scale.compute = await computeFigures(ctx, specs, { samples: N.samples, log: say });
    } finally {
      restore();
    }
    main.txid = smallState.txid;
  }

  // ---- 7b. the web client in Chromium (docs/WEB.md)
  if (only.has("web")) {
    const { ensureChromium } = await import("./lib/tools.mjs");
    const chromium = ensureChromium();
    if (!chromium) say("web: skipped, Chromium is not installed");
    else {
      const { webFigures } = await import("../bench/web.mjs");
      results.web = await webFigures(ctx, {
        main,
        chromium,
        adminToken: prepared.secrets.ADMIN_TOKEN,
        assetsDir: join(prepared.dir, "worker", "assets"),
        log: say,
      });
    }
  }

  // ---- 8. size and cold start (restarts the worker)
  if (only.has("size")) results.size = sizes(prepared.wasm, join(prepared.dir, "worker", "index.js"), node);
  if (only.has("cold") && N.coldRuns > 0) {
    await ctx.close();
    ctx = null;
    await server.stop();
    server = null;
    say(`cold start, ${N.coldRuns} restarts`);
    results.cold = await coldStarts(node, prepared, { runs: N.coldRuns, user: main.user, graph: main.graph, log: say });
  }
} finally {
  await ctx?.close().catch(() => {});
  await server?.stop().catch(() => {});
  for (const d of dirs) await rm(d, { recursive: true, force: true }).catch(() => {});
  prepared.cleanup();
}

results.seconds = (now() - benchStart) / 1000;
results.loadavgAtEnd = loadavg();
const table = buildTable(results);
console.log(`\nLogseq Sync worker bench — ${results.workload}`);
console.log(
  `${results.cpus} CPUs, load average ${results.loadavgAtStart.map((l) => l.toFixed(1)).join(" ")} at start, ${results.loadavgAtEnd.map((l) => l.toFixed(1)).join(" ")} at end; Node ${results.node}\n`,
);
console.log(table.text());
console.log(
  `\nbench took ${fmt.s(results.seconds * 1000, 0)}; ${table.misses().length} figure(s) miss their target${table.misses().length ? ": " + table.misses().join("; ") : ""}`,
);
if (opt.json) await writeFile(opt.json, JSON.stringify(results, null, 2));
if (opt.markdown) await writeFile(opt.markdown, table.markdown());

/**
 * --compare-build: a second worker from that build/ output with its own copy of the workload,
 * then every endpoint measured on this checkout's worker (B) and on the other (A) in turn, pass
 * after pass, the order alternating, so that both see the same load of a shared machine. Each
 * side's figure is the mean of its passes.
 */
async function compareBuilds(specsB, filter) {
  const preparedA = prepareWorker(node, { workerBuild: opt["compare-build"] });
  let serverA;
  let ctxA;
  try {
    serverA = await startWorker({ node, prepared: preparedA });
    ctxA = new BenchContext(serverA, preparedA.secrets);
    await ctxA.init();
    say(`compare: worker ${opt["compare-build"]} on ${serverA.url}; uploading the same workload to it`);
    const graph = generateGraph({ files: N.files });
    const dir = await mkdtemp(join(tmpdir(), "logseq-sync-bench-c-"));
    dirs.push(dir);
    await writeGraph(dir, graph.files);
    const user = ctxA.newUser("compare");
    const run = await uploadRun(ctxA, {
      user,
      files: graph.files,
      dir,
      name: "bench compare",
      diagnostics: false,
      log: say,
    });
    const a = { user, graph: run.graph, txid: run.txid };
    const namesA = ctxA.encryptedNames(
      a.graph,
      graph.files.map((f) => f.path),
    );
    const stateA = { txid: a.txid };
    const specsA = endpointSpecs(ctxA, {
      user,
      graph: a.graph,
      names: namesA,
      state: stateA,
      bucketPrefix: CLIENT_BUCKET,
    }).filter((sp) => sp.floor || !filter || filter.test(sp.name));
    await ensureTransactions(ctxA, a, namesA, stateA, 10);
    const restoreA = prioritise(serverA.runtimePid());
    const restoreB = prioritise(server.runtimePid());
    const per = Math.max(3, Math.ceil(N.samples / N.passes));
    const runs = { A: specsA.map(() => []), B: specsB.map(() => []) };
    try {
      for (let p = 0; p < N.passes; p++) {
        say(`compare: pass ${p + 1}/${N.passes}, ${per} samples per endpoint and side`);
        for (let i = 0; i < specsB.length; i++) {
          const order = (p + i) % 2 === 0 ? ["A", "B"] : ["B", "A"];
          for (const side of order) {
            const [r] = await computeFigures(side === "A" ? ctxA : ctx, [side === "A" ? specsA[i] : specsB[i]], {
              samples: per,
            });
            runs[side][i].push(r);
          }
        }
      }
    } finally {
      restoreB();
      restoreA();
    }
    const summary = (rs) => ({
      name: rs[0].name,
      floor: rs[0].floor,
      target: rs[0].target,
      cpu: rs.reduce((x, r) => x + r.cpuEstimate, 0) / rs.length,
      se: Math.sqrt(rs.reduce((x, r) => x + r.cpuStderr ** 2, 0)) / rs.length,
      passes: rs.map((r) => r.cpuEstimate),
      queries: rs[0].d1.queries,
      rowsRead: rs[0].d1.read,
    });
    const A = runs.A.map(summary);
    const B = runs.B.map(summary);
    return { build: opt["compare-build"], passes: N.passes, samplesPerPass: per, A, B };
  } finally {
    await ctxA?.close().catch(() => {});
    await serverA?.stop().catch(() => {});
    preparedA.cleanup();
  }
}

/** Commits small overwrites until the graph has at least `n` transactions after its upload. */
async function ensureTransactions(ctx, g, encNames, state, n) {
  const { ageLike, md5, putUrl } = await import("../bench/context.mjs");
  for (let i = 0; i < n; i++) {
    const [u] = await ctx.uploadUrls(g.graph, g.user.token, 1);
    const body = ageLike(1024);
    await putUrl(u.URL, body);
    const res = await ctx.rs(
      "update_files",
      { GraphUUID: g.graph, TXId: state.txid, Files: { [encNames[i]]: [u.Key, md5(body)] } },
      g.user.token,
    );
    state.txid = res.json.TXId;
  }
}

function buildTable(r) {
  const t = new Table();
  const le = (v, target) => (Number.isFinite(v) ? v <= target : undefined);

  if (r.upload?.length) {
    t.section(`1. Initial upload, ${r.workload}`);
    addTransfer(t, r.upload, "upload");
  }
  if (r.download?.length) {
    t.section("2. Fresh-device download of the same graph");
    addTransfer(t, r.download, "download");
  }
  if (r.propagation?.length) {
    t.section(`3. Edit propagation A → B, ${r.propagation.length} edits of one page`);
    addPropagation(t, r.propagation);
  }
  if (r.browserPropagation?.length) addBrowserPropagation(t, r.browserPropagation);
  if (r.compute?.length && !Number.isFinite(r.compute[0].hookMean)) {
    t.section(
      "4. Worker compute per request: this worker has no BENCH_TIMING hook (src/hooks/cputime.rs, x-worker-time-ms), so only the runtime thread's CPU above the floor route is shown: an upper bound that includes the local D1/R2 emulation",
    );
    addCompute(t, r.compute, le);
  } else if (r.compute?.length) {
    t.section(
      "4. Worker compute per request, warm isolate: ≈ time in the worker's own code (hook mean × on-CPU share) net of the floor route, i.e. of the access-log line every request writes; ± s.e.; thread = runtime thread CPU above the floor, incl. local D1/R2 emulation",
    );
    addCompute(t, r.compute, le);
  }
  if (r.compare) addCompare(t, r.compare);
  if (r.cold?.length) {
    const first = r.cold.map((c) => c.first);
    t.add({
      figure: "first request of a fresh isolate (get_txid)",
      value: `worker ${fmtHook(median(first.map((f) => f.hookMs)))}, thread ${fmt.ms(median(first.map((f) => f.threadMs)), 1)}, latency ${fmt.ms(median(first.map((f) => f.wall)), 0)}`,
      baseline: `warm: thread ${fmt.ms(median(r.cold.map((c) => c.warm.threadMs)), 1)}, latency ${fmt.ms(median(r.cold.map((c) => c.warm.wall)), 1)}`,
      target: "≤ 8 ms (worker)",
      ok: median(first.map((f) => f.hookMs)) <= 8,
    });
    const split = r.cold.map((c) => c.split).filter(Boolean);
    if (split.length)
      t.add({
        figure: "  split: a fresh isolate's first request is GET /logseq/version, then get_txid",
        value: `worker ${fmtHook(median(split.map((x) => x.floor.hookMs)))}, then ${fmtHook(median(split.map((x) => x.then.hookMs)))}`,
        baseline: `thread ${fmt.ms(median(split.map((x) => x.floor.threadMs)), 1)}, then ${fmt.ms(median(split.map((x) => x.then.threadMs)), 1)}`,
        target: "(diagnostic)",
        ok: null,
      });
  }
  if (r.roundTrips?.length) {
    t.section(
      "4b. Sequential storage round trips: wall time with 50 ms injected before every D1 and R2 call (x-bench-latency-ms), minus without, over 50 ms (medians)",
    );
    for (const x of r.roundTrips) {
      t.add({
        figure: x.name,
        value: `${x.trips.toFixed(1)} round trips (${fmt.ms(x.delayedMs, 0)} vs ${fmt.ms(x.plainMs, 1)})`,
        target: `≤ ${x.target}`,
        ok: Math.round(x.trips) <= x.target,
      });
    }
  }
  if (r.proxy) {
    const { api, upload, uploadMiB } = r.proxy;
    const signed = (v, d) => (v < 0 ? `−${fmt.ms(-v, d)}` : `+${fmt.ms(v, d)}`);
    t.section(
      "4c. The connect proxy's own cost (npm run connect, in a process of its own): CPU seconds of the proxy and latency added, against the same requests sent to the worker directly (keep-alive both ways; medians)",
    );
    t.add({
      figure: `API call (get_txid), ${api.n} per route`,
      value: `${signed(api.addedMs, 2)} (${fmt.ms(api.proxiedMs, 2)} vs ${fmt.ms(api.directMs, 2)}), ${fmt.ms(api.cpuPerRequest * 1000, 2)} CPU`,
      ok: null,
    });
    t.add({
      figure: `upload (stock PUT to the bucket host, ${uploadMiB} MiB), ${upload.n} per route`,
      value: `${signed(upload.addedMsPerMiB, 1)} per MiB (${fmt.ms(upload.proxiedMs, 1)} vs ${fmt.ms(upload.directMs, 1)}), ${fmt.ms(upload.cpuPerMiB * 1000, 1)} CPU per MiB`,
      ok: null,
    });
  }
  addD1(t, r);
  if (r.scale) {
    t.section(`6. Scale: ${r.scaleWorkload}`);
    addTransfer(t, r.scale.upload, "upload");
    addTransfer(t, r.scale.download, "download");
    for (const [label, runs] of Object.entries(r.scale.propagation ?? {})) {
      t.add({
        figure: `edit propagation, graph of ${label} (edits alternate between the graphs)`,
        value: fmt.ms(median(runs.map((x) => x.total)), 0),
        target: "≤ 150 ms",
        ok: median(runs.map((x) => x.total)) <= 150,
      });
    }
    const pages = r.scale.download?.[0]?.listPages ?? [];
    if (pages.length) {
      t.add({
        figure: `get_all_files, all ${pages.length} pages`,
        value: `${fmt.ms(
          pages.reduce((s, p) => s + p.ms, 0),
          0,
        )}, ${fmt.n(pages.reduce((s, p) => s + p.read, 0))} rows read for ${fmt.n(pages.reduce((s, p) => s + p.objects, 0))} files`,
        target: "linear in files",
        ok: null,
      });
    }
    if (r.scale.compute) addCompute(t, r.scale.compute, le);
  }
  if (r.concurrency) {
    const c = r.concurrency;
    t.section(`7. Concurrency: ${c.clients} clients × own graph, ${c.seconds.toFixed(1)} s`);
    t.add({
      figure: "throughput",
      value: `${fmt.n(c.workerRequests / c.seconds, 1)} worker requests/s, ${fmt.n(c.edits / c.seconds, 1)} edits/s (${fmt.n(c.edits)} edits)`,
      target: "(informative)",
      ok: null,
    });
    t.add({
      figure: "errors",
      value: `${c.errors}${c.errorSamples.length ? " — " + c.errorSamples[0] : ""}`,
      target: "0",
      ok: c.errors === 0,
    });
    t.add({
      figure: "websocket pushes received",
      value: `${fmt.n(c.pushes)} for ${fmt.n(c.edits)} commits`,
      target: "≥ commits",
      ok: c.pushes >= c.edits,
    });
    for (const e of c.endpoints) {
      t.add({
        figure: `  ${e.name}`,
        value: `p50 ${fmt.ms(e.p50, 1)}, p99 ${fmt.ms(e.p99, 1)} (${fmt.n(e.count)} calls, ${fmt.n(e.perSecond, 1)}/s)`,
        target: "(informative)",
        ok: null,
      });
    }
  }
  if (r.web) {
    const w = r.web;
    t.section(
      `7b. Web client in Chromium (360×740, headless, this machine; ${w.pages} entries in the page list), from the app's performance marks`,
    );
    const row = (figure, v, target, detail = "") =>
      t.add({
        figure,
        value: fmt.ms(v, 0),
        baseline: detail,
        target: target === null ? "" : `≤ ${fmt.ms(target, 0)}`,
        ok: target === null ? null : le(v, target),
      });
    row("unlock, scrypt logN 18 (WebAssembly, in the crypto worker)", w.unlock18, 1500);
    row("unlock, scrypt logN 20 (1 GiB)", w.unlock20, 4000);
    row("unlock → full page list", w.list, 1000, "names decrypted in the worker, titles");
    row(
      "first render of a page, right after the list",
      w.firstRender,
      300,
      "download, decrypt, mldoc in the parse worker, DOM",
    );
    row(
      "search, cold (issued after the first render)",
      w.searchCold,
      null,
      `unlock → every page read: ${fmt.ms(w.unlockToAllRead, 0)}`,
    );
    row("search, warm", w.searchWarm, 200);
    const kb = (b) => `${(b / 1024).toFixed(0)} KB`;
    t.add({
      figure: "app bytes gzip before unlock",
      value: kb(w.bytes.beforeUnlock),
      baseline: w.bytes.beforeFiles.join(", "),
      target: "≤ 100 KB",
      ok: w.bytes.beforeUnlock <= 100 * 1024,
    });
    t.add({
      figure: "app bytes gzip in total",
      value: kb(w.bytes.total),
      baseline: Object.entries(w.bytes.files)
        .map(([f, b]) => `${f} ${kb(b)}`)
        .join(", "),
      target: "≤ 350 KB",
      ok: w.bytes.total <= 350 * 1024,
    });
  }
  if (r.size || r.cold) t.section("8. Size and cold start");
  if (r.size) {
    const s = r.size;
    t.add({
      figure: "build/index_bg.wasm",
      value: `${fmt.kib(s.wasmBytes)} raw, ${fmt.kib(s.wasmGzip)} gzip`,
      target: "≤ 3 MiB gzip (free plan), 64 MiB raw",
      ok: s.wasmGzip <= 3 * 1048576,
    });
    t.add({
      figure: "build/index.js (shim)",
      value: `${fmt.kib(s.jsBytes, 1)} raw, ${fmt.kib(s.jsGzip, 1)} gzip`,
      target: "(informative)",
      ok: null,
    });
    t.add({
      figure: `wasm compile (Node 22, V8 ${s.v8})`,
      value: fmt.ms(s.nodeCompileMs, 1),
      target: "(informative)",
      ok: null,
    });
  }
  if (r.cold?.length) {
    t.add({
      figure: `wrangler dev restart → ready (${r.cold.length} restarts)`,
      value: fmt.s(median(r.cold.map((c) => c.readyMs)), 1),
      target: "(informative)",
      ok: null,
    });
    t.add({
      figure: "runtime thread CPU at ready (workerd + miniflare + our module)",
      value: fmt.ms(median(r.cold.map((c) => c.startupCpuMs)), 0),
      target: "(informative)",
      ok: null,
    });
    t.add({
      figure: "first request latency after ready (get_txid)",
      value: fmt.ms(median(r.cold.map((c) => c.first.wall)), 0),
      baseline: fmt.ms(median(r.cold.map((c) => c.warm.wall)), 1),
      ratio: fmt.x(median(r.cold.map((c) => c.first.wall)) / median(r.cold.map((c) => c.warm.wall))),
      target: "(informative)",
      ok: null,
    });
  }
  return t;
}

function fmtHook(v, se) {
  if (!Number.isFinite(v)) return "n/a";
  return Number.isFinite(se) ? `${v.toFixed(2)} ± ${se.toFixed(2)} ms` : `${v.toFixed(2)} ms`;
}

function addTransfer(t, runs, kind) {
  if (!runs?.length) return;
  const m = median(runs.map((x) => x.rsapiMs));
  const b = median(runs.map((x) => x.baselineMs));
  const bytes = runs[0].encryptedBytes;
  const ratio = m / b;
  t.add({
    figure:
      kind === "upload"
        ? `upload ${fmt.n(runs[0].files)} files: rsapi batches of 20 → proxy → /s3/ + update_files (${runs.length} runs)`
        : `download ${fmt.n(runs[0].files)} files: get_all_files + rsapi updateLocalFiles ×100 (${runs.length} runs)`,
    value: `${fmt.s(m, 2)} (${fmt.mbps(bytes, m)})`,
    baseline: `${fmt.s(b, 2)} (${fmt.mbps(bytes, b)})`,
    ratio: fmt.x(ratio),
    target: "≤ 1.30×",
    ok: ratio <= 1.3,
  });
  const cpu = (k) => median(runs.map((x) => x.cpu[k]));
  const bcpu = (k) => median(runs.map((x) => x.baselineCpu[k]));
  t.add({
    figure: "  CPU s: client (rsapi + proxy) / workerd / wrangler",
    value: `${cpu("client").toFixed(1)} / ${cpu("worker").toFixed(1)} / ${cpu("wrangler").toFixed(1)}`,
    baseline: `${bcpu("client").toFixed(1)} / ${bcpu("worker").toFixed(1)} / ${bcpu("wrangler").toFixed(1)}`,
    target: "(informative)",
    ok: null,
  });
  if (kind === "upload") {
    const rcv = median(runs.map((x) => x.receiverMs));
    if (Number.isFinite(rcv))
      t.add({
        figure: "  the worker's /s3/ receiver alone (same bodies, SigV4 from Node, no rsapi/proxy)",
        value: `${fmt.s(rcv, 2)} (${fmt.mbps(bytes, rcv)})`,
        baseline: `${fmt.s(b, 2)}`,
        ratio: fmt.x(rcv / b),
        target: "(informative)",
        ok: null,
      });
    const pre = median(runs.map((x) => x.presignedMs));
    if (Number.isFinite(pre)) {
      t.add({
        figure:
          "  primary flow of a patched client: get_upload_urls + PUTs to R2 + update_files, per 20 (no encryption)",
        value: `${fmt.s(pre, 2)} (${fmt.mbps(bytes, pre)})`,
        baseline: fmt.s(b, 2),
        ratio: fmt.x(pre / b),
        target: "(informative)",
        ok: null,
      });
    }
    const per = (_k, cpu) => (median(runs.map((x) => x[cpu].worker)) / runs[0].files) * 1000;
    if (Number.isFinite(rcv))
      t.add({
        figure: "  workerd CPU per object: rsapi path / receiver alone / R2 S3 endpoint",
        value: `${fmt.ms(per("worker", "cpu"), 1)} / ${fmt.ms(per("worker", "receiverCpu"), 1)} / ${fmt.ms(per("worker", "baselineCpu"), 1)}`,
        target: "(informative)",
        ok: null,
      });
    const ph = (k) => median(runs.map((x) => x.batchPhases[k]));
    t.add({
      figure: "  rsapi time by phase, s: prepare / PUTs / gap / update_files / after",
      value: ["prepare", "puts", "gap", "commit", "after"].map((k) => (ph(k) / 1000).toFixed(2)).join(" / "),
      target: "(informative)",
      ok: null,
    });
    const p0 = runs[0].phases;
    t.add({
      figure: "  per request (run 1): PUT median / update_files median",
      value: `${fmt.ms(p0.putMsMedian, 1)} / ${fmt.ms(p0.updateMsMedian, 1)}`,
      target: "(informative)",
      ok: null,
    });
  } else {
    const dbl = median(runs.map((x) => x.doubleGetMs));
    if (Number.isFinite(dbl))
      t.add({
        figure: "  rsapi's GET pattern without rsapi (probing GET dropped after headers + GET)",
        value: `${fmt.s(dbl, 2)} (${fmt.mbps(bytes, dbl)})`,
        baseline: fmt.s(b, 2),
        ratio: fmt.x(dbl / b),
        target: "(informative)",
        ok: null,
      });
    t.add({
      figure: "  of which listing (get_all_files + name decryption)",
      value: fmt.ms(median(runs.map((x) => x.listMs)), 0),
      target: "(informative)",
      ok: null,
    });
  }
}

function addPropagation(t, runs) {
  const m = (k) => median(runs.map((x) => x[k]));
  t.add({
    figure: "commit (A's update_files) → B's file written, median",
    value: fmt.ms(m("total"), 0),
    target: "≤ 150 ms",
    ok: m("total") <= 150,
  });
  t.add({
    figure: "  commit / push / get_diff / get_files + GETs + write (medians)",
    value: `${fmt.ms(m("commit"), 0)} / ${fmt.ms(m("push"), 0)} / ${fmt.ms(m("diff"), 0)} / ${fmt.ms(m("fetch"), 0)}`,
    target: "(informative)",
    ok: null,
  });
  t.add({
    figure: "  from A's updateRemoteFiles call (encrypt + upload included)",
    value: fmt.ms(m("fromCall"), 0),
    target: "(informative)",
    ok: null,
  });
}

/** The browser's one-block edit (the web app's commit code, in Node) and its way to desktop B. */
function addBrowserPropagation(t, runs) {
  const m = (k) => median(runs.map((x) => x[k]));
  const p90 = (k) =>
    percentile(
      runs.map((x) => x[k]),
      90,
    );
  t.add({
    figure: `browser commit of a one-block edit (commit.js, ${runs.length} edits), median`,
    value: fmt.ms(m("commit"), 0),
    baseline: `p90 ${fmt.ms(p90("commit"), 0)}; get_files_meta / encrypt + get_upload_urls + PUT / update_files ${fmt.ms(m("meta"), 0)} / ${fmt.ms(m("upload"), 0)} / ${fmt.ms(m("update"), 0)}`,
    target: "(informative)",
    ok: null,
  });
  t.add({
    figure: "browser commit (its update_files) → B's file written, median",
    value: fmt.ms(m("total"), 0),
    baseline: `p90 ${fmt.ms(p90("total"), 0)}`,
    target: "≤ 150 ms",
    ok: m("total") <= 150,
  });
  t.add({
    figure: "  push / get_diff / get_files + GETs + write (medians)",
    value: `${fmt.ms(m("push"), 0)} / ${fmt.ms(m("diff"), 0)} / ${fmt.ms(m("fetch"), 0)}`,
    target: "(informative)",
    ok: null,
  });
  t.add({
    figure: "  from the browser's commit() call (MD5, encryption, upload included)",
    value: fmt.ms(m("fromCall"), 0),
    target: "(informative)",
    ok: null,
  });
}

function addCompute(t, rows, le, suffix = "") {
  for (const c of rows) {
    const hook = Number.isFinite(c.hookMean);
    const thread = c.floor ? `thread ${fmt.ms(c.threadMedian, 2)}` : `thread ≤ ${fmt.ms(c.threadNet, 2)}`;
    const target = c.target == null ? null : c.target;
    let ok = null;
    if (!c.floor && target != null) ok = hook ? le(c.cpuNet, target) : c.threadNet <= target ? true : undefined;
    t.add({
      figure: `${c.name}${suffix}`,
      value: hook
        ? c.floor
          ? `≈ ${fmtHook(c.cpuEstimate, c.cpuStderr)} (log line)`
          : `≈ ${fmt.ms(c.cpuNet, 2)} + log line (± ${c.cpuStderr.toFixed(2)})`
        : c.floor
          ? `thread ${fmt.ms(c.threadMedian, 2)}`
          : `≤ ${fmt.ms(c.threadNet, 2)} (thread, upper bound)`,
      baseline: hook
        ? `hook ${fmt.ms(c.hookMean, 2)} × on-CPU ${(c.onCpuShare * 100).toFixed(0)}%; ${thread}; latency ${fmt.ms(c.wallMedian, 1)}`
        : `latency ${fmt.ms(c.wallMedian, 1)}`,
      target: c.floor ? "(floor)" : target == null ? "(diagnostic)" : `≤ ${target} ms`,
      ok,
    });
  }
}

function addCompare(t, c) {
  // Not net of the floor: the floor route is the same code on both sides, and subtracting each
  // side's floor would add that one endpoint's noise to every difference.
  t.section(
    `4. Worker compute per request, A/B: A = ${c.build}, B = this checkout; ${c.passes} passes of ${c.samplesPerPass} requests per endpoint and side, in turn; ≈ hook mean × on-CPU share (log line included); ± s.e.`,
  );
  const deltas = [];
  for (let i = 0; i < c.B.length; i++) {
    const a = c.A[i];
    const b = c.B[i];
    const d = b.cpu - a.cpu;
    if (!b.floor) deltas.push(d);
    t.add({
      figure: b.name,
      value: `B ${fmtHook(b.cpu, b.se)}`,
      baseline: `A ${fmtHook(a.cpu, a.se)}${b.floor ? "" : `; D1 queries ${a.queries} → ${b.queries}`}`,
      ratio: `${d >= 0 ? "+" : ""}${d.toFixed(2)} ms`,
      target: b.floor ? "(floor)" : "(informative)",
      ok: null,
    });
  }
  const m = deltas.reduce((x, y) => x + y, 0) / deltas.length;
  const sd = Math.sqrt(deltas.reduce((x, y) => x + (y - m) ** 2, 0) / (deltas.length - 1));
  t.add({
    figure: `mean change B − A over the ${deltas.length} endpoints`,
    value: `${m >= 0 ? "+" : ""}${m.toFixed(3)} ms${deltas.length > 1 ? ` (± ${(sd / Math.sqrt(deltas.length)).toFixed(3)})` : ""}`,
    baseline: `median ${median(deltas).toFixed(3)} ms`,
    target: "(informative)",
    ok: null,
  });
}

function addD1(t, r) {
  const rows = [];
  const up = r.upload?.[0];
  if (up) {
    const perFile = up.d1.updateRowsWritten / up.files;
    const withUpload = (up.d1.updateRowsWritten + up.d1.receiverRowsWritten) / up.files;
    rows.push({
      figure: `rows written per committed file, initial upload (${up.d1.commits} commits of 20 new files)`,
      value: `${perFile.toFixed(2)} (update_files) + ${(up.d1.receiverRowsWritten / up.files).toFixed(2)} (/s3/ receiver)`,
      target: "≤ 2.5",
      ok: withUpload <= 2.5,
    });
  }
  const c = (name) => r.compute?.find((x) => x.name === name);
  const ow = c("update_files (20 files, overwrites)");
  const urls = c("get_upload_urls (20)");
  if (ow)
    rows.push({
      figure: "rows written per committed file, overwriting 20 (versions kept; stock uploads write none)",
      value: `${(ow.d1.written / 20).toFixed(2)} (update_files); a patched client's get_upload_urls adds ${((urls?.d1.written ?? 0) / 20).toFixed(2)}`,
      target: "≤ 4",
      ok: ow.d1.written / 20 <= 4,
    });
  const one = c("update_files (1 file, overwrite)");
  const put = c("PUT /s3/<key> (4 KiB, stock rsapi flow)");
  if (one) {
    const perEdit = one.d1.written + (put?.d1.written ?? 0);
    rows.push({
      figure: "rows written by a 1-file edit, stock client (/s3/ PUT + update_files overwrite)",
      value: `${put?.d1.written ?? "n/a"} + ${one.d1.written}`,
      target: "≤ 4",
      ok: perEdit <= 4,
    });
    // Two devices: A uploads and commits (the writes above); B's get_diff and get_files read
    // only. Fixed daily costs: the usage meter's flush (about one row a minute per active
    // isolate: 1,440) and get_txid every 10 minutes per device (288 requests). Requests per edit
    // are the client's protocol: A get_files_meta + PUT /s3/ + update_files, B get_diff +
    // get_files (rsapi's two GETs of the body go to R2's S3 endpoint when it is configured).
    // The target is what the server controls: its D1 writes must not bind before the requests
    // the stock client makes (no server can answer those with fewer requests; the earlier
    // "≥ 25,000" was above that ceiling, 19,942, whatever the server did).
    const byRows = Math.floor((100_000 - 1_440) / perEdit);
    const byRequests = Math.floor((100_000 - 288) / 5);
    rows.push({
      figure: "free-plan capacity: 1-file edits a day, two devices = min(by D1 rows written, by Worker requests)",
      value: `${fmt.n(Math.min(byRows, byRequests))} (rows: (100,000 − 1,440) / ${perEdit} = ${fmt.n(byRows)}; requests: (100,000 − 288) / 5 = ${fmt.n(byRequests)})`,
      target: "rows do not bind first (requests: the stock client's 5 per edit)",
      ok: byRows >= byRequests,
    });
  }
  const del = c("delete_files (20 files)");
  if (del)
    rows.push({
      figure: "rows written per deleted file (delete_files of 20)",
      value: (del.d1.written / 20).toFixed(2),
      target: "≤ 4",
      ok: del.d1.written / 20 <= 4,
    });
  const diff = c("get_diff (10 transactions)");
  const diffBig = r.scale?.compute?.find(
    (x) => x.name === `get_diff (10 transactions) — ${fmt.n(r.options.scaleFiles)} files`,
  );
  if (diff)
    rows.push({
      figure: "get_diff of 10 transactions: rows read",
      value: `${diff.d1.read} (graph of ${fmt.n(r.options.files)} files)${diffBig ? `, ${diffBig.d1.read} (${fmt.n(r.options.scaleFiles)} files)` : ""}`,
      target: "∝ answer, not graph",
      ok: diffBig ? diffBig.d1.read <= diff.d1.read + 2 && diff.d1.read <= 10 + 5 : diff.d1.read <= 15,
    });
  const list = c("get_all_files (page of 1,000)");
  if (list)
    rows.push({
      figure: "get_all_files page of 1,000: rows read",
      value: String(list.d1.read),
      target: "∝ files listed",
      ok: null,
    });
  const gf = c("get_files (100 files)");
  if (gf)
    rows.push({ figure: "get_files of 100: rows read", value: String(gf.d1.read), target: "∝ files asked", ok: null });
  const tx = c("get_txid");
  // 2 rows: the graph, and the caller's credential row (revocation: src/auth/access.rs).
  if (tx)
    rows.push({
      figure: "get_txid: rows read / written",
      value: `${tx.d1.read} / ${tx.d1.written}`,
      target: "2 / 0",
      ok: tx.d1.read <= 2 && tx.d1.written === 0,
    });
  if (rows.length) {
    t.section("5. D1 cost (D1's own metadata, x-d1-* headers)");
    for (const row of rows) t.add(row);
  }
}
