// `npm run --silent token -- <email>`: prints a bearer token for that email's
// user on the local development server (secret from .dev.vars). The same
// email always gives the same user id.

import { join } from "node:path";
import { existsSync } from "node:fs";
import { ROOT, readVarsFile, ensureDevVars } from "./lib/tools.mjs";
import { mintToken } from "./lib/jwt.mjs";

const email = process.argv[2];
if (!email || !/^[^\s@]+@[^\s@]+$/.test(email)) {
  process.stderr.write("usage: npm run --silent token -- <email>\n");
  process.exit(2);
}
ensureDevVars();
const vars = readVarsFile(join(ROOT, ".dev.vars"));
if (!vars.JWT_SECRET || !existsSync(join(ROOT, ".dev.vars"))) {
  process.stderr.write("JWT_SECRET missing from .dev.vars\n");
  process.exit(1);
}
process.stdout.write(mintToken(vars.JWT_SECRET, email) + "\n");
