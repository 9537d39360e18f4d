// `npm run connect -- --listen <address> [--transparent-port N]` (scripts/lib/connect-lan.mjs):
// phones on the home network. The LAN proxy answers CONNECT only for the sync and sign-in
// hosts, serves the CA profile and a PAC file; the transparent listener takes TLS for the
// intercepted hosts by SNI (a DNS override). Driven with the iOS test client and the stock
// rsapi through the LAN proxy, and the iOS client through the transparent listener (its
// "DNS" resolves the sync hosts to the listener, as a router's override would). Refusals leave
// a log line and never reach the server. The CLI's options and errors.
//
// Needs WORKER_URL and JWT_SECRET (the worker's) in the environment.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import vm from "node:vm";

import { makeCa, INTERCEPTED_HOSTS, HOSTS } from "../../scripts/lib/connect-proxy.mjs";
import { startLanConnect, isPrivateAddress, checkListenAddress, LAN_HOSTS } from "../../scripts/lib/connect-lan.mjs";
import { CHROMIUM_FLAGS } from "../harness/chromium.mjs";
import { appCall } from "../harness/client.mjs";
import { jwtSecret, newUser } from "../harness/auth.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { makeDeviceDir, removeDirs, writeFiles } from "../harness/graph.mjs";
import { IosSyncClient, phoneNetwork } from "../harness/ios-client.mjs";

const WORKER_URL = process.env.WORKER_URL;
const STEP = { timeout: 45_000 };
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");

let ca;
let lan;
const lines = [];
const dirs = [];

before(
  async () => {
    if (!WORKER_URL) throw new Error("WORKER_URL is not set (e.g. WORKER_URL=http://127.0.0.1:8787)");
    jwtSecret();
    ca = makeCa();
    lan = await startLanConnect({
      serverUrl: WORKER_URL,
      ca,
      listen: "127.0.0.1",
      port: 0,
      transparentPort: 0,
      log: (l) => lines.push(l),
    });
  },
  { timeout: 15_000 },
);

after(
  async () => {
    await rsapi.setProxy(null).catch(() => {});
    await lan?.close();
    await removeDirs(dirs);
  },
  { timeout: 15_000 },
);

/** Send `text` on a fresh connection to the LAN proxy; resolves with everything it answers. */
function rawExchange(port, text) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => s.write(text));
    let out = "";
    s.setTimeout(10_000, () => s.destroy(new Error("timeout")));
    s.on("data", (c) => {
      out += c.toString("latin1");
    });
    s.on("error", reject);
    s.on("close", () => resolve(out));
  });
}

/** A graph with keys for a fresh user; returns { user, graph, keys }. */
async function newGraph(name) {
  const user = newUser(name);
  const created = await appCall(WORKER_URL, "create_graph", { GraphName: `${name} notes` }, user.token);
  assert.equal(created.status, 200, created.text);
  const graph = created.json.GraphUUID;
  const keys = await rsapi.keygen();
  const armored = (await rsapi.ageEncryptWithPassphrase("pw", keys.secretKey)).toString("utf8");
  const up = await appCall(
    WORKER_URL,
    "upload_graph_encrypt_keys",
    { GraphUUID: graph, "public-key": keys.publicKey, "encrypted-private-key": armored },
    user.token,
  );
  assert.ok(up.status < 300, up.text);
  return { user, graph, keys };
}

/** The iOS plugin uploads two files over `net` and downloads them again, byte for byte. */
async function iosRoundTrip(netw, name) {
  const { user, graph, keys } = await newGraph(name);
  const ios = new IosSyncClient({ net: netw, token: user.token, graphUUID: graph, keys });
  const files = {
    "pages/phone.md": Buffer.from(`- from ${name}\n`),
    "assets/pic.JPG": Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]),
  };
  const up = await ios.updateRemoteFiles(files, 0);
  assert.equal(up.txid, 1);
  assert.deepEqual(Object.values(up.putStatus), [200, 200]);
  const { downloaded, failed } = await ios.fetchRemoteFiles(Object.keys(files));
  assert.deepEqual(failed, []);
  for (const p of Object.keys(files)) assert.ok(downloaded[p].equals(up.ciphertexts[p]), p);
}

