// Client-address refusal of the LAN listener, for tests/e2e/connect-lan.test.mjs. Runs in a
// network namespace of its own (`unshare -n`, root) whose loopback also carries 10.0.0.1 (a
// private LAN address to listen on) and 203.0.113.5 (a public one, TEST-NET-3, to come from).
// Nothing leaves the namespace. Prints one JSON line: what each client got, and the log.

import net from "node:net";
import { makeCa } from "../../scripts/lib/connect-proxy.mjs";
import { startLanConnect } from "../../scripts/lib/connect-lan.mjs";

const log = [];

/** CONNECT api.logseq.com:443 from `localAddress`; resolves with the first answer line or 'closed'. */
function tryFrom(localAddress, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "10.0.0.1", port, localAddress }, () =>
      s.write("CONNECT api.logseq.com:443 HTTP/1.1\r\nHost: api.logseq.com:443\r\n\r\n"),
    );
    s.setTimeout(5_000, () => s.destroy());
    let got = "";
    s.on("data", (c) => {
      got += c.toString("latin1");
      s.destroy();
    });
    s.on("error", () => {});
    s.on("close", () => resolve(got ? got.split("\r\n")[0] : "closed"));
  });
}

let lan;
try {
  lan = await startLanConnect({
    serverUrl: "http://127.0.0.1:9",
    ca: makeCa(),
    listen: "10.0.0.1",
    port: 0,
    transparentPort: 0,
    log: (l) => log.push(l),
  });
  const publicClient = await tryFrom("203.0.113.5", lan.proxyPort);
  const privateClient = await tryFrom("10.0.0.1", lan.proxyPort);
  let forced = null;
  await lan.close();
  lan = await startLanConnect({
    serverUrl: "http://127.0.0.1:9",
    ca: makeCa(),
    listen: "10.0.0.1",
    port: 0,
    force: true,
    log: (l) => log.push(l),
  });
  forced = await tryFrom("203.0.113.5", lan.proxyPort);
  process.stdout.write(JSON.stringify({ publicClient, privateClient, forced, log }) + "\n");
} catch (err) {
  process.stdout.write(JSON.stringify({ error: err.message, log }) + "\n");
} finally {
  await lan?.close();
  process.exit(0);
}
