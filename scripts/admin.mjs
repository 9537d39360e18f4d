// `npm run admin -- [--url URL] [--token ADMIN_TOKEN] <command> [args]`
// drives the admin interface of a local or deployed server. `--help` lists
// every command and option. Arguments are parsed, and --help answered, before
// anything else is imported.

const USAGE = `usage: npm run admin -- [--url URL] [--token ADMIN_TOKEN] <command> [args]

options:
  --url URL        the server (default $LOGSEQ_SYNC_URL, else http://127.0.0.1:8787)
  --token TOKEN    its ADMIN_TOKEN (default $ADMIN_TOKEN, else ADMIN_TOKEN of ./.dev.vars)
  -h, --help       this text

commands (each prints the server's JSON answer on stdout; errors and progress go to stderr):
  create-user <email>          create a user (or show the existing one)
  users                        list users with graph count and storage
  graphs                       list all graphs
  usage                        totals
  mint <email> [label]         new ID token + refresh token for a user
  tokens <email>               list a user's tokens
  revoke <token id>            revoke a token (and every ID token refreshed from it)
  pair <code> <email>          approve the browser showing this pairing code for that user; prints
                               the browser's label (docs/API.md "Device pairing")
  revoke-all <email>           refuse every credential the user holds now: all its tokens,
                               self-issued ones and Logseq-account sessions (docs/SECURITY.md)
  allow <email|sub>            allow a Logseq account to sign in (verified email or Cognito sub)
  allowed                      list allowed Logseq accounts (from the deploy var and from here)
  disallow <email|sub>         remove an allowed Logseq account; it is shut out at once
  export <graph-id> <dir>      write the graph's ciphertexts + encrypted keys to a new
                               directory, in the layout rsapi's decrypt-cli reads (docs/BACKUP.md)
  import <dir> <email> [name]  restore such an export into a NEW graph of that user

getting notes back (docs/RESTORE.md):
  deleted                       list deleted graphs still recoverable, with the time each stays so
  undelete <graph-id>           bring a deleted graph back under its name; --name NAME: under
                                another name (when the user has reused the old one)
  restore <graph-id>            make the current files what they were after a transaction: one
                                new transaction every device pulls (more than 500 files: in pages
                                of 500, progress on stderr); prints how to undo it
    --to-txid N                 after transaction N
    --to-time T                 after the last transaction at or before T (RFC 3339, e.g.
                                2026-12-01T18:00:00Z)
    --dry-run                   print what would change (files and bytes per kind), change nothing

Output: the server's JSON answer on stdout (export/import: their summary); progress and errors
on stderr; exit 1 when the server refuses, 2 on a usage error.
`;

/** Required arguments and the optional ones of each command. */
const ARITY = {
  "create-user": [1, 0],
  users: [0, 0],
  graphs: [0, 0],
  usage: [0, 0],
  mint: [1, 1],
  tokens: [1, 0],
  revoke: [1, 0],
  pair: [2, 0],
  "revoke-all": [1, 0],
  allow: [1, 0],
  allowed: [0, 0],
  disallow: [1, 0],
  export: [2, 0],
  import: [2, 1],
  deleted: [0, 0],
  undelete: [1, 0],
  restore: [1, 0],
};

// Options of the commands that get notes back, and which command takes which.
const HISTORY_OPTIONS = { "--name": "name", "--to-txid": "toTxid", "--to-time": "toTime" };
const HISTORY_FLAGS = { undelete: ["--name"], restore: ["--to-txid", "--to-time", "--dry-run"] };

