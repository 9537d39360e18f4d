// Pure helpers of `npm run deploy` (scripts/deploy.mjs): the plan (given what
// the Cloudflare account already has, what to do), the deploy configuration
// generated from the committed wrangler.toml, the R2 CORS rules, and parsers
// of wrangler's output. Nothing here runs wrangler or touches the network, so
// all of it is unit-tested (tests/e2e/deploy.test.mjs).

import { posix } from "node:path";

/** The committed wrangler.toml's D1 id: `npm start` runs locally with it. */
export const PLACEHOLDER_DATABASE_ID = "00000000-0000-0000-0000-000000000000";
/** Stands in for the account id where the dry run has no account. */
export const DRY_RUN_ACCOUNT_ID = "0".repeat(32);
/** Where the generated configurations go (build/ is ignored by git). */
export const CONFIG_DIR = "build";
export const DEPLOY_CONFIG = `${CONFIG_DIR}/wrangler.deploy.toml`;
export const DRY_RUN_CONFIG = `${CONFIG_DIR}/wrangler.deploy-dry-run.toml`;

/** Secrets the script generates (32 random bytes, hex) when the Worker lacks them. */
export const GENERATED_SECRETS = ["JWT_SECRET", "S3_CREDENTIAL_SECRET", "ADMIN_TOKEN"];
/** Secrets set from the R2 API token the user gives (DESIGN.md §4, presigned flow). */
export const R2_SECRETS = ["R2_S3_ACCESS_KEY_ID", "R2_S3_SECRET_ACCESS_KEY"];
/** Location hints `wrangler d1 create` and `wrangler r2 bucket create` both accept. */
export const LOCATIONS = ["weur", "eeur", "apac", "oc", "wnam", "enam"];
/** The Worker refuses secrets shorter than this (src/config.rs). */
export const MIN_SECRET_LENGTH = 16;

export class PlanError extends Error {}

const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;
const ACCOUNT_ID_RE = /^[0-9a-f]{32}$/;
const HOST_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---------------------------------------------------------------------------
// Command line

export const USAGE = `usage: npm run deploy -- [options]

  --dry-run                     print the plan for a fresh account and check everything
                                that needs no account (config, build, bundle, migrations)
  --email <you@example.com>     print one bootstrap token for this email when JWT_SECRET
                                is created by this run
  --account-id <id>             the Cloudflare account, when your login has several
                                (or CLOUDFLARE_ACCOUNT_ID)
  --domain <sync.example.org>   attach this custom domain (a zone on the same account);
                                once is enough, later runs leave it in place
  --location <hint>             placement hint for a new D1 database and R2 bucket:
                                ${LOCATIONS.join(", ")}
  --r2-account-id <id>          } optional R2 API token for presigned URLs straight to R2
  --r2-access-key-id <id>       } (or R2_ACCOUNT_ID, R2_S3_ACCESS_KEY_ID,
  --r2-secret-access-key <key>  }  R2_S3_SECRET_ACCESS_KEY; prefer the environment)

ADMIN_TOKEN in the environment, when set, becomes the Worker's admin token.`;

/**
 * Parses the command line and the environment into options. Throws
 * PlanError on anything malformed (the script prints it with the usage).
 */
