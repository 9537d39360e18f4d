// Pure parts of `npm run deploy` (scripts/deploy.mjs): options and usage, the
// secrets a deploy sets, the R2 CORS rules, readers of wrangler's output. Only
// node: builtins, so --help works before anything is installed; unit-tested in
// tests/e2e/deploy.test.mjs.

import { parseArgv, UsageError } from "./cli.mjs";

export { UsageError };

const ACCOUNT_ID_RE = /^[0-9a-f]{32}$/;
const HOST_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An R2 API token's values are 32 and 64 characters; looser, to stay future-proof. */
export const R2_KEY_RE = /^[A-Za-z0-9]{16,128}$/;

/**
 * The options, one entry each; the usage is generated from them. `value`
 * names the argument of an option that takes one, `check` returns an error or
 * null. Another option is another entry (and its use in deploy.mjs).
 */
export const OPTIONS = [
  {
    name: "dryRun",
    flag: "--dry-run",
    default: "off",
    help: "check offline what needs no account (migrations on a fresh local D1, the config built and bundled)",
  },
  {
    name: "email",
    flag: "--email",
    value: "<you@example.com>",
    default: "none",
    help: "print one bootstrap token for this email when this deploy creates JWT_SECRET",
    check: (v) => (/^[^\s@]+@[^\s@]+$/.test(v) ? null : `${v} is not an email address`),
  },
  {
    name: "accountId",
    flag: "--account-id",
    value: "<id>",
    default: "$CLOUDFLARE_ACCOUNT_ID, else the login's only account",
    help: "the Cloudflare account, when your login sees several",
    check: (v) => (ACCOUNT_ID_RE.test(v) ? null : "must be 32 hex digits"),
  },
  {
    name: "domain",
    flag: "--domain",
    value: "<sync.example.org>",
    default: "none, workers.dev only",
    help: "attach this custom domain (a zone on the same account); once is enough",
    check: (v) => (HOST_RE.test(v.toLowerCase()) ? null : `${v} is not a host name`),
  },
  {
    name: "allowLogseqAccount",
    flag: "--allow-logseq-account",
    value: "<email or sub>",
    repeat: true,
    default: "none: no Logseq account may sign in",
    help: "let this Logseq account sign in with the app's own login (repeatable; replaces the list set by an\n      earlier deploy, sets ALLOWED_LOGSEQ_ACCOUNTS; more later with npm run admin -- allow <email>)",
    check: (v) =>
      /^[^\s@,]+@[^\s@,]+$/.test(v) || UUID_RE.test(v)
        ? null
        : `${v} is neither an email address nor a Cognito sub (UUID)`,
  },
  { name: "help", flag: "--help", alias: "-h", default: "", help: "print this and exit" },
];

const optionUsage = (o) => {
  const flag = `${o.alias ? `${o.alias}, ` : ""}${o.flag}${o.value ? ` ${o.value}` : ""}`;
  return `  ${flag}${o.default ? `  [default: ${o.default}]` : ""}\n      ${o.help}`;
};

export const USAGE = `usage: npm run deploy -- [options]

Deploys to the Cloudflare account wrangler is logged in to (on a terminal it runs
wrangler login first when needed); running it again upgrades. docs/DEPLOY.md has the steps.

${OPTIONS.map(optionUsage).join("\n")}

environment:
  R2_S3_ACCESS_KEY_ID, R2_S3_SECRET_ACCESS_KEY  [default: asked on a terminal, else none]
      an R2 API token's two values, for presigned URLs on unattended runs
  ADMIN_TOKEN  [default: the Worker's, else generated]
      your admin token, at least 16 characters
  CLOUDFLARE_ACCOUNT_ID
      as --account-id

output: progress and wrangler's output on stdout, errors on stderr; exit 0 on success. The
bootstrap token is printed once, on stdout. Nothing in the repository is changed.`;

/** Parses argv and the environment; throws UsageError on anything malformed. */
export function parseArgs(argv, env = {}) {
  const options = Object.fromEntries(
    OPTIONS.filter((o) => o.name !== "help").map((o) => [
      o.flag.slice(2),
      { type: o.value ? "string" : "boolean", multiple: Boolean(o.repeat) },
    ]),
  );
  const { values } = parseArgv(argv, { options });
  const opts = { help: Boolean(values.help) };
  for (const o of OPTIONS.filter((x) => x.name !== "help")) {
    const v = values[o.flag.slice(2)];
    if (!o.value) {
      opts[o.name] = Boolean(v);
      continue;
    }
    for (const one of o.repeat ? (v ?? []) : [v]) {
      if (one === undefined) continue;
      if (one === "") throw new UsageError(`${o.flag} needs a value ${o.value}`);
      const bad = o.check?.(one);
      if (bad) throw new UsageError(`${o.flag}: ${bad}`);
    }
    opts[o.name] = v ?? null;
  }
  const e = (n) => (env[n] ? String(env[n]).trim() : null);
  opts.accountId ??= e("CLOUDFLARE_ACCOUNT_ID");
  if (opts.accountId && !ACCOUNT_ID_RE.test(opts.accountId))
    throw new UsageError("CLOUDFLARE_ACCOUNT_ID must be 32 hex digits");
  opts.domain = opts.domain?.toLowerCase() ?? null;
  opts.adminToken = e("ADMIN_TOKEN");
  if (opts.adminToken && opts.adminToken.length < 16)
    throw new UsageError("ADMIN_TOKEN must be at least 16 characters");
  const [id, secret] = [e("R2_S3_ACCESS_KEY_ID"), e("R2_S3_SECRET_ACCESS_KEY")];
  if (Boolean(id) !== Boolean(secret))
    throw new UsageError("set both R2_S3_ACCESS_KEY_ID and R2_S3_SECRET_ACCESS_KEY, or neither");
  if (id && !(R2_KEY_RE.test(id) && R2_KEY_RE.test(secret))) {
    throw new UsageError("R2_S3_ACCESS_KEY_ID and R2_S3_SECRET_ACCESS_KEY do not look like an R2 API token");
  }
  opts.r2 = id ? { accessKeyId: id, secretAccessKey: secret } : null;
  return opts;
}

