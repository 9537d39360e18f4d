// A stand-in for wrangler's CLI that plays one Cloudflare account, for the
// deploy tests (tests/e2e/deploy.test.mjs): the account is a JSON file
// ($FAKE_STATE), every call is recorded in it. It answers the commands
// scripts/deploy.mjs runs, in the formats and with the behaviour of wrangler
// 4.164 (read from node_modules/wrangler/wrangler-dist/cli.js):
// - deploy provisions the D1 database and R2 bucket named in wrangler.toml when
//   missing (reuses them by name otherwise), uploads --secrets-file additively,
//   keeps vars with --keep-vars, prints its targets;
// - d1 migrations apply DB --remote finds the database by name ("Couldn't find
//   a D1 DB named ..." before it exists) and applies each migration as a
//   whole: `failMigration` in the state makes that one fail and leaves it out;
// - secret list (JSON; "Worker ... not found" before the first deploy),
//   secret bulk (JSON on stdin), r2 bucket cors set --file --force, whoami
//   --json, login (on a terminal only).
const fs = require("node:fs");
const path = require("node:path");

const statePath = process.env.FAKE_STATE;
const st = JSON.parse(fs.readFileSync(statePath, "utf8"));
const args = process.argv.slice(2);
const flag = (n) => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
const save = () => fs.writeFileSync(statePath, JSON.stringify(st, null, 2));
const out = (s) => process.stdout.write(`${s}\n`);
const fail = (s) => {
  process.stderr.write(`✘ [ERROR] ${s}\n`);
  save();
  process.exit(1);
};
st.calls.push({ args, account: process.env.CLOUDFLARE_ACCOUNT_ID ?? null, ci: process.env.CI ?? null });
const is = (prefix) => args.join(" ") === prefix || args.join(" ").startsWith(`${prefix} `);

const toml = fs.readFileSync(path.resolve(flag("--config") ?? "wrangler.toml"), "utf8");
const value = (key) => toml.match(new RegExp(`^${key} = "([^"]+)"`, "m"))?.[1];
if (/^database_id = /m.test(toml)) fail("this stand-in expects bindings without ids");
const config = {
  worker: value("name"),
  db: value("database_name"),
  bucket: value("bucket_name"),
  migrations: path.resolve(value("migrations_dir")),
  vars: Object.fromEntries([...toml.matchAll(/^([A-Z0-9_]+) = "([^"]*)"/gm)].map((m) => [m[1], m[2]])),
};
const database = () => st.dbs.find((d) => d.name === config.db);

if (!st.loggedIn && !is("whoami") && !is("login")) fail("Not logged in.");
if (is("login")) {
  if (!process.stdin.isTTY) fail("expected the terminal");
  st.loggedIn = true;
  out("Successfully logged in.");
} else if (is("whoami")) {
  out(JSON.stringify(st.loggedIn ? { loggedIn: true, authType: "OAuth Token", email: "owner@example.com", accounts: st.accounts } : { loggedIn: false }, null, 2));
  if (!st.loggedIn) {
    save();
    process.exit(1);
  }
} else if (is("secret list")) {
  if (!st.worker) fail(`Worker "${config.worker}" not found.\n\nIf this is a new Worker, run \`wrangler deploy\` first to create it.`);
  out(JSON.stringify(Object.keys(st.worker.secrets).map((name) => ({ name, type: "secret_text" })), null, "  "));
} else if (is("d1 migrations apply DB")) {
  if (!args.includes("--remote")) fail("expected --remote");
  const db = database();
  if (!db) fail(`Couldn't find a D1 DB named '${config.db}' (bound as 'DB') in the API. Run 'wrangler d1 create ${config.db}' to create it.`);
  const todo = fs.readdirSync(config.migrations).filter((f) => f.endsWith(".sql")).sort().filter((f) => !db.applied.includes(f));
  if (!todo.length) out("✅ No migrations to apply!");
  for (const f of todo) {
    if (st.failMigration === f) fail(`Migration ${f} failed with the following errors:\nnear "TABLE": syntax error at offset 7: SQLITE_ERROR [code: 7500]`);
    db.applied.push(f);
    out(`│ ${f} │ ✅ │`);
  }
} else if (is("deploy")) {
  if (!args.includes("--keep-vars")) fail("expected --keep-vars");
  if (process.env.CI !== "true") fail("expected CI=true (a provisioning deploy would write ids into wrangler.toml)");
  if (!database()) {
    out(`🌀 Creating new D1 Database "${config.db}"...`);
    st.dbs.push({ name: config.db, applied: [] });
  }
  if (!st.buckets.some((b) => b.name === config.bucket)) {
    out(`🌀 Creating new R2 Bucket "${config.bucket}"...`);
    st.buckets.push({ name: config.bucket, cors: null });
  }
  const file = flag("--secrets-file");
  const secrets = file ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  st.worker ??= { secrets: {}, deploys: [] };
  Object.assign(st.worker.secrets, secrets);
  st.worker.vars = { ...st.worker.vars, ...config.vars };
  st.worker.deploys.push({ appliedAtDeploy: [...database().applied], secretsFile: file ?? null, secretNames: Object.keys(secrets) });
  const targets = [`https://${config.worker}.owner.workers.dev`, ...(flag("--domains") ? [flag("--domains")] : []), "schedule: 17 * * * *"];
  out(`Uploaded ${config.worker} (4.21 sec)\nDeployed ${config.worker} triggers (1.02 sec)\n${targets.map((t) => `  ${t}`).join("\n")}\nCurrent Version ID: 1f0c...`);
} else if (is("secret bulk")) {
  if (!st.worker) fail("no Worker");
  Object.assign(st.worker.secrets, JSON.parse(fs.readFileSync(0, "utf8")));
  st.worker.deploys.push({ appliedAtDeploy: [...database().applied], secretBulk: true });
  out("✨ Successfully created secret for key: ...");
} else if (is("r2 bucket cors set")) {
  const b = st.buckets.find((x) => x.name === args[4]);
  if (!b) fail("The specified bucket does not exist. [code: 10006]");
  if (!args.includes("--force")) fail("would prompt");
  const doc = JSON.parse(fs.readFileSync(flag("--file"), "utf8"));
  if (!Array.isArray(doc.rules)) fail("bad CORS file");
  b.cors = doc.rules;
  out(`✨ Set CORS configuration for bucket '${b.name}'.`);
} else {
  fail(`fake wrangler: unknown command ${args.join(" ")}`);
}
save();
