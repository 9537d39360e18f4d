// `npm run deploy` (scripts/deploy.mjs, scripts/lib/deploy-config.mjs). No
// Cloudflare account is reachable here, so: the dry run for real (wrangler
// needs no account for it); the pure parts; and the real run against a
// stand-in for wrangler's CLI that plays an account (tests/harness/
// fake-wrangler.cjs) to check order, idempotence, upgrades and that no secret
// is ever printed. Needs no running Worker.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { ROOT } from "../../scripts/lib/tools.mjs";
import { userIdForEmail } from "../../scripts/lib/jwt.mjs";
import * as dc from "../../scripts/lib/deploy-config.mjs";

const ACCOUNT = "a1".repeat(16);
const FAKE = join(ROOT, "tests", "harness", "fake-wrangler.cjs");
const MIGRATIONS = readdirSync(join(ROOT, "migrations"))
  .filter((f) => f.endsWith(".sql"))
  .sort();
const R2_ENV = {
  R2_S3_ACCESS_KEY_ID: "0123456789abcdef0123456789abcdef",
  R2_S3_SECRET_ACCESS_KEY: "f".repeat(60) + "9876",
};

/** The environment without anything that would change the run. */
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (/^(R2_|CLOUDFLARE_|ADMIN_TOKEN$|LOGSEQ_SYNC_FAKE|FAKE_STATE$|CI$|WRANGLER_OUTPUT)/.test(k)) delete env[k];
  return { ...env, ...extra };
}

/** Runs scripts/deploy.mjs; resolves { code, out, stdout, stderr } (code null after the timeout). */
function runDeploy(args, env, timeoutMs = 90_000) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "scripts", "deploy.mjs"), ...args], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? null : code, out: stdout + stderr, stdout, stderr });
    });
  });
}

describe("deploy --dry-run (real wrangler, no account)", { timeout: 600_000 }, () => {
  it("exits 0 and passes its checks: fresh local migrations, the config built and bundled with the secrets", async () => {
    const r = await runDeploy(["--dry-run"], cleanEnv(), 580_000);
    assert.equal(r.code, 0, `deploy --dry-run failed:\n${r.out.slice(-4000)}`);
    assert.match(r.out, /Dry run passed \(2 checks\)/);
    assert.match(r.out, new RegExp(MIGRATIONS.join(", ")));
    for (const b of ["DB", "BUCKET", "GRAPH_HUB", "CLIENT_BUCKET", "JWT_SECRET", "R2_S3_SECRET_ACCESS_KEY"])
      assert.match(r.out, new RegExp(`bindings .*\\b${b}\\b`));
  });
});

