// The stock rsapi under a DNS override, for tests/e2e/connect-lan.test.mjs. Runs in its own
// mount namespace (`unshare -m`, root) where /etc/hosts is bind-mounted to send api.logseq.com
// and the bucket host to 127.0.0.1, exactly what a router's override does for a phone. It
// starts the transparent listener on 127.0.0.1:443 (the port rsapi's URLs imply) and lets rsapi
// upload from DIR_A and download into DIR_B WITHOUT a proxy. It refuses to call rsapi unless
// every sync host resolves to 127.0.0.1 here, so it can never reach the real service.
// Prints one JSON line: { txid, log } (or { error }).
//
// env: WORKER_URL, TOKEN, GRAPH, SECRET_KEY, PUBLIC_KEY, DIR_A, DIR_B, FILES (JSON list)

import dns from "node:dns/promises";
import { makeCa, HOSTS } from "../../scripts/lib/connect-proxy.mjs";
import { startLanConnect } from "../../scripts/lib/connect-lan.mjs";
import { raw } from "./rsapi.mjs";

const e = process.env;
const log = [];
let lan;
try {
  for (const h of [HOSTS.api, HOSTS.bucket]) {
    const { address } = await dns.lookup(h, { family: 4 });
    if (address !== "127.0.0.1")
      throw new Error(`${h} resolves to ${address}, not 127.0.0.1: no DNS override, not calling rsapi`);
  }
  lan = await startLanConnect({
    serverUrl: e.WORKER_URL,
    ca: makeCa(),
    listen: "127.0.0.1",
    port: 0,
    transparentPort: 443,
    log: (l) => log.push(l),
  });
  const files = JSON.parse(e.FILES);
  await raw.setEnv(e.GRAPH, "prod", e.SECRET_KEY, e.PUBLIC_KEY);
  const txid = await raw.updateRemoteFiles(e.GRAPH, e.DIR_A, files, 0, e.TOKEN);
  await raw.updateLocalFiles(e.GRAPH, e.DIR_B, files, e.TOKEN);
  process.stdout.write(JSON.stringify({ txid, log }) + "\n");
} catch (err) {
  process.stdout.write(JSON.stringify({ error: err.message, log }) + "\n");
} finally {
  await lan?.close();
  process.exit(0);
}
