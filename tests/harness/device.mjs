// One Logseq device for the convergence soak: a graph folder on disk, the official client
// library (rsapi, process-global: setEnv and setProxy are the caller's) for every byte that
// moves, and the app's own JSON calls for the rest, in the order the app makes them
// (PROTOCOL.md §11):
//   * local edits are queued as pending (path -> put | delete); a rename is a delete of the old
//     path and a put of the new one (§11.5: "unlink(old) + add(new)");
//   * push: puts in chunks of 20 through rsapi's updateRemoteFiles, deletes through
//     deleteRemoteFiles, each with the device's txid; a txid conflict (§9.3, server ahead) is
//     answered by a pull and a retry of the same changes; any other failure leaves the change
//     pending for the next round;
//   * pull: get_diff from the local txid, applied oldest first: updates through rsapi's
//     updateLocalFiles, deletions by removing the local file; a path with a pending local
//     change keeps the local copy, which the next push uploads (the app's merge keeps local
//     edits too, §11.6; the overwritten remote body stays in the graph's history);
//   * pulls are triggered by a websocket push ({"txid":N} > local txid) or by a periodic
//     get_txid (the app's 10-minute timer), and the websocket is reopened when it dropped.
// Every acknowledged write (a 200 with a new TXId) is recorded in `acked` so the soak can check
// that nothing acknowledged was lost.

