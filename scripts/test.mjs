// `npm test`: setup, then formatting, clippy (host and wasm32), Rust unit
// tests, and the end-to-end suite (tests/e2e, node:test) against a Worker it
// starts itself on a free port with fresh local state. Exits non-zero on any
// failure and ends with one summary line: "total: N passed, M failed".

import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { parseCli } from "./lib/cli.mjs";
import { setup, log, ROOT, ensureChromium, ensureCertutil } from "./lib/tools.mjs";
import { freePort, prepareWorker, startDevServer, stopDevServer } from "./lib/devserver.mjs";
import { makeSigningKey, startJwksServer } from "../tests/harness/cognito.mjs";

const counts = { passed: 0, failed: 0 };
const failures = [];

/** Runs a command, streaming its output; returns { code, out }. */
function exec(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on("data", (d) => {
      out += d;
      process.stderr.write(d);
    });
    child.on("error", (e) => resolve({ code: -1, out: String(e) }));
    child.on("close", (code) => resolve({ code, out }));
  });
}

async function step(name, cmd, args, env) {
  log(`== ${name}`);
  const { code, out } = await exec(cmd, args, env);
  if (code !== 0) failures.push(name);
  return out;
}

/** The e2e test files, listed (Node 20's --test takes no globs, Node 22's no directories). */
function e2eFiles() {
  const dir = join(ROOT, "tests", "e2e");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".test.mjs"))
    .filter((f) => !opt.only || opt.only.split(",").some((w) => w && f.includes(w)))
    .sort()
    .map((f) => join("tests", "e2e", f));
}

const { values: opt } = parseCli(process.argv.slice(2), {
  usage: `usage: npm test
Runs cargo fmt --check, biome (JavaScript format and lint, biome.json), clippy (host and wasm32), the Rust unit tests,
the web client's module tests (tests/web, node:test), then builds the Worker (and the web client),
starts it on a free 127.0.0.1 port with fresh state in a temp directory and runs tests/e2e
(node:test) against it. Installs what is missing first (npm deps, Rust tools, and Debian's
chromium and libnss3-tools when root).
Options (for working on one piece; CI runs everything):
  --only <names>   run only the e2e files whose name contains one of these comma-separated words
  --skip-checks    skip cargo fmt, biome, clippy and the Rust unit tests
Output: every step's output; the last line is "total: N passed, M failed"; exit 1 on any failure.`,
  options: { only: { type: "string" }, "skip-checks": { type: "boolean" } },
});
const { node } = setup();
const chromium = ensureChromium();
const certutil = chromium ? ensureCertutil() : null;

if (!opt["skip-checks"]) {
  await step("cargo fmt --check", "cargo", ["fmt", "--check"]);
  // JavaScript everywhere (scripts, tests, bench, web): format and lint; fix with `npx biome check --write .`.
  await step("biome ci", node, [join(ROOT, "node_modules", "@biomejs", "biome", "bin", "biome"), "ci", "."]);
  await step("clippy (host)", "cargo", ["clippy", "--all-targets", "--", "-D", "warnings"]);
  await step("clippy (wasm32)", "cargo", [
    "clippy",
    "--lib",
    "--target",
    "wasm32-unknown-unknown",
    "--",
    "-D",
    "warnings",
  ]);
  const unit = await step("cargo test", "cargo", ["test"]);
  for (const m of unit.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    counts.passed += Number(m[1]);
    counts.failed += Number(m[2]);
  }
}

// The web client's pure modules (web/src/read, web/src/write): node:test files in tests/web,
// no worker needed. Skipped with --only (which is about the e2e files).
const webTests = existsSync(join(ROOT, "tests", "web"))
  ? readdirSync(join(ROOT, "tests", "web"))
      .filter((f) => f.endsWith(".test.mjs"))
      .sort()
      .map((f) => join("tests", "web", f))
  : [];
if (!opt.only && webTests.length) {
  const web = await step("web modules (node:test)", process.execPath, ["--test", "--test-reporter=spec", ...webTests], {
    CHROMIUM_BIN: chromium ?? "",
  });
  counts.passed += Number(web.match(/ℹ pass (\d+)/)?.[1] ?? 0);
  counts.failed += Number(web.match(/ℹ fail (\d+)/)?.[1] ?? 0);
}

// End-to-end: a fresh worker with fresh state and throwaway secrets.
const port = await freePort();
let prepared;
let secrets = {};
// Logseq-account tokens: a local stand-in for the user pool's JWKS (tests/harness/cognito.mjs).
const cognitoKey = makeSigningKey();
const jwks = await startJwksServer([cognitoKey.jwk]);
// The account the deploy var allows (ALLOWED_LOGSEQ_ACCOUNTS, `deploy --allow-logseq-account`).
const deployAllowed = `deploy-allowed-${randomBytes(4).toString("hex")}@example.com`;
// Test-only: lets tests inject D1/R2/hub failures (src/hooks/fault.rs), and point the
// Worker at the local JWKS with a 1 s refetch interval; never deployed.
const testVars = {
  FAULT_INJECTION: "true",
  TEST_COGNITO_JWKS_URL: jwks.jwksUrl,
  TEST_COGNITO_JWKS_INTERVAL_SECS: "1",
  ALLOWED_LOGSEQ_ACCOUNTS: deployAllowed,
};
let server;
try {
  log("== e2e: applying migrations and starting wrangler dev");
  prepared = prepareWorker(node, { prefix: "logseq-sync-e2e-" });
  secrets = { ...prepared.secrets, ADMIN_TOKEN: randomBytes(32).toString("hex") };
  const workerLog = join(prepared.dir, "worker.log");
  // The worker's log (one JSON line per request) goes to a file the tests can
  // read, e.g. to prove no secret is ever logged.
  server = await startDevServer({
    node,
    port,
    persistTo: prepared.state,
    config: prepared.config,
    vars: { ...secrets, ...testVars },
    logFile: workerLog,
  });
  log(`== e2e against ${server.url}`);
  const e2e = await step("e2e (node:test)", process.execPath, ["--test", "--test-reporter=spec", ...e2eFiles()], {
    WORKER_URL: server.url,
    WORKER_PORT: String(port),
    WORKER_STATE_DIR: prepared.state,
    WORKER_LOG: workerLog,
    CHROMIUM_BIN: chromium ?? "",
    CERTUTIL_BIN: certutil ?? "",
    COGNITO_TEST_KEY: JSON.stringify({ kid: cognitoKey.kid, pem: cognitoKey.pem }),
    COGNITO_JWKS_CONTROL: jwks.controlUrl,
    COGNITO_DEPLOY_ALLOWED: deployAllowed,
    ...secrets,
  });
  const pass = e2e.match(/ℹ pass (\d+)/);
  const fail = e2e.match(/ℹ fail (\d+)/);
  counts.passed += Number(pass?.[1] ?? 0);
  counts.failed += Number(fail?.[1] ?? 0);
  if (!pass) failures.push("e2e reported no results");
} catch (e) {
  failures.push(`e2e setup: ${e.message}`);
} finally {
  if (server) await stopDevServer(server.child);
  await jwks.close();
  prepared?.cleanup();
}

if (failures.length) log(`failed steps: ${failures.join(", ")}`);
console.log(`total: ${counts.passed} passed, ${counts.failed} failed`);
process.exit(failures.length || counts.failed ? 1 : 0);
