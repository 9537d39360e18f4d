// The iOS app's sync plugin (@logseq/capacitor-file-sync 5.0.2) against the worker, through
// the connect proxy the way a phone with a Wi-Fi proxy and the CA profile reaches it: the
// requests SyncClient.swift sends and its strict reading of the answers
// (tests/harness/ios-client.mjs), and a desktop (stock rsapi) reading what the phone wrote.
//
// Where the iOS plugin is stricter than rsapi 0.0.92, and the test that pins each:
//  S1 get_files/get_version_files: the WHOLE body must decode as [String: [String: String]]
//     (one other top-level field => nothing downloaded, silently)          -> 4, 6, 10
//  S2 every URL must satisfy URL(string:) (force-unwrapped: a crash)        -> 4, 6
//  S3 every answer key must be one that was asked for (force-unwrapped)     -> 4, 10
//  S4 update_files: TXId Int, UpdateSuccFiles [String], UpdateFailedFiles [String:String]
//     all present, and UpdateFailedFiles empty (rsapi reads TXId only)      -> 3, 6
//  S5 delete_files: TXId, DeleteSuccFiles, DeleteFailedFiles all present    -> 7
//  S6 get_temp_credential: all four credential fields strings (Expiration too), and S3Prefix
//     begins with "<bucket>/" (iOS deletes every "<bucket>/" instead of stripping a prefix);
//     an undecodable answer crashes updateRemoteFiles                       -> 1
//  S7 HTTP 200 is the only success on every API call (rsapi reads update/delete/get_files
//     bodies whatever the status)                                           -> all
//  S8 a txid conflict must be HTTP 409 AND contain `txid_to_validate`       -> 8
//  S9 uploads are presigned by the AWS iOS SDK: SDK query order (not sorted), standard SigV4
//     canonical form, X-Amz-Expires 599 (or 600), host the only signed header -> 2, 9
//  S10 upload keys `<prefix>/ios<15 [A-Za-z0-9]>.<ext>`, the extension may be empty
//     (trailing `.`) or non-ASCII                                           -> 3
//  S11 get_temp_credential comes with Content-Length: 0 (rsapi: no framing at all), once per
//     upload batch; bodies use `\/` for `/` (JSONSerialization)              -> 1, 3
// And where it is more lenient, so the server must be strict instead:
//  L1 the PUT's status is never checked: a refused upload must not be committable -> 9
//
// Needs WORKER_URL and JWT_SECRET (the worker's) in the environment.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";

import { makeCa, startConnectProxy } from "../../scripts/lib/connect-proxy.mjs";
import { appCall } from "../harness/client.mjs";
import { jwtSecret, newUser } from "../harness/auth.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import {
  CLIENT_UUID_RE,
  TXID_CONFLICT_RE,
  PROD_BUCKET,
  makeDeviceDir,
  removeDirs,
  md5,
  stripUserGraphPrefix,
} from "../harness/graph.mjs";
import { IosSyncClient, IosError, phoneNetwork } from "../harness/ios-client.mjs";
import { encryptFname } from "../harness/age.mjs";
import { swiftDecode, T, foundationUrlParses, presignPutUrl } from "../harness/ios-sdk.mjs";

const WORKER_URL = process.env.WORKER_URL;
const STEP = { timeout: 45_000 };
const BUCKET_HOST = `${PROD_BUCKET}.s3.amazonaws.com`;
const SDK_QUERY_ORDER = [
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Security-Token",
  "X-Amz-Signature",
];

let ca;
let proxy;
let net;
const dirs = [];

before(
  async () => {
    if (!WORKER_URL) throw new Error("WORKER_URL is not set (e.g. WORKER_URL=http://127.0.0.1:8787)");
    jwtSecret();
    ca = makeCa();
    proxy = await startConnectProxy({ serverUrl: WORKER_URL, ca });
    net = phoneNetwork({ proxyPort: proxy.port, ca });
    await rsapi.setProxy(proxy.url);
  },
  { timeout: 15_000 },
);

after(
  async () => {
    await rsapi.setProxy(null).catch(() => {});
    await proxy?.close();
    await removeDirs(dirs);
  },
  { timeout: 15_000 },
);

