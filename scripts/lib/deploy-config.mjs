// Pure parts of `npm run deploy` (scripts/deploy.mjs): its options, which
// secrets a deploy sets, the R2 CORS rules and readers of wrangler's output.
// No wrangler, no network, only node: builtins, so the script can answer
// --help before anything is installed and all of this is unit-tested
// (tests/e2e/deploy.test.mjs).

export class UsageError extends Error {}

const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;
const HOST_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
export const ACCOUNT_ID_RE = /^[0-9a-f]{32}$/;
/** R2 API tokens: a 32-character access key id and a 64-character secret; looser to stay future-proof. */
export const R2_KEY_RE = /^[A-Za-z0-9]{16,128}$/;

/**
 * Every option: one entry each, and the usage text is generated from them.
 * `value` names the argument of options that take one; `check` returns an
 * error message or null. A new option is one more entry here.
 */
export const OPTIONS = [
  { name: "dryRun", flag: "--dry-run", default: "off",
    help: "check offline what needs no account: the config wrangler sees, the migrations on a fresh local D1, the build and bundle (wrangler deploy --dry-run)" },
  { name: "email", flag: "--email", value: "<you@example.com>", default: "none",
    help: "print one bootstrap token for this email when this deploy creates JWT_SECRET",
    check: (v) => (EMAIL_RE.test(v) ? null : `${v} is not an email address`) },
  { name: "accountId", flag: "--account-id", value: "<id>", default: "$CLOUDFLARE_ACCOUNT_ID, else the login's only account",
    help: "the Cloudflare account to deploy to when your login sees several",
    check: (v) => (ACCOUNT_ID_RE.test(v) ? null : "must be 32 hex digits") },
  { name: "domain", flag: "--domain", value: "<sync.example.org>", default: "none (workers.dev only)",
    help: "attach this custom domain (a zone on the same account); once is enough",
    check: (v) => (HOST_RE.test(v.toLowerCase()) ? null : `${v} is not a host name`) },
  { name: "help", flag: "--help", alias: "-h", default: "", help: "print this and exit" },
];

/** Words of `text` in lines of at most `width` characters. */
function wrap(text, width) {
  const lines = [""];
  for (const word of text.split(" ")) {
    const last = lines.length - 1;
    if (lines[last] && lines[last].length + 1 + word.length > width) lines.push(word);
    else lines[last] = lines[last] ? `${lines[last]} ${word}` : word;
  }
  return lines;
}

const optionLines = OPTIONS.flatMap((o) => {
  const flag = `  ${o.alias ? `${o.alias}, ` : ""}${o.flag}${o.value ? ` ${o.value}` : ""}`.padEnd(32);
  const text = wrap(`${o.help}${o.default ? ` [default: ${o.default}]` : ""}`, 60);
  return text.map((l, i) => `${i ? " ".repeat(32) : flag}${l}`);
});

export const USAGE = `usage: npm run deploy -- [options]

Deploys to the Cloudflare account wrangler is logged in to (npx wrangler login);
running it again upgrades. docs/DEPLOY.md explains every step.

${optionLines.join("\n")}

environment:
  R2_S3_ACCESS_KEY_ID           } an R2 API token's two values, for presigned URLs on
  R2_S3_SECRET_ACCESS_KEY       } unattended runs [default: asked on a terminal, else none]
  ADMIN_TOKEN                   your admin token, >= 16 characters [default: kept, or generated]
  CLOUDFLARE_ACCOUNT_ID         as --account-id

output: progress and wrangler's output on stdout, errors on stderr, exit 0 on success;
the bootstrap token is printed once on stdout. Nothing in the repository is changed.`;

