// The iOS sync client of Logseq's mobile app, as a test client: the requests
// @logseq/capacitor-file-sync 5.0.2 (CFS) sends from ios/Plugin/SyncClient.swift and
// FileSyncPlugin.swift, and the way it reads the answers, rewritten in Node from that source
// (no Swift runtime here). Line numbers are CFS 5.0.2.
//
// How a phone reaches the server: through the connect proxy (Wi-Fi HTTP proxy setting) as
// `CONNECT host:443`, TLS validated against the proxy's CA (a user-installed profile with full
// trust), SNI = the real host, ALPN h2 + http/1.1 like URLSession. Plain http URLs (local
// download URLs) go direct.
//
// What is sent (SyncClient.swift):
// * API calls: `POST https://api.logseq.com/file-sync/<api>` (URL_BASE + appendingPathComponent),
//   headers Content-Type: application/octet-stream, User-Agent: Logseq-sync/0.1,
//   Authorization: Bearer <token> (:60-62) plus what URLSession adds (Accept: */*,
//   Accept-Language, Accept-Encoding: gzip, deflate, br, Content-Length); body from
//   JSONSerialization (compact, `\/`); get_temp_credential's body is `Data()`: empty, with
//   Content-Length: 0 (:278).
// * Uploads (uploadTempFiles :313-374): per batch a fresh get_temp_credential, S3Prefix with
//   every "<BUCKET>/" removed (:301), key `<prefix>/ios<15 of [A-Za-z0-9]>.<pathExtension>`
//   (:342-343; an extensionless file gives a trailing `.`), body = age ciphertext, PUT with
//   Alamofire (:379): Content-Length, Alamofire's Accept-Encoding / Accept-Language /
//   User-Agent, and the Content-Type CFNetwork puts on a body without one
//   (application/x-www-form-urlencoded: CFNetwork behaviour, not checkable here; unsigned).
//   The PUT's status is NOT checked (`.response`, no `.validate()`, :386-391).
// * Downloads: `AF.download(url).validate(200..<300)` (:399-400), one GET, no Range.
//
// How answers are read (the strictness, pinned by tests/e2e/ios.test.mjs):
// * 200 is the only success everywhere (:81,125,182,247,291).
// * get_files / get_version_files: the whole body `try?`-decoded as [String: [String: String]]
//   (:88,132): any top-level value that is not a map of strings => nothing downloaded, no
//   error. Each URL is `URL(string:)!` (:91,135) and each answer key is looked up with `!` in
//   the request map (FileSyncPlugin.swift:406,514): a bad URL or an unrequested key crashes.
// * update_files: `try?` UpdateFilesResponse (:256); undecodable => the plugin rejects "error:
//   missing txid" (FileSyncPlugin.swift:755-757); non-empty UpdateFailedFiles => error (:257-260).
// * delete_files: `try` DeleteFilesResponse (:192), all three fields required.
// * get_temp_credential: 401 => "unauthorized" (:287); `try?` GetTempCredentialResponse (:299);
//   undecodable => `credentials!` in updateRemoteFiles crashes (FileSyncPlugin.swift:720).
// * 409 whose body contains `txid_to_validate` => "invalid txid: <body>" (:173-179,238-244);
//   the app then matches `(\d+), txid_to_validate = (\d+)` in the rejection text.

import crypto from "node:crypto";
import http from "node:http";
import tls from "node:tls";
import { readReply } from "./client.mjs";
import { presignPutUrl, jsonSerialization, foundationUrlParses, swiftDecode, T } from "./ios-sdk.mjs";
import { ageEncrypt, encryptFname } from "./age.mjs";

/** The plugin's prod environment (FileSyncPlugin.swift:165-168 setEnv "prod"). */
export const IOS_PROD = Object.freeze({
  urlBase: "https://api.logseq.com/file-sync/",
  bucket: "logseq-file-sync-bucket-prod",
  region: "us-east-1",
});

/** What Alamofire's session sends on every request (HTTPHeaders.default); the UA is an example. */
export const ALAMOFIRE_HEADERS = Object.freeze({
  "Accept-Encoding": "br;q=1.0, gzip;q=0.9, deflate;q=0.8",
  "Accept-Language": "en-US;q=1.0",
  "User-Agent": "Logseq/0.10.15 (com.logseq.logseq; build:82; iOS 17.5.1) Alamofire/5.9.1",
});

