// One open graph: the `graph` object of the seam with web/src/read (docs/WEB.md). It lists the
// files (get_all_files, names decrypted in the crypto worker), hands out decrypted bodies
// (downloaded through get_files' presigned URLs, cached in IndexedDB as ciphertext by name and
// checksum), follows the graph's websocket (push → get_diff → refresh) and tells listeners
// which paths changed. Plaintext exists only in this page's memory.

import { call, download, persistent } from "./api.js";
import { crypto } from "../crypto/crypto.js";
import { dropBody, getBody, putBody } from "./cache.js";
import { watch } from "./live.js";

const BATCH = 100; // get_files takes up to 100 names (PROTOCOL.md §6.19)
const WARM_BATCH = 20; // background batches stay small so a page someone opens never waits long
const PARALLEL = 6;

const MIME = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  bmp: "image/bmp",
  avif: "image/avif",
  pdf: "application/pdf",
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  ogg: "audio/ogg",
  wav: "audio/wav",
  flac: "audio/flac",
  mp4: "video/mp4",
  webm: "video/webm",
  md: "text/plain",
  org: "text/plain",
  txt: "text/plain",
  edn: "text/plain",
};

/** The MIME type a decrypted asset is shown with; anything unknown is opaque bytes (never HTML). */
export function mimeOf(path) {
  const ext = /\.([^./]+)$/.exec(path)?.[1]?.toLowerCase();
  return MIME[ext] ?? "application/octet-stream";
}

function bareName(key) {
  return key.slice(key.lastIndexOf("/") + 1);
}

function userError(message, cause) {
  return Object.assign(new Error(message), { userMessage: message, cause });
}

/** Runs fn over items with at most n at a time. */
async function pool(items, n, fn) {
  let i = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]);
  });
  await Promise.all(workers);
}

export class Graph {
  constructor(uuid, name) {
    this.uuid = uuid;
    this.name = name;
    this.byPath = new Map(); // path → {path, name, size, mtime, checksum, txid}
    this.byName = new Map(); // encrypted name → entry
    this.undecryptable = [];
    this.txid = 0;
    this.listeners = new Set();
    this.queue = []; // bodies someone is waiting for
    this.lowQueue = []; // bodies fetched ahead (warm)
    this.flushing = null;
    this.inflight = new Map(); // name|checksum → Promise<ArrayBuffer>
    this.fresh = new Map(); // name|checksum → ciphertext this browser committed (no download back)
    this.lastCommit = null; // {path, before, after, txid} of this browser's last commit (writer.js)
    this.stats = { downloaded: 0, fromCache: 0 };
    this.stopLive = null;
    this.navigateTo = (route) => {
      location.hash = route;
    };
  }

  // --- the seam (docs/WEB.md) ---

  files() {
    return [...this.byPath.values()].map(({ path, size, mtime, checksum }) => ({ path, size, mtime, checksum }));
  }

  async config() {
    return this.byPath.has("logseq/config.edn") ? this.text("logseq/config.edn") : null;
  }

  async text(path) {
    const bytes = await this.bytes(path);
    return new TextDecoder("utf-8").decode(bytes);
  }

  async blob(path) {
    return new Blob([await this.bytes(path)], { type: mimeOf(path) });
  }