function api(name, body, token) {
  return appCall(WORKER_URL, name, body, token, { timeoutMs: 15_000 });
}

function json(reply, what) {
  assert.equal(reply.status, 200, `${what}: ${reply.status} ${reply.text}`);
  return reply.json;
}

describe("the iOS plugin syncs a graph through the connect proxy", () => {
  const alice = newUser("ios");
  const sent = [];
  let graph;
  let keys;
  let ios;
  let creds;
  let txid = 0;
  const files = {
    "pages/ios note.md": Buffer.from("- written on a phone\n- second block\n"),
    "assets/photo.PNG": Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    README: Buffer.from("no extension at all\n"),
    "pages/café entwürfe.org": Buffer.from("* ünïcödé\n"),
    "assets/archive.tar.gz": Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]),
    "pages/empty.md": Buffer.alloc(0),
    "assets/skizze.entwürfe": Buffer.from("non-ASCII extension: percent-encoded UTF-8 in both URLs"),
    "src/main.c++": Buffer.from('"+" is %2B in the SDK\'s path, never a space'),
  };
  let uploaded;

  before(
    async () => {
      const created = json(await api("create_graph", { GraphName: "phone notes" }, alice.token), "create_graph");
      graph = created.GraphUUID;
      assert.match(graph, CLIENT_UUID_RE);
      keys = await rsapi.keygen();
      const armored = (await rsapi.ageEncryptWithPassphrase("pw", keys.secretKey)).toString("utf8");
      const up = await api(
        "upload_graph_encrypt_keys",
        { GraphUUID: graph, "public-key": keys.publicKey, "encrypted-private-key": armored },
        alice.token,
      );
      assert.ok(up.status >= 200 && up.status < 300, up.text);
      ios = new IosSyncClient({ net, token: alice.token, graphUUID: graph, keys, onRequest: (r) => sent.push(r) });
      await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);
    },
    { timeout: 30_000 },
  );

  it("0a. the harness presigner reproduces AWS's published SigV4 query-presign example", () => {
    // docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (GET examplebucket/test.txt).
    const { url } = presignPutUrl({
      method: "GET",
      key: "test.txt",
      bucket: "examplebucket",
      expires: 86400,
      now: new Date(Date.UTC(2013, 4, 24)),
      credentials: {
        AccessKeyId: "AKIAIOSFODNN7EXAMPLE",
        SecretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        SessionToken: "",
      },
    });
    assert.ok(url.endsWith("&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"), url);
  });

  it("0b. the plugin names files exactly as the desktop does (same encrypted paths on the server)", STEP, async () => {
    const names = Object.keys(files);
    assert.deepEqual(
      names.map((p) => encryptFname(p, keys.secretKey)),
      await rsapi.encryptFnames(graph, names),
    );
  });

  it(
    '1. get_temp_credential: empty body with Content-Length 0, strictly decodable, S3Prefix = "<bucket>/" + our prefix (S6, S11)',
    STEP,
    async () => {
      sent.length = 0;
      creds = await ios.getTempCredential();
      assert.equal(ios.lastDecodeError, null);
      assert.ok(creds, "Credentials decoded");
      const req = sent[0];
      assert.equal(req.headers["Content-Length"], "0");
      assert.equal(req.body.length, 0);
      for (const f of ["AccessKeyId", "SecretKey", "SessionToken"]) assert.match(creds[f], /^[A-Za-z0-9]+$/, f);
      assert.ok(
        !Number.isNaN(Date.parse(creds.Expiration)) && Date.parse(creds.Expiration) > Date.now(),
        creds.Expiration,
      );
      // The raw answer: S3Prefix begins with "<bucket>/" and contains it once, so iOS's
      // replacingOccurrences and rsapi's strip_prefix agree on the prefix.
      const raw = await net.request("https://api.logseq.com/file-sync/get_temp_credential", {
        method: "POST",
        headers: { Authorization: `Bearer ${alice.token}`, "Content-Length": "0" },
        body: Buffer.alloc(0),
      });
      const s3Prefix = JSON.parse(raw.body).S3Prefix;
      assert.ok(s3Prefix.startsWith(`${PROD_BUCKET}/`), s3Prefix);
      assert.equal(s3Prefix.split(`${PROD_BUCKET}/`).length, 2, s3Prefix);
      assert.equal(ios.s3prefix, s3Prefix.slice(PROD_BUCKET.length + 1));
      assert.ok(!ios.s3prefix.endsWith("/"), ios.s3prefix);
    },
  );

  it(
    "2. the PUT URL is the AWS iOS SDK's: virtual-hosted, SDK query order, 599 s, host only, session token (S9)",
    STEP,
    async () => {
      const { key, url, canonicalRequest } = ios.presignUpload("pages/ios note.md", creds);
      const u = new URL(url);
      assert.equal(u.host, BUCKET_HOST);
      assert.equal(u.pathname, `/${key}`, "the key needs no escaping");
      assert.deepEqual([...u.searchParams.keys()], SDK_QUERY_ORDER);
      assert.equal(u.searchParams.get("X-Amz-Expires"), "599");
      assert.equal(u.searchParams.get("X-Amz-SignedHeaders"), "host");
      assert.equal(u.searchParams.get("X-Amz-Security-Token"), creds.SessionToken);
      assert.match(u.searchParams.get("X-Amz-Credential"), /^[A-Za-z0-9]+\/\d{8}\/us-east-1\/s3\/aws4_request$/);
      assert.ok(url.includes("X-Amz-Credential=" + creds.AccessKeyId + "%2F"), "the credential's slashes are %2F");
      assert.ok(canonicalRequest.endsWith("\nhost:" + BUCKET_HOST + "\n\nhost\nUNSIGNED-PAYLOAD"), canonicalRequest);
      // The sorted (canonical) order differs from the order sent: the receiver must not rely on it.
      assert.notDeepEqual(SDK_QUERY_ORDER, [...SDK_QUERY_ORDER].sort());
    },
  );

  it(
    "3. upload + commit: ios<15>.<ext> keys (empty and non-ASCII extensions), age bodies, strict update_files (S4, S10, S11)",
    STEP,
    async () => {
      sent.length = 0;
      uploaded = await ios.updateRemoteFiles(files, txid);
      assert.equal(uploaded.txid, txid + 1);
      txid = uploaded.txid;
      for (const [p, status] of Object.entries(uploaded.putStatus)) assert.equal(status, 200, `PUT ${p}`);
      const prefix = ios.s3prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      assert.match(uploaded.keys["pages/ios note.md"], new RegExp(`^${prefix}/ios[A-Za-z0-9]{15}\\.md$`));
      assert.match(uploaded.keys.README, new RegExp(`^${prefix}/ios[A-Za-z0-9]{15}\\.$`), "no extension: trailing dot");
      assert.match(uploaded.keys["pages/café entwürfe.org"], /\.org$/);
      assert.match(uploaded.keys["assets/archive.tar.gz"], /\.gz$/);
      assert.match(uploaded.keys["assets/skizze.entwürfe"], /\.entwürfe$/);
      assert.match(uploaded.keys["src/main.c++"], /\.c\+\+$/);
      const putUrl = (p) =>
        sent.find(
          (r) =>
            r.method === "PUT" &&
            r.url.includes(uploaded.keys[p].split("/").pop().replace(/ü/g, "%C3%BC").replace(/\+/g, "%2B")),
        ).url;
      assert.ok(putUrl("assets/skizze.entwürfe").includes(".entw%C3%BCrfe?"), "UTF-8 percent-encoded");
      assert.ok(putUrl("src/main.c++").includes(".c%2B%2B?"), "+ percent-encoded");
      for (const c of Object.values(uploaded.ciphertexts))
        assert.ok(c.subarray(0, 22).toString() === "age-encryption.org/v1\n");
      const puts = sent.filter((r) => r.method === "PUT");
      assert.equal(puts.length, Object.keys(files).length);
      for (const r of puts) assert.deepEqual([...new URL(r.url).searchParams.keys()], SDK_QUERY_ORDER);
      const update = sent.find((r) => r.url.endsWith("/update_files"));
      assert.ok(update.body.toString().includes("\\/"), "JSONSerialization escapes / as \\/");
      assert.equal(sent.filter((r) => r.url.endsWith("/get_temp_credential")).length, 1, "one credential per batch");
    },
  );

  it(
    "4. get_files: whole body decodes as [String:[String:String]], only asked-for keys, URL(string:)-valid URLs, identical bytes (S1-S3)",
    STEP,
    async () => {
      const paths = [...Object.keys(files), "pages/never uploaded.md"];
      const { downloaded, failed } = await ios.fetchRemoteFiles(paths);
      assert.equal(ios.lastDecodeError, null, "get_files body decodes as [String: [String: String]]");
      assert.deepEqual(failed, []);
      assert.deepEqual(Object.keys(downloaded).sort(), Object.keys(files).sort(), "the unknown file is left out");
      for (const p of Object.keys(files)) assert.ok(downloaded[p].equals(uploaded.ciphertexts[p]), `bytes of ${p}`);
      // Only-unknown request: still a decodable body (an empty map).
      assert.deepEqual(await ios.getFiles([encryptFname("pages/nothing.md", keys.secretKey)]), {});
      assert.equal(ios.lastDecodeError, null);
    },
  );

  it(
    "5. a desktop (stock rsapi) downloads and decrypts what the phone uploaded, under the same names",
    STEP,
    async () => {
      const all = json(await api("get_all_files", { GraphUUID: graph }, alice.token), "get_all_files");
      const names = all.Objects.map((o) => stripUserGraphPrefix(o.Key));
      assert.deepEqual((await rsapi.decryptFnames(graph, names)).sort(), Object.keys(files).sort());
      for (const o of all.Objects) {
        const [plain] = await rsapi.decryptFnames(graph, [stripUserGraphPrefix(o.Key)]);
        assert.equal(o.checksum, md5(files[plain]), `checksum of ${plain}`);
      }
      const dir = await makeDeviceDir("desktop");
      dirs.push(dir);
      await rsapi.updateLocalFiles(graph, dir, Object.keys(files), alice.token);
      for (const [p, plain] of Object.entries(files)) {
        assert.ok((await readFile(path.join(dir, p))).equals(plain), `desktop copy of ${p}`);
      }
    },
  );

  it(
    "6. versions: the phone overwrites a page, get_version_files gives the old body back (S1, S2, S4)",
    STEP,
    async () => {
      const page = "pages/ios note.md";
      const second = await ios.updateRemoteFiles({ [page]: Buffer.from("- edited on the phone\n") }, txid);
      assert.equal(second.txid, txid + 1);
      txid = second.txid;
      const list = json(
        await api("get_file_version_list", { GraphUUID: graph, File: encryptFname(page, keys.secretKey) }, alice.token),
        "versions",
      );
      assert.ok(list.VersionList.length >= 1, JSON.stringify(list));
      const ids = list.VersionList.map((v) => `${v.FileUUID}/${v.VersionUUID}`);
      const urls = await ios.getVersionFiles(ids);
      assert.equal(ios.lastDecodeError, null, "get_version_files body decodes as [String: [String: String]]");
      assert.ok(
        Object.keys(urls).every((k) => ids.includes(k)),
        "only asked-for keys",
      );
      const bodies = await Promise.all(Object.values(urls).map((u) => ios.download(u)));
      assert.ok(
        bodies.some((b) => b.equals(uploaded.ciphertexts[page])),
        "the first upload is a version",
      );
    },
  );

  it("7. delete: delete_files decodes as DeleteFilesResponse, the file is gone (S5)", STEP, async () => {
    txid = await ios.deleteRemoteFiles(["assets/archive.tar.gz"], txid).then((t) => {
      assert.equal(t, txid + 1);
      return t;
    });
    const { downloaded } = await ios.fetchRemoteFiles(["assets/archive.tar.gz", "README"]);
    assert.deepEqual(Object.keys(downloaded), ["README"]);
    assert.equal(json(await api("get_txid", { GraphUUID: graph }, alice.token), "get_txid").TXId, txid);
  });

  it(
    "8. stale txid: update_files and delete_files answer 409 with txid_to_validate; the app reads both numbers (S8)",
    STEP,
    async () => {
      const stale = txid - 2;
      for (const attempt of [
        () => ios.updateRemoteFiles({ "pages/late.md": Buffer.from("late") }, stale),
        () => ios.deleteRemoteFiles(["README"], stale),
      ]) {
        const err = await attempt().then(
          () => null,
          (e) => e,
        );
        assert.ok(err instanceof IosError, String(err));
        assert.equal(err.code, 409, err.message);
        const m = TXID_CONFLICT_RE.exec(err.message);
        assert.ok(m, err.message);
        assert.equal(Number(m[1]), txid, "server txid");
        assert.equal(Number(m[2]), stale, "txid_to_validate");
      }
      assert.equal(
        json(await api("get_txid", { GraphUUID: graph }, alice.token), "get_txid").TXId,
        txid,
        "nothing committed",
      );
    },
  );

  it(
    "9. a PUT the receiver refuses cannot be committed (the plugin ignores the PUT status, L1); 600 s and an empty body are fine (S9)",
    STEP,
    async () => {
      const c = await ios.getTempCredential();
      const bad = ios.presignUpload("pages/forged.md", {
        ...c,
        SecretKey: c.SecretKey.replace(/.$/, (ch) => (ch === "A" ? "B" : "A")),
      });
      assert.equal(await ios.putContent(bad.url, Buffer.from("forged")), 403);
      const err = await ios
        .updateFiles({ [encryptFname("pages/forged.md", keys.secretKey)]: [bad.key, md5("forged")] }, txid)
        .then(
          () => null,
          (e) => e,
        );
      assert.ok(err instanceof IosError && err.code >= 400 && err.code < 500, String(err));
      assert.equal(json(await api("get_txid", { GraphUUID: graph }, alice.token), "get_txid").TXId, txid);

      const empty = ios.presignUpload("pages/plain empty", c, { expires: 600 });
      assert.match(empty.url, /&X-Amz-Expires=600&/);
      assert.equal(await ios.putContent(empty.url, Buffer.alloc(0)), 200);
      const name = encryptFname("pages/plain empty", keys.secretKey);
      txid = await ios.updateFiles({ [name]: [empty.key, md5("")] }, txid);
      const urls = await ios.getFiles([name]);
      assert.equal((await ios.download(urls[name])).length, 0);
    },
  );

  it(
    "10. raw answers carry nothing a Decodable trips on: exactly {PresignedFileUrls: {...}} (S1, S3)",
    STEP,
    async () => {
      const unknownVersion = "00000000-0000-4000-8000-000000000000/00000000-0000-4000-8000-000000000001";
      for (const [apiName, files2] of [
        ["get_files", [encryptFname("README", keys.secretKey), encryptFname("pages/not here.md", keys.secretKey)]],
        ["get_version_files", [unknownVersion]],
      ]) {
        const r = await net.request(`https://api.logseq.com/file-sync/${apiName}`, {
          method: "POST",
          headers: { Authorization: `Bearer ${alice.token}`, "Content-Type": "application/octet-stream" },
          body: Buffer.from(JSON.stringify({ GraphUUID: graph, Files: files2 })),
        });
        assert.equal(r.status, 200, `${apiName}: ${r.body}`);
        const body = JSON.parse(r.body);
        assert.deepEqual(Object.keys(body), ["PresignedFileUrls"], `${apiName}: ${r.body}`);
        assert.equal(swiftDecode(T.FilesBody, r.body).error, undefined);
        for (const [k, u] of Object.entries(body.PresignedFileUrls)) {
          assert.ok(files2.includes(k), k);
          assert.ok(foundationUrlParses(u), u);
        }
      }
    },
  );

  it('11. a wrong token: get_temp_credential is 401, the plugin\'s "unauthorized" (S7)', STEP, async () => {
    const stranger = new IosSyncClient({ net, token: alice.token.slice(0, -2) + "xx", graphUUID: graph, keys });
    await assert.rejects(
      stranger.getTempCredential(),
      (e) => e instanceof IosError && e.code === 401 && e.message === "unauthorized",
    );
  });
});
