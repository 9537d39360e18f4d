// `npm run admin -- [--url URL] [--token ADMIN_TOKEN] <command> [args]`
// drives the admin interface of a local or deployed server.
//
//   create-user <email>          create a user (or show the existing one)
//   users                        list users with graph count and storage
//   graphs                       list all graphs
//   usage                        totals
//   mint <email> [label]         new ID token + refresh token for a user
//   tokens <email>               list a user's tokens
//   revoke <token id>            revoke a token (and every ID token refreshed from it)
//   export <graph-id> <dir>      write the graph's ciphertexts + encrypted keys to a new
//                                directory, in the layout rsapi's decrypt-cli reads (docs/BACKUP.md)
//   import <dir> <email> [name]  restore such an export into a NEW graph of that user
//   deleted / undelete / restore  getting notes back (docs/RESTORE.md; see --help)
//
// Defaults: --url http://127.0.0.1:8787 (or $LOGSEQ_SYNC_URL), --token from
// $ADMIN_TOKEN, else from .dev.vars (the local server's).

import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, readVarsFile } from "./lib/tools.mjs";
import { exportGraph, importGraph } from "./lib/backup.mjs";

const USAGE = `usage: npm run admin -- [--url URL] [--token ADMIN_TOKEN] <command> [args]
commands: create-user <email> | users | graphs | usage | mint <email> [label] | tokens <email> | revoke <id>
          | export <graph-id> <dir> | import <dir> <email> [graph name]
          | deleted | undelete <graph-id> [--name NAME] | restore <graph-id> (--to-txid N | --to-time T) [--dry-run]
options: --url URL (default $LOGSEQ_SYNC_URL, else http://127.0.0.1:8787), --token TOKEN (default
  $ADMIN_TOKEN, else ADMIN_TOKEN of ./.dev.vars), -h/--help (this text).
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
Output: the server's JSON answer on stdout; errors (one line) and progress on stderr.`;

// Options of the commands that get notes back (deleted, undelete, restore).
const HISTORY_OPTIONS = { "--name": "name", "--to-txid": "toTxid", "--to-time": "toTime" };

function usageError(message) {
  process.stderr.write(`error: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { url: process.env.LOGSEQ_SYNC_URL ?? "http://127.0.0.1:8787", token: process.env.ADMIN_TOKEN };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "-h" || argv[i] === "--help") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (argv[i] === "--url" || argv[i] === "--token" || argv[i] in HISTORY_OPTIONS) {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) usageError(`${argv[i - 1]} needs a value`);
      opts[HISTORY_OPTIONS[argv[i - 1]] ?? argv[i - 1].slice(2)] = v;
    } else if (argv[i] === "--dry-run") opts.dryRun = true;
    else if (argv[i].startsWith("--")) usageError(`unknown option ${argv[i]}`);
    else rest.push(argv[i]);
  }
  if (!opts.token) {
    const vars = join(ROOT, ".dev.vars");
    if (existsSync(vars)) opts.token = readVarsFile(vars).ADMIN_TOKEN;
  }
  return { ...opts, command: rest[0], args: rest.slice(1) };
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

const need = (v, what) => {
  if (!v) throw new Error(`missing ${what}\n${USAGE}`);
  return v;
};

const commands = {
  "create-user": (o, [email]) => call(o, "POST", "/admin/users", { email: need(email, "<email>") }),
  users: (o) => call(o, "GET", "/admin/users"),
  graphs: (o) => call(o, "GET", "/admin/graphs"),
  usage: (o) => call(o, "GET", "/admin/usage"),
  mint: (o, [email, label]) => call(o, "POST", "/admin/tokens", { email: need(email, "<email>"), label }),
  tokens: (o, [email]) => call(o, "GET", `/admin/tokens?email=${encodeURIComponent(need(email, "<email>"))}`),
  revoke: (o, [id]) => call(o, "POST", "/admin/tokens/revoke", { id: need(id, "<token id>") }),
  export: (o, [graphId, dir]) =>
    exportGraph({ url: o.url, token: o.token, graphId: need(graphId, "<graph-id>"), dir: need(dir, "<dir>"), log: progress }),
  import: (o, [dir, email, name]) =>
    importGraph({ url: o.url, token: o.token, dir: need(dir, "<dir>"), email: need(email, "<email>"), name, log: progress }),
};

// ---- getting notes back (docs/RESTORE.md)

/** The restore request from --to-txid / --to-time, or a usage error. */
function restoreTarget(o) {
  if ((o.toTxid === undefined) === (o.toTime === undefined)) usageError("restore: give exactly one of --to-txid N and --to-time T");
  if (o.toTxid !== undefined) {
    if (!/^\d+$/.test(o.toTxid)) usageError(`--to-txid must be a non-negative integer, got ${JSON.stringify(o.toTxid)}`);
    return { to_txid: Number(o.toTxid) };
  }
  const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
  const ms = Date.parse(o.toTime);
  if (!rfc3339.test(o.toTime) || !Number.isFinite(ms)) usageError(`--to-time must be an RFC 3339 time such as 2026-12-01T18:00:00Z, got ${JSON.stringify(o.toTime)}`);
  return { to_time_ms: ms };
}

function onlyFor(o, command, allowed) {
  for (const [flag, key] of [["--name", "name"], ["--to-txid", "toTxid"], ["--to-time", "toTime"], ["--dry-run", "dryRun"]]) {
    if (o[key] !== undefined && !allowed.includes(flag)) usageError(`${command} takes no ${flag}`);
  }
}

Object.assign(commands, {
  deleted: (o) => (onlyFor(o, "deleted", []), call(o, "GET", "/admin/deleted")),
  undelete: (o, [graph]) => {
    onlyFor(o, "undelete", ["--name"]);
    return call(o, "POST", "/admin/undelete", { graph: need(graph, "<graph-id>"), name: o.name });
  },
  restore: async (o, [graph]) => {
    onlyFor(o, "restore", ["--to-txid", "--to-time", "--dry-run"]);
    const first = await call(o, "POST", "/admin/restore", { graph: need(graph, "<graph-id>"), ...restoreTarget(o), dry_run: Boolean(o.dryRun) });
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
    return { ...first, txid: last.txid, committed_files: committed, remaining_files: last.remaining_files, complete: last.complete, pages };
  },
});

function progress(line) {
  process.stderr.write(`admin: ${line}\n`);
}

const opts = parseArgs(process.argv.slice(2));
const run = commands[opts.command];
if (!run) usageError(opts.command ? `unknown command ${opts.command}` : "missing <command>");
if (["deleted", "undelete", "restore"].includes(opts.command)) {
  const max = opts.command === "deleted" ? 0 : 1;
  if (opts.args.length < max) usageError(`${opts.command}: missing argument`);
  if (opts.args.length > max) usageError(`${opts.command}: unexpected argument ${JSON.stringify(opts.args[max])}`);
}
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
