// `npm run connect` on the home network, for phones (docs/CLIENT.md, Phones). A gate in front
// of the loopback connect proxy (scripts/lib/connect-proxy.mjs, which does all the
// forwarding, so there is one forwarding core):
//
// * LAN proxy (`--listen <address>`): an HTTP proxy a phone's Wi-Fi settings point at. It
//   answers `CONNECT <host>:443` only for LAN_HOSTS (the intercepted sync hosts and the login
//   hosts tunnelled for sign-in) and passes those, byte for byte, to the loopback proxy. Every
//   other CONNECT and every plain request for another host gets 403 and one log line: it is
//   never an open proxy, and nothing of a refused request goes anywhere.
//   Origin-form GETs serve the CA as an iOS profile (/logseq-sync.mobileconfig) and as a
//   certificate (/logseq-sync-ca.crt, for a rebuilt Android app's user-CA store), a PAC file
//   (/proxy.pac: the sync hosts through this proxy, everything else DIRECT) and a short page.
// * Transparent listener (`--transparent-port <port>`, usually 443): for a DNS override that
//   points the sync hosts at this machine. It reads the TLS ClientHello, and for an
//   intercepted host named by SNI opens `CONNECT <sni>:443` on the loopback proxy and splices
//   the bytes in, so TLS is terminated there with the same name-constrained CA and requests are
//   forwarded exactly as through the proxy. Anything else is closed.
// * Clients must come from private or loopback addresses, and the listen address must be one,
//   unless `force` (e.g. a VPN address the check does not know).

import { writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { INTERCEPTED_HOSTS, startConnectProxy } from "./connect-proxy.mjs";
import { caMobileconfig } from "./mobileconfig.mjs";

/** Hosts the app signs in at (LS config.cljs COGNITO-IDP; Amplify's identity pool): tunnelled. */
export const LOGIN_HOSTS = Object.freeze([
  "cognito-idp.us-east-1.amazonaws.com",
  "cognito-identity.us-east-1.amazonaws.com",
]);
/** Every host the LAN proxy answers CONNECT for. */
export const LAN_HOSTS = Object.freeze([...INTERCEPTED_HOSTS, ...LOGIN_HOSTS]);

const HEAD_LIMIT = 16 * 1024;
const FIRST_BYTES_TIMEOUT_MS = 10_000;

function v4ToInt(ip) {
  return ip.split(".").reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
}
const V4_PRIVATE = [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["100.64.0.0", 10],
].map(([base, bits]) => [v4ToInt(base), bits]);

/**
 * Private (RFC 1918, CGNAT 100.64/10, link-local) or loopback, IPv4 or IPv6 (::1, fc00::/7,
 * fe80::/10, and IPv4-mapped forms of the IPv4 ranges). Anything that is not an IP is false.
 */
export function isPrivateAddress(address) {
  let a = String(address || "")
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) a = mapped[1];
  if (net.isIPv4(a)) {
    const n = v4ToInt(a);
    return V4_PRIVATE.some(([base, bits]) => n >>> (32 - bits) === base >>> (32 - bits));
  }
  if (net.isIPv6(a)) {
    if (a === "::1") return true;
    const first = parseInt(a.split(":")[0] || "0", 16);
    return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
  }
  return false;
}

/** Throws unless `address` is an IP we may listen on (private/loopback, or anything if forced). */
export function checkListenAddress(address, { force = false } = {}) {
  if (!net.isIP(String(address).replace(/^\[|\]$/g, "")))
    throw new Error(`--listen needs an IP address, got ${address}`);
  if (!force && !isPrivateAddress(address)) {
    throw new Error(
      `${address} is not a private or loopback address; a proxy there would be reachable from the internet (--force to listen anyway)`,
    );
  }
}

