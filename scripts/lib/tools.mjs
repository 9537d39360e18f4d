// Installs and locates everything the project needs, from the package
// registries only (ARCHITECTURE.md §D6): npm dependencies, a Node 22 for wrangler when
// the system Node is older, the wasm32 target, worker-build and the
// wasm-bindgen CLI at exactly the version in Cargo.lock. Every step is a no-op
// when its tool is already there, so a second start takes seconds.

import { spawnSync, spawn } from "node:child_process";
import { existsSync, readFileSync, copyFileSync, statSync, mkdirSync, writeFileSync, appendFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const WORKER_BUILD_VERSION = "0.8.7";
// wrangler 4.160+ refuses Node < 22.12 (ARCHITECTURE.md §D6).
const NODE22_VERSION = "22.23.3";
const MIN_WRANGLER_NODE = [22, 12];

const cargoBin = (name) => join(process.env.CARGO_HOME ?? join(homedir(), ".cargo"), "bin", name);

export function log(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

/** Runs a command, inheriting stdio; throws on failure. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: ROOT, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status}`);
  return r;
}

/** Runs a command and returns its stdout, or null when it fails or is absent. */
function output(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** npm dependencies, installed from package-lock.json when missing or stale. */
export function ensureNpmDeps() {
  const marker = join(ROOT, "node_modules", ".package-lock.json");
  const lock = join(ROOT, "package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  log("installing npm dependencies");
  run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
}

function nodeAtLeast(version, [major, minor]) {
  const [a, b] = version.split(".").map(Number);
  return a > major || (a === major && b >= minor);
}

/** A Node binary new enough for wrangler: this one, or a project-local Node 22. */
export function ensureWranglerNode() {
  if (nodeAtLeast(process.versions.node, MIN_WRANGLER_NODE)) return process.execPath;
  const pkg = `node-${process.platform === "win32" ? "win" : process.platform}-${process.arch}`;
  const dir = join(ROOT, ".tools", "node22");
  const bin = join(dir, "node_modules", pkg, "bin", "node");
  if (!existsSync(bin)) {
    log(`system Node ${process.versions.node} is too old for wrangler; installing ${pkg}@${NODE22_VERSION} from npm`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), '{"private":true}\n');
    run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", `${pkg}@${NODE22_VERSION}`], { cwd: dir });
  }
  return bin;
}

/** Version of a package in Cargo.lock. */
export function cargoLockVersion(name) {
  const lock = readFileSync(join(ROOT, "Cargo.lock"), "utf8");
  const m = lock.match(new RegExp(`name = "${name}"\\nversion = "([^"]+)"`));
  if (!m) throw new Error(`${name} not found in Cargo.lock`);
  return m[1];
}

/** The wasm32 target, worker-build and the wasm-bindgen CLI (from crates.io). */
export function ensureRustTools() {
  const targets = output("rustup", ["target", "list", "--installed"]) ?? "";
  if (!targets.split("\n").includes("wasm32-unknown-unknown")) {
    log("adding the wasm32-unknown-unknown target");
    run("rustup", ["target", "add", "wasm32-unknown-unknown"]);
  }
  const wb = output(cargoBin("worker-build"), ["--version"]);
  if (!wb?.includes(WORKER_BUILD_VERSION)) {
    log(`installing worker-build ${WORKER_BUILD_VERSION} (one-time, a few minutes)`);
    cargoInstall("worker-build", WORKER_BUILD_VERSION);
  }
  const bindgenVersion = cargoLockVersion("wasm-bindgen");
  const wbg = output(cargoBin("wasm-bindgen"), ["--version"]);
  if (!wbg?.includes(bindgenVersion)) {
    log(`installing wasm-bindgen-cli ${bindgenVersion} (one-time, a few minutes)`);
    cargoInstall("wasm-bindgen-cli", bindgenVersion);
  }
}

/**
 * `cargo install` at an exact version: with the crate's own lock file first;
 * if the registry no longer has a locked dependency (wasm-bindgen-cli 0.2.130
 * locks webpki-roots 1.0.11, which crates.io does not serve), resolve afresh.
 */
function cargoInstall(crate, version) {
  const args = ["install", crate, "--version", `=${version}`];
  try {
    run("cargo", [...args, "--locked"]);
  } catch (e) {
    log(`${e.message}; retrying without --locked`);
    run("cargo", args);
  }
}

/** Native esbuild from the npm optional dependency (no install script needed). */
export function esbuildBinary() {
  const native = join(ROOT, "node_modules", "@esbuild", `${process.platform}-${process.arch}`, "bin", "esbuild");
  return existsSync(native) ? native : join(ROOT, "node_modules", ".bin", "esbuild");
}

/** Environment for worker-build: local tools instead of GitHub downloads. */
export function buildEnv() {
  return {
    ...process.env,
    WASM_BINDGEN_BIN: cargoBin("wasm-bindgen"),
    ESBUILD_BIN: esbuildBinary(),
  };
}

/**
 * Local secrets: .dev.vars, copied from the committed example on first start;
 * keys the example gained since are appended with their example values.
 */
export function ensureDevVars() {
  const target = join(ROOT, ".dev.vars");
  const example = join(ROOT, ".dev.vars.example");
  if (!existsSync(target)) {
    log("creating .dev.vars from .dev.vars.example");
    copyFileSync(example, target);
    return;
  }
  const have = readVarsFile(target);
  const missing = Object.entries(readVarsFile(example)).filter(([k]) => !(k in have));
  if (missing.length) {
    log(`adding ${missing.map(([k]) => k).join(", ")} to .dev.vars`);
    appendFileSync(target, missing.map(([k, v]) => `${k}=${v}\n`).join(""));
  }
}

/** Parses a KEY=VALUE file (comments and blank lines ignored). */
export function readVarsFile(path) {
  const vars = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const m = line.match(/^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/);
    if (m) vars[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

/**
 * Debian's Chromium for the browser tests (status page, stock-desktop route), with certutil
 * (libnss3-tools) for the route test's NSS user store: the Chromium binary path, or null.
 */
export function ensureChromium() {
  const candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  const found = () => candidates.find((p) => existsSync(p)) ?? null;
  const packages = [];
  if (!found()) packages.push("chromium");
  if (!existsSync("/usr/bin/certutil")) packages.push("libnss3-tools");
  if (!packages.length || process.platform !== "linux") return found();
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (!root || !existsSync("/usr/bin/apt-get")) {
    log(
      `${packages.join(" and ")} not found and cannot be installed here (needs root and apt-get); the browser tests will say so`,
    );
    return found();
  }
  log(`installing Debian's ${packages.join(" and ")} for the browser tests (one-time)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-q"], { env, stdio: ["ignore", "ignore", "inherit"] });
  run("apt-get", ["install", "-y", "-q", ...packages], { env, stdio: ["ignore", "ignore", "inherit"] });
  return found();
}

/** NSS's certutil (Debian libnss3-tools, installed by ensureChromium): its path, or null. */
export function ensureCertutil() {
  const bin = "/usr/bin/certutil";
  return existsSync(bin) ? bin : null;
}

/** Everything `npm start` and `npm test` need before building. */
export function setup() {
  ensureNpmDeps();
  ensureRustTools();
  ensureDevVars();
  return { node: ensureWranglerNode() };
}

/** Runs wrangler with a suitable Node; returns the child process. */
export function spawnWrangler(node, args, opts = {}) {
  const cli = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  return spawn(node, [cli, ...args], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...(opts.env ?? {}) },
    stdio: opts.stdio ?? "inherit",
  });
}

/** Runs wrangler to completion; throws on failure. */
export function runWrangler(node, args, opts = {}) {
  const cli = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  return run(node, [cli, ...args], {
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...(opts.env ?? {}) },
    stdio: opts.stdio ?? "inherit",
  });
}
