// A browser device for the soak and the bench: the web app's own writing code, run in Node.
// Not its UI: the edits go through web/src/write/splice.js (a block of a real Logseq page edited
// as the editor does), web/src/write/commit.js (the never-clobber commit sequence) and
// web/src/crypto/graphcrypto.js (names, age bodies, MD5 — what the app's crypto worker runs),
// over real HTTP to the worker with the calls web/src/shell/writer.js and api.js make: POST
// /file-sync/<api> with a JSON body and the bearer ID token, and a PUT of the ciphertext to the
// presigned URL (writer.js uses XMLHttpRequest for the upload progress; the request is the same).
// What it does not exercise: the DOM, the crypto Web Worker's message passing, the service
// worker, IndexedDB.
//
// As a soak `Device` (device.mjs, whose websocket and sync loop it shares):
//   * it knows the graph as the browser does: every file's plaintext downloaded with get_files
//     and a GET of the presigned URL, decrypted with graphcrypto.js, kept by path; a pull reads
//     all of get_diff first and downloads each changed file once (web/src/shell/graph.js);
//   * a local edit is a person editing one block of a page (edit text, toggle the marker, add a
//     child or a sibling), or a new page in real Logseq syntax; edits of one page accumulate on
//     top of each other until they are saved, and keep the text and txid they started from;
//   * push: commit.js for each edited page. "needs-confirmation" (the file changed on the
//     server) is answered as a person confirming the merge preview: commit the merged text on
//     `{base: remote, txid}`. A failed commit keeps the edit (and its uploaded key) for the next
//     round. Every committed text is recorded in `acked` like the desktop devices' writes.