/** The PAC file: the LAN hosts through `proxyAuthority`, everything else direct. */
export function pacFile(proxyAuthority) {
  return `function FindProxyForURL(url, host) {
  var hosts = ${JSON.stringify(LAN_HOSTS)};
  host = host.toLowerCase();
  for (var i = 0; i < hosts.length; i++) if (host === hosts[i]) return "PROXY ${proxyAuthority}";
  return "DIRECT";
}
`;
}

/** The SNI host name of a complete TLS ClientHello record, or null. */
export function sniOf(buf) {
  try {
    if (buf[0] !== 0x16 || buf[5] !== 0x01) return null;
    let p = 5 + 4 + 2 + 32; // record header, handshake header, version, random
    p += 1 + buf[p]; // session id
    p += 2 + buf.readUInt16BE(p); // cipher suites
    p += 1 + buf[p]; // compression methods
    const end = p + 2 + buf.readUInt16BE(p);
    p += 2;
    while (p + 4 <= end) {
      const type = buf.readUInt16BE(p);
      const len = buf.readUInt16BE(p + 2);
      if (type === 0) {
        // server_name: list length, type 0 = host_name, length, name
        const nameLen = buf.readUInt16BE(p + 7);
        return buf[p + 6] === 0
          ? buf
              .subarray(p + 9, p + 9 + nameLen)
              .toString("ascii")
              .toLowerCase()
          : null;
      }
      p += 4 + len;
    }
  } catch {
    /* truncated or malformed */
  }
  return null;
}

/** Read from `socket` until `complete(buf)` says how many bytes form the first unit, bounded. */
function readFirst(socket, complete) {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (v) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      resolve(v);
    };
    const timer = setTimeout(() => done(null), FIRST_BYTES_TIMEOUT_MS);
    const onEnd = () => done(null);
    const onData = (c) => {
      buf = Buffer.concat([buf, c]);
      if (complete(buf)) {
        socket.pause();
        done(buf);
      } else if (buf.length > HEAD_LIMIT) done(null);
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
  });
}

/** Open `CONNECT host:443` on the loopback proxy; resolves with the socket after its 200. */
function loopbackTunnel(proxyPort, host) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port: proxyPort });
    s.once("error", reject);
    s.once("connect", () => s.write(`CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n\r\n`));
    let acc = "";
    const onData = (c) => {
      acc += c.toString("latin1");
      const i = acc.indexOf("\r\n\r\n");
      if (i < 0) return;
      s.off("data", onData);
      if (!/^HTTP\/1\.[01] 200/.test(acc)) {
        s.destroy();
        reject(new Error(acc.split("\r\n")[0]));
        return;
      }
      if (acc.length > i + 4) s.unshift(Buffer.from(acc.slice(i + 4), "latin1"));
      resolve(s);
    };
    s.on("data", onData);
  });
}

