// Which files the app edits (issue 18 "Edit a page"): pages only. logseq/config.edn, custom.css,
// assets and every other file are read-only here. Its own module so the page screen can ask
// without loading the editor.

/** True for a Markdown or Org page outside logseq/. */
export function editable(path) {
  return /\.(md|markdown|org)$/i.test(path) && !path.startsWith("logseq/");
}
