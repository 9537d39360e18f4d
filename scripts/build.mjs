// Builds the Worker (wasm + JS shim into build/) with worker-build, using the
// locally installed wasm-bindgen CLI and npm's esbuild instead of downloads, and the
// web client (web/ → build/assets/, served as static assets; scripts/lib/web.mjs).
// wrangler runs this as its [build] command.

import { join } from "node:path";
import { homedir } from "node:os";
import { parseCli } from "./lib/cli.mjs";
import { ensureNpmDeps, ensureRustTools, buildEnv, run, WORKER_BUILD_VERSION } from "./lib/tools.mjs";
import { buildWeb } from "./lib/web.mjs";

parseCli(process.argv.slice(2), {
  usage: `usage: npm run build
Builds the Worker (release wasm + JS shim) into build/ with worker-build and the web client
(web/) into build/assets/ with esbuild; installs the wasm32
target, worker-build and wasm-bindgen (crates.io) and esbuild (npm) first when missing.
No options.
Output: build/index.js, build/index_bg.wasm, build/assets/; progress on stderr.`,
});
ensureNpmDeps();
ensureRustTools();
const workerBuild = join(process.env.CARGO_HOME ?? join(homedir(), ".cargo"), "bin", "worker-build");
// --no-opt: wasm-opt would be downloaded from GitHub (ARCHITECTURE.md §D6); size is
// kept down by the release profile in Cargo.toml instead.
run(workerBuild, ["--release", "--no-opt"], { env: buildEnv() });
process.stderr.write(`[build] worker-build ${WORKER_BUILD_VERSION} done\n`);
const assets = await buildWeb();
process.stderr.write(`[build] web client: ${assets.length} files in build/assets\n`);