function refuse(socket, status, reason) {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${status === 403 ? "Forbidden" : "Not Found"}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Start the LAN gate(s) and the loopback proxy behind them.
 * @param {object} o
 * @param {string} o.serverUrl
 * @param {{cert: string, key: string, commonName: string}} o.ca
 * @param {string} o.listen address of the LAN proxy (checked with checkListenAddress)
 * @param {number} [o.port=8790] its port (0 = any)
 * @param {number|null} [o.transparentPort=null] port of the transparent TLS listener (same address), off if null
 * @param {boolean} [o.force=false] accept public listen and client addresses
 * @param {(line: string) => void} [o.log]
 * @param {boolean} [o.verbose=false]
 * @returns {Promise<{proxyPort: number, transparentPort: number|null, url: string, profileUrl: string, pacUrl: string, mobileconfig: string, close(): Promise<void>}>}
 */
export async function startLanConnect({
  serverUrl,
  ca,
  listen,
  port = 8790,
  transparentPort = null,
  force = false,
  log = () => {},
  verbose = false,
}) {
  checkListenAddress(listen, { force });
  const inner = await startConnectProxy({ serverUrl, ca, host: "127.0.0.1", port: 0, log, verbose });
  const mobileconfig = caMobileconfig(ca);
  const sockets = new Set();
  const track = (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };
  const say = (line) => {
    try {
      log(line);
    } catch {
      /* never breaks the gate */
    }
  };
  const from = (socket) => String(socket.remoteAddress || "").replace(/^::ffff:/, "");
  const clientOk = (socket, what) => {
    if (force || isPrivateAddress(from(socket))) return true;
    say(`refused ${what} from ${from(socket)}: not a private or loopback address`);
    return false;
  };
  const splice = (a, b) => {
    a.on("error", () => b.destroy());
    b.on("error", () => a.destroy());
    a.pipe(b);
    b.pipe(a);
    a.resume();
  };

  // ---- the LAN proxy ----
  let authority = ""; // `<listen>:<port>`, set once listening
  const files = (authority) => ({
    "/logseq-sync.mobileconfig": ["application/x-apple-aspen-config", mobileconfig],
    "/proxy.pac": ["application/x-ns-proxy-autoconfig", pacFile(authority)],
    "/logseq-sync-ca.crt": ["application/x-x509-ca-cert", ca.cert], // Android: install as a user CA
    "/": [
      "text/plain; charset=utf-8",
      `Logseq Sync connect proxy.\nCA profile (iOS): http://${authority}/logseq-sync.mobileconfig\nCA certificate:   http://${authority}/logseq-sync-ca.crt\nPAC file:         http://${authority}/proxy.pac\n`,
    ],
  });
  const gate = net.createServer(async (socket) => {
    track(socket);
    socket.on("error", () => {});
    if (!clientOk(socket, "a connection")) {
      socket.destroy();
      return;
    }
    const buf = await readFirst(socket, (b) => b.includes("\r\n\r\n"));
    if (!buf) {
      socket.destroy();
      return;
    }
    const head = buf.subarray(0, buf.indexOf("\r\n\r\n")).toString("latin1");
    const [method = "", target = ""] = head.split("\r\n")[0].split(" ");
    if (method === "CONNECT") {
      const m = /^([^:[\]]+):(\d+)$/.exec(target);
      const host = m ? m[1].toLowerCase().replace(/\.$/, "") : "";
      if (m?.[2] !== "443" || !LAN_HOSTS.includes(host)) {
        say(`refused CONNECT ${target} from ${from(socket)}: not a Logseq Sync or sign-in host`);
        refuse(
          socket,
          403,
          `connect proxy: ${target} is not a Logseq Sync host; this proxy serves only ${LAN_HOSTS.join(", ")}`,
        );
        return;
      }
      const up = net.connect({ host: "127.0.0.1", port: inner.port });
      track(up);
      up.once("connect", () => {
        up.write(buf);
        splice(socket, up);
      });
      up.on("error", () => socket.destroy());
      if (verbose) say(`CONNECT ${target} from ${from(socket)}`);
      return;
    }
    // The authority the phone used (it goes into the PAC script): a plain host[:port] only.
    const asked = (/\r\nhost:[ \t]*([^\r\n]*)/i.exec(head) || [])[1]?.trim() ?? "";
    const hostHeader = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.test(asked) ? asked : authority;
    const file = method === "GET" && target.startsWith("/") ? files(hostHeader)[target.split("?")[0]] : undefined;
    if (!file) {
      say(`refused ${method} ${target.slice(0, 200)} from ${from(socket)}: not a proxy for other hosts`);
      refuse(
        socket,
        target.startsWith("/") ? 404 : 403,
        "connect proxy: only CONNECT to the Logseq Sync hosts, /logseq-sync.mobileconfig, /logseq-sync-ca.crt and /proxy.pac",
      );
      return;
    }
    const body = Buffer.from(file[1]);
    socket.end(
      Buffer.concat([
        Buffer.from(
          `HTTP/1.1 200 OK\r\nContent-Type: ${file[0]}\r\nContent-Length: ${body.length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n`,
        ),
        body,
      ]),
    );
    say(`GET ${target.split("?")[0]} from ${from(socket)}`);
  });

  // ---- the transparent TLS listener ----
  const recordComplete = (b) => b.length >= 5 && b.length >= 5 + b.readUInt16BE(3);
  const transparent =
    transparentPort === null
      ? null
      : net.createServer(async (socket) => {
          track(socket);
          socket.on("error", () => {});
          if (!clientOk(socket, "a TLS connection")) {
            socket.destroy();
            return;
          }
          const hello = await readFirst(socket, recordComplete);
          const sni = hello && sniOf(hello);
          if (!sni || !INTERCEPTED_HOSTS.includes(sni)) {
            say(`refused TLS for ${sni || "(no SNI)"} from ${from(socket)}: not an intercepted host`);
            socket.destroy();
            return;
          }
          try {
            const up = await loopbackTunnel(inner.port, sni);
            track(up);
            up.write(hello);
            splice(socket, up);
            if (verbose) say(`TLS ${sni} from ${from(socket)}`);
          } catch (e) {
            say(`TLS ${sni} from ${from(socket)}: ${e.message}`);
            socket.destroy();
          }
        });

  const listenOn = (srv, p) =>
    new Promise((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(p, listen.replace(/^\[|\]$/g, ""), () => {
        srv.off("error", reject);
        resolve(srv.address().port);
      });
    });
  let proxyPort;
  let tPort = null;
  try {
    proxyPort = await listenOn(gate, port);
    if (transparent) tPort = await listenOn(transparent, transparentPort);
  } catch (e) {
    gate.close();
    await inner.close();
    throw e;
  }
  authority = `${net.isIPv6(listen.replace(/^\[|\]$/g, "")) ? `[${listen.replace(/^\[|\]$/g, "")}]` : listen}:${proxyPort}`;
  return {
    proxyPort,
    transparentPort: tPort,
    url: `http://${authority}`,
    profileUrl: `http://${authority}/logseq-sync.mobileconfig`,
    pacUrl: `http://${authority}/proxy.pac`,
    mobileconfig,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([gate, transparent].filter(Boolean).map((s) => new Promise((r) => s.close(() => r()))));
      await inner.close();
    },
  };
}

