// `npm run deploy` (scripts/deploy.mjs, scripts/lib/deploy-config.mjs). No
// Cloudflare account is reachable here, so: the dry run for real (config,
// build, bundle, migrations — wrangler needs no account for those); the pure
// plan and config generation; and the real run against a stand-in for
// wrangler's CLI that plays an account, with outputs in the formats of
// wrangler 4.164 (read from its source), to check order, idempotence and that
// no secret is ever printed. Needs no running Worker.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { ROOT, ensureWranglerNode } from "../../scripts/lib/tools.mjs";
import { userIdForEmail } from "../../scripts/lib/jwt.mjs";
import {
  DEPLOY_CONFIG,
  DRY_RUN_ACCOUNT_ID,
  GENERATED_SECRETS,
  PLACEHOLDER_DATABASE_ID,
  PlanError,
  corsRules,
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
  plan,
  readProjectConfig,
  validateCors,
  validateSecretPlan,
} from "../../scripts/lib/deploy-config.mjs";

const SOURCE = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
const PROJECT = readProjectConfig(SOURCE);
const ACCOUNT = "a1".repeat(16);
const DB_ID = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
const STEP_TITLES = ["D1 database", "R2 bucket", "R2 CORS rules", "deploy config", "D1 migrations", "deploy Worker", "secrets", "first token"];

/** The environment without anything that would change the plan. */
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(R2_|CLOUDFLARE_|ADMIN_TOKEN$|LOGSEQ_SYNC_FAKE|FAKE_STATE$|CI$|WRANGLER_OUTPUT)/.test(k)) delete env[k];
  }
  return { ...env, ...extra };
}

/** Runs scripts/deploy.mjs; resolves { code, out } (code null after the timeout). */
function runDeploy(args, env, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "scripts", "deploy.mjs"), ...args], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? null : code, out });
    });
  });
}

const fresh = (over = {}) => ({ accountId: ACCOUNT, databaseId: null, bucketExists: false, workerExists: false, secrets: [], ...over });
const existing = (over = {}) =>
  fresh({ databaseId: DB_ID, bucketExists: true, workerExists: true, secrets: [...GENERATED_SECRETS], ...over });
const noOpts = { dryRun: false, email: null, accountId: null, location: null, adminToken: null, r2: null };

describe("deploy --dry-run (real wrangler, no account)", { timeout: 200_000 }, () => {
  it("exits 0, names every step and passes its checks", async () => {
    const r = await runDeploy(["--dry-run"], cleanEnv(), 180_000);
    assert.equal(r.code, 0, `deploy --dry-run failed:\n${r.out.slice(-4000)}`);
    for (const title of STEP_TITLES) assert.match(r.out, new RegExp(`\\d\\. ${title}:`), `step ${title} not named`);
    for (const check of ["deploy config", "CORS", "secret list", "D1 migrations", "wrangler deploy --dry-run"]) {
      assert.ok(r.out.includes(`check: `) && r.out.includes(check), `check ${check} not reported`);
    }
    assert.match(r.out, /Dry run passed \(5 checks\)/);
    assert.match(r.out, /bindings .*DB.*BUCKET|bindings .*BUCKET.*DB/);
  });
});

