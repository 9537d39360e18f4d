// `npm run connect -- <server url> [--port N] [--ca-dir DIR] [--verbose]
//                    [--listen ADDR] [--transparent-port N] [--force]`
// `npm run connect -- install <server url> [--port N] [--ca-dir DIR] | uninstall | status`
//
// Runs a local forwarding proxy that points an unmodified Logseq desktop (0.10.x) at your sync
// server (docs/CLIENT.md, option B); with --listen, also phones on the home network
// (docs/CLIENT.md, Phones; scripts/lib/connect-lan.mjs). Runs in the foreground until Ctrl+C,
// or registered to start at login (install). Imports only node: built-ins and scripts/lib.

import { loadOrCreateCa, startConnectProxy, defaultCaDir, INTERCEPTED_HOSTS } from "./lib/connect-proxy.mjs";
import { startLanConnect, checkListenAddress, phoneHelp, writeProfile } from "./lib/connect-lan.mjs";
import * as service from "./lib/connect-service.mjs";
import { parseCli, UsageError } from "./lib/cli.mjs";

const USAGE = `usage: npm run connect -- <server url> [options]
       npm run connect -- install <server url> [--port 8790] [--ca-dir <dir>]
       npm run connect -- uninstall
       npm run connect -- status

  <server url>          your sync server, e.g. https://sync.example.com (or http://127.0.0.1:8787)
  --port N              port to listen on (default 8790)
  --ca-dir DIR          where the local CA is kept (default ${defaultCaDir()})
  --verbose             also log tunnels (and, without --listen, plain-http requests)
  --listen ADDR         listen on this LAN address for phones instead of 127.0.0.1 (default
                        127.0.0.1): a private or loopback IP; answers CONNECT only for the sync
                        and sign-in hosts, serves the CA profile and a PAC file
  --transparent-port N  also a TLS listener on ADDR:N for a DNS override of the sync hosts
                        (usually 443; default off; needs --listen)
  --force               allow a --listen address and clients outside the private ranges
  -h, --help            this text
  install               run the proxy at every login with these options (Linux: systemd user
                        unit ${service.servicePath("linux")};
                        macOS: launchd agent ~/Library/LaunchAgents/${service.AGENT_LABEL}.plist;
                        Windows: prints the exact schtasks steps, changes nothing); desktop
                        mode only (not with --listen)
  uninstall             stop it and remove the unit / agent
  status                whether it is installed and running

Output: the proxy logs one line per intercepted request (no tokens, no query strings) to
stdout; warnings and errors go to stderr. install/uninstall/status print what they did to stdout.
`;

/** The command line -> opts; the checks parseArgs cannot make throw UsageError. */
function checkOptions({ values, positionals }) {
  const command = ["install", "uninstall", "status"].includes(positionals[0]) ? positionals.shift() : "run";
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`);
  const [server = null] = positionals;
  const opts = {
    port: values.port === undefined ? 8790 : Number(values.port),
    caDir: values["ca-dir"] ?? defaultCaDir(),
    verbose: values.verbose,
    server,
    listen: values.listen ?? null,
    transparentPort: values["transparent-port"] === undefined ? null : Number(values["transparent-port"]),
    force: values.force,
    command,
  };
  if (command === "uninstall" || command === "status") {
    if (server) throw new UsageError(`${command} takes no server URL`);
    return opts;
  }
  if (!server) throw new UsageError("the server URL is missing");
  let url;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`not a URL: ${server}`);
  }
  if (!/^https?:$/.test(url.protocol))
    throw new UsageError(`the server URL must start with https:// or http://: ${server}`);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
    throw new UsageError("--port must be 0..65535 (0: any free port)");
  if (
    opts.transparentPort !== null &&
    (!Number.isInteger(opts.transparentPort) || opts.transparentPort < 0 || opts.transparentPort > 65535)
  )
    throw new UsageError("--transparent-port must be 0..65535");
  if (opts.transparentPort !== null && !opts.listen) throw new UsageError("--transparent-port needs --listen");
  if (opts.listen) {
    try {
      checkListenAddress(opts.listen, { force: opts.force });
    } catch (e) {
      throw new UsageError(e.message);
    }
  }
  if (command === "install" && opts.port === 0)
    throw new UsageError("install needs a fixed --port (Logseq's proxy setting names it)");
  if (command === "install" && opts.listen)
    throw new UsageError("install runs the desktop proxy only; run --listen in the foreground");
  return opts;
}

