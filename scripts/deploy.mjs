// `npm run deploy [-- options]` (docs/DEPLOY.md): deploys the committed
// wrangler.toml and upgrades it on every later run. wrangler 4.164 provisions:
// the D1 and R2 bindings carry names and no ids, so `wrangler deploy` creates
// or reuses them by name and `wrangler d1 migrations apply DB --remote` finds
// the database by name. This script does only what wrangler does not:
// migrations before the new code serves, secrets (uploaded with the new
// version), the R2 API token, the bucket's CORS rules, the first token.
// Secret values are never printed; every wrangler call has a timeout.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
 * deploy writes no ids into wrangler.toml), or with the terminal if
 * `interactive`. Resolves { code, out, stdout, streamed }, code null after the
 * timeout; `stream` echoes the output, indented.
 */
function wrangler(args, { timeoutMs = 2 * MINUTE, input, stream = false, interactive = false } = {}) {
  return new Promise((resolve) => {
    const stdio = interactive ? "inherit" : [input === undefined ? "ignore" : "pipe", "pipe", "pipe"];
    const opts = { stdio, env: { ...childEnv, ...(interactive ? {} : { CI: "true" }) } };
    const child = FAKE_WRANGLER
      ? spawn(node, [FAKE_WRANGLER, ...args], { cwd: ROOT, stdio: opts.stdio, env: { ...process.env, ...opts.env } })
      : spawnWrangler(node, args, opts);
    let out = "";
    let stdout = "";
    const onData = (d) => {
      out += d;
      if (stream) process.stdout.write(redact(d.toString()).replace(/^(?=.)/gm, "    "));
    };
    child.stdout?.on("data", (d) => {
      stdout += d;
      onData(d);
    });
    child.stderr?.on("data", onData);
    if (input !== undefined) child.stdin.end(input);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => resolve({ code: -1, out: `${out}\n${e.message}`, stdout }));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? null : code, out, stdout, streamed: stream });
    });
  });
}

function must(r, what) {
  if (r.code === 0) return r;
  const tail = r.streamed ? " (its output is above)" : `:\n${redact(r.out).trim().split("\n").slice(-25).join("\n")}`;
  throw new StepError(`${what} failed${r.code === null ? " (timed out)" : ` (exit ${r.code})`}${tail}`);
}

/** Runs `fn` with a private temp directory, removed afterwards whatever happens. */
async function withTmp(fn) {
  const dir = mkdtempSync(join(tmpdir(), "logseq-sync-deploy-"));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const writePrivate = (file, text) => writeFileSync(file, text, { mode: 0o600 });
const wranglerToml = () => readFileSync(join(ROOT, "wrangler.toml"), "utf8");
const bucketName = () => wranglerToml().match(/^\s*bucket_name\s*=\s*"([^"]+)"/m)[1];
const newSecret = () => randomBytes(32).toString("hex");

async function dryRun() {
  if (/^\s*database_id\s*=/m.test(wranglerToml())) {
    throw new StepError(
      "wrangler.toml: the D1 binding must carry no database_id (wrangler provisions and finds it by name)",
    );
  }
  const r2 = { accessKeyId: "a".repeat(32), secretAccessKey: "b".repeat(64) };
  const plan = dc.planSecrets([], { r2 }, { accountId: "0".repeat(32), bucket: bucketName(), random: newSecret });
  say("Dry run: what needs no Cloudflare account (nothing below touches one).");
  await withTmp(async (tmp) => {
    note("check 1: D1 migrations apply to a fresh local database, and a second apply finds nothing new");
    const args = ["d1", "migrations", "apply", "DB", "--local", "--persist-to", join(tmp, "state")];
    const first = must(await wrangler(args), "wrangler d1 migrations apply --local");
    const second = must(await wrangler(args), "second wrangler d1 migrations apply --local");
    if (!/No migrations to apply/.test(second.out)) throw new StepError("the second apply was not a no-op");
    note(`  ok: ${[...new Set(first.out.match(/\d{4}_[\w-]+\.sql/g))].join(", ")}`);

    note(
      "check 2: wrangler reads the config, builds and bundles it with a first deploy's secrets (wrangler deploy --dry-run)",
    );
    writePrivate(join(tmp, "secrets.json"), JSON.stringify(plan.values));
    const args2 = [
      "deploy",
      "--dry-run",
      "--outdir",
      join(tmp, "bundle"),
      "--keep-vars",
      "--secrets-file",
      join(tmp, "secrets.json"),
    ];
    const r = must(await wrangler(args2, { timeoutMs: 30 * MINUTE }), "wrangler deploy --dry-run");
    const bindings = dc.parseBindings(r.out);
    const missing = ["DB", "BUCKET", "GRAPH_HUB", "CLIENT_BUCKET", ...Object.keys(plan.values)].filter(
      (b) => !bindings.includes(b),
    );
    if (missing.length)
      throw new StepError(
        `bindings missing from wrangler's dry run: ${missing.join(", ")} (got ${bindings.join(", ")})`,
      );
    const size = dc.parseUploadSize(r.out);
    note(`  ok: bindings ${bindings.join(", ")}${size ? `; upload ${size.rawKiB} KiB, gzip ${size.gzipKiB} KiB` : ""}`);
  });
  say("\nDry run passed (2 checks). Not tried here: what needs an account (provisioning, remote");
  say(
    "migrations, secrets, CORS, the upload). To deploy: npx wrangler login; npm run deploy -- --email you@example.com",
  );
}