/** Parses argv and the environment; throws UsageError on anything malformed. */
export function parseArgs(argv, env = {}) {
  const opts = Object.fromEntries(OPTIONS.map((o) => [o.name, o.value ? null : false]));
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith("--") ? argv[i].split(/=(.*)/s) : [argv[i]];
    const o = OPTIONS.find((x) => x.flag === flag || x.alias === flag);
    if (!o) throw new UsageError(`unknown option ${argv[i]}`);
    if (!o.value) {
      if (inline !== undefined) throw new UsageError(`${o.flag} takes no value`);
      opts[o.name] = true;
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined || v === "" || (inline === undefined && v.startsWith("--"))) throw new UsageError(`${o.flag} needs a value ${o.value}`);
    const bad = o.check?.(v);
    if (bad) throw new UsageError(`${o.flag}: ${bad}`);
    opts[o.name] = v;
  }
  const e = (n) => (env[n] ? String(env[n]).trim() : null);
  opts.accountId ??= e("CLOUDFLARE_ACCOUNT_ID");
  if (opts.accountId && !ACCOUNT_ID_RE.test(opts.accountId)) throw new UsageError("CLOUDFLARE_ACCOUNT_ID must be 32 hex digits");
  if (opts.domain) opts.domain = opts.domain.toLowerCase();
  opts.adminToken = e("ADMIN_TOKEN");
  if (opts.adminToken && opts.adminToken.length < 16) throw new UsageError("ADMIN_TOKEN must be at least 16 characters");
  const [id, secret] = [e("R2_S3_ACCESS_KEY_ID"), e("R2_S3_SECRET_ACCESS_KEY")];
  if (Boolean(id) !== Boolean(secret)) throw new UsageError("set both R2_S3_ACCESS_KEY_ID and R2_S3_SECRET_ACCESS_KEY, or neither");
  if (id && !(R2_KEY_RE.test(id) && R2_KEY_RE.test(secret))) throw new UsageError("R2_S3_ACCESS_KEY_ID / R2_S3_SECRET_ACCESS_KEY do not look like an R2 API token's values");
  opts.r2 = id ? { accessKeyId: id, secretAccessKey: secret } : null;
  return opts;
}

// ---------------------------------------------------------------------------
// Secrets

/** Secrets the deploy generates (32 random bytes, hex) when the Worker lacks them. */
export const GENERATED_SECRETS = ["JWT_SECRET", "S3_CREDENTIAL_SECRET", "ADMIN_TOKEN"];
/** What the Worker needs to presign against R2 (src/config.rs), set together as secrets. */
export const R2_SECRETS = ["R2_ACCOUNT_ID", "R2_S3_BUCKET", "R2_S3_ACCESS_KEY_ID", "R2_S3_SECRET_ACCESS_KEY"];

/** The four R2 values for a token's key pair. */
export const r2Secrets = (r2, accountId, bucket) => ({
  R2_ACCOUNT_ID: accountId,
  R2_S3_BUCKET: bucket,
  R2_S3_ACCESS_KEY_ID: r2.accessKeyId,
  R2_S3_SECRET_ACCESS_KEY: r2.secretAccessKey,
});

/**
 * The secrets this deploy uploads with the new version (`wrangler deploy
 * --secrets-file`; secrets not in it are inherited), given the names the
 * Worker already has (`existing`, [] for a new Worker). Returns
 * { values, notes: [[name, why]], jwtNew, r2: "given" | "kept" | null }.
 */
export function planSecrets(existing, opts, { accountId, bucket, random }) {
  const have = new Set(existing);
  const values = {};
  const notes = [];
  for (const name of GENERATED_SECRETS) {
    if (name === "ADMIN_TOKEN" && opts.adminToken) {
      values[name] = opts.adminToken;
      notes.push([name, "from ADMIN_TOKEN in your environment"]);
    } else if (have.has(name)) notes.push([name, "kept"]);
    else {
      values[name] = random();
      notes.push([name, "generated (32 random bytes, never shown)"]);
    }
  }
  let r2 = null;
  if (opts.r2) {
    Object.assign(values, r2Secrets(opts.r2, accountId, bucket));
    notes.push(["R2_*", "your R2 API token (from the environment)"]);
    r2 = "given";
  } else if (have.has("R2_S3_ACCESS_KEY_ID") && have.has("R2_S3_SECRET_ACCESS_KEY")) {
    notes.push(["R2_*", "kept"]);
    r2 = "kept";
  }
  return { values, notes, jwtNew: "JWT_SECRET" in values, r2 };
}

// ---------------------------------------------------------------------------
// What the user reads about R2

export const r2TokenSteps = (accountId, bucket) => [
  "Presigned R2: file bodies go straight between the apps and R2; the Worker only signs URLs.",
  "It needs an R2 API token, made once in the dashboard:",
  `  1. Open https://dash.cloudflare.com/${accountId}/r2/api-tokens`,
  "     (R2 object storage > Overview > Manage API tokens).",
  "  2. Create Account API token. Permissions: Object Read & Write.",
  `     Specify bucket(s): Apply to specific buckets only > ${bucket}. TTL: Forever.`,
  "  3. Create, then copy the Access Key ID and the Secret Access Key (shown once).",
];

export const WORKER_BYTES_COST = [
  "File bodies will go through the Worker's own /s3/ endpoint: every download (rsapi makes two",
  "GETs per file) and every presigned upload is a Worker request with its CPU, out of the free",
  "plan's 100,000 requests a day. A new device pulling a 10,000-file graph spends 20,000 of them.",
];

export const switchToR2 = (hint) =>
  `To switch to presigned R2 later: run npm run deploy again on a terminal, or set R2_S3_ACCESS_KEY_ID and R2_S3_SECRET_ACCESS_KEY (${hint}).`;