function trustHelp(ca) {
  const p = ca.certPath;
  const cn = ca.commonName;
  return `
Trust this CA once, in the store Logseq (Electron/Chromium) reads:
  Linux    certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "${cn}" -i "${p}"
           (certutil: package libnss3-tools / nss-tools; Flatpak Logseq uses
            ~/.var/app/com.logseq.Logseq/.pki/nssdb instead of ~/.pki/nssdb; if the store
            does not exist yet: mkdir -p ~/.pki/nssdb && certutil -d sql:$HOME/.pki/nssdb -N --empty-password)
  macOS    security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db "${p}"
  Windows  certutil -user -addstore Root "${p}"
To remove it later:
  Linux    certutil -d sql:$HOME/.pki/nssdb -D -n "${cn}"
  macOS    security delete-certificate -c "${cn}" ~/Library/Keychains/login.keychain-db
  Windows  certutil -user -delstore Root "${cn}"
The CA can only vouch for these hosts (X.509 name constraints): ${INTERCEPTED_HOSTS.join(", ")}.
`;
}

process.stdout.on("error", () => {}); // e.g. piped into head

const opts = parseCli(process.argv.slice(2), {
  usage: USAGE,
  name: "connect",
  spaced: true,
  options: {
    port: { type: "string" },
    "ca-dir": { type: "string" },
    verbose: { type: "boolean", default: false },
    listen: { type: "string" },
    "transparent-port": { type: "string" },
    force: { type: "boolean", default: false },
  },
  positionals: [0, 2],
  check: checkOptions,
});

if (opts.command === "uninstall" || opts.command === "status") {
  try {
    const lines = opts.command === "status" ? service.status() : service.uninstall();
    process.stdout.write(`${lines.join("\n")}\n`);
    process.exit(0);
  } catch (e) {
    process.stderr.write(`connect: ${e.message}\n`);
    process.exit(1);
  }
}

let ca;
try {
  ca = loadOrCreateCa(opts.caDir);
} catch (e) {
  process.stderr.write(`connect: ${e.message}\n`);
  process.exit(1);
}

if (opts.command === "install") {
  try {
    const script = new URL(import.meta.url).pathname;
    const lines = service.install({
      node: process.execPath,
      script,
      server: opts.server.replace(/\/+$/, ""),
      port: opts.port,
      caDir: opts.caDir,
    });
    process.stdout.write(`${lines.join("\n")}\n${trustHelp(ca)}
In Logseq: Settings > Advanced > Network proxy > Type HTTP, Host 127.0.0.1, Port ${opts.port}, Save.
`);
    process.exit(0);
  } catch (e) {
    process.stderr.write(`connect: ${e.message}\n`);
    process.exit(1);
  }
}

const server = opts.server.replace(/\/+$/, "");
try {
  const r = await fetch(`${server}/logseq/version`, { signal: AbortSignal.timeout(10_000) });
  const body = await r.text();
  if (r.status !== 200)
    process.stderr.write(`warning: ${server}/logseq/version answered ${r.status}; is that the sync server?\n`);
  else process.stdout.write(`server ${server} is up: ${body.trim()}\n`);
} catch (e) {
  process.stderr.write(
    `warning: ${server}/logseq/version is not reachable (${e.cause?.message || e.message}); starting anyway\n`,
  );
}

if (opts.listen) {
  // Phones on the LAN (scripts/lib/connect-lan.mjs); runs until a signal, the rest is desktop-only.
  let lan;
  try {
    lan = await startLanConnect({
      serverUrl: server,
      ca,
      listen: opts.listen,
      port: opts.port,
      transparentPort: opts.transparentPort,
      force: opts.force,
      verbose: opts.verbose,
      log: (line) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`),
    });
  } catch (e) {
    process.stderr.write(`connect: cannot listen on ${opts.listen}: ${e.message}\n`);
    process.exit(1);
  }
  const profilePath = writeProfile(opts.caDir, lan.mobileconfig);
  process.stdout.write(`${trustHelp(ca)}\n${phoneHelp({ lan, ca, profilePath, server })}`);
  const stopLan = async () => {
    await lan.close();
    process.exit(0);
  };
  process.once("SIGINT", stopLan);
  process.once("SIGTERM", stopLan);
  await new Promise(() => {});
}

let proxy;
try {
  proxy = await startConnectProxy({
    serverUrl: server,
    ca,
    port: opts.port,
    verbose: opts.verbose,
    log: (line) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`),
  });
} catch (e) {
  process.stderr.write(`connect: cannot listen on 127.0.0.1:${opts.port}: ${e.message}\n`);
  process.exit(1);
}

process.stdout.write(`${ca.created ? "created a new local CA" : "local CA"}: ${ca.certPath} (valid until ${ca.notAfter.toISOString().slice(0, 10)})
${trustHelp(ca)}
Proxy listening on ${proxy.url}, forwarding Logseq Sync to ${server}.
In Logseq: Settings > Advanced > Network proxy > Type HTTP, Host 127.0.0.1, Port ${proxy.port}, Save.
Sign-in: Logseq's own login, if the server allows your Logseq account (docs/CLIENT.md);
otherwise paste a token from your server (docs/CLIENT.md, "Token").
Ctrl+C to stop.
`);

const stop = async () => {
  process.stdout.write("\nstopping\n");
  await proxy.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