async function login(opts, again = true) {
  note("checking the wrangler login (wrangler whoami)");
  const r = await wrangler(["whoami", "--json"]);
  const who = (() => {
    try {
      return dc.parseJsonOutput(r.stdout);
    } catch {
      return null;
    }
  })();
  if (who?.loggedIn === false && again && process.stdin.isTTY) {
    note("not logged in: running wrangler login, which opens Cloudflare's login page in your browser");
    must(await wrangler(["login"], { interactive: true, timeoutMs: 10 * MINUTE }), "wrangler login");
    return login(opts, false);
  }
  if (who?.loggedIn === false) {
    const hint =
      node === process.execPath ? "npx wrangler" : `${relative(ROOT, node)} node_modules/wrangler/bin/wrangler.js`;
    throw new StepError(`wrangler is not logged in. Run \`${hint} login\`, then \`npm run deploy\` again.`);
  }
  must(r, "wrangler whoami");
  const accounts = who?.accounts ?? [];
  const account = opts.accountId ? { id: opts.accountId, name: "(given)" } : accounts.length === 1 ? accounts[0] : null;
  if (!account) {
    const list = accounts.map((a) => `  ${a.id}  ${a.name}`).join("\n");
    throw new StepError(`this login sees ${accounts.length} accounts; choose one with --account-id <id>:\n${list}`);
  }
  note(`logged in${who.email ? ` as ${who.email}` : ""}; account ${account.name} (${account.id})`);
  return account.id;
}

/** Applies new migrations; false when the database does not exist yet and `allowMissing`. */
async function migrate({ allowMissing = false, deployed = true } = {}) {
  const r = await wrangler(["d1", "migrations", "apply", "DB", "--remote"], { timeoutMs: 10 * MINUTE, stream: true });
  if (r.code === 0) return true;
  if (allowMissing && dc.isDatabaseMissing(r.out)) return false;
  const worker = deployed
    ? "the new Worker runs on the schema before it"
    : "nothing was deployed, the Worker runs the version it ran";
  throw new StepError(
    "wrangler d1 migrations apply DB --remote failed (its output is above). D1 applies each migration as a whole, so the " +
      `failed one left the database as it was; ${worker}. Fix the cause and run npm run deploy again (docs/DEPLOY.md, Rolling back).`,
  );
}

/** Reads a line from the terminal in raw mode, echoing it unless `hidden`. */
function ask(question, { hidden = false } = {}) {
  process.stdout.write(question);
  return new Promise((resolve, reject) => {
    let value = "";
    const onData = (d) => {
      for (const ch of d.toString()) {
        if (ch === "\u0003" || ch === "\r" || ch === "\n") {
          process.stdin.off("data", onData).setRawMode(false).pause();
          process.stdout.write("\n");
          return ch === "\u0003" ? reject(new StepError("interrupted")) : resolve(value.trim());
        }
        const erase = ch === "\u007f" || ch === "\b";
        value = erase ? value.slice(0, -1) : value + ch;
        if (!hidden) process.stdout.write(erase ? "\b \b" : ch);
      }
    };
    process.stdin.setRawMode(true).resume().on("data", onData);
  });
}

