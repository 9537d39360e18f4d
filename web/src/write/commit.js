// The browser's commit of one page, never clobbering (issue 18 "Commit, never clobber";
// WEB.md "Committing from the browser"; PROTOCOL.md §6.12, §6.17, §9.3):
//
//   1. get_files_meta: is the file's checksum still the one the edit started from?
//      no -> download the server's text, three-way merge (merge.js), return
//      "needs-confirmation" (a merge is never committed unconfirmed);
//   2. MD5 of the plaintext, encrypt to the graph's public key, get_upload_urls + PUT
//      (a failed PUT commits nothing and keeps the text);
//   3. update_files on the txid the edit was based on. A 409 `txid_to_validate` means another
//      device committed first: get_diff from our txid; if it touched this file -> merge as in
//      1; otherwise retry on the new txid, reusing the uploaded key (at most `maxRetries`).
//      Any other refusal keeps the uploaded key in the result so a retry can reuse it.
//
// Everything that talks to the server or holds the key is injected:
//   api.getFilesMeta(names)      -> [{FilePath, Checksum?, Txid?, Error?}]   (§6.12)
//   api.getUploadUrls(count)     -> [{Key, URL}]                             (docs/API.md)
//   api.put(url, bytes)          -> resolves on 200, throws otherwise
//   api.updateFiles(txid, files) -> {TXId}; throws Error with `.status` and the server's
//                                   `.message` when refused                  (§6.17)
//   api.getDiff(fromTxid)        -> {Transactions:[{TXId, TXType, TXContent}]} (§6.13)
//   api.getFiles(names)          -> {PresignedFileUrls:{name: url}}          (§6.19)
//   api.get(url)                 -> Uint8Array of the stored (encrypted) body
//   api.deleteFiles(txid, names) -> {TXId}; throws like updateFiles          (docs/API.md)
//   crypto.encryptName(path), crypto.encryptBody(text) -> Uint8Array,
//   crypto.decryptBody(bytes) -> Uint8Array, crypto.md5Hex(text)   (web/src/crypto/graphcrypto.js;
//   each may return a promise: the browser's crypto runs in a worker, web/src/shell/writer.js)
// The graph's UUID is the api's business (it is in every request body).

import { finalNewline, threeWayMerge } from "./merge.js";

const TXID_CONFLICT = /(\d+), txid_to_validate = (\d+)/;
const decoder = new TextDecoder();

/**
 * @typedef {object} CommitRequest
 * @property {object} api
 * @property {object} crypto
 * @property {string} path graph-relative plain path
 * @property {"markdown"|"org"} [format]
 * @property {{text: string, checksum?: string}|null} base the server's text the edit started
 *   from (null for a new file); checksum defaults to MD5 of base.text
 * @property {string|Uint8Array} text the text to commit, or the bytes of a binary file (an
 *   asset): its MD5 and encryption are of the bytes, and it is never merged — a binary that
 *   changed on the server since `base` is refused (`stage: "changed"`), not overwritten
 * @property {number} txid the graph txid the edit was based on
 * @property {{key: string, checksum: string, name: string}|null} [upload] an uploaded, not yet
 *   committed body from an earlier attempt: reused when it holds the same text
 * @property {number} [maxRetries] 409s without a change to this file before giving up (5)
 */

/**
 * @param {CommitRequest} req
 * @returns {Promise<
 *   {status: "committed", txid: number, checksum: string} |
 *   {status: "unchanged", txid: number, checksum: string} |
 *   {status: "needs-confirmation", merge: object, mergedText: string, remote: {text: string,
 *     checksum: string|null}, txid: number, text: string, upload: object|null} |
 *   {status: "failed", stage: string, error: Error, text: string|Uint8Array, upload: object|null}>}
 *   After "needs-confirmation", show `merge` (both sides marked); when the person confirms,
 *   call commit again with {base: remote, text: mergedText (or their edit of it), txid}.
 */
