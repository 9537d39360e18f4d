// The connect proxy's own cost (issue 20, item 4): `npm run connect` runs on every person's
// desktop, so what it adds per API call and per MiB uploaded is measured here, against the same
// client talking to the worker directly. The proxy (scripts/lib/connect-proxy.mjs, its exported
// startConnectProxy only) runs in a child process of its own, so that its CPU seconds are its
// own (process.cpuUsage in the child); the client is this process, with keep-alive connections
// both ways (as the app and rsapi keep theirs): through the proxy a CONNECT tunnel + TLS to the
// stock hosts, trusting the proxy's CA; directly plain HTTP to the worker. Requests alternate
// between the two routes so that both see the same worker and machine load.

import { fork } from "node:child_process";
import http from "node:http";
import https from "node:https";
import tls from "node:tls";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { presign } from "../tests/harness/s3sign.mjs";
import { median, now } from "./stats.mjs";

const MiB = 1024 * 1024;

if (process.argv[2] === "connect-proxy-child") {
  // The child: the proxy in front of the worker, answering CPU readings over IPC.
  const { makeCa, startConnectProxy } = await import("../scripts/lib/connect-proxy.mjs");
  const ca = makeCa();
  const proxy = await startConnectProxy({ serverUrl: process.argv[3], ca });
  process.send({ port: proxy.port, ca: ca.cert });
  process.on("message", async (m) => {
    if (m === "cpu") process.send({ cpu: process.cpuUsage() });
    if (m === "stop") {
      await proxy.close();
      process.exit(0);
    }
  });
}

/** Starts the proxy child; resolves {port, ca, cpuSeconds(), stop()}. */
function startProxyChild(serverUrl) {
  const child = fork(fileURLToPath(import.meta.url), ["connect-proxy-child", serverUrl], { stdio: "inherit" });
  const next = () => new Promise((resolve) => child.once("message", resolve));
  return next().then(({ port, ca }) => ({
    port,
    ca,
    async cpuSeconds() {
      const reply = next();
      child.send("cpu");
      const { cpu } = await reply;
      return (cpu.user + cpu.system) / 1e6;
    },
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", resolve);
        child.send("stop");
      }),
  }));
}

/** A keep-alive HTTPS agent whose connections are CONNECT tunnels through the proxy. */
function tunnelAgent(proxyPort, ca) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  agent.createConnection = (options, callback) => {
    const req = http.request({
      host: "127.0.0.1",
      port: proxyPort,
      method: "CONNECT",
      path: `${options.host}:443`,
      agent: false,
    });
    req.once("connect", (res, socket) => {
      if (res.statusCode !== 200) return callback(new Error(`CONNECT ${options.host}: ${res.statusCode}`));
      const t = tls.connect({ socket, servername: options.host, ca: [ca], ALPNProtocols: ["http/1.1"] });
      t.once("secureConnect", () => callback(null, t));
      t.once("error", callback);
    });
    req.once("error", callback);
    req.end();
  };
  return agent;
}

/** One request; resolves {status, ms, body}. */
function send(mod, options, body) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const req = mod.request(options, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, ms: now() - t0, body: Buffer.concat(chunks) }));
    });
    req.once("error", reject);
    req.end(body);
  });
}

/**
 * Measures the proxy's cost.
 * @param {{url: string}} ctx the bench context (worker URL)
 * @param {{token: string, graph: string, apiCalls?: number, uploads?: number, uploadMiB?: number, log?: Function}} o
 * @returns {Promise<{api: object, upload: object}>}
 */