  navigate(route) {
    this.navigateTo(route);
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // --- loading ---

  /** Lists the files (all pages of get_all_files) and decrypts their names. */
  async load() {
    const objects = [];
    let token;
    do {
      const r = await call(
        "get_all_files",
        token ? { GraphUUID: this.uuid, ContinuationToken: token } : { GraphUUID: this.uuid },
      );
      objects.push(...(r?.Objects ?? []));
      token = r?.NextContinuationToken;
    } while (token);
    const t = await call("get_txid", { GraphUUID: this.uuid });
    this.txid = t?.TXId ?? 0;
    await this.addObjects(
      objects.map((o) => ({
        name: bareName(o.Key),
        size: o.Size,
        mtime: o.LastModified,
        checksum: o.checksum,
        txid: o.Txid,
      })),
    );
  }

  async addObjects(list) {
    const names = await crypto.decryptNames(
      this.uuid,
      list.map((o) => o.name),
    );
    const changed = [];
    names.forEach((n, i) => {
      const o = list[i];
      if (n.error) {
        this.undecryptable.push(o.name);
        return;
      }
      const old = this.byName.get(o.name);
      if (old) this.byPath.delete(old.path);
      const entry = { ...o, path: n.path };
      this.byPath.set(n.path, entry);
      this.byName.set(o.name, entry);
      changed.push(n.path);
    });
    return changed;
  }

  /** The newest time a file changed (ms), for "last change". */
  lastChange() {
    let t = 0;
    for (const f of this.byPath.values()) t = Math.max(t, f.mtime ?? 0);
    return t || null;
  }

  // --- bodies ---

  /** Decrypted bytes of a current file. */
  async bytes(path) {
    const f = this.byPath.get(path);
    if (!f) throw userError(`${path} is not in this graph`);
    const pending = this.ciphertext(f);
    this.promote(f.name);
    const cipher = await pending;
    try {
      return await crypto.decryptBody(this.uuid, cipher);
    } catch (e) {
      await dropBody(this.uuid, f.name);
      throw userError(`${path} could not be decrypted (corrupted or truncated on the server?)`, e);
    }
  }

  ciphertext(f, low = false) {
    const k = `${f.name}|${f.checksum}`;
    let p = this.inflight.get(k);
    if (!p) {
      p = (async () => {
        const mine = this.fresh.get(k);
        if (mine) return mine;
        const cached = await getBody(this.uuid, f.name, f.checksum);
        if (cached) {
          this.stats.fromCache++;
          return cached;
        }
        const bytes = await this.fetchBody(f.name, low);
        this.stats.downloaded++;
        // "This is not my device": not even ciphertext is kept.
        if (persistent()) await putBody(this.uuid, f.name, f.checksum, bytes);
        return bytes;
      })().finally(() => this.inflight.delete(k));
      this.inflight.set(k, p);
    }
    return p;
  }

  /**
   * Fetches every page body (Markdown and Org, not assets) that is not cached yet, in get_files
   * batches of 100 with parallel downloads, into the ciphertext cache. The reader reads every
   * page for search and linked references anyway; asking for them together saves one API round
   * trip per page. Runs in the background; failures are left for the reader's own requests.
   */
  warm() {
    const pages = [...this.byPath.values()].filter((f) => /\.(md|org)$/i.test(f.path));
    return Promise.allSettled(pages.map((f) => this.ciphertext(f, true)));
  }

  /** Queues one name for a get_files batch and resolves with its downloaded ciphertext. */
  fetchBody(name, low = false) {
    return new Promise((resolve, reject) => {
      (low ? this.lowQueue : this.queue).push({ name, resolve, reject });
      this.schedule();
    });
  }

  /** A body someone now waits for moves ahead of the background ones. */
  promote(name) {
    const i = this.lowQueue.findIndex((j) => j.name === name);
    if (i >= 0) this.queue.push(...this.lowQueue.splice(i, 1));
  }

  schedule() {
    // A short wait gathers the requests of one burst (cache lookups finish at different times).
    this.flushing ??= new Promise((r) => setTimeout(r, 15))
      .then(() => this.pump())
      .finally(() => {
        this.flushing = null;
        if (this.queue.length || this.lowQueue.length) this.schedule();
      });
  }

  /** Drains the queues, waited-for bodies first, one get_files batch at a time. */
  async pump() {
    while (this.queue.length || this.lowQueue.length) {
      const batch = this.queue.length ? this.queue.splice(0, BATCH) : this.lowQueue.splice(0, WARM_BATCH);
      let urls;
      try {
        const r = await call("get_files", { GraphUUID: this.uuid, Files: batch.map((j) => j.name) });
        urls = r?.PresignedFileUrls ?? {};
      } catch (e) {
        for (const j of batch) j.reject(e);
        continue;
      }
      await pool(batch, PARALLEL, async (j) => {
        const url = urls[j.name];
        if (!url) return j.reject(userError("the server has no body for this file"));
        try {
          j.resolve(await download(url));
        } catch (e) {
          j.reject(e);
        }
      });
    }
  }

  // --- writing ---

  /**
   * This browser committed `path` (web/src/shell/writer.js): the file list, the body cache and
   * the listeners see the new text now. The graph's txid moves only when nothing was skipped
   * (the commit came right after what this graph has pulled); otherwise it pulls the rest.
   */
  async committed({ path, name, checksum, txid, size, cipher }) {
    const old = this.byName.get(name);
    if (old && old.path !== path) this.byPath.delete(old.path);
    const entry = { name, path, checksum, txid, size: size ?? old?.size ?? 0, mtime: Date.now() };
    this.byPath.set(path, entry);
    this.byName.set(name, entry);
    if (cipher) {
      const buf = cipher.buffer.slice(cipher.byteOffset, cipher.byteOffset + cipher.byteLength);
      this.fresh.set(`${name}|${checksum}`, buf);
      if (persistent()) await putBody(this.uuid, name, checksum, buf).catch(() => {});
    }
    if (txid === this.txid + 1) this.txid = txid;
    else this.pull().catch(() => {});
    this.tell([path]);
  }

  /** This browser deleted `path` (writer.js `remove`): it is no longer listed. */
  removed({ path, txid }) {
    const old = this.byPath.get(path);
    if (old) {
      this.byPath.delete(path);
      this.byName.delete(old.name);
    }
    if (txid === this.txid + 1) this.txid = txid;
    else this.pull().catch(() => {});
    this.tell([path]);
  }

  tell(paths) {
    for (const fn of this.listeners) {
      try {
        fn(paths);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  // --- history ---

  async versions(path) {
    const f = this.byPath.get(path);
    if (!f) throw userError(`${path} is not in this graph`);
    const r = await call("get_file_version_list", { GraphUUID: this.uuid, File: f.name });
    const list = (r?.VersionList ?? []).map((v) => ({ id: `${v.FileUUID}/${v.VersionUUID}`, time: v.CreateTime }));
    list.sort((a, b) => b.time - a.time);
    return list;
  }

  /** Decrypted text of old versions: ids → [{id, size, text}|{id, error}]. One get_version_files call. */
  async versionTexts(ids) {
    if (!ids.length) return [];
    const r = await call("get_version_files", { GraphUUID: this.uuid, Files: ids });
    const urls = r?.PresignedFileUrls ?? {};
    const out = [];
    await pool(ids, PARALLEL, async (id) => {
      try {
        const cipher = await download(urls[id]);
        const plain = await crypto.decryptBody(this.uuid, cipher);
        out.push({ id, size: plain.length, text: new TextDecoder().decode(plain) });
      } catch (e) {
        out.push({ id, error: e.userMessage ?? e.message });
      }
    });
    return ids.map((id) => out.find((o) => o.id === id));
  }

  /** The graph's recent transactions: [{txid, type, paths}] newest first (get_diff from txid - n). */
  async recent(n = 30) {
    const r = await call("get_diff", { GraphUUID: this.uuid, FromTXId: Math.max(0, this.txid - n) });
    const txs = r?.Transactions ?? [];
    const names = [...new Set(txs.flatMap((t) => (t.TXContent ?? []).map((c) => bareName(c[0] ?? ""))))].filter((x) =>
      x.startsWith("e."),
    );
    const dec = names.length ? await crypto.decryptNames(this.uuid, names) : [];
    const pathOf = new Map(dec.map((d) => [d.name, d.path ?? "(a name that cannot be decrypted)"]));
    return txs
      .map((t) => ({
        txid: t.TXId,
        type: t.TXType,
        paths: (t.TXContent ?? []).map((c) => pathOf.get(bareName(c[0] ?? "")) ?? "?"),
        time: Math.max(0, ...(t.TXContent ?? []).map((c) => this.byName.get(bareName(c[0] ?? ""))?.mtime ?? 0)) || null,
      }))
      .sort((a, b) => b.txid - a.txid);
  }

  // --- live ---

  startLive() {
    this.stopLive ??= watch(this.uuid, (txid) => {
      if (txid > this.txid) this.pull().catch(() => {});
    });
  }

  stop() {
    this.stopLive?.();
    this.stopLive = null;
    this.listeners.clear();
  }

  /** get_diff since our txid; refreshes metadata of what changed and tells listeners. */
  async pull() {
    if (this.pulling) return this.pulling;
    this.pulling = (async () => {
      const r = await call("get_diff", { GraphUUID: this.uuid, FromTXId: this.txid });
      const txs = (r?.Transactions ?? []).sort((a, b) => a.TXId - b.TXId);
      if (!txs.length) return;
      const updated = new Set();
      const changed = [];
      for (const t of txs) {
        for (const [to, from] of t.TXContent ?? []) {
          const name = bareName(to ?? "");
          if (t.TXType === "delete_files") {
            const old = this.byName.get(name);
            if (old) {
              this.byName.delete(name);
              this.byPath.delete(old.path);
              changed.push(old.path);
            }
            updated.delete(name);
          } else {
            if (t.TXType === "rename_file" && from) {
              const old = this.byName.get(bareName(from));
              if (old) {
                this.byName.delete(old.name);
                this.byPath.delete(old.path);
                changed.push(old.path);
              }
            }
            if (name.startsWith("e.")) updated.add(name);
          }
        }
        this.txid = Math.max(this.txid, t.TXId);
      }
      if (updated.size) {
        const meta = await call("get_files_meta", { GraphUUID: this.uuid, Files: [...updated] });
        const list = (Array.isArray(meta) ? meta : [])
          .filter((m) => !m.Error && m.Checksum)
          .map((m) => ({ name: m.FilePath, size: m.Size, mtime: m.LastModified, checksum: m.Checksum, txid: m.Txid }));
        changed.push(...(await this.addObjects(list)));
      }
      this.tell([...new Set(changed)]);
    })().finally(() => {
      this.pulling = null;
    });
    return this.pulling;
  }
}