/** Secrets the deploy generates (32 random bytes, hex) when the Worker lacks them. */
export const GENERATED_SECRETS = ["JWT_SECRET", "S3_CREDENTIAL_SECRET", "ADMIN_TOKEN"];
/** What the Worker needs to presign against R2 (src/config.rs), set together as secrets. */
export const R2_SECRETS = ["R2_ACCOUNT_ID", "R2_S3_BUCKET", "R2_S3_ACCESS_KEY_ID", "R2_S3_SECRET_ACCESS_KEY"];
export const r2Secrets = (r2, accountId, bucket) => ({
  R2_ACCOUNT_ID: accountId,
  R2_S3_BUCKET: bucket,
  R2_S3_ACCESS_KEY_ID: r2.accessKeyId,
  R2_S3_SECRET_ACCESS_KEY: r2.secretAccessKey,
});

/**
 * The secrets to upload with the new version (`wrangler deploy
 * --secrets-file`; those not in it are inherited), given the names the
 * Worker has (`existing`, [] for a new one). Returns { values, kept, r2 },
 * r2 being "given", "kept" or null (bytes through the Worker).
 */
export function planSecrets(existing, opts, { accountId, bucket, random }) {
  const values = {};
  for (const name of GENERATED_SECRETS) if (!existing.includes(name)) values[name] = random();
  if (opts.adminToken) values.ADMIN_TOKEN = opts.adminToken;
  if (opts.r2) Object.assign(values, r2Secrets(opts.r2, accountId, bucket));
  if (opts.allowLogseqAccount?.length) values.ALLOWED_LOGSEQ_ACCOUNTS = opts.allowLogseqAccount.join(",");
  const r2 = opts.r2
    ? "given"
    : ["R2_S3_ACCESS_KEY_ID", "R2_S3_SECRET_ACCESS_KEY"].every((n) => existing.includes(n))
      ? "kept"
      : null;
  return { values, kept: existing.filter((n) => !(n in values)), r2 };
}

export const r2TokenSteps = (accountId, bucket) => `
Presigned R2: file bodies go straight between the apps and R2; the Worker only signs URLs.
It needs an R2 API token, made once in the dashboard (Cloudflare's R2 docs, "Authentication"):
  1. Open https://dash.cloudflare.com/${accountId}/r2/overview and select Manage R2 API tokens.
  2. Create Account API token. Permissions: Object Read & Write. Specify bucket(s):
     Apply to specific buckets only, ${bucket}.
  3. Create Account API Token, then copy the Access Key ID and the Secret Access Key (shown once).`;

export const WORKER_BYTES = `File bodies go through the Worker's own /s3/ endpoint: every download (rsapi makes two GETs
per file) and every presigned upload is a Worker request, with its CPU, out of the free plan's
100,000 requests a day; a new device pulling a 10,000-file graph spends 20,000 of them.
To switch to presigned R2 later: run npm run deploy again on a terminal, or with
R2_S3_ACCESS_KEY_ID and R2_S3_SECRET_ACCESS_KEY set (docs/DEPLOY.md).`;

/**
 * The bucket's CORS rules, in the shape `wrangler r2 bucket cors set --file`
 * sends to the R2 API (not S3's `CORSRules`). Only browsers look at CORS: a
 * web or patched client sends these headers to presigned URLs (PROTOCOL.md
 * §7.2, §7.4); R2 does not take "*" for headers reliably, so they are listed.
 */
export const corsRules = () => ({
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
});

// wrangler 4.164's output (wrangler-dist/cli.js).
const plain = (s) => s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");

/** The JSON document in a command's output, from its first line that opens one. */
export function parseJsonOutput(text) {
  const at = plain(text).search(/^\s*[[{]/m);
  if (at < 0) throw new Error(`no JSON in wrangler's output: ${text.slice(0, 200)}`);
  return JSON.parse(plain(text).slice(at));
}

/** `wrangler secret list` failed because the Worker does not exist yet. */
export const isWorkerNotFound = (text) =>
  /Worker "[^"]+"(?: \(env: [^)]*\))? not found|\[code: 10007\]/.test(plain(text));
/** `wrangler d1 migrations apply --remote` failed because the database is not provisioned yet. */
export const isDatabaseMissing = (text) => /Couldn't find (?:a|an auto-provisioned) D1 DB named/.test(plain(text));
/** Binding names in `wrangler deploy`'s binding table ("env.NAME ..." lines). */
export const parseBindings = (text) => [...plain(text).matchAll(/^env\.([A-Za-z0-9_]+)\s/gm)].map((m) => m[1]);

/** "Total Upload: X KiB / gzip: Y KiB", in KiB. */
export function parseUploadSize(text) {
  const m = plain(text).match(/Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/);
  return m ? { rawKiB: Number(m[1]), gzipKiB: Number(m[2]) } : null;
}