describe("command line", () => {
  it("--help names every option with its default and where output goes, before anything is installed", async () => {
    const r = await runDeploy(["--help"], cleanEnv(), 20_000);
    assert.equal(r.code, 0);
    const text = r.stdout.replace(/\s+/g, " ");
    for (const o of dc.OPTIONS)
      assert.ok(text.includes(o.flag) && text.includes(`[default: ${o.default}]`.replace("[default: ]", "")), o.flag);
    assert.match(r.stdout, /output: .*stdout.*stderr/);
    assert.ok(!r.out.includes("[setup]"), "installed something before answering --help");
    // The script and its libraries import only node: builtins and each other (none from node_modules).
    for (const f of [
      "scripts/deploy.mjs",
      "scripts/lib/deploy-config.mjs",
      "scripts/lib/tools.mjs",
      "scripts/lib/jwt.mjs",
    ]) {
      for (const [, spec] of readFileSync(join(ROOT, f), "utf8").matchAll(/^import .* from "([^"]+)";$/gm))
        assert.match(spec, /^(node:|\.\/)/, `${f} imports ${spec}`);
    }
  });

  it("an unknown option or a missing value: one line of error, the usage, exit 2", async () => {
    for (const args of [["--bogus"], ["--email"], ["--domain", "--dry-run"], ["--email", "nope"]]) {
      const r = await runDeploy(args, cleanEnv(), 20_000);
      assert.equal(r.code, 2, args.join(" "));
      const [first, blank, usage] = r.stderr.split("\n");
      assert.match(first, /^deploy: /);
      assert.equal(blank, "");
      assert.match(usage, /^usage: npm run deploy/);
    }
  });

  it("parses options and the environment", () => {
    const o = dc.parseArgs(["--dry-run", "--email=me@example.com", "--domain", "Sync.Example.org"], {
      CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
      ...R2_ENV,
    });
    assert.deepEqual(o, {
      dryRun: true,
      email: "me@example.com",
      accountId: ACCOUNT,
      domain: "sync.example.org",
      allowLogseqAccount: null,
      help: false,
      adminToken: null,
      r2: { accessKeyId: R2_ENV.R2_S3_ACCESS_KEY_ID, secretAccessKey: R2_ENV.R2_S3_SECRET_ACCESS_KEY },
    });
    for (const [argv, env] of [
      [["--dry-run=yes"], {}],
      [["--account-id", "123"], {}],
      [[], { R2_S3_ACCESS_KEY_ID: R2_ENV.R2_S3_ACCESS_KEY_ID }],
      [[], { ADMIN_TOKEN: "short" }],
      [[], { R2_S3_ACCESS_KEY_ID: "has space", R2_S3_SECRET_ACCESS_KEY: "x" }],
    ]) {
      assert.throws(() => dc.parseArgs(argv, env), dc.UsageError, JSON.stringify([argv, env]));
    }
  });
});

describe("secrets plan, CORS, wrangler output", () => {
  const ctx = { accountId: ACCOUNT, bucket: "logseq-sync", random: () => "r".repeat(64) };
  const opts = (env = {}) => dc.parseArgs([], env);

  it("a new Worker gets all generated secrets; R2 only when given", () => {
    const p = dc.planSecrets([], opts(), ctx);
    assert.deepEqual(Object.keys(p.values), dc.GENERATED_SECRETS);
    assert.deepEqual(p.kept, []);
    assert.equal(p.r2, null);
    const r = dc.planSecrets([], opts(R2_ENV), ctx);
    assert.deepEqual(Object.keys(r.values), [...dc.GENERATED_SECRETS, ...dc.R2_SECRETS]);
    assert.equal(r.values.R2_ACCOUNT_ID, ACCOUNT);
    assert.equal(r.values.R2_S3_BUCKET, "logseq-sync");
    assert.equal(r.r2, "given");
  });

  it("an existing Worker keeps what it has; ADMIN_TOKEN from the environment is put again", () => {
    const all = [...dc.GENERATED_SECRETS, ...dc.R2_SECRETS];
    const p = dc.planSecrets(all, opts(), ctx);
    assert.deepEqual(p.values, {});
    assert.deepEqual(p.kept, all);
    assert.equal(p.r2, "kept");
    assert.deepEqual(dc.planSecrets(all, opts({ ADMIN_TOKEN: "x".repeat(20) }), ctx).values, {
      ADMIN_TOKEN: "x".repeat(20),
    });
    assert.deepEqual(Object.keys(dc.planSecrets(["JWT_SECRET"], opts(), ctx).values), [
      "S3_CREDENTIAL_SECRET",
      "ADMIN_TOKEN",
    ]);
  });

  it("--allow-logseq-account (repeatable) sets ALLOWED_LOGSEQ_ACCOUNTS with the deploy; absent, the deployed list is kept", () => {
    const all = [...dc.GENERATED_SECRETS, ...dc.R2_SECRETS];
    const sub = "0f8fad5b-d9cb-469f-a165-70867728950e";
    const o = dc.parseArgs(["--allow-logseq-account", "you@example.com", `--allow-logseq-account=${sub}`], {});
    assert.deepEqual(dc.planSecrets(all, o, ctx).values, { ALLOWED_LOGSEQ_ACCOUNTS: `you@example.com,${sub}` });
    assert.ok(!("ALLOWED_LOGSEQ_ACCOUNTS" in dc.planSecrets(all, opts(), ctx).values));
    for (const bad of ["nope", "a@b,c@d", ""]) {
      assert.throws(() => dc.parseArgs(["--allow-logseq-account", bad], {}), dc.UsageError, bad);
    }
  });

  it("CORS rules are in the R2 API's shape (rules[].allowed, not S3's CORSRules)", () => {
    const doc = dc.corsRules();
    assert.deepEqual(Object.keys(doc), ["rules"]);
    const [rule] = doc.rules;
    assert.deepEqual(Object.keys(rule).sort(), ["allowed", "exposeHeaders", "id", "maxAgeSeconds"]);
    assert.deepEqual(Object.keys(rule.allowed).sort(), ["headers", "methods", "origins"]);
    assert.deepEqual(rule.allowed.origins, ["*"]);
    assert.deepEqual([...rule.allowed.methods].sort(), ["GET", "HEAD", "PUT"]);
    for (const h of ["content-type", "content-range", "x-amz-date", "x-amz-content-sha256"])
      assert.ok(rule.allowed.headers.includes(h), h);
    assert.ok(rule.exposeHeaders.includes("etag") && Number.isInteger(rule.maxAgeSeconds));
  });

  it("reads wrangler 4.164's outputs", () => {
    assert.deepEqual(dc.parseJsonOutput('note\n[\n  {"name": "JWT_SECRET", "type": "secret_text"}\n]\n'), [
      { name: "JWT_SECRET", type: "secret_text" },
    ]);
    assert.ok(dc.isWorkerNotFound('✘ [ERROR] Worker "logseq-sync" not found.'));
    assert.ok(!dc.isWorkerNotFound("✘ [ERROR] Authentication error [code: 10000]"));
    assert.ok(dc.isDatabaseMissing("Couldn't find a D1 DB named 'logseq-sync' (bound as 'DB') in the API."));
    assert.deepEqual(dc.parseUploadSize("Total Upload: 1214.39 KiB / gzip: 388.51 KiB"), {
      rawKiB: 1214.39,
      gzipKiB: 388.51,
    });
    assert.deepEqual(
      dc.parseBindings("env.GRAPH_HUB (GraphHub)   Durable Object\nenv.DB (logseq-sync)  D1 Database\n"),
      ["GRAPH_HUB", "DB"],
    );
  });
});