export function parseArgs(argv, env = {}) {
  const flags = {};
  const takesValue = new Set(["email", "account-id", "domain", "location", "r2-account-id", "r2-access-key-id", "r2-secret-access-key"]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--dry-run") flags["dry-run"] = true;
    else if (arg === "--help" || arg === "-h") flags.help = true;
    else {
      const m = arg.match(/^--([a-z0-9-]+)(?:=(.*))?$/);
      if (!m || !takesValue.has(m[1])) throw new PlanError(`unknown argument ${arg}`);
      const value = m[2] ?? argv[++i];
      if (value === undefined || value === "") throw new PlanError(`--${m[1]} needs a value`);
      flags[m[1]] = value;
    }
  }
  const pick = (flag, name) => flags[flag] ?? (env[name] ? String(env[name]).trim() : undefined);
  const opts = {
    dryRun: Boolean(flags["dry-run"]),
    help: Boolean(flags.help),
    email: flags.email ?? null,
    accountId: pick("account-id", "CLOUDFLARE_ACCOUNT_ID") ?? null,
    location: flags.location ?? null,
    domain: flags.domain ? flags.domain.toLowerCase() : null,
    adminToken: env.ADMIN_TOKEN ? String(env.ADMIN_TOKEN).trim() : null,
    r2: null,
  };
  if (opts.email !== null && !EMAIL_RE.test(opts.email)) throw new PlanError(`--email ${opts.email} is not an email address`);
  if (opts.accountId !== null && !ACCOUNT_ID_RE.test(opts.accountId)) {
    throw new PlanError("the account id (--account-id / CLOUDFLARE_ACCOUNT_ID) must be 32 hex digits");
  }
  if (opts.domain !== null && !HOST_RE.test(opts.domain)) throw new PlanError(`--domain ${opts.domain} is not a host name`);
  if (opts.location !== null && !LOCATIONS.includes(opts.location)) {
    throw new PlanError(`--location must be one of ${LOCATIONS.join(", ")}`);
  }
  if (opts.adminToken !== null && opts.adminToken.length < MIN_SECRET_LENGTH) {
    throw new PlanError(`ADMIN_TOKEN must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  const r2 = {
    accountId: pick("r2-account-id", "R2_ACCOUNT_ID"),
    accessKeyId: pick("r2-access-key-id", "R2_S3_ACCESS_KEY_ID"),
    secretAccessKey: pick("r2-secret-access-key", "R2_S3_SECRET_ACCESS_KEY"),
  };
  if (r2.accessKeyId || r2.secretAccessKey) {
    if (!r2.accessKeyId || !r2.secretAccessKey) {
      throw new PlanError("R2 S3 credentials need both the access key id and the secret access key");
    }
    if (r2.accountId !== undefined && !ACCOUNT_ID_RE.test(r2.accountId)) {
      throw new PlanError("R2_ACCOUNT_ID must be 32 hex digits (the id in your R2 S3 endpoint)");
    }
    opts.r2 = { accountId: r2.accountId ?? null, accessKeyId: r2.accessKeyId, secretAccessKey: r2.secretAccessKey };
  } else if (r2.accountId) {
    throw new PlanError("R2_ACCOUNT_ID was given without R2_S3_ACCESS_KEY_ID and R2_S3_SECRET_ACCESS_KEY");
  }
  return opts;
}

// ---------------------------------------------------------------------------
// The committed wrangler.toml

/**
 * The names the plan needs from the committed wrangler.toml. A small reader
 * for the shape we commit (one D1 database, one R2 bucket, a [vars] table),
 * not a TOML parser; wrangler's own parser checks the generated file in the
 * dry run.
 */
export function readProjectConfig(toml) {
  const lines = toml.split("\n");
  const topLevel = lines.slice(0, Math.max(0, lines.findIndex((l) => /^\s*\[/.test(l))));
  const str = (src, key) => {
    for (const line of src) {
      const m = line.match(new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`));
      if (m) return m[1];
    }
    return null;
  };
  const section = (header) => {
    const start = lines.findIndex((l) => l.trim() === header);
    if (start < 0) return [];
    const rest = lines.slice(start + 1);
    const end = rest.findIndex((l) => /^\s*\[/.test(l));
    return end < 0 ? rest : rest.slice(0, end);
  };
  const vars = {};
  for (const line of section("[vars]")) {
    const m = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"/);
    if (m) vars[m[1]] = m[2];
  }
  const d1 = section("[[d1_databases]]");
  const r2 = section("[[r2_buckets]]");
  const config = {
    workerName: str(topLevel, "name"),
    databaseBinding: str(d1, "binding"),
    databaseName: str(d1, "database_name"),
    databaseId: str(d1, "database_id"),
    bucketName: str(r2, "bucket_name"),
    vars,
  };
  for (const [k, v] of Object.entries(config)) {
    if (v === null) throw new PlanError(`wrangler.toml: could not find ${k}`);
  }
  return config;
}

// ---------------------------------------------------------------------------
// The generated deploy configuration