import { mkdir, readFile, rm, rename, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";

import * as rsapi from "./rsapi.mjs";
import { connectWebSocket } from "./ws.mjs";
import { TXID_CONFLICT_RE, UPLOAD_BATCH, DOWNLOAD_BATCH, md5, chunk, stripUserGraphPrefix } from "./graph.mjs";

/** A line of text from the PRNG (pages are text; every line differs). */
function line(rng, tag) {
  return `- ${tag} ${rng.next().toString(36)} ${"lorem ipsum ".repeat(1 + (rng.next() % 4))}\n`;
}

export class Device {
  /**
   * @param {object} o
   * @param {string} o.name e.g. "A"
   * @param {(api: string, body: any) => Promise<object>} o.api the app's JSON call (appCall bound to the worker and token)
   * @param {string} o.wsUrl websocket URL of the graph
   * @param {string} o.graph GraphUUID (rsapi's setEnv done by the caller)
   * @param {string} o.token bearer token
   * @param {string} o.dir the graph folder
   * @param {import('../../bench/prng.mjs').Prng} o.rng this device's seeded PRNG
   * @param {(line: string) => void} [o.log]
   */
  constructor({ name, api, wsUrl, graph, token, dir, rng, log = () => {} }) {
    Object.assign(this, { name, api, wsUrl, graph, token, dir, rng, log });
    this.txid = 0;
    /** @type {Map<string, 'put'|'delete'>} */
    this.pending = new Map();
    /** acknowledged writes: { path, md5 | null (delete), txid, device } */
    this.acked = [];
    this.ws = null;
    this.created = 0;
    this.counts = {
      create: 0,
      edit: 0,
      delete: 0,
      rename: 0,
      asset: 0,
      pushes: 0,
      pulls: 0,
      conflicts: 0,
      failures: 0,
      wsReconnects: 0,
    };
    this.errors = [];
  }

  abs(rel) {
    return path.join(this.dir, rel);
  }

  /** The device's synced files now: path -> md5 of the plaintext (rsapi's own scan). */
  async files() {
    const meta = await rsapi.getLocalAllFilesMeta(this.graph, this.dir);
    return new Map(Object.values(meta).map((m) => [m.fname, m.md5]));
  }

  // ------------------------------------------------------------ local edits

  /** One random local edit, as a person makes it in the app. */
  async localEdit() {
    const files = [...(await this.files()).keys()];
    const pages = files.filter((f) => f.endsWith(".md"));
    const assets = files.filter((f) => f.startsWith("assets/"));
    const r = this.rng.float();
    if (r < 0.25 || pages.length < 3) return this.createPage();
    if (r < 0.6) return this.editPage(this.rng.pick(pages));
    if (r < 0.72) return this.remove(this.rng.pick(files));
    if (r < 0.84) return this.renamePage(this.rng.pick(pages));
    if (r < 0.94 || assets.length === 0) return this.createAsset();
    return this.remove(this.rng.pick(assets));
  }

  async createPage() {
    const rel = `pages/${this.name.toLowerCase()}-${++this.created}-${this.rng.next().toString(36)}.md`;
    await this.write(rel, `title:: ${this.name} ${this.created}\n${line(this.rng, this.name)}`);
    this.counts.create++;
  }

  async editPage(rel) {
    const old = await readFile(this.abs(rel), "utf8");
    await this.write(rel, old + line(this.rng, `${this.name} edit`));
    this.counts.edit++;
  }

  async createAsset() {
    const rel = `assets/${this.name.toLowerCase()}-${++this.created}.bin`;
    await this.write(rel, this.rng.bytes(this.rng.int(1024, 24 * 1024)));
    this.counts.asset++;
  }

  async renamePage(rel) {
    const to = `pages/${this.name.toLowerCase()}-renamed-${++this.created}.md`;
    await mkdir(path.dirname(this.abs(to)), { recursive: true });
    await rename(this.abs(rel), this.abs(to));
    this.pending.set(rel, "delete");
    this.pending.set(to, "put");
    this.counts.rename++;
  }

  async remove(rel) {
    await rm(this.abs(rel), { force: true });
    this.pending.set(rel, "delete");
    this.counts.delete++;
  }

  async write(rel, data) {
    await mkdir(path.dirname(this.abs(rel)), { recursive: true });
    await writeFile(this.abs(rel), data);
    this.pending.set(rel, "put");
  }

  // ------------------------------------------------------------ sync

  /** Opens (or reopens) the graph's websocket; failures are retried on the next round. */
  async ensureSocket() {
    if (this.ws && !this.ws.closed) return;
    try {
      this.ws = await connectWebSocket(this.wsUrl, { timeoutMs: 5_000 });
      this.counts.wsReconnects++;
      this.wsSeen = 0;
    } catch {
      this.ws = null;
    }
  }

  /** Drops the websocket (a fault: the network went away). */
  dropSocket() {
    this.ws?.drop();
  }

  /** The highest txid the websocket announced since it was last read. */
  pushedTxid() {
    if (!this.ws) return 0;
    let max = 0;
    for (const m of this.ws.messages.slice(this.wsSeen ?? 0)) {
      try {
        max = Math.max(max, JSON.parse(m.data).txid ?? 0);
      } catch {
        // not ours
      }
    }
    this.wsSeen = this.ws.messages.length;
    return max;
  }

  /** One round of the app's sync loop: pull when told to (push or timer), then push. */
  async syncRound({ poll = false } = {}) {
    await this.ensureSocket();
    let behind = this.pushedTxid() > this.txid;
    if (poll && !behind) {
      const r = await this.api("get_txid", { GraphUUID: this.graph });
      behind = r.status === 200 && r.json?.TXId > this.txid;
    }
    if (behind && !(await this.pull())) return false;
    return this.push();
  }

  /** get_diff from the local txid, applied oldest first; false if anything failed (retried later). */
  async pull() {
    this.counts.pulls++;
    for (let page = 0; page < 100; page++) {
      const r = await this.api("get_diff", { GraphUUID: this.graph, FromTXId: this.txid });
      if (r.status !== 200 || !Array.isArray(r.json?.Transactions)) return this.failed(`get_diff ${r.status}`);
      const txs = [...r.json.Transactions].sort((a, b) => a.TXId - b.TXId);
      if (txs.length === 0) return true;
      if (txs[0].TXId !== this.txid + 1) return this.failed(`get_diff gap: from ${this.txid} got ${txs[0].TXId}`);
      for (const tx of txs) {
        if (!(await this.apply(tx))) return false;
        this.txid = tx.TXId;
      }
    }
    return true;
  }

  async apply(tx) {
    const keys = (tx.TXContent ?? []).map(([to]) => stripUserGraphPrefix(to)).filter((k) => k.startsWith("e."));
    if (keys.length === 0) return true;
    const paths = rsapi.decryptFnames(this.graph, keys).filter((p) => !this.pending.has(p));
    if (tx.TXType === "delete_files") {
      for (const p of paths) await rm(this.abs(p), { force: true });
      return true;
    }
    if (tx.TXType !== "update_files") return this.failed(`unexpected TXType ${tx.TXType}`);
    try {
      for (const part of chunk(paths, DOWNLOAD_BATCH))
        await rsapi.updateLocalFiles(this.graph, this.dir, part, this.token);
      return true;
    } catch (e) {
      return this.failed(`updateLocalFiles: ${e.message}`);
    }
  }

  /** Uploads pending puts (20 per transaction) and deletes; conflicts pull and retry. */
  async push() {
    for (let attempt = 0; attempt < 5 && this.pending.size; attempt++) {
      // a put whose file is gone (deleted again before it was pushed) is a delete
      for (const [p, op] of this.pending) if (op === "put" && !existsSync(this.abs(p))) this.pending.set(p, "delete");
      const puts = [...this.pending].filter(([, op]) => op === "put").map(([p]) => p);
      const dels = [...this.pending].filter(([, op]) => op === "delete").map(([p]) => p);
      let conflict = false;
      for (const part of chunk(puts, UPLOAD_BATCH)) {
        const sums = new Map();
        for (const p of part) sums.set(p, md5(await readFile(this.abs(p))));
        const outcome = await this.commit("put", part, () =>
          rsapi.updateRemoteFiles(this.graph, this.dir, part, this.txid, this.token),
        );
        if (outcome === "conflict") {
          conflict = true;
          break;
        }
        if (outcome !== "ok") return false;
        for (const p of part) this.acked.push({ path: p, md5: sums.get(p), txid: this.txid, device: this.name });
      }
      if (!conflict) {
        for (const part of chunk(dels, UPLOAD_BATCH)) {
          const outcome = await this.commit("delete", part, () =>
            rsapi.deleteRemoteFiles(this.graph, this.dir, part, this.txid, this.token),
          );
          if (outcome === "conflict") {
            conflict = true;
            break;
          }
          if (outcome !== "ok") return false;
          for (const p of part) this.acked.push({ path: p, md5: null, txid: this.txid, device: this.name });
        }
      }
      if (!conflict) return true;
      if (!(await this.pull())) return false;
    }
    return this.pending.size === 0;
  }

  /** Runs one commit; 'ok' (pending cleared, txid moved), 'conflict' or 'failed'. */
  async commit(kind, part, run) {
    this.counts.pushes++;
    try {
      const txid = await run();
      if (!Number.isInteger(txid) || txid !== this.txid + 1)
        return this.failed(`${kind} answered TXId ${txid} at local ${this.txid}`) || "failed";
      this.txid = txid;
      for (const p of part) this.pending.delete(p);
      return "ok";
    } catch (e) {
      const m = TXID_CONFLICT_RE.exec(e.message);
      if (m && Number(m[1]) > Number(m[2])) {
        this.counts.conflicts++;
        return "conflict";
      }
      this.failed(`${kind}: ${e.message}`);
      return "failed";
    }
  }

  failed(why) {
    this.counts.failures++;
    if (this.errors.length < 50) this.errors.push(why);
    this.log(`${this.name}: ${why.split("\n")[0]}`);
    return false;
  }

  async close() {
    await this.ws?.close().catch(() => {});
  }
}