function fail(message) {
  process.stderr.write(`admin: ${message}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { url: process.env.LOGSEQ_SYNC_URL ?? "http://127.0.0.1:8787", token: process.env.ADMIN_TOKEN };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (a === "--url" || a === "--token") {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) fail(`${a} needs a value`);
      opts[a.slice(2)] = v;
    } else if (a in HISTORY_OPTIONS) {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) fail(`${a} needs a value`);
      opts[HISTORY_OPTIONS[a]] = v;
      (opts.flags ??= []).push(a);
    } else if (a === "--dry-run") {
      opts.dryRun = true;
      (opts.flags ??= []).push(a);
    } else if (a.startsWith("-")) fail(`unknown option ${a}`);
    else rest.push(a);
  }
  const [command, ...args] = rest;
  if (!command) fail("missing <command>");
  const arity = ARITY[command];
  if (!arity) fail(`unknown command ${command}`);
  if (args.length < arity[0]) fail(`${command}: missing argument`);
  if (args.length > arity[0] + arity[1]) fail(`${command}: too many arguments`);
  for (const f of opts.flags ?? []) if (!(HISTORY_FLAGS[command] ?? []).includes(f)) fail(`${command} takes no ${f}`);
  return { ...opts, command, args };
}

const opts = parseArgs(process.argv.slice(2));
const { existsSync } = await import("node:fs");
const { join } = await import("node:path");
const { ROOT, readVarsFile } = await import("./lib/tools.mjs");
const { exportGraph, importGraph } = await import("./lib/backup.mjs");
if (!opts.token) {
  const vars = join(ROOT, ".dev.vars");
  if (existsSync(vars)) opts.token = readVarsFile(vars).ADMIN_TOKEN;
}

async function call(opts, method, path, body) {
  const res = await fetch(`${opts.url.replace(/\/$/, "")}${path}`, {
    method,
    headers: { authorization: `Bearer ${opts.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { message: text };
  }
  if (!res.ok) throw new Error(`${res.status}: ${json.message ?? text}`);
  return json;
}

const commands = {
  "create-user": (o, [email]) => call(o, "POST", "/admin/users", { email: email }),
  users: (o) => call(o, "GET", "/admin/users"),
  graphs: (o) => call(o, "GET", "/admin/graphs"),
  usage: (o) => call(o, "GET", "/admin/usage"),
  mint: (o, [email, label]) => call(o, "POST", "/admin/tokens", { email: email, label }),
  tokens: (o, [email]) => call(o, "GET", `/admin/tokens?email=${encodeURIComponent(email)}`),
  revoke: (o, [id]) => call(o, "POST", "/admin/tokens/revoke", { id: id }),
  pair: (o, [code, email]) => call(o, "POST", "/admin/pair", { code, email }),
  "revoke-all": (o, [email]) => call(o, "POST", "/admin/users/revoke-all", { email }),
  allow: (o, [account]) => call(o, "POST", "/admin/accounts", { account }),
  allowed: (o) => call(o, "GET", "/admin/accounts"),
  disallow: (o, [account]) => call(o, "POST", "/admin/accounts/remove", { account }),
  export: (o, [graphId, dir]) => exportGraph({ url: o.url, token: o.token, graphId: graphId, dir: dir, log: progress }),
  import: (o, [dir, email, name]) =>
    importGraph({ url: o.url, token: o.token, dir: dir, email: email, name, log: progress }),
};

// ---- getting notes back (docs/RESTORE.md)

/** The restore request from --to-txid / --to-time, or a usage error. */
function restoreTarget(o) {
  if ((o.toTxid === undefined) === (o.toTime === undefined))
    fail("restore: give exactly one of --to-txid N and --to-time T");
  if (o.toTxid !== undefined) {
    if (!/^\d+$/.test(o.toTxid)) fail(`--to-txid must be a non-negative integer, got ${JSON.stringify(o.toTxid)}`);
    return { to_txid: Number(o.toTxid) };
  }
  const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
  const ms = Date.parse(o.toTime);
  if (!rfc3339.test(o.toTime) || !Number.isFinite(ms))
    fail(`--to-time must be an RFC 3339 time such as 2026-12-01T18:00:00Z, got ${JSON.stringify(o.toTime)}`);
  return { to_time_ms: ms };
}

Object.assign(commands, {
  deleted: (o) => call(o, "GET", "/admin/deleted"),
  undelete: (o, [graph]) => call(o, "POST", "/admin/undelete", { graph, name: o.name }),
  restore: async (o, [graph]) => {
    const first = await call(o, "POST", "/admin/restore", { graph, ...restoreTarget(o), dry_run: Boolean(o.dryRun) });
    if (first.dry_run || first.complete) return first;
    // A big restore is committed in pages of 500 files, one request each (docs/RESTORE.md).
    let last = first;
    let committed = first.committed_files;
    let pages = 1;
    for (let i = 0; i < 100_000 && !last.complete; i++) {
      progress(`restore: ${committed} files committed, ${last.remaining_files} to go`);
      last = await call(o, "POST", "/admin/restore", { graph, to_txid: first.to_txid });
      committed += last.committed_files;
      pages++;
    }
    return {
      ...first,
      txid: last.txid,
      committed_files: committed,
      remaining_files: last.remaining_files,
      complete: last.complete,
      pages,
    };
  },
});

function progress(line) {
  process.stderr.write(`admin: ${line}\n`);
}

const run = commands[opts.command];
if (!opts.token) {
  process.stderr.write("no admin token: pass --token, set ADMIN_TOKEN, or run from a checkout with .dev.vars\n");
  process.exit(2);
}
try {
  process.stdout.write(`${JSON.stringify(await run(opts, opts.args), null, 2)}\n`);
} catch (e) {
  process.stderr.write(`admin: ${e.message}\n`);
  process.exit(1);
}