/** A rejection of a plugin call (`call.reject(...)` / a completion handler's Error). */
export class IosError extends Error {
  constructor(message, { code, body } = {}) {
    super(message);
    this.name = "IosError";
    this.code = code;
    this.body = body;
  }
}

/** A force-unwrap of nil in the plugin: the app would crash here. */
export class IosCrash extends Error {
  constructor(message) {
    super(message);
    this.name = "IosCrash";
  }
}

/** The Swift of `"\(error)"` for the plugin's NSErrors (what the app's regex sees). */
const nsError = (code, desc) =>
  `Error Domain=com.logseq.app.FileSyncErrorDomain Code=${code} "${desc}" UserInfo={NSLocalizedDescription=${desc}}`;

/** String.random(length: 15) (Extensions.swift:110-113). */
export function randomIosName(n = 15) {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return Array.from(crypto.randomBytes(n), (b) => letters[b % letters.length]).join("");
}

/** URL.pathExtension of a relative file path: after the last `.` of the last component ('' if none). */
export function pathExtension(filePath) {
  const last = filePath.split("/").pop();
  const dot = last.lastIndexOf(".");
  return dot > 0 ? last.slice(dot + 1) : "";
}

/**
 * A phone's network: https through the proxy's CONNECT with the CA trusted, http direct. With
 * `dns` instead of `proxyPort`, a DNS override: every https host resolves to `dns.host` and
 * port 443 is `dns.port` (TLS straight to the transparent listener, SNI = the real host).
 * @param {{proxyPort?: number, dns?: {host: string, port: number}, ca: {cert: string}, timeoutMs?: number}} o
 */
export function phoneNetwork({ proxyPort, dns, ca, timeoutMs = 30_000 }) {
  function secure(socketOpts, host) {
    return new Promise((resolve, reject) => {
      const t = tls.connect({ ...socketOpts, servername: host, ca: [ca.cert], ALPNProtocols: ["h2", "http/1.1"] });
      t.once("secureConnect", () => {
        if (t.alpnProtocol && t.alpnProtocol !== "http/1.1") {
          t.destroy();
          reject(new Error(`ALPN ${t.alpnProtocol}`));
          return;
        }
        resolve(t);
      });
      t.once("error", reject);
    });
  }
  function tunnel(host) {
    if (dns) return secure({ host: dns.host, port: dns.port }, host);
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port: proxyPort,
        method: "CONNECT",
        path: `${host}:443`,
        agent: false,
        headers: { Host: `${host}:443` },
      });
      const timer = setTimeout(() => req.destroy(new Error(`CONNECT ${host} timed out`)), timeoutMs);
      req.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.on("connect", (res, socket) => {
        clearTimeout(timer);
        if (res.statusCode !== 200) {
          socket.destroy();
          reject(new Error(`CONNECT ${host}: ${res.statusCode}`));
          return;
        }
        secure({ socket }, host).then(resolve, reject);
      });
      req.end();
    });
  }

  /**
   * @param {string} url absolute
   * @param {{method?: string, headers?: Record<string,string>, body?: Buffer}} [o]
   * @returns {Promise<{status: number, headers: object, body: Buffer}>}
   */
  async function request(url, { method = "GET", headers = {}, body } = {}) {
    const u = new URL(url);
    const rawTarget = url.slice(url.indexOf("/", url.indexOf("//") + 2)); // raw path+query, never re-encoded
    const socket = u.protocol === "https:" ? await tunnel(u.hostname) : null;
    return new Promise((resolve, reject) => {
      const opts = { method, path: rawTarget, headers: { Host: u.host, ...headers }, setHost: false };
      // No agent: a createConnection is only used without one (the TLS socket is the tunnel).
      const req = socket
        ? http.request({ ...opts, createConnection: () => socket })
        : http.request({ ...opts, agent: false, hostname: u.hostname, port: u.port || 80 });
      readReply(req, { timeoutMs, what: `${method} ${u.host}${u.pathname}` }).then(resolve, reject);
      req.end(body);
    });
  }
  return { request };
}

/**
 * SyncClient.swift plus the FileSyncPlugin.swift calls around it, for one graph.
 * @param {object} o
 * @param {ReturnType<typeof phoneNetwork>} o.net
 * @param {string} o.token
 * @param {string} o.graphUUID
 * @param {{secretKey: string, publicKey: string}} o.keys the graph's age key pair (setKey)
 * @param {(line: object) => void} [o.onRequest] sees every request sent (method, url, headers, body)
 */