export async function commit(req) {
  const { api, crypto, path, text, format = "markdown", maxRetries = 5 } = req;
  const name = await crypto.encryptName(path);
  const checksum = await crypto.md5Hex(text);
  // A base whose checksum is null is "no such file on the server" (a merge's `remote` after the
  // file was deleted there): the commit creates it, as with no base at all.
  const base =
    req.base && req.base.checksum !== null
      ? { text: req.base.text, checksum: req.base.checksum ?? (await crypto.md5Hex(req.base.text)) }
      : null;
  let txid = req.txid;
  let upload = req.upload?.name === name && req.upload?.checksum === checksum ? req.upload : null;
  const failed = (stage, error) => ({ status: "failed", stage, error, text, upload });
  const binary = text instanceof Uint8Array;
  const mergeWith = (remoteChecksum) =>
    binary
      ? binaryChanged({ path, txid, remoteChecksum, checksum, text, upload })
      : changedOnServer({ api, crypto, name, format, base, text, txid, remoteChecksum, upload, checksum });

  // 1. is the server's file still the one the edit started from?
  let remoteChecksum;
  try {
    remoteChecksum = await checksumOnServer(api, name);
  } catch (error) {
    return failed("meta", error);
  }
  if (remoteChecksum !== (base?.checksum ?? null)) {
    try {
      const txs = (await api.getDiff(txid))?.Transactions ?? [];
      txid = txs.reduce((max, t) => Math.max(max, t.TXId), txid);
    } catch {
      // keep the old txid: the confirmed commit will meet a 409 and look again
    }
    return mergeWith(remoteChecksum);
  }
  if (remoteChecksum === checksum) return { status: "unchanged", txid, checksum };

  // 2. upload the encrypted body (or reuse the key of an earlier attempt)
  if (!upload) {
    let target;
    try {
      [target] = await api.getUploadUrls(1);
      if (!target?.Key || !target?.URL) throw new Error("get_upload_urls gave no upload URL");
    } catch (error) {
      return failed("upload-urls", error);
    }
    try {
      await api.put(target.URL, await crypto.encryptBody(text));
    } catch (error) {
      return failed("put", error);
    }
    upload = { key: target.Key, checksum, name };
  }

  // 3. commit on the txid the edit was based on
  let lastRefusal = "";
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    try {
      const answer = await api.updateFiles(txid, { [name]: [upload.key, checksum] });
      return { status: "committed", txid: answer.TXId, checksum };
    } catch (error) {
      const m = TXID_CONFLICT.exec(String(error?.message ?? ""));
      if (!m) return failed("update", error);
      lastRefusal = error.message;
      let diff;
      try {
        diff = await api.getDiff(txid);
      } catch (e) {
        return failed("diff", e);
      }
      const txs = diff?.Transactions ?? [];
      const latest = txs.reduce((max, t) => Math.max(max, t.TXId), Math.max(txid, Number(m[1])));
      if (txs.some((t) => touches(t, name))) {
        // Changed since our txid: by another device (merge), or to the very text this edit
        // was based on (a merge the person already confirmed): then just move on.
        let now;
        try {
          now = await checksumOnServer(api, name);
        } catch (e) {
          return failed("meta", e);
        }
        if (now !== (base?.checksum ?? null)) {
          txid = latest;
          return mergeWith(now);
        }
      }
      txid = latest;
    }
  }
  return failed(
    "update",
    new Error(`other devices kept committing (last answer: ${lastRefusal}); gave up after ${maxRetries} retries`),
  );
}

/** A binary file changed on the server since the edit began: never merged, never overwritten. */
function binaryChanged({ path, txid, remoteChecksum, checksum, text, upload }) {
  if (remoteChecksum === checksum) return { status: "unchanged", txid, checksum };
  const message =
    remoteChecksum === null
      ? `${path} was deleted on another device meanwhile; nothing was written.`
      : `${path} was changed on another device meanwhile; a file like this cannot be merged, so nothing was written. Open it again to see the new version.`;
  const error = Object.assign(new Error(message), { userMessage: message });
  return { status: "failed", stage: "changed", error, text, upload, remote: { checksum: remoteChecksum }, txid };
}