// ---------------------------------------------------------------------------
// R2 CORS

/**
 * The bucket's CORS rules in the shape `wrangler r2 bucket cors set --file`
 * sends to the R2 API (`rules[].allowed.{origins,methods,headers}`; not S3's
 * `CORSRules`). Only browsers look at CORS: a web or patched client PUTs and
 * GETs presigned URLs with these headers (PROTOCOL.md §7.2, §7.4); R2 does not
 * take "*" for headers reliably, so they are listed.
 */
export function corsRules() {
  const headers = ["authorization", "cache-control", "content-md5", "content-range", "content-type", "if-match",
    "if-none-match", "range", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token", "x-amz-user-agent"];
  return {
    rules: [{
      id: "logseq-sync-clients",
      allowed: { origins: ["*"], methods: ["GET", "PUT", "HEAD"], headers },
      exposeHeaders: ["content-length", "content-range", "content-type", "etag"],
      maxAgeSeconds: 3600,
    }],
  };
}

/** Checks a CORS document against the R2 API's shape; returns it or throws. */
export function validateCors(doc) {
  const strings = (v) => Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === "string" && s.length > 0);
  const ok = Array.isArray(doc?.rules) && doc.rules.length > 0 && !("CORSRules" in doc) && doc.rules.every((r) =>
    Object.keys(r).every((k) => ["id", "allowed", "exposeHeaders", "maxAgeSeconds"].includes(k)) &&
    Object.keys(r.allowed ?? {}).every((k) => ["origins", "methods", "headers"].includes(k)) &&
    strings(r.allowed?.origins) && strings(r.allowed?.methods) &&
    r.allowed.methods.every((m) => ["GET", "PUT", "POST", "DELETE", "HEAD"].includes(m)) &&
    (r.allowed.headers === undefined || strings(r.allowed.headers)) &&
    (r.exposeHeaders === undefined || strings(r.exposeHeaders)) &&
    (r.maxAgeSeconds === undefined || (Number.isInteger(r.maxAgeSeconds) && r.maxAgeSeconds >= 0 && r.maxAgeSeconds <= 86400)));
  if (!ok) throw new Error(`CORS rules are not in the R2 API's shape: ${JSON.stringify(doc).slice(0, 200)}`);
  return doc;
}

// ---------------------------------------------------------------------------
// wrangler's output (formats of wrangler 4.164, wrangler-dist/cli.js)

const plain = (s) => s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");

/** The JSON document in a command's stdout, banners around it tolerated. */
export function parseJsonOutput(text) {
  const lines = plain(text).trim().split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*[[{]/.test(lines[i])) continue;
    for (let j = lines.length; j > i; j--) {
      try {
        return JSON.parse(lines.slice(i, j).join("\n"));
      } catch {
        // a shorter tail
      }
    }
  }
  throw new Error(`no JSON in wrangler's output: ${text.slice(0, 200)}`);
}

/** `wrangler secret list --format json` failed because the Worker does not exist yet. */
export const isWorkerNotFound = (text) => /Worker "[^"]+"(?: \(env: [^)]*\))? not found|\[code: 10007\]/.test(plain(text));

/** `wrangler d1 migrations apply --remote` failed because the database is not provisioned yet. */
export const isDatabaseMissing = (text) => /Couldn't find (?:a|an auto-provisioned) D1 DB named/.test(plain(text));

/** `wrangler deploy` (non-interactive) stopped because the account has no workers.dev subdomain. */
export const isSubdomainMissing = (text) => /register a workers\.dev subdomain/.test(plain(text));

/** Worker URLs from the "deploy" entry of WRANGLER_OUTPUT_FILE_PATH (ndjson). */
export function deployUrls(ndjson) {
  const urls = [];
  for (const line of ndjson.split("\n")) {
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry?.type !== "deploy" || !Array.isArray(entry.targets)) continue;
    for (const t of entry.targets) {
      if (/^https:\/\/[^\s/]+$/.test(t)) urls.push(t);
      else if (/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(t)) urls.push(`https://${t}`);
    }
  }
  return [...new Set(urls)];
}

/** Binding names in `wrangler deploy`'s binding table ("env.NAME ..." lines). */
export const parseBindings = (text) => [...plain(text).matchAll(/^env\.([A-Za-z0-9_]+)\s/gm)].map((m) => m[1]);

/** "Total Upload: X KiB / gzip: Y KiB", in KiB. */
export function parseUploadSize(text) {
  const m = plain(text).match(/Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/);
  return m ? { rawKiB: Number(m[1]), gzipKiB: Number(m[2]) } : null;
}