export class IosSyncClient {
  constructor({ net, token, graphUUID, keys, onRequest = () => {} }) {
    Object.assign(this, { net, token, graphUUID, keys, onRequest });
    this.s3prefix = null;
  }

  async #api(name, bodyBytes) {
    const url = IOS_PROD.urlBase + name;
    const headers = {
      "Content-Type": "application/octet-stream",
      Accept: "*/*",
      "User-Agent": "Logseq-sync/0.1",
      "Accept-Language": "en-US,en;q=0.9",
      Authorization: `Bearer ${this.token}`,
      "Accept-Encoding": "gzip, deflate, br",
      "Content-Length": String(bodyBytes.length),
    };
    this.onRequest({ method: "POST", url, headers, body: bodyBytes });
    try {
      return await this.net.request(url, { method: "POST", headers, body: bodyBytes });
    } catch (err) {
      throw new IosError(`transport: ${err.message}`, { code: -1 }); // `guard error == nil`
    }
  }

  /** getTempCredential (:270-310). Returns the Credentials, or null where Swift has nil. */
  async getTempCredential() {
    const r = await this.#api("get_temp_credential", Buffer.alloc(0));
    const text = r.body.toString("utf8");
    if (r.status === 401) throw new IosError("unauthorized", { code: 401, body: text });
    if (r.status !== 200)
      throw new IosError(`invalid http status ${r.status}: ${text}`, { code: r.status, body: text });
    const d = swiftDecode(T.GetTempCredentialResponse, r.body);
    this.s3prefix = d.value ? d.value.S3Prefix.split(`${IOS_PROD.bucket}/`).join("") : null; // replacingOccurrences
    this.lastDecodeError = d.error ?? null;
    return d.value ? d.value.Credentials : null;
  }

  /** The key and presigned URL uploadTempFiles uses for one file (:342-348). */
  presignUpload(filePath, credentials, { now, expires } = {}) {
    if (this.s3prefix === null) throw new IosCrash("self.s3prefix! is nil (get_temp_credential did not decode)");
    const key = `${this.s3prefix}/ios${randomIosName()}.${pathExtension(filePath)}`;
    return { key, ...presignPutUrl({ credentials, key, now, expires }) };
  }

  /** putContent (:376-393): Alamofire PUT; resolves with the status, which the plugin ignores. */
  async putContent(url, content, extraHeaders = {}) {
    const headers = {
      ...ALAMOFIRE_HEADERS,
      Accept: "*/*",
      "Content-Type": "application/x-www-form-urlencoded",
      "Content-Length": String(content.length),
      ...extraHeaders,
    };
    this.onRequest({ method: "PUT", url, headers, body: content });
    try {
      const r = await this.net.request(url, { method: "PUT", headers, body: content });
      return r.status;
    } catch (err) {
      throw new IosError(`error(uploadTempFiles): ${err.message}`);
    }
  }

  /** updateFiles (:209-268): { encrypted path: [key, md5] } -> TXId (or the plugin's error). */
  async updateFiles(fileKeyDict, txid) {
    const r = await this.#api(
      "update_files",
      Buffer.from(jsonSerialization({ GraphUUID: this.graphUUID, Files: fileKeyDict, TXId: txid })),
    );
    this.#txidStatus(r);
    const d = swiftDecode(T.UpdateFilesResponse, r.body);
    if (!d.value) throw new IosError("error: missing txid", { body: r.body.toString("utf8") }); // resp nil -> (nil, nil)
    if (Object.keys(d.value.UpdateFailedFiles).length > 0) {
      throw new IosError(`update fail for some files: ${JSON.stringify(d.value.UpdateFailedFiles)}`, { code: 400 });
    }
    return d.value.TXId;
  }

  /** deleteFiles (:144-205) -> TXId. */
  async deleteFiles(paths, txid) {
    const r = await this.#api(
      "delete_files",
      Buffer.from(jsonSerialization({ GraphUUID: this.graphUUID, Files: paths, TXId: txid })),
    );
    this.#txidStatus(r);
    const d = swiftDecode(T.DeleteFilesResponse, r.body);
    if (!d.value) throw new IosError(d.error); // `try` rethrows
    return d.value.TXId;
  }

  #txidStatus(r) {
    const body = r.body.toString("utf8");
    if (r.status === 409 && body.includes("txid_to_validate")) {
      throw new IosError(nsError(409, `invalid txid: ${body}`), { code: 409, body });
    }
    if (r.status !== 200)
      throw new IosError(nsError(r.status, `invalid http status ${r.status}: ${body}`), { code: r.status, body });
  }

  /** getFiles / getVersionFiles (:56-142): path -> URL string; {} when the body does not decode. */
  async #presigned(name, paths) {
    const r = await this.#api(name, Buffer.from(jsonSerialization({ GraphUUID: this.graphUUID, Files: paths })));
    if (r.status !== 200) throw new IosError(`http error ${r.body.toString("utf8")}`, { code: 400 });
    const d = swiftDecode(T.FilesBody, r.body);
    this.lastDecodeError = d.error ?? null;
    const files = d.value?.PresignedFileUrls ?? {};
    for (const [p, url] of Object.entries(files)) {
      if (!foundationUrlParses(url)) throw new IosCrash(`URL(string:)! is nil for ${p}: ${url}`);
    }
    return files;
  }

  getFiles(paths) {
    return this.#presigned("get_files", paths);
  }
  getVersionFiles(paths) {
    return this.#presigned("get_version_files", paths);
  }

  /** download (:396-410): one GET, 2xx or an error; returns the bytes. */
  async download(url) {
    const headers = { ...ALAMOFIRE_HEADERS, Accept: "*/*" };
    this.onRequest({ method: "GET", url, headers });
    const r = await this.net.request(url, { headers });
    if (r.status < 200 || r.status > 299)
      throw new IosError(`Response status code was unacceptable: ${r.status}.`, { code: r.status });
    return r.body;
  }

  // ---- the plugin calls (FileSyncPlugin.swift) -----------------------------------------

  /**
   * updateRemoteFiles (:671-775): temp credential, one presigned PUT per file, update_files.
   * @param {Record<string, Buffer>} files plain relative path -> plaintext
   * @param {number} txid
   * @returns {Promise<{txid: number, keys: Record<string,string>, ciphertexts: Record<string,Buffer>, putStatus: Record<string,number>}>}
   */
  async updateRemoteFiles(files, txid) {
    const credentials = await this.getTempCredential();
    if (!credentials) throw new IosCrash("credentials! is nil (get_temp_credential did not decode)");
    const keys = {};
    const ciphertexts = {};
    const putStatus = {};
    const md5s = {};
    await Promise.all(
      Object.entries(files).map(async ([filePath, plain]) => {
        const cipher = ageEncrypt(plain, this.keys.publicKey); // maybeEncrypt, armor: false
        const { key, url } = this.presignUpload(filePath, credentials);
        md5s[filePath] = crypto.createHash("md5").update(plain).digest("hex"); // rawData.MD5
        putStatus[filePath] = await this.putContent(url, cipher);
        keys[filePath] = key;
        ciphertexts[filePath] = cipher;
      }),
    );
    const dict = {};
    for (const [filePath, key] of Object.entries(keys))
      dict[encryptFname(filePath, this.keys.secretKey)] = [key, md5s[filePath]];
    const newTxid = await this.updateFiles(dict, txid);
    return { txid: newTxid, keys, ciphertexts, putStatus };
  }

  /** deleteRemoteFiles (:622-668): plain paths, names encrypted here. */
  deleteRemoteFiles(paths, txid) {
    return this.deleteFiles(
      paths.map((p) => encryptFname(p, this.keys.secretKey)),
      txid,
    );
  }

  /**
   * updateLocalFiles / fetchRemoteFiles (:367-566): get_files for the encrypted names, then a
   * download per answered file; a failed download is skipped (the call still succeeds).
   * @returns {Promise<{downloaded: Record<string, Buffer>, failed: string[]}>} by plain path
   */
  async fetchRemoteFiles(paths) {
    const byName = Object.fromEntries(paths.map((p) => [encryptFname(p, this.keys.secretKey), p]));
    const urls = await this.getFiles(Object.keys(byName));
    const downloaded = {};
    const failed = [];
    await Promise.all(
      Object.entries(urls).map(async ([name, url]) => {
        if (!(name in byName))
          throw new IosCrash(`encryptedFilePathDict[${name}]! is nil: the answer names a file that was not asked for`);
        try {
          downloaded[byName[name]] = await this.download(url);
        } catch {
          failed.push(byName[name]);
        }
      }),
    );
    return { downloaded, failed };
  }
}
