// `npm run deploy [-- options]`: deploys the Worker to the Cloudflare account
// wrangler is logged in to (docs/DEPLOY.md). It looks at what the account has
// (D1 database, R2 bucket, the Worker's secrets), plans what is missing
// (scripts/lib/deploy-config.mjs) and runs the plan with wrangler: create or
// reuse the database and bucket, set the bucket's CORS rules, generate
// build/wrangler.deploy.toml from wrangler.toml, apply new migrations, deploy,
// put missing secrets. Running it again changes nothing that exists.
//
// `--dry-run` needs no account and no network: it prints the plan for a fresh
// account and checks what can be checked here — the generated config (read
// back with wrangler's own parser), the build and bundle (`wrangler deploy
// --dry-run`), the migrations on a fresh local D1, the CORS rules and the
// secret list.
//
// Secret values are never printed; every wrangler call is bounded by a timeout.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ROOT, ensureNpmDeps, ensureWranglerNode, spawnWrangler } from "./lib/tools.mjs";
import { mintToken } from "./lib/jwt.mjs";
import {
  CONFIG_DIR,
  DEPLOY_CONFIG,
  DRY_RUN_ACCOUNT_ID,
  DRY_RUN_CONFIG,
  PLACEHOLDER_DATABASE_ID,
  PlanError,
  USAGE,
  deployConfigToml,
  deployUrls,
  describePlan,
  expectedRawConfig,
  findDatabaseId,
  isWorkerNotFound,
  jsonDiff,
  parseArgs,
  parseBindings,
  parseJsonOutput,
  parseR2BucketNames,
  parseSecretNames,
  parseUploadSize,
  plan as makePlan,
  readProjectConfig,
  validateCors,
  validateSecretPlan,
} from "./lib/deploy-config.mjs";

const MINUTE = 60_000;
const T_ACCOUNT = 2 * MINUTE; // whoami, list, create, cors, secret put
const T_MIGRATIONS = 10 * MINUTE;
const T_DEPLOY = 30 * MINUTE; // includes the Rust build, which is slow the first time
const FREE_PLAN_GZIP_KIB = 3 * 1024; // older free-plan Worker size limit (compressed); warn only

class StepError extends Error {}

const say = (line = "") => process.stdout.write(`${line}\n`);
const note = (line) => process.stdout.write(`[deploy] ${line}\n`);

let node;
// Tests only (tests/e2e/deploy.test.mjs): a stand-in for wrangler's CLI that
// plays a Cloudflare account, so the real run can be exercised offline.
const FAKE_WRANGLER = process.env.LOGSEQ_SYNC_FAKE_WRANGLER;
let childEnv = {}; // CLOUDFLARE_ACCOUNT_ID once known
const secretsInFlight = new Set(); // redacted from anything printed

function redact(text) {
  let t = text;
  for (const s of secretsInFlight) t = t.split(s).join("<redacted>");
  return t;
}

/**
 * Runs wrangler with the project's Node 22. Non-interactive (CI=true, stdin
 * closed or fed `input`) unless `interactive`, which hands it the terminal.
 * Resolves { code, out, stdout, stderr } where code is null after a timeout.
 */