describe("plan", () => {
  it("fresh account: create database and bucket, CORS, config, migrations, deploy, all secrets, a token", () => {
    const p = plan(fresh(), { ...noOpts, email: "me@example.com" }, PROJECT);
    assert.equal(p.database.action, "create");
    assert.equal(p.bucket.action, "create");
    assert.equal(p.worker.action, "create");
    assert.deepEqual(
      p.secrets.map((s) => [s.name, s.action]),
      GENERATED_SECRETS.map((n) => [n, "generate"]),
    );
    assert.deepEqual(p.token, { action: "bootstrap", email: "me@example.com" });
    assert.equal(p.bytes, "worker");
    assert.deepEqual(p.vars, {});
    const steps = describePlan(p);
    assert.deepEqual(steps.map(([t]) => t), STEP_TITLES);
    const text = steps.map(([t, w]) => `${t}: ${w}`).join("\n");
    for (const want of [/D1 database: create logseq-sync/, /R2 bucket: create logseq-sync/, /CORS rules: set/, /migrations: apply/, /deploy Worker: create/]) {
      assert.match(text, want);
    }
    for (const n of GENERATED_SECRETS) assert.match(text, new RegExp(`put ${n} \\(32 random bytes`));
  });

  it("everything existing: no creates, no secret puts (idempotent)", () => {
    const p = plan(existing(), { ...noOpts, email: "me@example.com" }, PROJECT);
    assert.equal(p.database.action, "reuse");
    assert.equal(p.database.id, DB_ID);
    assert.equal(p.bucket.action, "reuse");
    assert.equal(p.worker.action, "update");
    assert.ok(p.secrets.every((s) => s.action === "keep"), JSON.stringify(p.secrets));
    assert.equal(p.token.action, "admin");
    assert.match(describePlan(p)[6][1], /^keep JWT_SECRET, S3_CREDENTIAL_SECRET, ADMIN_TOKEN/);
  });

  it("partly existing: only the missing secret is generated", () => {
    const p = plan(existing({ secrets: ["JWT_SECRET", "S3_CREDENTIAL_SECRET"] }), noOpts, PROJECT);
    assert.deepEqual(
      p.secrets.filter((s) => s.action !== "keep").map((s) => s.name),
      ["ADMIN_TOKEN"],
    );
  });

  it("no --email on a fresh account: no bootstrap token", () => {
    assert.equal(plan(fresh(), noOpts, PROJECT).token.action, "none");
  });

  it("R2 credentials given: S3 vars in the config, their secrets put", () => {
    const opts = parseArgs([], { R2_S3_ACCESS_KEY_ID: "keyid", R2_S3_SECRET_ACCESS_KEY: "s3cr3t" });
    const p = plan(existing(), opts, PROJECT);
    assert.equal(p.bytes, "r2");
    assert.deepEqual(p.vars, { R2_ACCOUNT_ID: ACCOUNT, R2_S3_BUCKET: "logseq-sync" });
    assert.deepEqual(
      p.secrets.filter((s) => s.action === "given").map((s) => s.name),
      ["R2_S3_ACCESS_KEY_ID", "R2_S3_SECRET_ACCESS_KEY"],
    );
    assert.deepEqual(validateSecretPlan(p, PROJECT).slice(-2), ["R2_S3_ACCESS_KEY_ID", "R2_S3_SECRET_ACCESS_KEY"]);
  });

  it("R2 secrets set by an earlier run: the vars stay without passing the credentials again", () => {
    const p = plan(existing({ secrets: [...GENERATED_SECRETS, "R2_S3_ACCESS_KEY_ID", "R2_S3_SECRET_ACCESS_KEY"] }), noOpts, PROJECT);
    assert.equal(p.bytes, "r2");
    assert.deepEqual(p.vars, { R2_ACCOUNT_ID: ACCOUNT, R2_S3_BUCKET: "logseq-sync" });
    assert.ok(p.secrets.every((s) => s.action === "keep"));
  });

  it("refuses contradictions", () => {
    const opts = parseArgs([], { R2_ACCOUNT_ID: "b2".repeat(16), R2_S3_ACCESS_KEY_ID: "k", R2_S3_SECRET_ACCESS_KEY: "s" });
    assert.throws(() => plan(existing(), opts, PROJECT), PlanError);
    assert.throws(() => plan(existing({ secrets: ["CLIENT_BUCKET"] }), noOpts, PROJECT), /secret delete CLIENT_BUCKET/);
    // The dry run has no account id to compare with.
    assert.equal(plan(fresh({ accountId: DRY_RUN_ACCOUNT_ID }), opts, PROJECT).vars.R2_ACCOUNT_ID, "b2".repeat(16));
  });

  it("ADMIN_TOKEN from the environment is put even when one exists", () => {
    const opts = parseArgs([], { ADMIN_TOKEN: "x".repeat(20) });
    const p = plan(existing(), opts, PROJECT);
    assert.deepEqual(
      p.secrets.filter((s) => s.action !== "keep").map((s) => [s.name, s.action]),
      [["ADMIN_TOKEN", "given"]],
    );
  });
});

