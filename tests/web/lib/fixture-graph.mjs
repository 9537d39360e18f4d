// A `graph` (WEB-SEAMS.md) over a directory of real Logseq files, for Node tests of the reader:
// the same seam the web shell implements over decrypted files.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const MIME = { png: "image/png", pdf: "application/pdf", mp3: "audio/mpeg", jpg: "image/jpeg", svg: "image/svg+xml" };

export function listFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(root, full).split("\\").join("/").normalize("NFC"));
    }
  };
  walk(root);
  return out.sort();
}

/** graph over `root` on disk; `extra` adds or overrides {path: text} in memory. */
export function fixtureGraph(root, extra = {}) {
  const texts = new Map(Object.entries(extra));
  const paths = new Set([...listFiles(root), ...texts.keys()]);
  const changeFns = [];
  const navigations = [];
  return {
    navigations,
    files: async () => [...paths].map((path) => ({ path, size: 0, mtime: 0, checksum: "" })),
    config: async () => (paths.has("logseq/config.edn") ? readText("logseq/config.edn") : null),
    text: async (path) => readText(path),
    blob: async (path) => {
      const ext = path.split(".").pop().toLowerCase();
      return new Blob([readFileSync(join(root, path))], { type: MIME[ext] ?? "application/octet-stream" });
    },
    navigate: (route) => navigations.push(route),
    onChange: (fn) => changeFns.push(fn),
    /** Test helper: change or add a file and tell the reader. */
    async change(path, text) {
      texts.set(path, text);
      paths.add(path);
      for (const fn of changeFns) await fn([path]);
    },
  };
  function readText(path) {
    if (texts.has(path)) return texts.get(path);
    if (!paths.has(path)) {
      const e = new Error("no such file " + path);
      e.userMessage = "This file is not in the graph.";
      throw e;
    }
    return readFileSync(join(root, path), "utf8");
  }
}
