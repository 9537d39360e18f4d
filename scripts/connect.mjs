// `npm run connect -- <server url> [--port N] [--ca-dir DIR] [--verbose]
//                    [--listen ADDR] [--transparent-port N] [--force]`
//
// Runs a local forwarding proxy that points an unmodified Logseq desktop (0.10.x) at your sync
// server (docs/CLIENT.md, option B); with --listen, also phones on the home network
// (docs/CLIENT.md, Phones; scripts/lib/connect-lan.mjs). Keeps running until Ctrl+C.

import { loadOrCreateCa, startConnectProxy, defaultCaDir, INTERCEPTED_HOSTS } from './lib/connect-proxy.mjs';
import { startLanConnect, checkListenAddress, phoneHelp, writeProfile } from './lib/connect-lan.mjs';

const USAGE = `usage: npm run connect -- <server url> [options]

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
`;

function parseArgs(argv) {
  const opts = { port: 8790, caDir: defaultCaDir(), verbose: false, server: null, listen: null, transparentPort: null, force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '-h' || a === '--help') { process.stdout.write(USAGE); process.exit(0); }
    else if (a === '--port' || a.startsWith('--port=')) opts.port = Number(value());
    else if (a === '--ca-dir' || a.startsWith('--ca-dir=')) opts.caDir = value();
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--listen' || a.startsWith('--listen=')) opts.listen = value();
    else if (a === '--transparent-port' || a.startsWith('--transparent-port=')) opts.transparentPort = Number(value());
    else if (a === '--force') opts.force = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else if (!opts.server) opts.server = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!opts.server) throw new Error('the server URL is missing');
  let url;
  try { url = new URL(opts.server); } catch { throw new Error(`not a URL: ${opts.server}`); }
  if (!/^https?:$/.test(url.protocol)) throw new Error(`the server URL must start with https:// or http://: ${opts.server}`);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error('--port must be 0..65535 (0: any free port)');
  if (opts.transparentPort !== null && (!Number.isInteger(opts.transparentPort) || opts.transparentPort < 0 || opts.transparentPort > 65535)) throw new Error('--transparent-port must be 0..65535');
  if (opts.transparentPort !== null && !opts.listen) throw new Error('--transparent-port needs --listen');
  if (opts.listen) checkListenAddress(opts.listen, { force: opts.force });
  return opts;
}

function trustHelp(ca) {
  const p = ca.certPath;
  const cn = ca.commonName;
  return `
Trust this CA once, in the store Logseq (Electron/Chromium) reads:
  Linux    certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "${cn}" -i "${p}"
           (certutil: package libnss3-tools / nss-tools; Flatpak Logseq uses
            ~/.var/app/com.logseq.Logseq/.pki/nssdb instead of ~/.pki/nssdb)
  macOS    security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db "${p}"
  Windows  certutil -user -addstore Root "${p}"
To remove it later:
  Linux    certutil -d sql:$HOME/.pki/nssdb -D -n "${cn}"
  macOS    security delete-certificate -c "${cn}" ~/Library/Keychains/login.keychain-db
  Windows  certutil -user -delstore Root "${cn}"
The CA can only vouch for these hosts (X.509 name constraints): ${INTERCEPTED_HOSTS.join(', ')}.
`;
}

process.stdout.on('error', () => {}); // e.g. piped into head

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`connect: ${e.message}\n\n${USAGE}`);
  process.exit(2);
}

let ca;
try {
  ca = loadOrCreateCa(opts.caDir);
} catch (e) {
  process.stderr.write(`connect: ${e.message}\n`);
  process.exit(1);
}

const server = opts.server.replace(/\/+$/, '');
try {
  const r = await fetch(`${server}/logseq/version`, { signal: AbortSignal.timeout(10_000) });
  const body = await r.text();
  if (r.status !== 200) process.stderr.write(`warning: ${server}/logseq/version answered ${r.status}; is that the sync server?\n`);
  else process.stdout.write(`server ${server} is up: ${body.trim()}\n`);
} catch (e) {
  process.stderr.write(`warning: ${server}/logseq/version is not reachable (${e.cause?.message || e.message}); starting anyway\n`);
}

if (opts.listen) {
  // Phones on the LAN (scripts/lib/connect-lan.mjs); runs until a signal, the rest is desktop-only.
  let lan;
  try {
    lan = await startLanConnect({
      serverUrl: server, ca, listen: opts.listen, port: opts.port, transparentPort: opts.transparentPort, force: opts.force, verbose: opts.verbose,
      log: (line) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`),
    });
  } catch (e) {
    process.stderr.write(`connect: cannot listen on ${opts.listen}: ${e.message}\n`);
    process.exit(1);
  }
  const profilePath = writeProfile(opts.caDir, lan.mobileconfig);
  process.stdout.write(`${trustHelp(ca)}\n${phoneHelp({ lan, ca, profilePath, server })}`);
  const stopLan = async () => { await lan.close(); process.exit(0); };
  process.once('SIGINT', stopLan);
  process.once('SIGTERM', stopLan);
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

process.stdout.write(`${ca.created ? 'created a new local CA' : 'local CA'}: ${ca.certPath} (valid until ${ca.notAfter.toISOString().slice(0, 10)})
${trustHelp(ca)}
Proxy listening on ${proxy.url}, forwarding Logseq Sync to ${server}.
In Logseq: Settings > Advanced > Network proxy > Type HTTP, Host 127.0.0.1, Port ${proxy.port}, Save.
Sign-in: do not use Logseq's login; paste a token from your server (docs/CLIENT.md, "Token").
Ctrl+C to stop.
`);

const stop = async () => {
  process.stdout.write('\nstopping\n');
  await proxy.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
