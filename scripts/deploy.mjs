// `npm run deploy [-- options]` (docs/DEPLOY.md): deploys the committed
// wrangler.toml to the account wrangler is logged in to, and upgrades it on
// every later run. wrangler 4.164 does the provisioning: its D1 and R2
// bindings carry names and no ids, so `wrangler deploy` creates or reuses the
// database and bucket by name, and `wrangler d1 migrations apply DB --remote`
// finds the database by name. This script adds only what wrangler does not do:
// migrations before the new code serves, the secrets (uploaded with the new
// version, `--secrets-file`), the R2 API token for presigned URLs, the
// bucket's CORS rules, a custom domain and the first token.
//
// `--dry-run` needs no account and no network. Secret values are never
// printed; every wrangler call is bounded by a timeout.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ROOT, ensureNpmDeps, ensureWranglerNode, spawnWrangler } from "./lib/tools.mjs";
import { mintToken } from "./lib/jwt.mjs";
import * as dc from "./lib/deploy-config.mjs";

const MINUTE = 60_000;
const say = (line = "") => process.stdout.write(`${line}\n`);
const note = (line) => say(`[deploy] ${line}`);
class StepError extends Error {}

// Tests only (tests/e2e/deploy.test.mjs): a stand-in for wrangler's CLI that plays an account.
const FAKE_WRANGLER = process.env.LOGSEQ_SYNC_FAKE_WRANGLER;
let node;
let childEnv = {}; // CLOUDFLARE_ACCOUNT_ID once known
const secretValues = new Set(); // redacted from anything printed
const redact = (t) => [...secretValues].reduce((s, v) => s.split(v).join("<redacted>"), t);

/**
 * Runs wrangler non-interactively (CI=true: no prompts, and a provisioning
 * deploy does not write ids back into wrangler.toml). Resolves { code, out }
 * with code null after a timeout; `stream` echoes its output, indented.
 */
function wrangler(args, { timeoutMs = 2 * MINUTE, input, stream = false, env = {} } = {}) {
  return new Promise((resolve) => {
    const opts = { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"], env: { ...childEnv, CI: "true", ...env } };
    const child = FAKE_WRANGLER
      ? spawn(node, [FAKE_WRANGLER, ...args], { cwd: ROOT, stdio: opts.stdio, env: { ...process.env, ...opts.env } })
      : spawnWrangler(node, args, opts);
    let out = "";
    const onData = (d) => {
      out += d;
      if (stream) process.stdout.write(redact(d.toString()).replace(/^(?=.)/gm, "    "));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    if (input !== undefined) child.stdin.end(input);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => resolve({ code: -1, out: `${out}\n${e.message}` }));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? null : code, out, streamed: stream });
    });
  });
}

function must(r, what) {
  if (r.code === 0) return r;
  const tail = r.streamed ? " (its output is above)" : `:\n${redact(r.out).trim().split("\n").slice(-25).join("\n")}`;
  throw new StepError(`${what} failed${r.code === null ? " (timed out)" : ` (exit ${r.code})`}${tail}`);
}

/** wrangler as a person types it here (it refuses Node < 22.12). */
const wranglerHint = () => (node === process.execPath ? "npx wrangler" : `${relative(ROOT, node)} node_modules/wrangler/bin/wrangler.js`);

/** Runs `fn` with a private temp directory that is removed afterwards, whatever happens. */
async function withTmp(fn) {
  const dir = mkdtempSync(join(tmpdir(), "logseq-sync-deploy-"));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const writePrivate = (file, text) => writeFileSync(file, text, { mode: 0o600 });
const bucketName = () => readFileSync(join(ROOT, "wrangler.toml"), "utf8").match(/^\s*bucket_name\s*=\s*"([^"]+)"/m)[1];

// ---------------------------------------------------------------------------
// Dry run