import { commit } from "../../web/src/write/commit.js";
import { syncCalls } from "../../web/src/write/syncapi.js";
import { createGraphCrypto, md5Hex } from "../../web/src/crypto/graphcrypto.js";
import { openPage, applyEdit, editableText } from "../../web/src/write/splice.js";
import { Device } from "./device.mjs";
import { TABS } from "../web/write-fixtures.mjs";
import { stripUserGraphPrefix } from "./graph.mjs";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The browser's JSON call (web/src/shell/api.js `call`): POST <url>/file-sync/<api>,
 * `content-type: application/json`, `authorization: Bearer <ID token>`.
 * Resolves {status, json, text}; status 0 when the server could not be reached.
 * `headers(api)` may add headers to one call (the soak's fault injection).
 */
export function browserCall(url, token, { headers = () => null, timeoutMs = 20_000 } = {}) {
  return async (api, body) => {
    try {
      const r = await fetch(`${url}/file-sync/${api}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${token}`,
          ...(headers(api) ?? {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await r.text();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: r.status, json, text };
    } catch (e) {
      return { status: 0, json: null, text: e.message };
    }
  };
}

/**
 * commit.js's `api` bound to one graph as web/src/shell/writer.js `commitApi` binds it: the same
 * calls and bodies, a refusal thrown as an Error with `.status` and the server's message.
 * `onCall(name, at)` is told when each call starts (the bench's marks); `badPut()` true makes
 * one PUT go out with a wrong signature (the soak's upload fault: the storage's real 403).
 */
export function commitApi(call, graph, { onCall = () => {}, badPut = () => false } = {}) {
  const json = async (name, body) => {
    onCall(name, performance.now());
    const r = await call(name, body);
    if (r.status !== 200) {
      throw Object.assign(new Error(r.json?.message ?? (r.text || `HTTP ${r.status}`)), { status: r.status });
    }
    return r.json;
  };
  return {
    ...syncCalls(json, graph),
    async put(url, bytes) {
      onCall("PUT", performance.now());
      const target = badPut() ? url.replace(/X-Amz-Signature=[0-9a-f]{4}/, "X-Amz-Signature=0000") : url;
      const r = await fetch(target, { method: "PUT", body: bytes, signal: AbortSignal.timeout(30_000) });
      await r.arrayBuffer();
      if (r.status < 200 || r.status > 299)
        throw Object.assign(new Error(`upload failed: HTTP ${r.status}`), { status: r.status });
    },
    async get(url) {
      onCall("GET", performance.now());
      const r = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      if (!r.ok) throw Object.assign(new Error(`download failed: HTTP ${r.status}`), { status: r.status });
      return new Uint8Array(await r.arrayBuffer());
    },
  };
}

/** A fresh page in the desktop's syntax: the write fixtures' page with its own title and block ids. */
export function browserPage(rng, title) {
  const uuid = () => {
    const h = Array.from({ length: 4 }, () => rng.next().toString(16).padStart(8, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  const ids = new Map();
  return TABS.replace("title:: Project Café", `title:: ${title}`).replace(
    /6571a3f0-[0-9a-f-]{27}/g,
    (id) => ids.get(id) ?? ids.set(id, uuid()).get(id),
  );
}

export class BrowserDevice extends Device {
  /**
   * @param {object} o Device's options without `dir`, plus
   * @param {string} o.url the worker's origin
   * @param {{secretKey: string, publicKey: string}} o.keys the graph's age key pair
   * @param {(api: string) => object|null} [o.faultHeaders] extra headers for one JSON call
   * @param {() => boolean} [o.badPut] true: this PUT goes out with a wrong signature
   */
  constructor({ url, keys, faultHeaders = () => null, badPut = () => false, ...o }) {
    const call = browserCall(url, o.token, { headers: faultHeaders });
    super({ ...o, api: call, dir: null });
    this.crypto = createGraphCrypto(keys);
    this.commitApi = commitApi(call, this.graph, { badPut });
    /** path -> {bytes: Uint8Array, md5} as downloaded or committed: the browser's copy of the graph */
    this.store = new Map();
    /** path -> {base: {text, checksum}|null, text, txid, upload} edits not yet committed */
    this.pending = new Map();
    Object.assign(this.counts, { blockEdits: 0, merges: 0, mergeConflicts: 0 });
    /** a person edits a block and saves: one edit per soak round (the desktops make 1-3) */
    this.maxEditsPerRound = 1;
  }

  async files() {
    return new Map([...this.store].map(([p, f]) => [p, f.md5]));
  }

  // ------------------------------------------------------------ local edits

  /** One edit by a person in the app: mostly one block of a page, sometimes a new page. */
  async localEdit() {
    const pages = [...new Set([...this.store.keys(), ...this.pending.keys()])].filter((p) => p.endsWith(".md"));
    if (pages.length < 2 || this.rng.chance(0.1)) return this.createPage();
    return this.editBlock(this.rng.pick(pages.sort()));
  }

  createPage() {
    const title = `${this.name} page ${++this.created}`;
    const path = `pages/${this.name.toLowerCase()}-page-${this.created}-${this.rng.next().toString(36)}.md`;
    this.pending.set(path, { base: null, text: browserPage(this.rng, title), txid: this.txid, upload: null });
    this.counts.create++;
  }

  editBlock(path) {
    const queued = this.pending.get(path);
    const stored = this.store.get(path);
    const edit = queued ?? {
      base: stored ? { text: decoder.decode(stored.bytes), checksum: stored.md5 } : null,
      txid: this.txid,
      upload: null,
    };
    const text = queued ? queued.text : (edit.base?.text ?? "");
    const page = openPage(text);
    const n = page.blocks.length;
    const tag = `${this.name} ${this.rng.next().toString(36)}`;
    let change;
    const r = this.rng.float();
    if (n === 0) change = { type: "add", index: -1, position: "after", text: `added in a browser ${tag}` };
    else if (r < 0.45) {
      const index = this.rng.int(0, n - 1);
      const [first, ...rest] = editableText(page, index).split("\n");
      change = { type: "edit", index, text: [`${first} · edited in a browser ${tag}`, ...rest].join("\n") };
    } else if (r < 0.65) change = { type: "toggle", index: this.rng.int(0, n - 1) };
    else if (r < 0.85) {
      change = { type: "add", index: this.rng.int(0, n - 1), position: "child", text: `child from a browser ${tag}` };
    } else change = { type: "add", index: this.rng.int(0, n - 1), position: "after", text: `TODO browser ${tag}` };
    try {
      edit.text = applyEdit(page, change).text;
    } catch (e) {
      this.failed(`splice ${change.type} on ${path}: ${e.message}`);
      return;
    }
    this.pending.set(path, edit);
    this.counts.edit++;
    this.counts.blockEdits++;
  }

  // ------------------------------------------------------------ sync

  /**
   * get_diff from the browser's txid as the app's graph.js follows it: every transaction read
   * first (deletions drop the copy), then each file the transactions updated downloaded once
   * (get_files, GET, decrypt); the txid moves only when all of it worked.
   */
  async pull() {
    this.counts.pulls++;
    const updated = new Map(); // name -> path
    let txid = this.txid;
    for (let page = 0; page < 100; page++) {
      const r = await this.api("get_diff", { GraphUUID: this.graph, FromTXId: txid });
      if (r.status !== 200 || !Array.isArray(r.json?.Transactions)) return this.failed(`get_diff ${r.status}`);
      const txs = [...r.json.Transactions].sort((a, b) => a.TXId - b.TXId);
      if (txs.length === 0) break;
      if (txs[0].TXId !== txid + 1) return this.failed(`get_diff gap: from ${txid} got ${txs[0].TXId}`);
      for (const tx of txs) {
        if (tx.TXType !== "update_files" && tx.TXType !== "delete_files")
          return this.failed(`unexpected TXType ${tx.TXType}`);
        for (const [to] of tx.TXContent ?? []) {
          const name = stripUserGraphPrefix(to ?? "");
          if (!name.startsWith("e.")) continue;
          let p;
          try {
            p = this.crypto.decryptName(name);
          } catch (e) {
            return this.failed(`name: ${e.message}`);
          }
          if (tx.TXType === "delete_files") {
            this.store.delete(p);
            updated.delete(name);
          } else updated.set(name, p);
        }
        txid = tx.TXId;
      }
    }
    const names = [...updated.keys()];
    for (let i = 0; i < names.length; i += 100) {
      const part = names.slice(i, i + 100);
      const r = await this.api("get_files", { GraphUUID: this.graph, Files: part });
      if (r.status !== 200) return this.failed(`get_files ${r.status}`);
      const urls = r.json?.PresignedFileUrls ?? {};
      for (const name of part) {
        if (!urls[name]) continue; // deleted since: the next get_diff says so
        try {
          const bytes = await this.crypto.decryptBody(await this.commitApi.get(urls[name]));
          this.store.set(updated.get(name), { bytes, md5: md5Hex(bytes) });
        } catch (e) {
          if (e.status === 404) continue;
          return this.failed(`download ${updated.get(name)}: ${e.message}`);
        }
      }
    }
    this.txid = txid;
    return true;
  }

  /** Commits every edited page (commit.js); a merge is confirmed as a person would. */
  async push() {
    for (const [path, edit] of [...this.pending]) {
      let current = edit;
      for (let attempt = 0; attempt < 4; attempt++) {
        this.counts.pushes++;
        const r = await commit({
          api: this.commitApi,
          crypto: this.crypto,
          path,
          base: current.base,
          text: current.text,
          txid: current.txid,
          upload: current.upload,
        });
        if (r.status === "committed" || r.status === "unchanged") {
          const bytes = encoder.encode(current.text);
          this.store.set(path, { bytes, md5: r.checksum });
          this.pending.delete(path);
          if (r.status === "committed") {
            this.acked.push({ path, md5: r.checksum, txid: r.txid, device: this.name });
            // nothing skipped (no 409 retry over other devices' transactions): the copy is current
            if (r.txid === this.txid + 1 && current.txid === this.txid) this.txid = r.txid;
          }
          break;
        }
        if (r.status === "needs-confirmation") {
          // the merge preview, confirmed: the merged text on the server's text
          this.counts.merges++;
          if (r.merge.conflicts) this.counts.mergeConflicts++;
          // (a page deleted on the server comes back as remote {text: "", checksum: null}:
          // confirming it makes the page anew, so its base is "no file"; commit.js would read
          // that remote as the empty text's MD5 and ask again forever)
          const base = r.remote.checksum === null ? null : r.remote;
          current = { base, text: r.mergedText, txid: r.txid, upload: null };
          this.pending.set(path, current);
          continue;
        }
        // failed: keep the text (and an uploaded key) for the next round
        this.pending.set(path, { ...current, upload: r.upload });
        return this.failed(`commit ${path} (${r.stage}): ${String(r.error?.message ?? r.error).split("\n")[0]}`);
      }
    }
    return this.pending.size === 0;
  }
}
