// `npm start`: installs what is missing, applies the D1 migrations locally and
// serves the Worker on http://127.0.0.1:8787 (PORT overrides) with local D1,
// R2 (and its S3 endpoint) and Durable Objects, until interrupted.

import { setup, log } from "./lib/tools.mjs";
import { applyMigrations, startDevServer, stopDevServer } from "./lib/devserver.mjs";

const port = Number(process.env.PORT ?? 8787);
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