/** wrangler.toml as wrangler's own reader sees it (run under the Node wrangler accepts). */
async function wranglerConfig() {
  const script = `const w = require(${JSON.stringify(join(ROOT, "node_modules", "wrangler"))});
    process.stdout.write("@@" + JSON.stringify(w.experimental_readRawConfig({ config: "wrangler.toml" }).rawConfig));`;
  const r = await new Promise((resolve) => {
    const child = spawn(node, ["-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
  const m = r.out.match(/@@(.*)$/s);
  if (r.code !== 0 || !m) throw new StepError(`reading wrangler.toml with wrangler failed:\n${r.out.slice(-2000)}`);
  return JSON.parse(m[1]);
}

/** What a fresh deploy relies on, checked in the config wrangler will see. */
function checkConfig(c, secretNames) {
  const db = c.d1_databases?.find((d) => d.binding === "DB");
  const bucket = c.r2_buckets?.find((b) => b.binding === "BUCKET");
  const problems = [
    !db?.database_name && "D1 binding DB needs a database_name",
    db?.database_id && "D1 binding DB has a database_id: wrangler would not provision or look it up by name",
    !db?.migrations_dir && "D1 binding DB needs a migrations_dir",
    !bucket?.bucket_name && "R2 binding BUCKET needs a bucket_name",
    !c.durable_objects?.bindings?.some((b) => b.name === "GRAPH_HUB") && "Durable Object binding GRAPH_HUB missing",
    ...secretNames.filter((n) => n in (c.vars ?? {})).map((n) => `${n} is both a var and a secret`),
  ].filter(Boolean);
  if (problems.length) throw new StepError(`wrangler.toml: ${problems.join("; ")}`);
  return `${c.name}: D1 ${db.database_name} and R2 ${bucket.bucket_name} by name, no ids; vars ${Object.keys(c.vars ?? {}).join(", ")}`;
}

async function dryRun() {
  const plan = dc.planSecrets([], { r2: { accessKeyId: "a".repeat(32), secretAccessKey: "b".repeat(64) } }, {
    accountId: "0".repeat(32), bucket: bucketName(), random: () => randomBytes(32).toString("hex"),
  });
  say("Dry run: what needs no Cloudflare account (nothing below touches one).");
  let n = 0;
  const check = async (name, fn) => {
    note(`check ${++n}: ${name}`);
    note(`  ok: ${await fn()}`);
  };
  await withTmp(async (tmp) => {
    await check("the config wrangler will see (wrangler.toml, read with wrangler's parser)", async () =>
      checkConfig(await wranglerConfig(), Object.keys(plan.values)));
    await check("the R2 CORS rules are in the shape wrangler r2 bucket cors set sends", async () =>
      `${dc.validateCors(dc.corsRules()).rules.length} rule: GET, PUT, HEAD from any origin`);
    await check("D1 migrations apply to a fresh local database, and a second apply finds nothing new", async () => {
      const args = ["d1", "migrations", "apply", "DB", "--local", "--persist-to", join(tmp, "state")];
      const first = must(await wrangler(args), "wrangler d1 migrations apply --local");
      const second = must(await wrangler(args), "second wrangler d1 migrations apply --local");
      if (!/No migrations to apply/.test(second.out)) throw new StepError("the second apply was not a no-op");
      return [...new Set(first.out.match(/\d{4}_[\w-]+\.sql/g))].join(", ");
    });
    await check("build and bundle with the first deploy's secrets: wrangler deploy --dry-run", async () => {
      const secrets = join(tmp, "secrets.json");
      writePrivate(secrets, JSON.stringify(plan.values));
      const r = must(await wrangler(["deploy", "--dry-run", "--outdir", join(tmp, "bundle"), "--keep-vars", "--secrets-file", secrets],
        { timeoutMs: 30 * MINUTE }), "wrangler deploy --dry-run");
      const bindings = dc.parseBindings(r.out);
      const missing = ["DB", "BUCKET", "GRAPH_HUB", "CLIENT_BUCKET", ...Object.keys(plan.values)].filter((b) => !bindings.includes(b));
      if (missing.length) throw new StepError(`bindings missing from wrangler's dry run: ${missing.join(", ")} (got ${bindings.join(", ")})`);
      const size = dc.parseUploadSize(r.out);
      return `bindings ${bindings.join(", ")}${size ? `; upload ${size.rawKiB} KiB, gzip ${size.gzipKiB} KiB` : ""}`;
    });
  });
  say("");
  say(`Dry run passed (${n} checks). Not tried here: everything that needs an account`);
  say("(provisioning, remote migrations, secrets, CORS, the upload). To deploy:");
  say("  npx wrangler login  &&  npm run deploy -- --email you@example.com");
}

// ---------------------------------------------------------------------------
// Real run

async function login(opts) {
  note("checking the wrangler login (wrangler whoami)");
  const r = await wrangler(["whoami", "--json"]);
  let who = null;
  try {
    who = dc.parseJsonOutput(r.out);
  } catch {
    // reported below
  }
  if (who?.loggedIn === false) throw new StepError(`wrangler is not logged in. Run \`${wranglerHint()} login\`, then \`npm run deploy\` again.`);
  must(r, "wrangler whoami");
  const accounts = Array.isArray(who?.accounts) ? who.accounts : [];
  const account = opts.accountId ? { id: opts.accountId, name: "(given)" } : accounts.length === 1 ? accounts[0] : null;
  if (!account) {
    throw new StepError(`this login sees ${accounts.length} accounts; choose one with --account-id <id>:\n` +
      accounts.map((a) => `  ${a.id}  ${a.name}`).join("\n"));
  }
  note(`logged in${who.email ? ` as ${who.email}` : ""}; account ${account.name} (${account.id})`);
  return account.id;
}

/** The Worker's secret names, or [] when the Worker does not exist yet. */
async function existingSecrets() {
  const r = await wrangler(["secret", "list", "--format", "json"]);
  if (r.code !== 0 && dc.isWorkerNotFound(r.out)) return { names: [], workerExists: false };
  const list = dc.parseJsonOutput(must(r, "wrangler secret list").out);
  return { names: list.map((s) => s.name), workerExists: true };
}

/** Applies new migrations; false when the database does not exist yet (a first deploy provisions it). */
async function migrate({ allowMissing, deployed = false }) {
  const r = await wrangler(["d1", "migrations", "apply", "DB", "--remote"], { timeoutMs: 10 * MINUTE, stream: true });
  if (r.code !== 0 && allowMissing && dc.isDatabaseMissing(r.out)) return false;
  if (r.code !== 0) {
    throw new StepError("wrangler d1 migrations apply DB --remote failed (its output is above). D1 applies each migration " +
      "as a whole, so the failed one left the database as it was" +
      (deployed ? "; the new Worker is deployed on an incomplete schema. " : "; nothing was deployed, the Worker runs the version it ran. ") +
      "Fix the cause and run npm run deploy again; docs/DEPLOY.md (Rolling back) has the rest.");
  }
  return true;
}

/** Reads a line from the terminal; with `hidden`, nothing is echoed. */
function ask(question, { hidden = false } = {}) {
  process.stdout.write(question);
  if (!hidden) {
    return new Promise((resolve) => process.stdin.once("data", (d) => {
      process.stdin.pause();
      resolve(d.toString().trim());
    }));
  }
  return new Promise((resolve, reject) => {
    let value = "";
    process.stdin.setRawMode(true);
    process.stdin.resume();
    const onData = (d) => {
      for (const ch of d.toString()) {
        if (ch === "\r" || ch === "\n") {
          process.stdin.setRawMode(false);
          process.stdin.pause();
          process.stdin.off("data", onData);
          process.stdout.write("\n");
          return resolve(value.trim());
        }
        if (ch === "\u0003") return reject(new StepError("interrupted"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    process.stdin.on("data", onData);
  });
}

/** On a terminal: explains the dashboard step and reads the token's two values (empty = skip). */
async function askR2(accountId, bucket) {
  if (!process.stdin.isTTY || !process.stdout.isTTY) return null;
  say("");
  dc.r2TokenSteps(accountId, bucket).forEach((l) => say(l));
  const accessKeyId = await ask("Access Key ID (Enter to skip and send bytes through the Worker): ");
  if (!accessKeyId) return null;
  const secretAccessKey = await ask("Secret Access Key (not shown): ", { hidden: true });
  if (!dc.R2_KEY_RE.test(accessKeyId) || !dc.R2_KEY_RE.test(secretAccessKey)) {
    throw new StepError("those do not look like an R2 API token's Access Key ID and Secret Access Key; run npm run deploy again");
  }
  return { accessKeyId, secretAccessKey };
}

async function realRun(opts) {
  const accountId = await login(opts);
  childEnv = { CLOUDFLARE_ACCOUNT_ID: accountId };
  const bucket = bucketName();
  const { names, workerExists } = await existingSecrets();
  const plan = dc.planSecrets(names, opts, { accountId, bucket, random: () => randomBytes(32).toString("hex") });
  for (const [name, v] of Object.entries(plan.values)) if (!["R2_ACCOUNT_ID", "R2_S3_BUCKET"].includes(name)) secretValues.add(v);
  note(`secrets: ${plan.notes.map(([n, why]) => `${n} ${why}`).join("; ")}`);

  note("step 1/4: D1 migrations first, so that the new code never serves an old schema");
  const migrated = await migrate({ allowMissing: !workerExists });
  if (!migrated) note("  no database yet: wrangler deploy creates it, the migrations follow right after");

  note(`step 2/4: wrangler deploy (creates or reuses D1 and R2 by name; uploads the code with its secrets)`);
  const urls = await withTmp(async (tmp) => {
    const secrets = join(tmp, "secrets.json");
    const output = join(tmp, "output.ndjson");
    const args = ["deploy", "--keep-vars", ...(opts.domain ? ["--domains", opts.domain] : [])];
    if (Object.keys(plan.values).length) {
      writePrivate(secrets, JSON.stringify(plan.values));
      args.push("--secrets-file", secrets);
    }
    const r = await wrangler(args, { timeoutMs: 30 * MINUTE, stream: true, env: { WRANGLER_OUTPUT_FILE_PATH: output } });
    if (r.code !== 0 && dc.isSubdomainMissing(r.out)) {
      throw new StepError(`this account has no workers.dev subdomain yet: register one at https://dash.cloudflare.com/${accountId}/workers/onboarding, then run npm run deploy again`);
    }
    must(r, "wrangler deploy");
    return existsSync(output) ? dc.deployUrls(readFileSync(output, "utf8")) : [];
  });
  if (plan.jwtNew && opts.email) {
    // Now: the secret is live, and a later step failing must not lose the only token.
    say("");
    say(`Bootstrap token for ${opts.email} (shown once, valid a year, not revocable; keep it like a password):`);
    say(mintToken(plan.values.JWT_SECRET, opts.email));
    say("");
  }
  if (!migrated) await migrate({ allowMissing: false, deployed: true });

  note(`step 3/4: R2 CORS rules on ${bucket} (GET, PUT, HEAD from any origin)`);
  await withTmp(async (tmp) => {
    writeFileSync(join(tmp, "cors.json"), JSON.stringify(dc.validateCors(dc.corsRules())));
    must(await wrangler(["r2", "bucket", "cors", "set", bucket, "--file", join(tmp, "cors.json"), "--force"]), "wrangler r2 bucket cors set");
  });

  note("step 4/4: how file bodies travel");
  let r2 = plan.r2;
  if (!r2) {
    const given = await askR2(accountId, bucket);
    if (given) {
      const values = dc.r2Secrets(given, accountId, bucket);
      secretValues.add(given.secretAccessKey);
      must(await wrangler(["secret", "bulk"], { input: JSON.stringify(values) }), "wrangler secret bulk (R2 API token)");
      r2 = "given";
    }
  }
  say("");
  say(`Deployed: ${urls.length ? urls.join(", ") : "(wrangler reported no URL; see its output above)"}`);
  if (r2) say("File bodies: presigned URLs straight to R2 (R2 API token set); the status page says so too.");
  else {
    dc.WORKER_BYTES_COST.forEach((l) => say(l));
    say(dc.switchToR2("docs/DEPLOY.md"));
  }
  if (plan.jwtNew && opts.email) say(`Your bootstrap token for ${opts.email} is printed above; paste it as docs/CLIENT.md says.`);
  else if (plan.jwtNew) say("No bootstrap token (no --email): mint tokens with npm run admin (docs/DEPLOY.md).");
  else say("JWT_SECRET already existed, so no token is printed; mint tokens with npm run admin (docs/DEPLOY.md).");
}

// ---------------------------------------------------------------------------

async function main() {
  let opts;
  try {
    opts = dc.parseArgs(process.argv.slice(2), process.env);
  } catch (e) {
    if (!(e instanceof dc.UsageError)) throw e;
    process.stderr.write(`deploy: ${e.message}\n\n${dc.USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    say(dc.USAGE);
    return 0;
  }
  if (opts.adminToken) secretValues.add(opts.adminToken);
  if (opts.r2) secretValues.add(opts.r2.secretAccessKey);
  ensureNpmDeps();
  node = ensureWranglerNode();
  await (opts.dryRun ? dryRun() : realRun(opts));
  return 0;
}

// exitCode rather than exit(): lets stdout drain when it is a pipe.
main().then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`\ndeploy: ${e instanceof StepError ? e.message : e.stack}\n`);
    process.exitCode = 1;
  },
);
