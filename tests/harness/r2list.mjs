// Lists what is really stored in the local R2 bucket, through wrangler's
// emulated S3 endpoint (ListObjectsV2, SigV4 with the local-only credentials
// of wrangler.toml). Tests use it to prove objects exist or are gone.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { raw } from "./client.mjs";
import { uriEncode, amzDate } from "./s3sign.mjs";
import { LOCAL_R2_S3 } from "../../scripts/lib/devserver.mjs";

const unxml = (s) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");

/** A presigned ListObjectsV2 request path for the local bucket. */
function listPath(workerUrl, params) {
  const stamp = amzDate(new Date());
  const day = stamp.slice(0, 8);
  const scope = `${day}/auto/s3/aws4_request`;
  const all = {
    ...params,
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `${LOCAL_R2_S3.accessKeyId}/${scope}`,
    "X-Amz-Date": stamp,
    "X-Amz-Expires": "600",
    "X-Amz-SignedHeaders": "host",
  };
  const query = Object.entries(all)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const path = `/cdn-cgi/local/r2/s3/${LOCAL_R2_S3.bucket}`;
  const canonical = ["GET", path, query, `host:${new URL(workerUrl).host}`, "", "host", "UNSIGNED-PAYLOAD"].join("\n");
  const h = (k, d) => crypto.createHmac("sha256", k).update(d).digest();
  const key = h(h(h(h(`AWS4${LOCAL_R2_S3.secretAccessKey}`, day), "auto"), "s3"), "aws4_request");
  const sts = ["AWS4-HMAC-SHA256", stamp, scope, crypto.createHash("sha256").update(canonical).digest("hex")].join(
    "\n",
  );
  return `${path}?${query}&X-Amz-Signature=${crypto.createHmac("sha256", key).update(sts).digest("hex")}`;
}

/** Sorted keys of every stored object under `prefix` (paged, bounded). */
export async function listObjects(workerUrl, prefix, timeoutMs = 30_000) {
  const keys = [];
  let token;
  for (let page = 0; page < 100; page++) {
    const params = { "list-type": "2", prefix };
    if (token) params["continuation-token"] = token;
    const r = await raw(workerUrl, listPath(workerUrl, params), { timeoutMs });
    assert.equal(r.status, 200, `ListObjectsV2: ${r.status} ${r.text.slice(0, 300)}`);
    for (const m of r.text.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(unxml(m[1]));
    const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(r.text);
    if (!/<IsTruncated>true<\/IsTruncated>/.test(r.text) || !next) return keys.sort();
    token = unxml(next[1]);
  }
  throw new Error("listing never ended");
}
