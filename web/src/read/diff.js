// Line diff for page history: jsdiff's diffLines (Myers O(ND), 1.5 KB gzip) → DOM rows.
import { diffLines } from "diff";

const CONTEXT = 3;
const DIFF_TIMEOUT_MS = 1500;

/** → [{type: "same"|"add"|"del", text}] one entry per line, or null when the texts are too different to diff in time. */
export function lineDiff(oldText, newText) {
  const parts = diffLines(String(oldText ?? ""), String(newText ?? ""), { timeout: DIFF_TIMEOUT_MS });
  if (!parts) return null;
  const out = [];
  for (const part of parts) {
    const type = part.added ? "add" : part.removed ? "del" : "same";
    const lines = part.value.split("\n");
    if (lines.at(-1) === "") lines.pop();
    for (const text of lines) out.push({ type, text });
  }
  return out;
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Render the diff of two texts into `container` (replacing its content). Unchanged runs fold to CONTEXT lines. */
export function renderDiff(oldText, newText, container) {
  const lines = lineDiff(oldText, newText);
  const root = el("div", "ls-diff");
  if (!lines) {
    root.append(el("p", "ls-diff-summary", "These versions are too different to compare line by line."));
    container.replaceChildren(root);
    return root;
  }
  const added = lines.filter((l) => l.type === "add").length;
  const removed = lines.filter((l) => l.type === "del").length;
  root.append(
    el(
      "p",
      "ls-diff-summary",
      added || removed ? `+${added} −${removed} lines` : "No difference: the texts are identical.",
    ),
  );
  const body = el("div", "ls-diff-lines");
  let oldNo = 0;
  let newNo = 0;
  const rows = lines.map((line) => {
    if (line.type !== "add") oldNo++;
    if (line.type !== "del") newNo++;
    const row = el("div", "ls-diff-line ls-diff-" + line.type);
    row.append(
      el("span", "ls-diff-no", line.type === "add" ? "" : String(oldNo)),
      el("span", "ls-diff-no", line.type === "del" ? "" : String(newNo)),
      el("span", "ls-diff-sign", line.type === "add" ? "+" : line.type === "del" ? "−" : " "),
      el("span", "ls-diff-text", line.text),
    );
    return row;
  });
  // Fold long unchanged runs, keeping CONTEXT lines around each change.
  let i = 0;
  while (i < lines.length) {
    if (lines[i].type !== "same") {
      body.append(rows[i++]);
      continue;
    }
    let j = i;
    while (j < lines.length && lines[j].type === "same") j++;
    const keepHead = i === 0 ? 0 : CONTEXT;
    const keepTail = j === lines.length ? 0 : CONTEXT;
    if (j - i > keepHead + keepTail + 1) {
      for (let k = i; k < i + keepHead; k++) body.append(rows[k]);
      const hidden = rows.slice(i + keepHead, j - keepTail);
      const fold = el("button", "ls-diff-fold", `⋯ ${hidden.length} unchanged lines`);
      fold.type = "button";
      fold.addEventListener("click", () => fold.replaceWith(...hidden));
      body.append(fold);
      for (let k = j - keepTail; k < j; k++) body.append(rows[k]);
    } else for (let k = i; k < j; k++) body.append(rows[k]);
    i = j;
  }
  root.append(body);
  container.replaceChildren(root);
  return root;
}
