// The bench's table: one row per figure, its target beside it, as aligned text (stdout) and as
// Markdown (for docs/PERFORMANCE.md).

export const fmt = {
  ms: (v, d = 0) => (Number.isFinite(v) ? `${v.toFixed(d)} ms` : "n/a"),
  s: (ms, d = 1) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(d)} s` : "n/a"),
  x: (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : "n/a"),
  n: (v, d = 0) =>
    Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "n/a",
  mib: (b, d = 1) => (Number.isFinite(b) ? `${(b / 1048576).toFixed(d)} MiB` : "n/a"),
  kib: (b, d = 0) => (Number.isFinite(b) ? `${(b / 1024).toFixed(d)} KiB` : "n/a"),
  mbps: (bytes, ms) => (Number.isFinite(bytes / ms) ? `${(bytes / 1048576 / (ms / 1000)).toFixed(1)} MiB/s` : "n/a"),
};

/**
 * A table: rows of {section, figure, value, baseline?, ratio?, target?, ok?: true|false|null}.
 * `ok` null = informative (no target), undefined = not measured.
 */
export class Table {
  constructor() {
    this.rows = [];
  }

  section(title) {
    this.rows.push({ section: title });
  }

  add(row) {
    this.rows.push(row);
  }

  static verdict(ok) {
    if (ok === true) return "ok";
    if (ok === false) return "MISS";
    return "";
  }

  text() {
    const cols = ["figure", "value", "baseline / detail", "ratio", "target", ""];
    const cells = this.rows
      .filter((r) => !r.section)
      .map((r) => [r.figure, r.value ?? "", r.baseline ?? "", r.ratio ?? "", r.target ?? "", Table.verdict(r.ok)]);
    const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => [...String(row[i])].length)));
    const pad = (s, w) => String(s) + " ".repeat(Math.max(0, w - [...String(s)].length));
    const line = (row) =>
      row
        .map((c, i) => pad(c, widths[i]))
        .join("  ")
        .trimEnd();
    const out = [line(cols), widths.map((w) => "-".repeat(w)).join("  ")];
    for (const r of this.rows) {
      if (r.section) out.push("", `== ${r.section}`);
      else
        out.push(line([r.figure, r.value ?? "", r.baseline ?? "", r.ratio ?? "", r.target ?? "", Table.verdict(r.ok)]));
    }
    return out.join("\n");
  }

  markdown() {
    const out = [];
    for (const r of this.rows) {
      if (r.section) {
        out.push(
          "",
          `**${r.section}**`,
          "",
          "| figure | value | baseline / detail | ratio | target | |",
          "|---|---|---|---|---|---|",
        );
      } else {
        const esc = (s) =>
          String(s ?? "")
            .replace(/\|/g, "\\|")
            .replace(/</g, "&lt;")
            .replace(/>/g, "&gt;");
        out.push(
          `| ${esc(r.figure)} | ${esc(r.value)} | ${esc(r.baseline)} | ${esc(r.ratio)} | ${esc(r.target)} | ${Table.verdict(r.ok)} |`,
        );
      }
    }
    return out.join("\n").trim() + "\n";
  }

  misses() {
    return this.rows.filter((r) => r.ok === false).map((r) => r.figure);
  }
}