const tomlString = (value) => {
  if (!/^[\x20-\x7e]*$/.test(value) || /["\\]/.test(value)) throw new PlanError(`var value ${JSON.stringify(value)} is not plain ASCII`);
  return `"${value}"`;
};

/**
 * The deploy configuration: the committed wrangler.toml with the real D1 id,
 * without the R2 binding's `local_dev` block (local-only S3 credentials), with
 * extra `vars`, and with its paths rewritten so that they still name the same
 * files from `configDir` (wrangler resolves `main`, `migrations_dir` and
 * `watch_dir` relative to the configuration file; the build command runs in
 * the directory wrangler is started in, the project root). Everything else is
 * kept line for line.
 */
export function deployConfigToml(source, { databaseId, vars = {}, configDir = CONFIG_DIR }) {
  if (!UUID_RE.test(databaseId)) throw new PlanError(`database id ${databaseId} is not a UUID`);
  const lines = source.split("\n");
  const placeholder = lines.filter((l) => l.trim() === `database_id = "${PLACEHOLDER_DATABASE_ID}"`);
  if (placeholder.length !== 1) {
    throw new PlanError(`wrangler.toml must contain exactly one database_id = "${PLACEHOLDER_DATABASE_ID}" (found ${placeholder.length})`);
  }
  const out = [];
  for (const line of lines) {
    if (line.trim() === `database_id = "${PLACEHOLDER_DATABASE_ID}"`) {
      out.push(line.replace(PLACEHOLDER_DATABASE_ID, databaseId.toLowerCase()));
      continue;
    }
    if (/^\s*local_dev\s*=/.test(line)) {
      // Its explanatory comment goes with it.
      while (out.length && /^\s*#/.test(out[out.length - 1])) out.pop();
      continue;
    }
    const path = line.match(/^(\s*(?:main|migrations_dir|watch_dir)\s*=\s*)"([^"]+)"(.*)$/);
    if (path) {
      out.push(`${path[1]}"${posix.relative(configDir, posix.normalize(path[2]))}"${path[3]}`);
      continue;
    }
    out.push(line);
  }
  const extra = Object.entries(vars);
  if (extra.length) {
    let header = out.findIndex((l) => l.trim() === "[vars]");
    if (header < 0) {
      out.push("", "[vars]");
      header = out.length - 1;
    }
    let end = out.slice(header + 1).findIndex((l) => /^\s*\[/.test(l));
    end = end < 0 ? out.length : header + 1 + end;
    for (const [name, value] of extra) {
      const line = `${name} = ${tomlString(value)}`;
      const existing = out.slice(header + 1, end).findIndex((l) => new RegExp(`^\\s*${name}\\s*=`).test(l));
      if (existing >= 0) {
        out[header + 1 + existing] = line;
        continue;
      }
      let at = end;
      while (at > header + 1 && out[at - 1].trim() === "") at--;
      out.splice(at, 0, line);
      end++;
    }
  }
  const banner = [
    "# GENERATED by `npm run deploy` (scripts/deploy.mjs) from wrangler.toml: the real",
    "# D1 database id, no local_dev block, paths relative to this directory. Do not edit;",
    "# edit wrangler.toml and run `npm run deploy` again.",
  ];
  return [...banner, ...out].join("\n");
}

/**
 * What wrangler should read from the generated file, derived from what it
 * reads from the committed one (both as wrangler's raw config objects). The
 * dry run compares the two with wrangler's own parser.
 */
export function expectedRawConfig(raw, { databaseId, vars = {}, configDir = CONFIG_DIR }) {
  const c = structuredClone(raw);
  const rel = (p) => posix.relative(configDir, posix.normalize(p));
  if (c.main) c.main = rel(c.main);
  if (c.build?.watch_dir) c.build.watch_dir = rel(c.build.watch_dir);
  for (const db of c.d1_databases ?? []) {
    if (db.database_id === PLACEHOLDER_DATABASE_ID) db.database_id = databaseId.toLowerCase();
    if (db.migrations_dir) db.migrations_dir = rel(db.migrations_dir);
  }
  for (const b of c.r2_buckets ?? []) delete b.local_dev;
  if (Object.keys(vars).length) c.vars = { ...(c.vars ?? {}), ...vars };
  return c;
}

/** Deep equality of JSON-like values; returns the first differing path or null. */
export function jsonDiff(a, b, path = "") {
  if (a === b) return null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return `${path || "(root)"}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of [...keys].sort()) {
    const d = jsonDiff(a[k], b[k], path ? `${path}.${k}` : k);
    if (d) return d;
  }
  return null;
}

// ---------------------------------------------------------------------------
// R2 CORS

/**
 * CORS rules of the bucket, in the R2 API's shape that `wrangler r2 bucket
 * cors set --file` expects (`rules[].allowed.{origins,methods,headers}`,
 * `exposeHeaders`, `maxAgeSeconds`; wrangler rejects the S3 `CORSRules`
 * shape). Only browsers look at CORS: rsapi (native) does not, but a
 * browser-based or patched client PUTs to and GETs presigned URLs with these
 * headers (PROTOCOL.md §7.2, §7.4 — rsapi's `Content-Range` probe included).
 * R2 does not take "*" for headers reliably, so they are listed.
 */
export function corsRules() {
  return {
    rules: [
      {
        id: "logseq-sync-clients",
        allowed: {
          origins: ["*"],
          methods: ["GET", "PUT", "HEAD"],
          headers: [
            "authorization",
            "cache-control",
            "content-md5",
            "content-range",
            "content-type",
            "if-match",
            "if-none-match",
            "range",
            "x-amz-content-sha256",
            "x-amz-date",
            "x-amz-security-token",
            "x-amz-user-agent",
          ],
        },
        exposeHeaders: ["content-length", "content-range", "content-type", "etag"],
        maxAgeSeconds: 3600,
      },
    ],
  };
}

/** Checks a CORS document the way wrangler and the R2 API do; throws PlanError. */
export function validateCors(doc) {
  const fail = (why) => {
    throw new PlanError(`CORS rules: ${why}`);
  };
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) fail("not a JSON object");
  if ("CORSRules" in doc) fail("S3 'CORSRules' shape; R2 wants 'rules'");
  if (!Array.isArray(doc.rules) || doc.rules.length === 0) fail("'rules' must be a non-empty array");
  const strings = (v) => Array.isArray(v) && v.every((s) => typeof s === "string" && s.length > 0);
  for (const [i, rule] of doc.rules.entries()) {
    if (!rule || typeof rule !== "object" || Array.isArray(rule)) fail(`rule ${i} is not an object`);
    for (const k of Object.keys(rule)) {
      if (!["id", "allowed", "exposeHeaders", "maxAgeSeconds"].includes(k)) fail(`rule ${i} has unknown key ${k}`);
    }
    const a = rule.allowed;
    if (!a || typeof a !== "object") fail(`rule ${i} lacks 'allowed'`);
    for (const k of Object.keys(a)) if (!["origins", "methods", "headers"].includes(k)) fail(`rule ${i} allowed.${k} is unknown`);
    if (!strings(a.origins) || a.origins.length === 0) fail(`rule ${i} needs allowed.origins`);
    if (!strings(a.methods) || a.methods.length === 0) fail(`rule ${i} needs allowed.methods`);
    for (const m of a.methods) if (!["GET", "PUT", "POST", "DELETE", "HEAD"].includes(m)) fail(`rule ${i} method ${m}`);
    if (a.headers !== undefined && !strings(a.headers)) fail(`rule ${i} allowed.headers must be strings`);
    if (rule.exposeHeaders !== undefined && !strings(rule.exposeHeaders)) fail(`rule ${i} exposeHeaders must be strings`);
    if (rule.maxAgeSeconds !== undefined && !(Number.isInteger(rule.maxAgeSeconds) && rule.maxAgeSeconds >= 0 && rule.maxAgeSeconds <= 86400)) {
      fail(`rule ${i} maxAgeSeconds must be an integer in 0..86400`);
    }
  }
  return doc;
}

// ---------------------------------------------------------------------------
// The plan

/**
 * What to do, given what exists. `state`:
 *   accountId      the Cloudflare account (DRY_RUN_ACCOUNT_ID in the dry run)
 *   databaseId     id of the D1 database named in wrangler.toml, or null
 *   bucketExists   whether the R2 bucket exists
 *   workerExists   whether the Worker exists
 *   secrets        names of the Worker's secrets ([] when it does not exist)
 * `opts` as parseArgs returns; `project` as readProjectConfig returns.
 * Throws PlanError when the inputs contradict each other.
 */
export function plan(state, opts, project) {
  const secrets = new Set(state.secrets ?? []);
  const given = new Map();
  if (opts.adminToken) given.set("ADMIN_TOKEN", "ADMIN_TOKEN from your environment");
  let r2Mode = null;
  if (opts.r2) {
    if (opts.r2.accountId && state.accountId !== DRY_RUN_ACCOUNT_ID && opts.r2.accountId !== state.accountId) {
      throw new PlanError(
        `R2_ACCOUNT_ID ${opts.r2.accountId} is not the account being deployed to (${state.accountId}); the bucket lives in the latter`,
      );
    }
    given.set("R2_S3_ACCESS_KEY_ID", "your R2 API token");
    given.set("R2_S3_SECRET_ACCESS_KEY", "your R2 API token");
    r2Mode = "given";
  } else if (R2_SECRETS.every((n) => secrets.has(n))) {
    // Set by an earlier run: keep presigning against R2 (the vars below are
    // rewritten on every deploy, so they must stay in the config).
    r2Mode = "kept";
  }
  const vars = {};
  if (r2Mode) {
    vars.R2_ACCOUNT_ID = opts.r2?.accountId ?? state.accountId;
    vars.R2_S3_BUCKET = project.bucketName;
  }
  const configVars = { ...project.vars, ...vars };
  const clash = Object.keys(configVars).filter((n) => secrets.has(n));
  if (clash.length) {
    throw new PlanError(
      `the Worker has secret(s) ${clash.join(", ")} with the name of a var in the deploy config; ` +
        `deploying would replace them. Remove them first: ${clash.map((n) => `npx wrangler secret delete ${n}`).join("; ")}`,
    );
  }
  const secretSteps = [];
  for (const name of GENERATED_SECRETS) {
    if (given.has(name)) secretSteps.push({ name, action: "given", from: given.get(name) });
    else if (secrets.has(name)) secretSteps.push({ name, action: "keep" });
    else secretSteps.push({ name, action: "generate" });
  }
  for (const name of R2_SECRETS) {
    if (given.has(name)) secretSteps.push({ name, action: "given", from: given.get(name) });
    else if (secrets.has(name)) secretSteps.push({ name, action: "keep" });
  }
  const jwtNew = secretSteps.find((s) => s.name === "JWT_SECRET").action === "generate";
  const token = jwtNew ? (opts.email ? { action: "bootstrap", email: opts.email } : { action: "none" }) : { action: "admin", email: opts.email };
  return {
    accountId: state.accountId,
    workerName: project.workerName,
    database: {
      name: project.databaseName,
      binding: project.databaseBinding,
      action: state.databaseId ? "reuse" : "create",
      id: state.databaseId ?? null,
      location: opts.location,
    },
    bucket: { name: project.bucketName, action: state.bucketExists ? "reuse" : "create", location: opts.location },
    cors: corsRules(),
    vars,
    bytes: r2Mode ? "r2" : "worker",
    worker: { action: state.workerExists ? "update" : "create", domain: opts.domain ?? null },
    secrets: secretSteps,
    token,
  };
}

/** The steps, in the order the script runs them, as [title, what] pairs. */
export function describePlan(p) {
  const put = p.secrets.filter((s) => s.action !== "keep");
  const kept = p.secrets.filter((s) => s.action === "keep").map((s) => s.name);
  const secretText = [
    ...put.map((s) => `put ${s.name} (${s.action === "generate" ? "32 random bytes, generated here, never shown" : s.from})`),
    kept.length ? `keep ${kept.join(", ")} (already set)` : null,
  ]
    .filter(Boolean)
    .join("; ");
  const where = (loc) => (loc ? ` (location hint ${loc})` : "");
  return [
    ["D1 database", p.database.action === "create" ? `create ${p.database.name}${where(p.database.location)}` : `reuse ${p.database.name} (${p.database.id})`],
    ["R2 bucket", p.bucket.action === "create" ? `create ${p.bucket.name}${where(p.bucket.location)}` : `reuse ${p.bucket.name}`],
    ["R2 CORS rules", `set on ${p.bucket.name}: GET, PUT, HEAD from any origin`],
    [
      "deploy config",
      `write ${DEPLOY_CONFIG} from wrangler.toml (real database id, no local_dev${Object.keys(p.vars).length ? `, vars ${Object.keys(p.vars).join(", ")}` : ""})`,
    ],
    ["D1 migrations", `apply new migrations to ${p.database.name} (remote)`],
    [
      "deploy Worker",
      `${p.worker.action === "create" ? "create" : "update"} ${p.workerName} with wrangler deploy (keeps vars set in the dashboard)` +
        (p.worker.domain ? `, custom domain ${p.worker.domain}` : ""),
    ],
    ["secrets", secretText || "nothing to do"],
    [
      "first token",
      p.token.action === "bootstrap"
        ? `print one bootstrap token for ${p.token.email} (signed with the new JWT_SECRET)`
        : p.token.action === "none"
          ? "none: no --email given (mint tokens with npm run admin)"
          : "JWT_SECRET already existed: tokens come from npm run admin",
    ],
  ];
}

/** Secret names the plan puts or keeps: unique, upper-case, none a config var. */
export function validateSecretPlan(p, project) {
  const names = p.secrets.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new PlanError(`secret list has duplicates: ${names.join(", ")}`);
  for (const n of names) if (!/^[A-Z][A-Z0-9_]*$/.test(n)) throw new PlanError(`secret name ${n} is malformed`);
  for (const n of GENERATED_SECRETS) if (!names.includes(n)) throw new PlanError(`secret ${n} missing from the plan`);
  const vars = { ...project.vars, ...p.vars };
  const both = names.filter((n) => n in vars);
  if (both.length) throw new PlanError(`${both.join(", ")} would be both a secret and a var`);
  if (p.bytes === "r2") {
    for (const n of R2_SECRETS) if (!names.includes(n)) throw new PlanError(`R2 mode without secret ${n}`);
    if (!ACCOUNT_ID_RE.test(p.vars.R2_ACCOUNT_ID ?? "")) throw new PlanError("R2 mode without a valid R2_ACCOUNT_ID");
  }
  return names;
}

// ---------------------------------------------------------------------------
// wrangler's output

const stripAnsi = (s) => s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");

/** The JSON document in a wrangler command's stdout (banners and notes around it tolerated). */
export function parseJsonOutput(text) {
  const clean = stripAnsi(text).trim();
  try {
    return JSON.parse(clean);
  } catch {
    // fall through
  }
  const lines = clean.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*[[{]/.test(lines[i])) continue;
    for (let j = lines.length; j > i; j--) {
      try {
        return JSON.parse(lines.slice(i, j).join("\n"));
      } catch {
        // try a shorter tail
      }
    }
  }
  throw new Error(`no JSON in wrangler's output: ${clean.slice(0, 200)}`);
}

/** Bucket names in `wrangler r2 bucket list` output ("name:  <bucket>" lines; no --json there). */
export function parseR2BucketNames(text) {
  return [...stripAnsi(text).matchAll(/^\s*name:\s+(\S+)\s*$/gm)].map((m) => m[1]);
}

/** The D1 database named `name` in `wrangler d1 list --json` output: its uuid, or null. */
export function findDatabaseId(list, name) {
  if (!Array.isArray(list)) throw new Error("wrangler d1 list --json did not return a list");
  const db = list.find((d) => d && d.name === name);
  return db ? (db.uuid ?? db.id ?? null) : null;
}

/** Secret names in `wrangler secret list` output (JSON: [{name, type}]). */
export function parseSecretNames(text) {
  const list = parseJsonOutput(text);
  if (!Array.isArray(list)) throw new Error("wrangler secret list did not return a list");
  return list.map((s) => s.name).filter((n) => typeof n === "string");
}

/** Whether a failed wrangler command failed because the Worker does not exist yet. */
export function isWorkerNotFound(text) {
  const t = stripAnsi(text);
  return /Worker "[^"]+"(?: \(env: [^)]*\))? not found/.test(t) || /\[code: 10007\]/.test(t);
}

/**
 * The Worker's URLs from wrangler's output file (WRANGLER_OUTPUT_FILE_PATH,
 * one JSON object per line; the "deploy" entry lists targets: the workers.dev
 * URL with https://, custom domains bare, routes as patterns, crons as
 * "schedule: ...").
 */
export function deployUrls(ndjson) {
  const urls = [];
  for (const line of ndjson.split("\n")) {
    if (!line.trim()) continue;
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.type !== "deploy" || !Array.isArray(entry.targets)) continue;
    for (const t of entry.targets) {
      if (typeof t !== "string") continue;
      if (/^https:\/\/[^\s/]+$/.test(t)) urls.push(t);
      else if (/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(t)) urls.push(`https://${t}`);
    }
  }
  return [...new Set(urls)];
}

/** The "Total Upload: X KiB / gzip: Y KiB" line of `wrangler deploy`, in KiB. */
export function parseUploadSize(text) {
  const m = stripAnsi(text).match(/Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/);
  return m ? { rawKiB: Number(m[1]), gzipKiB: Number(m[2]) } : null;
}

/** Binding names in `wrangler deploy` output's binding table ("env.NAME ..."). */
export function parseBindings(text) {
  return [...stripAnsi(text).matchAll(/^env\.([A-Za-z0-9_]+)\s/gm)].map((m) => m[1]);
}