describe("deploy against a stand-in account (real run, offline)", { timeout: 300_000 }, () => {
  let dir;
  let statePath;
  let env;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "deploy-fake-"));
    statePath = join(dir, "state.json");
    env = cleanEnv({ LOGSEQ_SYNC_FAKE_WRANGLER: FAKE, FAKE_STATE: statePath });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const state = () => JSON.parse(readFileSync(statePath, "utf8"));
  const account = (over = {}) =>
    writeFileSync(
      statePath,
      JSON.stringify({
        loggedIn: true,
        accounts: [{ id: ACCOUNT, name: "Mine" }],
        dbs: [],
        buckets: [],
        worker: null,
        calls: [],
        ...over,
      }),
    );
  const calls = () => state().calls.map((c) => c.args.filter((a) => !a.startsWith("/")).join(" "));
  const clearCalls = () => writeFileSync(statePath, JSON.stringify({ ...state(), calls: [] }));
  const assertNoSecretPrinted = (out) => {
    for (const [name, value] of Object.entries(state().worker?.secrets ?? {})) {
      if (!["R2_ACCOUNT_ID", "R2_S3_BUCKET"].includes(name)) assert.ok(!out.includes(value), `${name} was printed`);
    }
  };
  const lastDeploy = () => state().worker.deploys.at(-1);

  it("not logged in: says how to log in, touches nothing", async () => {
    account({ loggedIn: false });
    const r = await runDeploy([], env);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /wrangler(\.js)? login`/);
    assert.deepEqual(calls(), ["whoami --json"]);
  });

  it("several accounts and none chosen: lists them and stops", async () => {
    account({
      accounts: [
        { id: ACCOUNT, name: "One" },
        { id: "b2".repeat(16), name: "Two" },
      ],
    });
    const r = await runDeploy([], env);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /--account-id/);
    assert.match(r.out, new RegExp(ACCOUNT));
    assert.deepEqual(calls(), ["whoami --json"]);
  });

  it("first deploy without R2 credentials: wrangler provisions, migrations follow, secrets ride along, one valid token", async () => {
    account();
    const r = await runDeploy(["--email", "me@example.com"], env);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(calls(), [
      "whoami --json",
      "secret list --format json",
      "d1 migrations apply DB --remote", // no database yet
      "deploy --keep-vars --secrets-file",
      "d1 migrations apply DB --remote",
      "r2 bucket cors set logseq-sync --file --force",
    ]);
    const s = state();
    assert.ok(
      s.calls.slice(1).every((c) => c.account === ACCOUNT && c.ci === "true"),
      "CLOUDFLARE_ACCOUNT_ID / CI=true not passed on",
    );
    assert.deepEqual(s.dbs, [{ name: "logseq-sync", applied: MIGRATIONS }]);
    assert.equal(s.buckets[0].cors[0].allowed.origins[0], "*");
    assert.deepEqual(lastDeploy().secretNames, dc.GENERATED_SECRETS);
    assert.ok(!existsSync(lastDeploy().secretsFile), "the secrets file was left behind");
    for (const n of dc.GENERATED_SECRETS) assert.match(s.worker.secrets[n], /^[0-9a-f]{64}$/, n);
    assertNoSecretPrinted(r.out);
    assert.match(r.out, /Deployed: https:\/\/logseq-sync\.owner\.workers\.dev/);
    assert.match(
      r.out,
      /through the Worker's own \/s3\/ endpoint[\s\S]*100,000 requests a day[\s\S]*To switch to presigned R2 later/,
    );
    const tokens = r.out.match(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g);
    assert.equal(tokens?.length, 1, r.out);
    const [h, b, sig] = tokens[0].split(".");
    assert.equal(createHmac("sha256", s.worker.secrets.JWT_SECRET).update(`${h}.${b}`).digest("base64url"), sig);
    assert.equal(
      JSON.parse(Buffer.from(b, "base64url")).sub,
      userIdForEmail(s.worker.secrets.JWT_SECRET, "me@example.com"),
    );
  });

  it("second deploy that changes nothing: migrations first (none), no secrets, no token", async () => {
    clearCalls();
    const before = state();
    const r = await runDeploy(["--email", "me@example.com"], env);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(calls(), [
      "whoami --json",
      "secret list --format json",
      "d1 migrations apply DB --remote",
      "deploy --keep-vars",
      "r2 bucket cors set logseq-sync --file --force",
    ]);
    assert.deepEqual(state().worker.secrets, before.worker.secrets);
    assert.deepEqual(state().dbs, before.dbs);
    assert.deepEqual(state().buckets, before.buckets);
    assert.match(r.out, /JWT_SECRET already existed/);
    assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(r.out), "printed a token");
  });

  it("a deploy after a new migration applies it before the new code serves", async () => {
    const s = state();
    s.dbs[0].applied = MIGRATIONS.slice(0, -1);
    writeFileSync(statePath, JSON.stringify({ ...s, calls: [] }));
    const r = await runDeploy([], env);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(lastDeploy().appliedAtDeploy, MIGRATIONS);
    assert.ok(calls().indexOf("d1 migrations apply DB --remote") < calls().indexOf("deploy --keep-vars"));
  });

  it("a migration that fails stops the deploy: database unchanged, old Worker left serving", async () => {
    const s = state();
    s.dbs[0].applied = MIGRATIONS.slice(0, -1);
    const deploys = s.worker.deploys.length;
    writeFileSync(statePath, JSON.stringify({ ...s, calls: [], failMigration: MIGRATIONS.at(-1) }));
    const r = await runDeploy([], env);
    assert.equal(r.code, 1, r.out);
    assert.match(r.stderr, /left the database as it was; nothing was deployed/);
    assert.deepEqual(state().dbs[0].applied, MIGRATIONS.slice(0, -1));
    assert.equal(state().worker.deploys.length, deploys);
    assert.ok(!calls().some((c) => c.startsWith("deploy")));
    writeFileSync(statePath, JSON.stringify({ ...state(), failMigration: null }));
    assert.equal((await runDeploy([], env)).code, 0, "the next run after the fix");
    assert.deepEqual(state().dbs[0].applied, MIGRATIONS);
  });

  it("first deploy with R2 credentials from the environment: presigned R2 from the first request; kept later", async () => {
    account();
    const r = await runDeploy(["--domain", "sync.example.org"], { ...env, ...R2_ENV });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(lastDeploy().secretNames, [...dc.GENERATED_SECRETS, ...dc.R2_SECRETS]);
    const secrets = state().worker.secrets;
    assert.equal(secrets.R2_ACCOUNT_ID, ACCOUNT);
    assert.equal(secrets.R2_S3_BUCKET, "logseq-sync");
    assert.equal(secrets.R2_S3_SECRET_ACCESS_KEY, R2_ENV.R2_S3_SECRET_ACCESS_KEY);
    assert.ok(!r.out.includes(R2_ENV.R2_S3_SECRET_ACCESS_KEY));
    assertNoSecretPrinted(r.out);
    assert.match(r.out, /presigned URLs straight to R2/);
    assert.ok(calls().includes("deploy --keep-vars --domains sync.example.org --secrets-file"), calls().join("\n"));
    assert.match(r.out, /Deployed: https:\/\/logseq-sync\.owner\.workers\.dev, https:\/\/sync\.example\.org/);
    clearCalls();
    const again = await runDeploy([], env);
    assert.equal(again.code, 0, again.out);
    assert.ok(calls().includes("deploy --keep-vars"), "no secrets file when nothing changes");
    assert.match(again.out, /presigned URLs straight to R2/);
  });

  // On a terminal the deploy asks for the R2 token; python3's pty gives it one.
  const python = spawnSync("python3", ["-c", "import pty"]).status === 0;
  const terminal = { skip: !python && "python3 (for a pty) not found" };
  it(
    "on a terminal: logs in, explains the R2 token step, reads the secret without echo, sets it with secret bulk",
    terminal,
    async () => {
      account({ loggedIn: false });
      const pty = "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))";
      const child = spawn("python3", ["-c", pty, process.execPath, join(ROOT, "scripts", "deploy.mjs")], {
        cwd: ROOT,
        env,
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      const answered = new Set();
      child.stdout.on("data", (d) => {
        out += d;
        if (/Access Key ID \(Enter/.test(out) && !answered.has("id"))
          child.stdin.write(`${R2_ENV.R2_S3_ACCESS_KEY_ID}\r`, () => answered.add("id"));
        if (/Secret Access Key \(not shown\)/.test(out) && !answered.has("secret")) {
          answered.add("secret");
          setTimeout(() => child.stdin.write(`${R2_ENV.R2_S3_SECRET_ACCESS_KEY}\r`), 200);
        }
      });
      const code = await new Promise((resolve) => child.on("close", resolve));
      assert.equal(code, 0, out);
      assert.equal(calls()[1], "login", "wrangler login after the first whoami");
      assert.match(
        out,
        new RegExp(`dash\\.cloudflare\\.com/${ACCOUNT}/r2/overview[\\s\\S]*Object Read & Write[\\s\\S]*logseq-sync`),
      );
      assert.ok(out.includes(R2_ENV.R2_S3_ACCESS_KEY_ID), "the access key id is echoed");
      assert.ok(!out.includes(R2_ENV.R2_S3_SECRET_ACCESS_KEY), "the secret was echoed");
      assert.equal(calls().at(-1), "secret bulk");
      assert.deepEqual(state().worker.secrets.R2_S3_SECRET_ACCESS_KEY, R2_ENV.R2_S3_SECRET_ACCESS_KEY);
      assert.equal(state().worker.secrets.R2_ACCOUNT_ID, ACCOUNT);
      assert.match(out, /presigned URLs straight to R2/);
    },
  );
});
