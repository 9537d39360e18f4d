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
//
// Defaults: --url http://127.0.0.1:8787 (or $LOGSEQ_SYNC_URL), --token from
// $ADMIN_TOKEN, else from .dev.vars (the local server's).

import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, readVarsFile } from "./lib/tools.mjs";
import { exportGraph, importGraph } from "./lib/backup.mjs";

const USAGE = `usage: npm run admin -- [--url URL] [--token ADMIN_TOKEN] <command> [args]
commands: create-user <email> | users | graphs | usage | mint <email> [label] | tokens <email> | revoke <id>
          | export <graph-id> <dir> | import <dir> <email> [graph name]`;

function parseArgs(argv) {
  const opts = { url: process.env.LOGSEQ_SYNC_URL ?? "http://127.0.0.1:8787", token: process.env.ADMIN_TOKEN };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--url") opts.url = argv[++i];
    else if (argv[i] === "--token") opts.token = argv[++i];
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

function progress(line) {
  process.stderr.write(`admin: ${line}\n`);
}

const opts = parseArgs(process.argv.slice(2));
const run = commands[opts.command];
if (!run) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
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
