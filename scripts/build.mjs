// Builds the Worker (wasm + JS shim into build/) with worker-build, using the
// locally installed wasm-bindgen CLI and npm's esbuild instead of downloads.
// wrangler runs this as its [build] command.

import { join } from "node:path";
import { homedir } from "node:os";
import { parseCli } from "./lib/cli.mjs";
import { ensureNpmDeps, ensureRustTools, buildEnv, run, WORKER_BUILD_VERSION } from "./lib/tools.mjs";

parseCli(process.argv.slice(2), {
  usage: `usage: npm run build
Builds the Worker (release wasm + JS shim) into build/ with worker-build; installs the wasm32
target, worker-build and wasm-bindgen (crates.io) and esbuild (npm) first when missing.
No options.
Output: build/index.js, build/index_bg.wasm; progress on stderr.`,
});
ensureNpmDeps();
ensureRustTools();
const workerBuild = join(process.env.CARGO_HOME ?? join(homedir(), ".cargo"), "bin", "worker-build");
// --no-opt: wasm-opt would be downloaded from GitHub (ARCHITECTURE.md §D6); size is
// kept down by the release profile in Cargo.toml instead.
run(workerBuild, ["--release", "--no-opt"], { env: buildEnv() });
process.stderr.write(`[build] worker-build ${WORKER_BUILD_VERSION} done\n`);
