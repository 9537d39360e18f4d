// `npm run --silent token -- <email>`: prints a bearer token for that email's
// user on the local development server (secret from .dev.vars). The same
// email always gives the same user id.

import { join } from "node:path";
import { existsSync } from "node:fs";
import { parseCli, usageError } from "./lib/cli.mjs";
import { ROOT, readVarsFile, ensureDevVars } from "./lib/tools.mjs";
import { mintToken } from "./lib/jwt.mjs";

const USAGE = `usage: npm run --silent token -- <email>
Prints a bearer token (HS256 ID token) for <email>'s user on the local server, signed with
JWT_SECRET from .dev.vars (created from .dev.vars.example when missing). No options.
Output: the token and a newline on stdout.`;
const { positionals } = parseCli(process.argv.slice(2), { usage: USAGE, positionals: [1, 1] });
const email = positionals[0];
if (!/^[^\s@]+@[^\s@]+$/.test(email)) usageError(USAGE, `not an email address: ${JSON.stringify(email)}`);
ensureDevVars();
const vars = readVarsFile(join(ROOT, ".dev.vars"));
if (!vars.JWT_SECRET || !existsSync(join(ROOT, ".dev.vars"))) {
  process.stderr.write("JWT_SECRET missing from .dev.vars\n");
  process.exit(1);
}
process.stdout.write(mintToken(vars.JWT_SECRET, email) + "\n");