/** Write the profile next to the CA; returns its path. */
export function writeProfile(caDir, mobileconfig) {
  const p = path.join(caDir, "logseq-sync.mobileconfig");
  writeFileSync(p, mobileconfig, { mode: 0o644 });
  return p;
}

/** The phone steps `npm run connect -- --listen` prints (also docs/CLIENT.md, Phones). */
export function phoneHelp({ lan, ca, profilePath, server }) {
  const [host, port] = [lan.url.replace(/^http:\/\/|:\d+$/g, ""), lan.proxyPort];
  return `LAN proxy for phones on ${lan.url}, forwarding Logseq Sync to ${server}.
It answers only for ${LAN_HOSTS.join(", ")}.
CA profile: ${profilePath}, also at ${lan.profileUrl}
iPhone / iPad, once:
  1. Safari: open ${lan.profileUrl} and allow the download,
     then Settings > General > VPN & Device Management > "${ca.commonName}" > Install.
  2. Settings > General > About > Certificate Trust Settings: turn on full trust for "${ca.commonName}".
  3. Settings > Wi-Fi > (i) of your home network > Configure Proxy:
       Automatic, URL ${lan.pacUrl}   (only the sync hosts use the proxy)
     or Manual, Server ${host}, Port ${port}   (then only Logseq works on this Wi-Fi while it is set)
${
  lan.transparentPort === null
    ? ""
    : `DNS override instead of a proxy: point ${INTERCEPTED_HOSTS.join(", ")}
  at ${host} in your router or DNS server; TLS for them is answered on ${host}:${lan.transparentPort}
  (it must be port 443 for the phone to use it).
`
}Android: the stock app cannot be pointed here; a rebuilt one can (docs/CLIENT.md, Phones).
Ctrl+C to stop.
`;
}
