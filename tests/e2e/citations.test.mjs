// Every citation in the repository resolves inside a fresh clone (docs/ARCHITECTURE.md
// "Design decisions" gives the form): `PROTOCOL.md §6.17` and `ARCHITECTURE.md §D4` name a
// heading of docs/PROTOCOL.md or docs/ARCHITECTURE.md; `API.md "Title"` a heading of that
// document; a link `path.md#anchor` an existing file and heading; and no citation names a
// document kept outside the repository. No worker needed: it only reads tracked files.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SELF = path.relative(ROOT, fileURLToPath(import.meta.url));
const SCANNED = /\.(rs|mjs|js|md|toml|sql)$/;

/** Documents the project once kept beside the repository: citing them can never resolve. */
const OUTSIDE = [/\b(DESIGN|STYLE|WEBCLIENT)\.md\b/, /\bshared\//];

function trackedFiles() {
  const out = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" });
  // This file spells the forbidden forms in its own patterns, so it does not scan itself.
  return out.split("\0").filter((f) => SCANNED.test(f) && f !== SELF && existsSync(path.join(ROOT, f)));
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function headingsOf(file) {
  const text = readFileSync(file, "utf8").replace(/^```[\s\S]*?^```/gm, "");
  return [...text.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)].map((m) => m[1]);
}

/** Section ids of a heading: "6.17 `update_files`" → 6.17; "6.24 / 6.25 …" → both; "D2. Shape" → D2. */
function sectionIds(heading) {
  const appendix = heading.match(/^Appendix ([A-Z])\b/);
  if (appendix) return [`Appendix ${appendix[1]}`];
  const lead = heading.match(/^((?:[A-Z]?\d+(?:\.\d+)*\.?)(?:\s*\/\s*[A-Z]?\d+(?:\.\d+)*)*)(?:\s|$)/);
  if (!lead) return [];
  return lead[1].split("/").map((s) => s.trim().replace(/\.$/, ""));
}

const docs = new Map(); // basename → { file, headings, ids }
function doc(name) {
  if (!docs.has(name)) {
    const candidates = [`docs/${name}`, name, `tests/harness/${name}`].filter((f) => existsSync(path.join(ROOT, f)));
    if (candidates.length === 0) docs.set(name, null);
    else {
      const file = path.join(ROOT, candidates[0]);
      const headings = headingsOf(file);
      // A quoted title may name a heading or a bold label ("**8. Size and cold start**").
      const bold = [...readFileSync(file, "utf8").matchAll(/\*\*([^*\n]+)\*\*/g)].map((m) => m[1]);
      const titles = [...headings, ...bold].map((t) => t.replaceAll("`", "").toLowerCase());
      docs.set(name, { file, titles, ids: new Set(headings.flatMap(sectionIds)) });
    }
  }
  return docs.get(name);
}

const SECTION = String.raw`[A-Z]?\d+(?:\.\d+)*`;
// A run of sections after one `§`: "§6.11, 6.12", "§6.1-6.6", "§3.4/§3.5", "§D4 item 2".
const RUN = new RegExp(
  String.raw`(?:([A-Z][A-Z0-9_-]*\.md)\s+)?§\s?(${SECTION})((?:\s*(?:,|/|-|–|and)\s*§?\s?${SECTION}(?![\w.]*[a-z]))*)`,
  "g",
);

/** Problems in one line of one file, as strings. */
function checkLine(file, line) {
  const problems = [];
  for (const m of line.matchAll(RUN)) {
    const before = line.slice(0, m.index);
    if (!m[1] && /RFC\s*\d+\s*$/.test(before)) continue; // an RFC's own section
    const items = [m[2], ...(m[3].match(new RegExp(SECTION, "g")) ?? [])];
    const name = m[1] ?? (items[0].startsWith("D") ? "ARCHITECTURE.md" : "PROTOCOL.md");
    const target = doc(name);
    if (!target) {
      problems.push(`cites ${name} §${items[0]}, and ${name} is not in the repository`);
      continue;
    }
    for (const id of items) {
      if (!target.ids.has(id)) problems.push(`cites ${name} §${id}, which is no heading of ${name}`);
    }
  }
  for (const m of line.matchAll(/\b([A-Z][A-Z0-9_-]*\.md) "([^"]+)"/g)) {
    const target = doc(m[1]);
    const title = m[2].toLowerCase();
    if (!target) problems.push(`cites ${m[1]} "${m[2]}", and ${m[1]} is not in the repository`);
    else if (!target.titles.some((t) => t.includes(title)))
      problems.push(`cites ${m[1]} "${m[2]}", which is no heading or bold label of ${m[1]}`);
  }
  // Links and anchors: [text](path.md#anchor), docs/CLIENT.md#anchor, API.md#anchor.
  for (const m of line.matchAll(/(?:\]\(|\b)((?:\.{1,2}\/|[\w-]+\/)*[\w-]+\.md)(#[\w-]+)?/g)) {
    const isLink = m[0].startsWith("](");
    if (!isLink && !m[2]) continue; // a bare mention of a file name, not a citation
    const rel = m[1];
    const local = path.resolve(path.dirname(path.join(ROOT, file)), rel);
    const fromRoot = path.resolve(ROOT, rel);
    const resolved = [local, fromRoot, path.join(ROOT, "docs", path.basename(rel))].find((f) => existsSync(f));
    if (!resolved) {
      problems.push(`links ${rel}, which does not exist`);
      continue;
    }
    if (m[2]) {
      const anchors = new Set(headingsOf(resolved).map(slug));
      if (!anchors.has(m[2].slice(1))) problems.push(`links ${rel}${m[2]}, which is no heading there`);
    }
  }
  // A document from outside named any other way (a path, a bare mention): once per line.
  for (const re of OUTSIDE) {
    const m = line.match(re);
    if (m && !problems.some((p) => p.includes(m[0]))) problems.push(`cites ${m[0]}, which is not in the repository`);
  }
  return problems;
}

function scan(files) {
  const problems = [];
  for (const file of files) {
    const lines = readFileSync(path.join(ROOT, file), "utf8").split("\n");
    lines.forEach((line, i) => {
      for (const p of checkLine(file, line)) problems.push(`${file}:${i + 1}: ${p}`);
    });
  }
  return problems;
}

test("the cited documents are in the repository and carry their section numbers", () => {
  const protocol = doc("PROTOCOL.md");
  const architecture = doc("ARCHITECTURE.md");
  assert.ok(protocol, "docs/PROTOCOL.md exists");
  assert.ok(architecture, "docs/ARCHITECTURE.md exists");
  for (const id of ["0", "2.2", "2.6", "3.2", "5.1", "6.17", "6.24", "6.25", "7.2", "9.3", "15", "Appendix A"]) {
    assert.ok(protocol.ids.has(id), `PROTOCOL.md §${id} is a heading`);
  }
  for (const id of ["D1", "D2", "D3", "D4", "D5", "D6"]) assert.ok(architecture.ids.has(id), `ARCHITECTURE.md §${id}`);
});

test("the checker finds what it must", () => {
  const bad = checkLine("src/x.rs", `// see ${"DESIGN"}.md §4 and PROTOCOL.md §6.99 and ARCHITECTURE.md §D99`);
  assert.equal(bad.length, 3, bad.join("\n")); // the outside document, two missing sections
  assert.deepEqual(checkLine("src/x.rs", "// RFC 4231 §4.7 and PROTOCOL.md §6.11, 6.12, §9 (§D4 item 2)"), []);
  assert.equal(checkLine("src/x.rs", "//! (see ../shared/PROTOCOL.md)").length, 1);
  assert.equal(checkLine("src/x.rs", '// PERFORMANCE.md "No such figure"').length, 1);
  assert.deepEqual(checkLine("docs/x.md", "[x](API.md#no-such-heading)").length, 1);
  assert.deepEqual(checkLine("docs/x.md", "[x](API.md#authentication)"), []);
});

test("every citation in every tracked file resolves", () => {
  const problems = scan(trackedFiles());
  assert.equal(problems.length, 0, `${problems.length} unresolved citations:\n${problems.join("\n")}`);
});