describe("arguments", () => {
  it("parses flags and environment", () => {
    const o = parseArgs(["--dry-run", "--email=me@example.com", "--location", "weur", "--domain", "Sync.Example.org", "--r2-access-key-id", "k"], {
      R2_S3_SECRET_ACCESS_KEY: "s",
      CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
    });
    assert.equal(o.dryRun, true);
    assert.equal(o.email, "me@example.com");
    assert.equal(o.location, "weur");
    assert.equal(o.domain, "sync.example.org");
    assert.equal(o.accountId, ACCOUNT);
    assert.deepEqual(o.r2, { accountId: null, accessKeyId: "k", secretAccessKey: "s" });
  });

  it("rejects the malformed", () => {
    for (const [argv, env] of [
      [["--email", "nope"], {}],
      [["--bogus"], {}],
      [["--location", "mars"], {}],
      [["--domain", "https://sync.example.org"], {}],
      [["--account-id", "123"], {}],
      [[], { R2_S3_ACCESS_KEY_ID: "only-one" }],
      [[], { R2_ACCOUNT_ID: ACCOUNT }],
      [[], { ADMIN_TOKEN: "short" }],
      [["--email"], {}],
    ]) {
      assert.throws(() => parseArgs(argv, env), PlanError, JSON.stringify(argv));
    }
  });
});

