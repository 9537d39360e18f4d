// Builds the Worker (wasm + JS shim into build/) with worker-build, using the
// locally installed wasm-bindgen CLI and npm's esbuild instead of downloads.
// wrangler runs this as its [build] command.

import { ensureRustTools, buildEnv, run, WORKER_BUILD_VERSION } from "./lib/tools.mjs";
import { join } from "node:path";
import { homedir } from "node:os";

ensureRustTools();
const workerBuild = join(process.env.CARGO_HOME ?? join(homedir(), ".cargo"), "bin", "worker-build");
// --no-opt: wasm-opt would be downloaded from GitHub (DESIGN.md §6); size is
// kept down by the release profile in Cargo.toml instead.
run(workerBuild, ["--release", "--no-opt"], { env: buildEnv() });
process.stderr.write(`[build] worker-build ${WORKER_BUILD_VERSION} done\n`);