/**
 * Deletes one file (a `delete_files` transaction), never one the person has not seen: the
 * server's checksum must still be `checksum` (what the person looked at when they chose to
 * delete). A 409 retries on the new txid unless the file changed meanwhile.
 * @param {{api: object, crypto: object, path: string, checksum: string, txid: number,
 *   maxRetries?: number}} req
 * @returns {Promise<
 *   {status: "deleted", txid: number} |
 *   {status: "changed", remote: {checksum: string}, txid: number} |
 *   {status: "gone", txid: number} |
 *   {status: "failed", stage: string, error: Error}>}
 *   "changed": the file changed since — show the new version and ask again;
 *   "gone": another device deleted it already (nothing to do).
 */
export async function deleteFile(req) {
  const { api, crypto, path, checksum, maxRetries = 5 } = req;
  const name = await crypto.encryptName(path);
  let txid = req.txid;
  const failed = (stage, error) => ({ status: "failed", stage, error });
  const check = async () => {
    const now = await checksumOnServer(api, name);
    if (now === null) return { status: "gone", txid };
    if (now !== checksum) return { status: "changed", remote: { checksum: now }, txid };
    return null;
  };
  let verdict;
  try {
    verdict = await check();
  } catch (error) {
    return failed("meta", error);
  }
  if (verdict) return verdict;
  let lastRefusal = "";
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    try {
      const answer = await api.deleteFiles(txid, [name]);
      return { status: "deleted", txid: answer.TXId };
    } catch (error) {
      const m = TXID_CONFLICT.exec(String(error?.message ?? ""));
      if (!m) return failed("delete", error);
      lastRefusal = error.message;
      let txs;
      try {
        txs = (await api.getDiff(txid))?.Transactions ?? [];
      } catch (e) {
        return failed("diff", e);
      }
      txid = txs.reduce((max, t) => Math.max(max, t.TXId), Math.max(txid, Number(m[1])));
      if (txs.some((t) => touches(t, name))) {
        try {
          verdict = await check();
        } catch (e) {
          return failed("meta", e);
        }
        if (verdict) return verdict;
      }
    }
  }
  return failed(
    "delete",
    new Error(`other devices kept committing (last answer: ${lastRefusal}); gave up after ${maxRetries} retries`),
  );
}

/** The checksum the server holds for `name`, or null when it has no such file. */
async function checksumOnServer(api, name) {
  const meta = await api.getFilesMeta([name]);
  const entry = Array.isArray(meta) ? meta.find((e) => e.FilePath === name) : null;
  return entry && !entry.Error && entry.Checksum ? entry.Checksum : null;
}

/** Does a get_diff transaction change `name`? (paths may carry the `<user>/<graph>/` prefix) */
function touches(tx, name) {
  return (tx.TXContent ?? []).some(
    (item) => Array.isArray(item) && item.slice(0, 2).some((p) => p === name || p?.endsWith?.(`/${name}`)),
  );
}

/** The file changed on the server since the edit began: fetch it and merge, never commit. */
async function changedOnServer({ api, crypto, name, format, base, text, txid, remoteChecksum, upload, checksum }) {
  if (remoteChecksum === checksum) return { status: "unchanged", txid, checksum };
  let remoteText = "";
  if (remoteChecksum !== null) {
    try {
      const { PresignedFileUrls: urls = {} } = await api.getFiles([name]);
      if (!urls[name]) throw new Error("the server gave no download URL for the file");
      remoteText = decoder.decode(await crypto.decryptBody(await api.get(urls[name])));
    } catch (error) {
      return { status: "failed", stage: "download", error, text, upload };
    }
  }
  const merge = threeWayMerge(base?.text ?? "", remoteText, text, format);
  return {
    status: "needs-confirmation",
    merge,
    mergedText: finalNewline(merge.text, remoteText || text),
    remote: { text: remoteText, checksum: remoteChecksum },
    txid,
    text,
    upload,
  };
}
