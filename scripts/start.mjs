// `npm start`: installs what is missing, applies the D1 migrations locally and
// serves the Worker on http://127.0.0.1:8787 (PORT overrides) with local D1,
// R2 (and its S3 endpoint) and Durable Objects, until interrupted.

import { parseCli, usageError } from "./lib/cli.mjs";
import { setup, log } from "./lib/tools.mjs";
import { applyMigrations, startDevServer, stopDevServer } from "./lib/devserver.mjs";

const USAGE = `usage: npm start [-- --port N]
Builds the Worker, applies the D1 migrations locally and serves it on http://127.0.0.1:<port>
with local D1, R2 and Durable Objects (state in .wrangler/), until Ctrl-C.
  --port N    port to listen on (default: $PORT, else 8787)
  -h, --help  this text
Output: progress and the server's log on stderr/stdout; first run installs the tools (minutes).`;

const { values } = parseCli(process.argv.slice(2), { usage: USAGE, options: { port: { type: "string" } } });
const port = Number(values.port ?? process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 1 || port > 65535)
  usageError(USAGE, `port must be 1-65535, got ${values.port ?? process.env.PORT}`);
const { node } = setup();
applyMigrations(node);
const { child, url } = await startDevServer({ node, port });
log(`Logseq Sync server ready at ${url}  (Ctrl-C to stop)`);
log(`a bearer token for local use: npm run --silent token -- you@example.com`);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await stopDevServer(child);
    process.exit(0);
  });
}
child.on("exit", (code) => process.exit(code ?? 0));