describe("generated deploy config", () => {
  let node;
  let dir;
  before(() => {
    node = ensureWranglerNode();
    dir = mkdtempSync(join(tmpdir(), "deploy-config-test-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Raw configs as wrangler 4's own reader sees them (under Node 22). */
  function wranglerRead(paths) {
    return new Promise((resolve, reject) => {
      const script = `const w = require(${JSON.stringify(join(ROOT, "node_modules", "wrangler"))});
        process.stdout.write("@@" + JSON.stringify(${JSON.stringify(paths)}.map((p) => w.experimental_readRawConfig({ config: p }).rawConfig)));`;
      const child = spawn(node, ["-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        const m = out.match(/@@(.*)$/s);
        if (code === 0 && m) resolve(JSON.parse(m[1]));
        else reject(new Error(out));
      });
    });
  }

  it("replaces the database id, drops local_dev, keeps bindings, DO migrations and crons", async () => {
    const vars = { R2_ACCOUNT_ID: ACCOUNT, R2_S3_BUCKET: "logseq-sync" };
    const text = deployConfigToml(SOURCE, { databaseId: DB_ID, vars });
    assert.ok(!text.includes(PLACEHOLDER_DATABASE_ID));
    assert.ok(!/^\s*local_dev\s*=/m.test(text));
    assert.ok(!text.includes("localdevaccesskey"));
    const file = join(dir, "wrangler.deploy.toml");
    writeFileSync(file, text);
    const [orig, gen] = await wranglerRead([join(ROOT, "wrangler.toml"), file]);
    assert.equal(gen.d1_databases[0].database_id, DB_ID);
    assert.equal(gen.d1_databases[0].binding, "DB");
    assert.equal(gen.d1_databases[0].migrations_dir, "../migrations");
    assert.equal(gen.main, "index.js");
    assert.equal(gen.build.command, orig.build.command);
    assert.deepEqual(gen.r2_buckets, [{ binding: "BUCKET", bucket_name: "logseq-sync" }]);
    assert.deepEqual(gen.durable_objects, orig.durable_objects);
    assert.deepEqual(gen.migrations, orig.migrations);
    assert.deepEqual(gen.triggers, orig.triggers);
    assert.deepEqual(gen.vars, { ...orig.vars, ...vars });
    for (const k of ["name", "compatibility_date", "workers_dev", "observability"]) assert.deepEqual(gen[k], orig[k], k);
    assert.equal(jsonDiff(expectedRawConfig(orig, { databaseId: DB_ID, vars }), gen), null);
  });

  it("otherwise differs from wrangler.toml only in those lines", () => {
    const text = deployConfigToml(SOURCE, { databaseId: DB_ID });
    const gen = text.split("\n").filter((l) => !l.startsWith("# GENERATED") && !/^# (D1 database id|edit wrangler)/.test(l));
    const src = SOURCE.split("\n");
    const changed = src.filter((l) => !gen.includes(l));
    for (const l of changed) assert.match(l, /^(main|watch_dir|database_id|migrations_dir|local_dev) =|^# (wrangler dev emulates|\(local-only)/, l);
    assert.equal(gen.length, src.length - 3);
  });

  it("refuses a committed config without the placeholder", () => {
    assert.throws(() => deployConfigToml(SOURCE.replace(PLACEHOLDER_DATABASE_ID, DB_ID), { databaseId: DB_ID }), PlanError);
    assert.throws(() => deployConfigToml(SOURCE, { databaseId: "not-a-uuid" }), PlanError);
  });
});

describe("CORS rules and wrangler output parsers", () => {
  it("CORS rules are in the R2 API shape wrangler r2 bucket cors set takes", () => {
    const doc = JSON.parse(JSON.stringify(corsRules()));
    validateCors(doc);
    const rule = doc.rules[0];
    assert.deepEqual(rule.allowed.origins, ["*"]);
    assert.deepEqual([...rule.allowed.methods].sort(), ["GET", "HEAD", "PUT"]);
    for (const h of ["content-type", "content-range", "x-amz-date", "x-amz-content-sha256"]) assert.ok(rule.allowed.headers.includes(h), h);
    assert.ok(rule.exposeHeaders.includes("etag"));
    assert.throws(() => validateCors({ CORSRules: [] }), PlanError);
    assert.throws(() => validateCors({ rules: [{ AllowedOrigins: ["*"] }] }), PlanError);
    assert.throws(() => validateCors({ rules: [{ allowed: { origins: ["*"], methods: ["PATCH"] } }] }), PlanError);
  });

  it("parses wrangler's outputs", () => {
    assert.deepEqual(parseJsonOutput('{"loggedIn":false}\n'), { loggedIn: false });
    assert.deepEqual(parseJsonOutput('note: something\n[\n  {"uuid": "u", "name": "n"}\n]\n'), [{ uuid: "u", name: "n" }]);
    assert.equal(findDatabaseId([{ uuid: DB_ID, name: "logseq-sync" }, { uuid: "x", name: "other" }], "logseq-sync"), DB_ID);
    assert.equal(findDatabaseId([], "logseq-sync"), null);
    const buckets = "Listing buckets...\nname:           logseq-sync\ncreation_date:  2026-01-01T00:00:00.000Z\n\nname:           other\ncreation_date:  x\n";
    assert.deepEqual(parseR2BucketNames(buckets), ["logseq-sync", "other"]);
    // wrangler colours labels and values even into a pipe.
    assert.deepEqual(parseR2BucketNames("\u001b[37mname:\u001b[39m           \u001b[90mlogseq-sync\u001b[39m\n"), ["logseq-sync"]);
    assert.deepEqual(parseSecretNames('[\n  {\n    "name": "JWT_SECRET",\n    "type": "secret_text"\n  }\n]'), ["JWT_SECRET"]);
    assert.ok(isWorkerNotFound('✘ [ERROR] Worker "logseq-sync" not found.\n\nIf this is a new Worker, run `wrangler deploy` first'));
    assert.ok(!isWorkerNotFound("✘ [ERROR] Authentication error [code: 10000]"));
    const ndjson = [
      '{"type":"wrangler-session","version":1}',
      '{"type":"deploy","version":1,"worker_name":"logseq-sync","targets":["https://logseq-sync.me.workers.dev","sync.example.org","schedule: 17 * * * *"]}',
    ].join("\n");
    assert.deepEqual(deployUrls(ndjson), ["https://logseq-sync.me.workers.dev", "https://sync.example.org"]);
    assert.deepEqual(parseUploadSize("Total Upload: 1214.39 KiB / gzip: 388.51 KiB"), { rawKiB: 1214.39, gzipKiB: 388.51 });
    assert.deepEqual(parseBindings("Binding  Resource\nenv.GRAPH_HUB (GraphHub)   Durable Object\nenv.DB (logseq-sync)  D1 Database\n"), ["GRAPH_HUB", "DB"]);
  });
});

// A stand-in for wrangler's CLI playing one Cloudflare account whose state is a
// JSON file. Outputs follow wrangler 4.164 (wrangler-dist/cli.js): whoami --json,
// d1 list --json (uuid/name), r2 bucket list (labelled "name:" lines), secret
// list (JSON; "Worker ... not found" when absent), secret put (value on stdin),
// deploy (targets in WRANGLER_OUTPUT_FILE_PATH).
const FAKE_WRANGLER = String.raw`
const fs = require("node:fs");
const path = require("node:path");
const statePath = process.env.FAKE_STATE;
const st = JSON.parse(fs.readFileSync(statePath, "utf8"));
const args = process.argv.slice(2);
const flag = (n) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const save = () => fs.writeFileSync(statePath, JSON.stringify(st, null, 2));
const out = (s) => process.stdout.write(s + "\n");
const fail = (s) => { process.stderr.write("✘ [ERROR] " + s + "\n"); save(); process.exit(1); };
st.calls.push({ args, account: process.env.CLOUDFLARE_ACCOUNT_ID ?? null, ci: process.env.CI ?? null });
const line = args.join(" ");
const is = (prefix) => line === prefix || line.startsWith(prefix + " ");
const readConfig = () => {
  const file = flag("--config");
  const text = fs.readFileSync(file, "utf8");
  const id = text.match(/^database_id = "([^"]+)"/m)[1];
  const dir = path.resolve(path.dirname(file), text.match(/^migrations_dir = "([^"]+)"/m)[1]);
  return { text, id, dir };
};
if (!st.loggedIn && !is("whoami")) fail("Not logged in.");
if (is("whoami")) {
  if (!st.loggedIn) { out(JSON.stringify({ loggedIn: false })); save(); process.exit(1); }
  out(JSON.stringify({ loggedIn: true, authType: "OAuth Token", email: "owner@example.com", accounts: st.accounts, tokenPermissions: [] }, null, 2));
} else if (is("d1 list")) {
  out(JSON.stringify(st.dbs.map((d) => ({ uuid: d.uuid, name: d.name, created_at: "2026-01-01", version: "production" })), null, 2));
} else if (is("d1 create")) {
  const name = args[2];
  if (st.dbs.some((d) => d.name === name)) fail("A database with that name already exists [code: 7502]");
  st.dbs.push({ uuid: "0f1e2d3c-4b5a-4697-8877-" + String(st.dbs.length).padStart(12, "0"), name, applied: [] });
  out("✅ Successfully created DB '" + name + "'");
} else if (is("r2 bucket list")) {
  out("Listing buckets...");
  out(st.buckets.map((b) => "name:           " + b.name + "\ncreation_date:  2026-01-01T00:00:00.000Z").join("\n\n"));
} else if (is("r2 bucket create")) {
  if (st.buckets.some((b) => b.name === args[3])) fail("The bucket you tried to create already exists [code: 10004]");
  st.buckets.push({ name: args[3], cors: null });
  out("Creating bucket '" + args[3] + "'...");
} else if (is("r2 bucket cors set")) {
  const b = st.buckets.find((x) => x.name === args[4]);
  if (!b) fail("The specified bucket does not exist [code: 10006]");
  if (!args.includes("--force")) fail("would prompt");
  const doc = JSON.parse(fs.readFileSync(flag("--file"), "utf8"));
  if (!Array.isArray(doc.rules) || doc.CORSRules) fail("bad CORS file");
  b.cors = doc.rules;
  out("✨ Set CORS configuration for bucket '" + b.name + "'.");
} else if (is("d1 migrations apply")) {
  if (!args.includes("--remote")) fail("expected --remote");
  const { id, dir } = readConfig();
  const db = st.dbs.find((d) => d.uuid === id);
  if (!db) fail("Couldn't find DB with id " + id);
  const todo = fs.readdirSync(dir).filter((f) => f.endsWith(".sql")).sort().filter((f) => !db.applied.includes(f));
  if (!todo.length) out("✅ No migrations to apply!");
  for (const f of todo) { db.applied.push(f); out("│ " + f + " │ ✅ │"); }
} else if (is("deploy")) {
  const { text, id } = readConfig();
  if (!st.dbs.some((d) => d.uuid === id)) fail("binding DB of type d1 must have a valid \u0060id\u0060 specified [code: 10021]");
  if (!args.includes("--keep-vars")) fail("expected --keep-vars");
  st.worker = st.worker ?? { secrets: {} };
  st.worker.deploys = (st.worker.deploys ?? 0) + 1;
  st.worker.vars = Object.fromEntries([...text.matchAll(/^([A-Z0-9_]+) = "([^"]*)"/gm)].map((m) => [m[1], m[2]]));
  const targets = ["https://logseq-sync.owner.workers.dev", ...(flag("--domains") ? [flag("--domains")] : []), "schedule: 17 * * * *"];
  const line = { type: "deploy", version: 1, worker_name: "logseq-sync", targets };
  fs.appendFileSync(process.env.WRANGLER_OUTPUT_FILE_PATH, JSON.stringify(line) + "\n");
  out("Uploaded logseq-sync\nDeployed logseq-sync triggers\n  https://logseq-sync.owner.workers.dev");
} else if (is("secret list")) {
  if (!st.worker) fail('Worker "' + flag("--name") + '" not found.\n\nIf this is a new Worker, run \u0060wrangler deploy\u0060 first to create it.');
  out(JSON.stringify(Object.keys(st.worker.secrets).map((name) => ({ name, type: "secret_text" })), null, "  "));
} else if (is("secret put")) {
  const value = fs.readFileSync(0, "utf8").trim();
  if (st.failSecret === args[2]) fail("A request to the Cloudflare API failed. [code: 10013]");
  st.worker = st.worker ?? { secrets: {}, draft: true };
  st.worker.secrets[args[2]] = value;
  out("✨ Success! Uploaded secret " + args[2]);
} else {
  fail("fake wrangler: unknown command " + args.join(" "));
}
save();
`;

describe("deploy against a stand-in account (real run, offline)", { timeout: 120_000 }, () => {
  let dir;
  let statePath;
  let env;
  // The real run writes build/wrangler.deploy.toml; put back whatever was there.
  const deployConfig = join(ROOT, DEPLOY_CONFIG);
  const previousConfig = existsSync(deployConfig) ? readFileSync(deployConfig, "utf8") : null;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "deploy-fake-"));
    writeFileSync(join(dir, "wrangler.cjs"), FAKE_WRANGLER);
    statePath = join(dir, "state.json");
    env = cleanEnv({ LOGSEQ_SYNC_FAKE_WRANGLER: join(dir, "wrangler.cjs"), FAKE_STATE: statePath });
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    if (previousConfig === null) rmSync(deployConfig, { force: true });
    else writeFileSync(deployConfig, previousConfig);
  });

  const state = () => JSON.parse(readFileSync(statePath, "utf8"));
  const setState = (s) => writeFileSync(statePath, JSON.stringify(s));
  const calls = () => state().calls.map((c) => c.args.filter((a) => !a.startsWith("/")).join(" "));
  const clearCalls = () => setState({ ...state(), calls: [] });
  const assertNoSecretPrinted = (out) => {
    for (const [name, value] of Object.entries(state().worker?.secrets ?? {})) {
      assert.ok(!out.includes(value), `${name} was printed`);
    }
  };

  it("not logged in: tells the user to run wrangler login, touches nothing", async () => {
    setState({ loggedIn: false, accounts: [], dbs: [], buckets: [], worker: null, calls: [] });
    const r = await runDeploy([], env, 60_000);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /wrangler(\.js)? login`/);
    assert.deepEqual(calls(), ["whoami --json"]);
  });

  it("several accounts and none chosen: lists them and stops", async () => {
    setState({ loggedIn: true, accounts: [{ id: ACCOUNT, name: "One" }, { id: "b2".repeat(16), name: "Two" }], dbs: [], buckets: [], worker: null, calls: [] });
    const r = await runDeploy([], env, 60_000);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /--account-id/);
    assert.match(r.out, new RegExp(ACCOUNT));
  });

  it("fresh account: creates everything in order, puts secrets, prints one valid bootstrap token", async () => {
    setState({ loggedIn: true, accounts: [{ id: ACCOUNT, name: "Mine" }], dbs: [], buckets: [], worker: null, calls: [] });
    const r = await runDeploy(["--email", "me@example.com"], env, 90_000);
    assert.equal(r.code, 0, r.out);
    const c = calls();
    const order = [
      "whoami --json",
      "d1 list --json",
      "r2 bucket list",
      "secret list --name logseq-sync --format json",
      "d1 create logseq-sync",
      "d1 list --json",
      "r2 bucket create logseq-sync",
      "r2 bucket cors set logseq-sync --file --force",
      "d1 migrations apply DB --remote --config",
      "deploy --config --keep-vars",
      "secret put JWT_SECRET --name logseq-sync --config",
      "secret put S3_CREDENTIAL_SECRET --name logseq-sync --config",
      "secret put ADMIN_TOKEN --name logseq-sync --config",
    ];
    assert.deepEqual(c, order);
    const s = state();
    assert.ok(s.calls.slice(1).every((x) => x.account === ACCOUNT), "CLOUDFLARE_ACCOUNT_ID not passed on");
    assert.ok(s.calls.filter((x) => x.args[0] !== "deploy").every((x) => x.ci === "true"), "non-interactive calls without CI=true");
    assert.equal(s.dbs[0].applied.length > 0, true);
    assert.equal(s.buckets[0].cors[0].allowed.origins[0], "*");
    const secrets = s.worker.secrets;
    for (const n of GENERATED_SECRETS) assert.match(secrets[n], /^[0-9a-f]{64}$/, n);
    assertNoSecretPrinted(r.out);
    const config = readFileSync(join(ROOT, DEPLOY_CONFIG), "utf8");
    assert.ok(config.includes(`database_id = "${s.dbs[0].uuid}"`));
    assert.match(r.out, /https:\/\/logseq-sync\.owner\.workers\.dev/);
    assert.match(r.out, /Worker's own \/s3\/ endpoint/);
    // Exactly one token, signed with the JWT_SECRET just put, for the email's user.
    const tokens = r.out.match(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g);
    assert.equal(tokens?.length, 1, r.out);
    const [h, b, sig] = tokens[0].split(".");
    assert.equal(createHmac("sha256", secrets.JWT_SECRET).update(`${h}.${b}`).digest("base64url"), sig);
    const claims = JSON.parse(Buffer.from(b, "base64url").toString());
    assert.equal(claims.sub, userIdForEmail(secrets.JWT_SECRET, "me@example.com"));
  });

  it("second run: no creates, no secret puts, no token; migrations and deploy rerun", async () => {
    clearCalls();
    const before = state();
    const r = await runDeploy(["--email", "me@example.com"], env, 90_000);
    assert.equal(r.code, 0, r.out);
    const c = calls();
    assert.ok(!c.some((x) => /create|secret put/.test(x)), c.join("\n"));
    assert.ok(c.includes("d1 migrations apply DB --remote --config") && c.includes("deploy --config --keep-vars"));
    const after = state();
    assert.deepEqual(after.worker.secrets, before.worker.secrets);
    assert.deepEqual(after.dbs, before.dbs);
    assert.match(r.out, /JWT_SECRET already existed/);
    assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(r.out), "printed a token");
    assertNoSecretPrinted(r.out);
  });

  it("a run that fails half-way has shown the token; the next run resumes", async () => {
    setState({ loggedIn: true, accounts: [{ id: ACCOUNT, name: "Mine" }], dbs: [], buckets: [], worker: null, calls: [], failSecret: "S3_CREDENTIAL_SECRET" });
    const r = await runDeploy(["--email", "me@example.com"], env, 90_000);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /wrangler secret put S3_CREDENTIAL_SECRET failed/);
    assert.equal(r.out.match(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g)?.length, 1, "token not shown before the failure");
    assertNoSecretPrinted(r.out);
    setState({ ...state(), failSecret: null, calls: [] });
    const again = await runDeploy(["--email", "me@example.com"], env, 90_000);
    assert.equal(again.code, 0, again.out);
    assert.deepEqual(
      calls().filter((x) => /create|secret put/.test(x)),
      ["secret put S3_CREDENTIAL_SECRET --name logseq-sync --config", "secret put ADMIN_TOKEN --name logseq-sync --config"],
    );
    assert.match(again.out, /JWT_SECRET already existed/);
  });

  it("R2 credentials: put as secrets, vars in the config; kept on the next run without them", async () => {
    clearCalls();
    const r = await runDeploy(["--domain", "sync.example.org"], { ...env, R2_S3_ACCESS_KEY_ID: "r2keyid0123", R2_S3_SECRET_ACCESS_KEY: "r2secretvalue0123456789" }, 90_000);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(
      calls().filter((x) => x.startsWith("secret put")),
      ["secret put R2_S3_ACCESS_KEY_ID --name logseq-sync --config", "secret put R2_S3_SECRET_ACCESS_KEY --name logseq-sync --config"],
    );
    assert.ok(!r.out.includes("r2secretvalue0123456789"));
    assert.equal(state().worker.vars.R2_ACCOUNT_ID, ACCOUNT);
    assert.equal(state().worker.vars.R2_S3_BUCKET, "logseq-sync");
    assert.match(r.out, /presigned URLs straight to R2/);
    assert.ok(calls().includes("deploy --config --keep-vars --domains sync.example.org"), calls().join("\n"));
    assert.match(r.out, /Deployed: https:\/\/logseq-sync\.owner\.workers\.dev, https:\/\/sync\.example\.org/);

    clearCalls();
    const again = await runDeploy([], env, 90_000);
    assert.equal(again.code, 0, again.out);
    assert.ok(!calls().some((x) => x.startsWith("secret put")));
    assert.equal(state().worker.vars.R2_ACCOUNT_ID, ACCOUNT);
  });
});
