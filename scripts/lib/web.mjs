// Builds the web client (web/, docs/WEB.md) into build/assets/, the folder wrangler.toml's
// [assets] serves as Workers static assets: esbuild bundles every web/src/**/main.js,
// web/src/**/*.worker.js and sw.js into build/assets/app/ (flat names, so a worker created
// with `new URL("./x.worker.js", import.meta.url)` sits next to main.js), the status page's
// script into build/assets/status/, then web/public/ is copied over verbatim (HTML, CSS,
// _headers, manifest, icons). Called by scripts/build.mjs, i.e. by start, test, build, deploy.

import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { createRequire } from "node:module";
import { ROOT } from "./tools.mjs";

const WEB = join(ROOT, "web");
export const ASSETS = join(ROOT, "build", "assets");

/** Every file under `dir`, recursively. */
function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The entry points by the convention of docs/WEB.md: [{ in, out }] relative to build/assets. */
export function webEntries() {
  const src = join(WEB, "src");
  const entries = [];
  for (const file of walk(src)) {
    const name = basename(file);
    const rel = relative(src, file);
    if (rel === join("status", "status.js")) entries.push({ in: file, out: "status/status" });
    else if (name === "main.js" || name === "sw.js" || name.endsWith(".worker.js"))
      entries.push({ in: file, out: `app/${name.replace(/\.js$/, "")}` });
  }
  const outs = entries.map((e) => e.out);
  const twice = outs.filter((o, i) => outs.indexOf(o) !== i);
  if (twice.length) throw new Error(`two web entry points build to the same file: ${twice.join(", ")}`);
  return entries;
}

/**
 * Builds build/assets/ from web/ (fresh each time). `release` minifies and leaves out
 * source maps. Returns the list of files written (relative to build/assets).
 */
export async function buildWeb({ release = true } = {}) {
  // esbuild is a devDependency; resolved from the project so a global one is never used.
  const esbuild = createRequire(join(ROOT, "package.json"))("esbuild");
  rmSync(ASSETS, { recursive: true, force: true });
  mkdirSync(ASSETS, { recursive: true });
  await esbuild.build({
    entryPoints: webEntries(),
    outdir: ASSETS,
    bundle: true,
    format: "esm",
    // Code loaded on first use (the editor and the writing core, with the Logseq parser: a
    // dynamic import in main.js) and code shared by entry points go into chunks next to
    // main.js, so the app up to the password form stays small.
    splitting: true,
    chunkNames: "app/chunk-[hash]",
    target: ["es2022"],
    minify: release,
    sourcemap: release ? false : "linked",
    legalComments: "none",
    logLevel: "warning",
    // The app is served as static files: nothing from Node, nothing resolved at run time.
    platform: "browser",
    // hash-wasm inlines its wasm as base64; age-encryption's deps are plain ESM.
    define: { "process.env.NODE_ENV": '"production"' },
  });
  cpSync(join(WEB, "public"), ASSETS, { recursive: true });
  return walk(ASSETS).map((f) => relative(ASSETS, f));
}