describe("connect on the LAN: address checks and refusals", () => {
  it("private and loopback addresses only, unless forced", () => {
    for (const a of [
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.20",
      "127.0.0.1",
      "169.254.1.1",
      "100.64.0.1",
      "::1",
      "fd12:3456::1",
      "fe80::1",
      "::ffff:192.168.0.5",
      "[::1]",
    ]) {
      assert.ok(isPrivateAddress(a), a);
    }
    for (const a of [
      "8.8.8.8",
      "172.32.0.1",
      "172.15.255.255",
      "192.169.0.1",
      "100.128.0.1",
      "0.0.0.0",
      "2001:db8::1",
      "::",
      "::ffff:8.8.8.8",
      "localhost",
      "api.logseq.com",
      "",
    ]) {
      assert.ok(!isPrivateAddress(a), a);
    }
    assert.throws(() => checkListenAddress("8.8.8.8"), /not a private or loopback address/);
    assert.throws(() => checkListenAddress("0.0.0.0"), /not a private or loopback address/);
    assert.throws(() => checkListenAddress("example.com"), /needs an IP address/);
    assert.doesNotThrow(() => checkListenAddress("8.8.8.8", { force: true }));
    assert.doesNotThrow(() => checkListenAddress("192.168.1.20"));
  });

  it(
    "refuses CONNECT to any other host or port, and proxy requests for other hosts, each with a log line",
    STEP,
    async () => {
      lines.length = 0;
      for (const [req, status, logged] of [
        [
          "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
          403,
          /refused CONNECT example\.com:443 from 127\.0\.0\.1: not a Logseq Sync or sign-in host/,
        ],
        [
          "CONNECT api.logseq.com:80 HTTP/1.1\r\nHost: api.logseq.com:80\r\n\r\n",
          403,
          /refused CONNECT api\.logseq\.com:80/,
        ],
        ["CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n", 403, /refused CONNECT 127\.0\.0\.1:22/],
        [
          "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
          403,
          /refused GET http:\/\/example\.com\/ from 127\.0\.0\.1/,
        ],
        [`GET ${WORKER_URL}/logseq/version HTTP/1.1\r\nHost: x\r\n\r\n`, 403, /refused GET http:\/\/127\.0\.0\.1/],
        [
          "POST /file-sync/list_graphs HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
          404,
          /refused POST \/file-sync\/list_graphs/,
        ],
      ]) {
        const out = await rawExchange(lan.proxyPort, req);
        assert.match(out, new RegExp(`^HTTP/1\\.1 ${status} `), `${req.split("\r\n")[0]} -> ${out.split("\r\n")[0]}`);
        assert.ok(!out.includes("200 Connection Established"), out);
        assert.ok(
          lines.some((l) => logged.test(l)),
          `log line for ${req.split("\r\n")[0]}: ${JSON.stringify(lines)}`,
        );
      }
      // None of it was forwarded: the loopback proxy behind the gate logged no request.
      assert.ok(!lines.some((l) => / -> \d{3} \(/.test(l)), JSON.stringify(lines));
    },
  );

  it("answers CONNECT for every sync and sign-in host it needs, and only those", STEP, async () => {
    assert.deepEqual(LAN_HOSTS.slice(0, INTERCEPTED_HOSTS.length), [...INTERCEPTED_HOSTS]);
    for (const host of INTERCEPTED_HOSTS) {
      const out = await new Promise((resolve, reject) => {
        const s = net.connect({ host: "127.0.0.1", port: lan.proxyPort }, () =>
          s.write(`CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n\r\n`),
        );
        s.once("data", (c) => {
          s.destroy();
          resolve(c.toString("latin1"));
        });
        s.on("error", reject);
      });
      assert.match(out, /^HTTP\/1\.1 200 /, host);
    }
  });

  it("refuses clients from outside the private ranges unless forced (a network namespace with a public address)", {
    ...STEP,
    skip:
      process.getuid?.() === 0 && spawnSync("unshare", ["-n", "true"]).status === 0
        ? false
        : "needs root and unshare -n",
  }, () => {
    const child = path.join(ROOT, "tests", "harness", "lan-clients-child.mjs");
    const r = spawnSync(
      "unshare",
      [
        "-n",
        "sh",
        "-c",
        'ip link set lo up && ip addr add 203.0.113.5/32 dev lo && ip addr add 10.0.0.1/32 dev lo && exec "$0" "$1"',
        process.execPath,
        child,
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    const out = JSON.parse(r.stdout.trim().split("\n").pop() || "{}");
    assert.equal(out.error, undefined, `${out.error} ${r.stderr}`);
    assert.equal(out.publicClient, "closed", "a public client gets nothing");
    assert.match(out.privateClient, /^HTTP\/1\.1 200 /);
    assert.match(out.forced, /^HTTP\/1\.1 200 /, "--force lets it in");
    assert.ok(
      out.log.includes("refused a connection from 203.0.113.5: not a private or loopback address"),
      JSON.stringify(out.log),
    );
  });

  it("the transparent listener refuses TLS for other names and without SNI, with a log line", STEP, async () => {
    lines.length = 0;
    for (const servername of ["example.com", undefined]) {
      const err = await new Promise((resolve) => {
        const t = tls.connect({ host: "127.0.0.1", port: lan.transparentPort, servername, rejectUnauthorized: false });
        t.once("secureConnect", () => {
          t.destroy();
          resolve(null);
        });
        t.once("error", resolve);
        t.once("close", () => resolve(new Error("closed")));
      });
      assert.ok(err, `TLS for ${servername} must not be answered`);
    }
    assert.ok(
      lines.some((l) => /refused TLS for example\.com from 127\.0\.0\.1/.test(l)),
      JSON.stringify(lines),
    );
    assert.ok(
      lines.some((l) => /refused TLS for \(no SNI\)/.test(l)),
      JSON.stringify(lines),
    );
  });
});

describe("connect on the LAN: the CA profile and the PAC file", () => {
  it(
    "serves /logseq-sync.mobileconfig with the CA in a com.apple.security.root payload, and the CA as /logseq-sync-ca.crt",
    STEP,
    async () => {
      const out = await rawExchange(
        lan.proxyPort,
        "GET /logseq-sync.mobileconfig HTTP/1.1\r\nHost: 192.168.1.20:8790\r\n\r\n",
      );
      assert.match(out, /^HTTP\/1\.1 200 /);
      assert.match(out, /\r\nContent-Type: application\/x-apple-aspen-config\r\n/i);
      const body = out.slice(out.indexOf("\r\n\r\n") + 4);
      assert.equal(body, lan.mobileconfig);
      assert.match(body, /<key>PayloadType<\/key>\s*<string>com\.apple\.security\.root<\/string>/);
      assert.match(body, /<key>PayloadType<\/key>\s*<string>Configuration<\/string>/);
      const der = Buffer.from(/<data>([\s\S]*?)<\/data>/.exec(body)[1].replace(/\s+/g, ""), "base64");
      assert.equal(new X509Certificate(der).fingerprint256, new X509Certificate(ca.cert).fingerprint256);
      assert.equal(
        lan.mobileconfig,
        (await import("../../scripts/lib/mobileconfig.mjs")).caMobileconfig(ca),
        "stable for one CA",
      );
      const crt = await rawExchange(
        lan.proxyPort,
        "GET /logseq-sync-ca.crt HTTP/1.1\r\nHost: 192.168.1.20:8790\r\n\r\n",
      );
      assert.match(crt, /\r\nContent-Type: application\/x-x509-ca-cert\r\n/i);
      assert.equal(crt.slice(crt.indexOf("\r\n\r\n") + 4), ca.cert);
    },
  );

  it(
    "serves /proxy.pac: the sync and sign-in hosts through the proxy the phone asked, the rest DIRECT",
    STEP,
    async () => {
      const out = await rawExchange(lan.proxyPort, "GET /proxy.pac HTTP/1.1\r\nHost: 192.168.1.20:8790\r\n\r\n");
      assert.match(out, /\r\nContent-Type: application\/x-ns-proxy-autoconfig\r\n/i);
      const ctx = {};
      vm.runInNewContext(out.slice(out.indexOf("\r\n\r\n") + 4), ctx);
      for (const h of LAN_HOSTS)
        assert.equal(ctx.FindProxyForURL(`https://${h}/`, h.toUpperCase()), "PROXY 192.168.1.20:8790", h);
      for (const h of ["example.com", "api.logseq.com.evil.test", "logseq.com"])
        assert.equal(ctx.FindProxyForURL(`https://${h}/`, h), "DIRECT", h);
      // A Host header that is not a plain authority never reaches the script.
      const odd = await rawExchange(lan.proxyPort, 'GET /proxy.pac HTTP/1.1\r\nHost: x"; return "PROXY evil:1\r\n\r\n');
      assert.ok(!odd.includes("evil"), odd);
      assert.ok(odd.includes(`"PROXY 127.0.0.1:${lan.proxyPort}"`), odd);
    },
  );
});

describe("connect on the LAN: the clients through it", () => {
  it("the iOS plugin through the LAN proxy (Wi-Fi proxy + CA profile): upload, commit, download", STEP, async () => {
    await iosRoundTrip(phoneNetwork({ proxyPort: lan.proxyPort, ca }), "ios-lan");
  });

  it("the iOS plugin through the transparent listener (DNS override): upload, commit, download", STEP, async () => {
    await iosRoundTrip(phoneNetwork({ dns: { host: "127.0.0.1", port: lan.transparentPort }, ca }), "ios-dns");
  });

  it("the stock rsapi through the LAN proxy: upload, then a second folder downloads it", STEP, async () => {
    const { user, graph, keys } = await newGraph("rsapi-lan");
    await rsapi.setProxy(lan.url);
    await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);
    const a = await makeDeviceDir("lan-a");
    const b = await makeDeviceDir("lan-b");
    dirs.push(a, b);
    const files = { "pages/desk.md": "- from the desktop\n", "journals/2026_12_01.md": "- today\n" };
    await writeFiles(a, files);
    assert.equal(await rsapi.updateRemoteFiles(graph, a, Object.keys(files), 0, user.token), 1);
    await rsapi.updateLocalFiles(graph, b, Object.keys(files), user.token);
    for (const [p, text] of Object.entries(files)) assert.equal(await readFile(path.join(b, p), "utf8"), text);
    await rsapi.setProxy(null);
  });
});

describe("connect on the LAN: the stock rsapi under a DNS override", () => {
  // rsapi resolves the sync hosts itself and connects to port 443: a private mount namespace
  // with its own /etc/hosts (root only) is the DNS override, the child binds 127.0.0.1:443.
  const canOverride = process.getuid?.() === 0 && spawnSync("unshare", ["-m", "true"]).status === 0;
  const busy443 = () =>
    new Promise((resolve) => {
      const srv = net
        .createServer()
        .once("error", () => resolve(true))
        .listen(443, "127.0.0.1", () => srv.close(() => resolve(false)));
    });

  it("rsapi with no proxy uploads and downloads through the transparent listener", {
    ...STEP,
    timeout: 90_000,
    skip: canOverride ? false : "needs root and unshare -m for a private /etc/hosts",
  }, async (t) => {
    if (await busy443()) {
      t.skip("127.0.0.1:443 is in use");
      return;
    }
    const { user, graph, keys } = await newGraph("rsapi-dns");
    const a = await makeDeviceDir("dns-a");
    const b = await makeDeviceDir("dns-b");
    dirs.push(a, b);
    const files = {
      "pages/over dns.md": "- no proxy, only DNS\n",
      "assets/blob.bin": Buffer.from([0, 1, 2, 3, 254, 255]),
    };
    await writeFiles(a, files);
    const hosts = path.join(a, "..", `hosts-${process.pid}`);
    await writeFile(hosts, `127.0.0.1 localhost\n127.0.0.1 ${HOSTS.api}\n127.0.0.1 ${HOSTS.bucket}\n`);
    try {
      const child = path.join(ROOT, "tests", "harness", "dns-override-child.mjs");
      const r = spawnSync(
        "unshare",
        ["-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$1" "$2"', hosts, process.execPath, child],
        {
          encoding: "utf8",
          timeout: 80_000,
          env: {
            ...process.env,
            TOKEN: user.token,
            GRAPH: graph,
            SECRET_KEY: keys.secretKey,
            PUBLIC_KEY: keys.publicKey,
            DIR_A: a,
            DIR_B: b,
            FILES: JSON.stringify(Object.keys(files)),
          },
        },
      );
      const out = JSON.parse(r.stdout.trim().split("\n").pop() || "{}");
      assert.equal(out.error, undefined, `${out.error} ${r.stderr}`);
      assert.equal(out.txid, 1);
      for (const [p, body] of Object.entries(files))
        assert.ok((await readFile(path.join(b, p))).equals(Buffer.from(body)), p);
      assert.ok(
        out.log.some((l) => l.startsWith(`PUT ${HOSTS.bucket}/`)),
        JSON.stringify(out.log),
      );
      assert.ok(
        out.log.some((l) => l.startsWith(`POST ${HOSTS.api}/file-sync/update_files -> 200`)),
        JSON.stringify(out.log),
      );
    } finally {
      await rm(hosts, { force: true });
    }
  });
});

describe("connect on the LAN: Chromium (the desktop app's renderer) through both modes", () => {
  const CHROMIUM = process.env.CHROMIUM_BIN;
  const CERTUTIL = process.env.CERTUTIL_BIN;
  const skip = !CHROMIUM
    ? "chromium is not installed"
    : !CERTUTIL
      ? "certutil (libnss3-tools) is not installed"
      : false;
  let home;

  before(async () => {
    if (skip) return;
    // The CA trusted the way docs/CLIENT.md tells a Linux user to: in the NSS store Chromium reads.
    home = await mkdtemp(path.join(tmpdir(), "lan-chromium-"));
    dirs.push(home);
    const db = `sql:${path.join(home, ".pki", "nssdb")}`;
    await mkdir(path.join(home, ".pki", "nssdb"), { recursive: true });
    const caFile = path.join(home, "ca.pem");
    await writeFile(caFile, ca.cert);
    for (const args of [
      ["-N", "-d", db, "--empty-password"],
      ["-A", "-d", db, "-t", "C,,", "-n", "lan test CA", "-i", caFile],
    ]) {
      const r = spawnSync(CERTUTIL, args, { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    }
  });

  /**
   * Open an app-like page in headless Chromium with `flags`; the page makes the app's calls
   * (connectivity checks, an authenticated API call with its preflight, the websocket) and
   * posts what it saw to a local collector (loopback is never proxied). Resolves with that.
   */
  async function appPage(flags, token) {
    const page = `<script>
      const out = {};
      (async () => {
        out.version = (await fetch('https://api.logseq.com/logseq/version')).status;
        out.connectivity = await (await fetch('https://${HOSTS.connectivity}/logseq-connectivity-testing')).text();
        const r = await fetch('https://api.logseq.com/file-sync/user_info', { method: 'POST', body: '{}',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8', Authorization: 'Bearer ${token}' } });
        out.userInfo = r.status;
        await new Promise((res) => {
          const ws = new WebSocket('wss://ws.logseq.com/file-sync?graphuuid=6a1b2c3d-0000-4000-8000-000000000001');
          ws.onopen = () => { out.ws = 'open'; ws.close(); res(); };
          ws.onerror = () => { out.ws = 'error'; res(); };
        });
      })().catch((e) => { out.error = String(e); }).finally(() => fetch('/result', { method: 'POST', body: JSON.stringify(out) }));
    </script>`;
    const profile = await mkdtemp(path.join(tmpdir(), "lan-chromium-profile-"));
    dirs.push(profile);
    let child;
    let timer;
    const server = http.createServer();
    try {
      return await new Promise((resolve, reject) => {
        server.on("request", (req, res) => {
          if (req.url === "/") {
            res.writeHead(200, { "Content-Type": "text/html" });
            res.end(page);
            return;
          }
          if (req.url !== "/result") {
            res.writeHead(404);
            res.end();
            return;
          }
          let body = "";
          req.on("data", (c) => {
            body += c;
          });
          req.on("end", () => {
            res.end("ok");
            resolve(JSON.parse(body));
          });
        });
        server.listen(0, "127.0.0.1", () => {
          child = spawn(
            CHROMIUM,
            [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...flags, `http://127.0.0.1:${server.address().port}/`],
            { env: { ...process.env, HOME: home }, stdio: "ignore" },
          );
          child.on("error", reject);
        });
        timer = setTimeout(() => reject(new Error("Chromium did not report within 40 s")), 40_000);
      });
    } finally {
      clearTimeout(timer);
      child?.kill();
      server.close();
    }
  }

  it("through the LAN proxy (--proxy-server): connectivity, an API call with its preflight, the websocket", {
    ...STEP,
    timeout: 60_000,
    skip,
  }, async () => {
    const { user } = await newGraph("chromium-lan");
    lines.length = 0;
    const out = await appPage([`--proxy-server=http://127.0.0.1:${lan.proxyPort}`], user.token);
    assert.deepEqual(out, { version: 200, connectivity: "OK", userInfo: 200, ws: "open" }, JSON.stringify(lines));
    // Chromium's own background requests to other hosts were refused, not tunnelled.
    assert.ok(!lines.some((l) => /^CONNECT (?!api\.|ws\.|logseq-)/.test(l)), JSON.stringify(lines));
  });

  it("through the transparent listener (--host-resolver-rules as a DNS override): the same", {
    ...STEP,
    timeout: 60_000,
    skip,
  }, async () => {
    const { user } = await newGraph("chromium-dns");
    const to = `127.0.0.1:${lan.transparentPort}`;
    const rules = [HOSTS.api, HOSTS.ws, HOSTS.connectivity].map((h) => `MAP ${h} ${to}`).join(", ");
    const out = await appPage([`--host-resolver-rules=${rules}`], user.token);
    assert.deepEqual(out, { version: 200, connectivity: "OK", userInfo: 200, ws: "open" });
  });
});

describe("npm run connect: options", () => {
  const run = (...args) =>
    spawnSync(process.execPath, [path.join(ROOT, "scripts", "connect.mjs"), ...args], {
      encoding: "utf8",
      timeout: 15_000,
    });

  it("--help names every option with its default; unknown options and bad addresses exit non-zero with usage", () => {
    const help = run("--help");
    assert.equal(help.status, 0);
    for (const o of ["--port", "--ca-dir", "--verbose", "--listen", "--transparent-port", "--force", "--help"])
      assert.ok(help.stdout.includes(o), o);
    assert.match(help.stdout, /default 8790/);
    assert.match(help.stdout, /default\s+127\.0\.0\.1/);
    assert.match(help.stdout, /default off/);
    for (const [args, msg] of [
      [["http://127.0.0.1:1", "--bogus"], /unknown option --bogus/],
      [["http://127.0.0.1:1", "--listen", "8.8.8.8"], /8\.8\.8\.8 is not a private or loopback address/],
      [["http://127.0.0.1:1", "--listen", "0.0.0.0"], /not a private or loopback address/],
      [["http://127.0.0.1:1", "--transparent-port", "443"], /--transparent-port needs --listen/],
      [["http://127.0.0.1:1", "--listen", "127.0.0.1", "--transparent-port", "x"], /--transparent-port must be/],
    ]) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, msg);
      assert.match(r.stderr, /usage: npm run connect/);
    }
  });
});