/** On a terminal: the dashboard step, then the token's two values (empty: skip). */
async function askR2(accountId, bucket) {
  if (!process.stdin.isTTY || !process.stdout.isTTY) return null;
  say(dc.r2TokenSteps(accountId, bucket));
  const accessKeyId = await ask("Access Key ID (Enter to skip and send bytes through the Worker): ");
  if (!accessKeyId) return null;
  const secretAccessKey = await ask("Secret Access Key (not shown): ", { hidden: true });
  if (!dc.R2_KEY_RE.test(accessKeyId) || !dc.R2_KEY_RE.test(secretAccessKey)) {
    throw new StepError("those do not look like an R2 API token's values; run npm run deploy again");
  }
  return { accessKeyId, secretAccessKey };
}

async function realRun(opts, tmp) {
  const accountId = await login(opts);
  childEnv = { CLOUDFLARE_ACCOUNT_ID: accountId };
  const bucket = bucketName();
  const list = await wrangler(["secret", "list", "--format", "json"]);
  const workerExists = !(list.code !== 0 && dc.isWorkerNotFound(list.out));
  const existing = workerExists ? dc.parseJsonOutput(must(list, "wrangler secret list").stdout).map((s) => s.name) : [];
  const plan = dc.planSecrets(existing, opts, { accountId, bucket, random: newSecret });
  for (const [name, v] of Object.entries(plan.values))
    if (!["R2_ACCOUNT_ID", "R2_S3_BUCKET"].includes(name)) secretValues.add(v);
  note(
    `secrets: ${[...Object.keys(plan.values).map((n) => `put ${n}`), ...plan.kept.map((n) => `keep ${n}`)].join(", ") || "none"}`,
  );

  note("step 1/4: D1 migrations first, so that the new code never serves an old schema");
  const migrated = await migrate({ allowMissing: !workerExists, deployed: false });
  if (!migrated) note("  no database yet: wrangler deploy creates it, and the migrations follow right after");

  note("step 2/4: wrangler deploy (creates or reuses D1 and R2 by name; uploads the code with its new secrets)");
  const args = ["deploy", "--keep-vars", ...(opts.domain ? ["--domains", opts.domain] : [])];
  if (Object.keys(plan.values).length) {
    writePrivate(join(tmp, "secrets.json"), JSON.stringify(plan.values));
    args.push("--secrets-file", join(tmp, "secrets.json"));
  }
  const deployed = must(await wrangler(args, { timeoutMs: 30 * MINUTE, stream: true }), "wrangler deploy");
  rmSync(join(tmp, "secrets.json"), { force: true });
  const urls = [...new Set(deployed.out.match(/https:\/\/[a-z0-9.-]+\.workers\.dev\b/g))];
  if (opts.domain) urls.push(`https://${opts.domain}`);
  const token = "JWT_SECRET" in plan.values && opts.email;
  // Printed now: the secret is live, and a later step failing must not lose the only token.
  if (token) {
    say(
      `\nBootstrap token for ${opts.email} (shown once, valid a year, revocable with npm run admin -- revoke-all; keep it like a password):`,
    );
    say(`${mintToken(plan.values.JWT_SECRET, opts.email)}\n`);
  }
  if (!migrated) await migrate();

  note(`step 3/4: R2 CORS rules on ${bucket} (GET, PUT, HEAD from any origin)`);
  writeFileSync(join(tmp, "cors.json"), JSON.stringify(dc.corsRules()));
  must(
    await wrangler(["r2", "bucket", "cors", "set", bucket, "--file", join(tmp, "cors.json"), "--force"]),
    "wrangler r2 bucket cors set",
  );

  note("step 4/4: the R2 API token for presigned URLs");
  let r2 = plan.r2;
  const given = r2 ? null : await askR2(accountId, bucket);
  if (given) {
    secretValues.add(given.secretAccessKey);
    const input = JSON.stringify(dc.r2Secrets(given, accountId, bucket));
    must(await wrangler(["secret", "bulk"], { input }), "wrangler secret bulk (R2 API token)");
    r2 = "given";
  }
  say(`\nDeployed: ${urls.join(", ") || "(wrangler reported no URL; see its output above)"}`);
  say(
    r2
      ? "File bodies: presigned URLs straight to R2 (R2 API token set); the status page says so too."
      : dc.WORKER_BYTES,
  );
  if (token) say(`The bootstrap token for ${opts.email} is above; paste it as docs/CLIENT.md says.`);
  else if ("JWT_SECRET" in plan.values)
    say("No --email, so no bootstrap token; mint tokens with npm run admin (docs/DEPLOY.md).");
  else say("JWT_SECRET already existed, so no token is printed; mint tokens with npm run admin (docs/DEPLOY.md).");
}

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
  await (opts.dryRun ? dryRun() : withTmp((tmp) => realRun(opts, tmp)));
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