function wrangler(args, { timeoutMs = T_ACCOUNT, input, interactive = false, stream = false, env = {} } = {}) {
  return new Promise((resolve) => {
    const stdio = interactive ? "inherit" : [input === undefined ? "ignore" : "pipe", "pipe", "pipe"];
    const childOpts = { stdio, env: { ...childEnv, ...(interactive ? {} : { CI: "true" }), ...env } };
    const child = FAKE_WRANGLER
      ? spawn(node, [FAKE_WRANGLER, ...args], { cwd: ROOT, stdio, env: { ...process.env, ...childOpts.env } })
      : spawnWrangler(node, args, childOpts);
    let stdout = "";
    let stderr = "";
    const onData = (sink) => (d) => {
      const s = d.toString();
      if (sink === "out") stdout += s;
      else stderr += s;
      if (stream) process.stdout.write(redact(s).replace(/^(?=.)/gm, "    "));
    };
    if (!interactive) {
      child.stdout.on("data", onData("out"));
      child.stderr.on("data", onData("err"));
      if (input !== undefined) child.stdin.end(input);
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      setTimeout(() => child.exitCode === null && child.kill("SIGKILL"), 5000).unref();
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}\n${e.message}`, out: `${stdout}\n${stderr}\n${e.message}` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const c = timedOut ? null : code;
      if (timedOut) stderr += `\n(wrangler ${args[0]} was stopped after ${Math.round(timeoutMs / 1000)} s)`;
      resolve({ code: c, stdout, stderr, out: `${stdout}\n${stderr}` });
    });
  });
}

/** Throws a StepError with the tail of wrangler's output unless it succeeded. */
function must(result, what) {
  if (result.code === 0) return result;
  const tail = redact(result.out).trim().split("\n").slice(-25).join("\n");
  throw new StepError(`${what} failed${result.code === null ? " (timed out)" : ` (exit ${result.code})`}:\n${tail}`);
}

const domainArgs = (p) => (p.worker.domain ? ["--domains", p.worker.domain] : []);

/** How to run wrangler by hand with a Node it accepts (it refuses Node < 22.12). */
function wranglerHint() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 12)) return "npx wrangler";
  return `${relative(ROOT, node)} node_modules/wrangler/bin/wrangler.js`;
}

function printPlan(p, heading) {
  say(heading);
  describePlan(p).forEach(([title, what], i) => say(`  ${i + 1}. ${title}: ${what}`));
  if (p.vars.R2_ACCOUNT_ID === DRY_RUN_ACCOUNT_ID) say(`  (R2_ACCOUNT_ID is a placeholder here; a real run takes the account's id)`);
  say(
    p.bytes === "r2"
      ? "  bytes: presigned URLs straight to R2's S3 endpoint (R2 API token configured)"
      : "  bytes: through the Worker's own /s3/ endpoint (no R2 API token; DESIGN.md §4)",
  );
}

// ---------------------------------------------------------------------------
// Dry run

async function dryRun(opts, project, source) {
  const p = makePlan(
    { accountId: DRY_RUN_ACCOUNT_ID, databaseId: null, bucketExists: false, workerExists: false, secrets: [] },
    { ...opts, email: opts.email ?? "you@example.com" },
    project,
  );
  printPlan(p, "Dry run: plan for a fresh account (nothing below touches an account):");
  const tmp = mkdtempSync(join(tmpdir(), "logseq-sync-deploy-dry-"));
  const checks = [];
  const check = async (name, fn) => {
    note(`check: ${name}`);
    const detail = await fn();
    checks.push(name);
    note(`  ok${detail ? `: ${detail}` : ""}`);
  };
  try {
    const configPath = join(ROOT, DRY_RUN_CONFIG);
    mkdirSync(join(ROOT, CONFIG_DIR), { recursive: true });
    await check(`deploy config (${DRY_RUN_CONFIG}, placeholder database id) read back with wrangler's parser`, async () => {
      writeFileSync(configPath, deployConfigToml(source, { databaseId: PLACEHOLDER_DATABASE_ID, vars: p.vars, configDir: CONFIG_DIR }));
      const raw = await readRawConfigs([join(ROOT, "wrangler.toml"), configPath]);
      const want = expectedRawConfig(raw[0], { databaseId: PLACEHOLDER_DATABASE_ID, vars: p.vars, configDir: CONFIG_DIR });
      const diff = jsonDiff(want, raw[1]);
      if (diff) throw new StepError(`the generated config differs from wrangler.toml beyond ids, paths and local_dev: ${diff}`);
      return "same as wrangler.toml but for the database id, local_dev and paths";
    });
    await check("R2 CORS rules are well-formed", async () => {
      const file = join(tmp, "cors.json");
      writeFileSync(file, JSON.stringify(p.cors, null, 2));
      validateCors(JSON.parse(readFileSync(file, "utf8")));
      return `${p.cors.rules.length} rule(s) in the shape of wrangler r2 bucket cors set --file`;
    });
    await check("secret list is well-formed", async () => validateSecretPlan(p, project).join(", "));
    await check("D1 migrations apply to a fresh local database, and a second apply finds nothing new", async () => {
      const persist = join(tmp, "state");
      const args = ["d1", "migrations", "apply", project.databaseBinding, "--local", "--persist-to", persist, "--config", configPath];
      const first = must(await wrangler(args, { timeoutMs: T_ACCOUNT }), "wrangler d1 migrations apply --local");
      const applied = [...new Set([...first.stdout.matchAll(/(\d{4}_[\w-]+\.sql)/g)].map((m) => m[1]))];
      const second = must(await wrangler(args, { timeoutMs: T_ACCOUNT }), "second wrangler d1 migrations apply --local");
      if (!/No migrations to apply/.test(second.out)) throw new StepError("the second apply was not a no-op");
      return `${applied.join(", ")}`;
    });
    await check("build and bundle: wrangler deploy --dry-run", async () => {
      const outdir = join(tmp, "bundle");
      const r = must(
        await wrangler(["deploy", "--dry-run", "--outdir", outdir, "--config", configPath, "--keep-vars", ...domainArgs(p)], {
          timeoutMs: T_DEPLOY,
        }),
        "wrangler deploy --dry-run",
      );
      const bindings = parseBindings(r.out);
      for (const b of [project.databaseBinding, "BUCKET", "GRAPH_HUB", ...Object.keys(project.vars)]) {
        if (!bindings.includes(b)) throw new StepError(`binding ${b} missing from wrangler's dry run (got ${bindings.join(", ")})`);
      }
      const size = parseUploadSize(r.out);
      if (size && size.gzipKiB > FREE_PLAN_GZIP_KIB) {
        note(`  warning: ${size.gzipKiB} KiB gzipped is above the older free-plan Worker limit of 3 MiB`);
      }
      return `bindings ${bindings.join(", ")}${size ? `; upload ${size.rawKiB} KiB, gzip ${size.gzipKiB} KiB` : ""}`;
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  say("");
  say(`Dry run passed (${checks.length} checks). Not tried here: everything that needs a Cloudflare account`);
  say("(whoami, creating the database and bucket, CORS, remote migrations, secrets, the upload).");
  say("Run `npx wrangler login`, then `npm run deploy -- --email you@example.com`.");
}

/** Raw configs as wrangler reads them (its exported reader, under Node 22). */
async function readRawConfigs(paths) {
  const script = [
    `const w = require(${JSON.stringify(join(ROOT, "node_modules", "wrangler"))});`,
    `const out = ${JSON.stringify(paths)}.map((p) => w.experimental_readRawConfig({ config: p }).rawConfig);`,
    `process.stdout.write("\\n@@RAW@@" + JSON.stringify(out) + "\\n");`,
  ].join("\n");
  return new Promise((resolve, reject) => {
    const child = spawn(node, ["-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), T_ACCOUNT);
    child.on("close", (code) => {
      clearTimeout(timer);
      const m = out.match(/@@RAW@@(.*)/);
      if (code !== 0 || !m) reject(new StepError(`reading the configs with wrangler failed:\n${out.slice(-2000)}`));
      else resolve(JSON.parse(m[1]));
    });
  });
}

// ---------------------------------------------------------------------------
// Real run

async function login(opts) {
  note("checking the wrangler login (wrangler whoami)");
  const r = await wrangler(["whoami", "--json"]);
  let who = null;
  try {
    who = parseJsonOutput(r.stdout);
  } catch {
    // handled below
  }
  if (who && who.loggedIn === false) {
    throw new StepError(`wrangler is not logged in. Run \`${wranglerHint()} login\`, then \`npm run deploy\` again.`);
  }
  must(r, "wrangler whoami");
  if (!who || !Array.isArray(who.accounts)) throw new StepError(`unexpected wrangler whoami output:\n${r.stdout.slice(0, 500)}`);
  const accounts = who.accounts;
  let account;
  if (opts.accountId) {
    account = accounts.find((a) => a.id === opts.accountId) ?? { id: opts.accountId, name: "(given)" };
  } else if (accounts.length === 1) {
    account = accounts[0];
  } else {
    const list = accounts.map((a) => `  ${a.id}  ${a.name}`).join("\n");
    throw new StepError(
      accounts.length === 0
        ? "this login sees no Cloudflare account; pass --account-id <id>"
        : `this login sees ${accounts.length} accounts; choose one with --account-id <id> (or CLOUDFLARE_ACCOUNT_ID):\n${list}`,
    );
  }
  note(`logged in${who.email ? ` as ${who.email}` : ""}; account ${account.name} (${account.id})`);
  return account.id;
}

async function inventory(project, accountId) {
  note("looking at what the account has (d1 list, r2 bucket list, secret list)");
  const d1 = must(await wrangler(["d1", "list", "--json"]), "wrangler d1 list");
  const databaseId = findDatabaseId(parseJsonOutput(d1.stdout), project.databaseName);
  const r2 = must(await wrangler(["r2", "bucket", "list"]), "wrangler r2 bucket list");
  const bucketExists = parseR2BucketNames(r2.stdout).includes(project.bucketName);
  const s = await wrangler(["secret", "list", "--name", project.workerName, "--format", "json"]);
  let secrets = [];
  let workerExists = true;
  if (s.code === 0) secrets = parseSecretNames(s.stdout);
  else if (isWorkerNotFound(s.out)) workerExists = false;
  else must(s, "wrangler secret list");
  return { accountId, databaseId, bucketExists, workerExists, secrets };
}

async function realRun(opts, project, source) {
  const accountId = await login(opts);
  childEnv = { CLOUDFLARE_ACCOUNT_ID: accountId };
  const state = await inventory(project, accountId);
  const p = makePlan(state, opts, project);
  validateSecretPlan(p, project);
  printPlan(p, "Plan:");
  const steps = describePlan(p).map(([title]) => title);
  const step = (i) => note(`step ${i + 1}/${steps.length}: ${steps[i]}`);
  const loc = (l) => (l ? ["--location", l] : []);

  step(0);
  let databaseId = p.database.id;
  if (p.database.action === "create") {
    must(await wrangler(["d1", "create", p.database.name, ...loc(p.database.location)], { stream: true }), "wrangler d1 create");
    const list = must(await wrangler(["d1", "list", "--json"]), "wrangler d1 list");
    databaseId = findDatabaseId(parseJsonOutput(list.stdout), p.database.name);
    if (!databaseId) throw new StepError(`created ${p.database.name} but wrangler d1 list does not show it`);
  }
  note(`  D1 ${p.database.name}: ${databaseId}`);

  step(1);
  if (p.bucket.action === "create") {
    must(await wrangler(["r2", "bucket", "create", p.bucket.name, ...loc(p.bucket.location)], { stream: true }), "wrangler r2 bucket create");
  }
  note(`  R2 ${p.bucket.name}: ${p.bucket.action === "create" ? "created" : "exists"}`);

  const tmp = mkdtempSync(join(tmpdir(), "logseq-sync-deploy-"));
  try {
    step(2);
    const corsFile = join(tmp, "cors.json");
    writeFileSync(corsFile, JSON.stringify(validateCors(p.cors), null, 2));
    must(await wrangler(["r2", "bucket", "cors", "set", p.bucket.name, "--file", corsFile, "--force"]), "wrangler r2 bucket cors set");

    step(3);
    const configPath = join(ROOT, DEPLOY_CONFIG);
    mkdirSync(join(ROOT, CONFIG_DIR), { recursive: true });
    writeFileSync(configPath, deployConfigToml(source, { databaseId, vars: p.vars, configDir: CONFIG_DIR }));
    note(`  wrote ${DEPLOY_CONFIG}`);

    step(4);
    must(
      await wrangler(["d1", "migrations", "apply", p.database.binding, "--remote", "--config", configPath], {
        timeoutMs: T_MIGRATIONS,
        stream: true,
      }),
      "wrangler d1 migrations apply --remote",
    );

    step(5);
    const outputFile = join(tmp, "wrangler-output.ndjson");
    // Interactive: on an account without a workers.dev subdomain wrangler asks to register one.
    must(
      await wrangler(["deploy", "--config", configPath, "--keep-vars", ...domainArgs(p)], {
        timeoutMs: T_DEPLOY,
        interactive: true,
        env: { WRANGLER_OUTPUT_FILE_PATH: outputFile },
      }),
      "wrangler deploy",
    );
    const urls = existsSync(outputFile) ? deployUrls(readFileSync(outputFile, "utf8")) : [];

    step(6);
    let tokenShown = false;
    for (const s of p.secrets) {
      if (s.action === "keep") {
        note(`  ${s.name}: already set, left alone`);
        continue;
      }
      const value =
        s.action === "generate"
          ? randomBytes(32).toString("hex")
          : s.name === "ADMIN_TOKEN"
            ? opts.adminToken
            : s.name === "R2_S3_ACCESS_KEY_ID"
              ? opts.r2.accessKeyId
              : opts.r2.secretAccessKey;
      secretsInFlight.add(value);
      must(
        await wrangler(["secret", "put", s.name, "--name", p.workerName, "--config", configPath], { input: value }),
        `wrangler secret put ${s.name}`,
      );
      note(`  ${s.name}: set (${s.action === "generate" ? "generated, not shown" : s.from})`);
      if (s.name === "JWT_SECRET" && p.token.action === "bootstrap") {
        // Shown now: if a later step fails, the next run finds JWT_SECRET set and cannot mint one.
        say("");
        say(`Bootstrap token for ${p.token.email} (shown once, valid a year, not revocable; keep it like a password):`);
        say(mintToken(value, p.token.email));
        say("");
        tokenShown = true;
      }
    }

    step(7);
    summary(p, urls, tokenShown);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function summary(p, urls, tokenShown) {
  const url = urls[0] ?? `https://${p.workerName}.<your-subdomain>.workers.dev`;
  say("");
  say(`Deployed: ${urls.length ? urls.join(", ") : "(wrangler did not report a URL; see its output above)"}`);
  say(
    p.bytes === "r2"
      ? "File bodies move through presigned URLs straight to R2 (R2 API token set)."
      : "File bodies move through the Worker's own /s3/ endpoint. For presigned URLs straight to R2, " +
          "create an R2 API token and run again with R2_S3_ACCESS_KEY_ID and R2_S3_SECRET_ACCESS_KEY (docs/DEPLOY.md).",
  );
  if (tokenShown) {
    say("");
    say(`Your bootstrap token for ${p.token.email} is printed above (step 7). Paste it as described in`);
    say('docs/CLIENT.md ("Token setup"), as the id-token.');
  } else if (p.token.action === "none") {
    say("");
    say("No bootstrap token (no --email given). Mint tokens with the admin interface (below).");
  } else {
    say("");
    say("JWT_SECRET already existed, so no token is printed (its value cannot be read back).");
    say("Use the token you kept from the first deploy, or mint one with the admin interface (below).");
  }
  const admin = p.secrets.find((s) => s.name === "ADMIN_TOKEN");
  say("");
  say(`Admin interface (revocable tokens with refresh, users, backups): LOGSEQ_SYNC_URL=${url} \\`);
  say("  ADMIN_TOKEN=<your admin token> npm run admin -- mint you@example.com");
  if (admin.action === "generate") {
    say("ADMIN_TOKEN was generated and is not shown. To use the admin interface, choose your own and run");
    say(`  ADMIN_TOKEN=<at least 16 characters> npm run deploy   (or: ${wranglerHint()} secret put ADMIN_TOKEN --name ${p.workerName})`);
  }
}

// ---------------------------------------------------------------------------

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2), process.env);
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    process.stderr.write(`deploy: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    say(USAGE);
    return 0;
  }
  if (opts.adminToken) secretsInFlight.add(opts.adminToken);
  if (opts.r2) secretsInFlight.add(opts.r2.secretAccessKey);
  const source = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const project = readProjectConfig(source);
  if (project.databaseId !== PLACEHOLDER_DATABASE_ID) {
    throw new StepError(`wrangler.toml's database_id must stay the placeholder ${PLACEHOLDER_DATABASE_ID}; the deploy fills in the real one`);
  }
  ensureNpmDeps();
  node = ensureWranglerNode();
  if (opts.dryRun) await dryRun(opts, project, source);
  else await realRun(opts, project, source);
  return 0;
}

// exitCode rather than exit(): lets stdout drain when it is a pipe.
main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    const known = e instanceof StepError || e instanceof PlanError;
    process.stderr.write(`\ndeploy: ${known ? e.message : e.stack}\n`);
    process.exitCode = 1;
  },
);