export async function proxyCost(ctx, { token, graph, apiCalls = 200, uploads = 20, uploadMiB = 1, log = () => {} }) {
  const worker = new URL(ctx.url);
  const proxy = await startProxyChild(ctx.url);
  const direct = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const tunnel = tunnelAgent(proxy.port, proxy.ca);
  const routes = {
    direct: (path, host, headers, method = "POST") => ({
      host: worker.hostname,
      port: worker.port,
      path,
      method,
      agent: direct,
      headers: { ...headers, ...(host ? { "X-Forwarded-Host": host } : {}) },
    }),
    proxied: (path, host, headers, method = "POST") => ({
      host,
      port: 443,
      path,
      method,
      agent: tunnel,
      headers,
    }),
  };
  const mods = { direct: http, proxied: https };
  try {
    // --- API calls: get_txid, the app's most frequent call (form-urlencoded JSON, bearer token).
    const apiBody = JSON.stringify({ GraphUUID: graph });
    const apiHeaders = {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/x-www-form-urlencoded;charset=utf-8",
      "Content-Length": Buffer.byteLength(apiBody),
    };
    const api = await measure(
      proxy,
      mods,
      apiCalls,
      (route) => routes[route]("/file-sync/get_txid", route === "proxied" ? "api.logseq.com" : null, apiHeaders),
      () => apiBody,
    );
    log(
      `connect proxy, API call: ${api.addedMs.toFixed(2)} ms added, ${(api.cpuPerRequest * 1000).toFixed(2)} ms CPU per request`,
    );

    // --- uploads: the stock client's PUT of an object to the bucket host (SigV4 with the temp
    // credential of get_temp_credential, signed for the bucket host either way).
    const cred = JSON.parse(
      (await send(http, routes.direct("/file-sync/get_temp_credential", null, { Authorization: `Bearer ${token}` })))
        .body,
    );
    const bucketHost = "logseq-file-sync-bucket-prod.s3.amazonaws.com";
    const prefix = cred.S3Prefix.slice("logseq-file-sync-bucket-prod/".length);
    const body = randomBytes(uploadMiB * MiB);
    const upload = await measure(
      proxy,
      mods,
      uploads,
      (route) => {
        const key = `${prefix}/${[...randomBytes(12)].map((b) => String.fromCharCode(97 + (b % 26))).join("")}`;
        const { path } = presign({
          method: "PUT",
          origin: `https://${bucketHost}`,
          host: bucketHost,
          key,
          accessKeyId: cred.Credentials.AccessKeyId,
          secretKey: cred.Credentials.SecretKey,
          sessionToken: cred.Credentials.SessionToken,
        });
        const headers = { "Content-Type": "application/octet-stream", "Content-Length": body.length };
        return route === "proxied"
          ? routes.proxied(path, bucketHost, headers, "PUT")
          : routes.direct(`/s3${path}`, bucketHost, headers, "PUT");
      },
      () => body,
    );
    upload.addedMsPerMiB = upload.addedMs / uploadMiB;
    upload.cpuPerMiB = upload.cpuPerRequest / uploadMiB;
    log(
      `connect proxy, upload of ${uploadMiB} MiB: ${upload.addedMsPerMiB.toFixed(2)} ms added and ${(upload.cpuPerMiB * 1000).toFixed(2)} ms CPU per MiB`,
    );
    return { api, upload, uploadMiB };
  } finally {
    direct.destroy();
    tunnel.destroy();
    await proxy.stop();
  }
}

/** `n` requests per route, alternating; the proxy child's CPU over the proxied ones. */
async function measure(proxy, mods, n, options, body) {
  // Warm both routes (the tunnel's TLS handshake, the worker's isolate) unmeasured.
  for (const route of ["direct", "proxied"]) {
    const r = await send(mods[route], options(route), body());
    if (r.status !== 200) throw new Error(`connect proxy bench, ${route}: status ${r.status} ${r.body}`);
  }
  // The child's CPU over the whole loop (two IPC readings, not two per request: reading costs
  // CPU in the child too); it idles while the direct requests run.
  const ms = { direct: [], proxied: [] };
  const cpuBefore = await proxy.cpuSeconds();
  for (let i = 0; i < n; i++) {
    for (const route of i % 2 ? ["direct", "proxied"] : ["proxied", "direct"]) {
      const r = await send(mods[route], options(route), body());
      if (r.status !== 200) throw new Error(`connect proxy bench, ${route}: status ${r.status} ${r.body}`);
      ms[route].push(r.ms);
    }
  }
  const cpu = (await proxy.cpuSeconds()) - cpuBefore;
  const directMs = median(ms.direct);
  const proxiedMs = median(ms.proxied);
  return { n, directMs, proxiedMs, addedMs: proxiedMs - directMs, cpuPerRequest: cpu / n };
}
