// Pages in real Logseq syntax for the web-write tests: what the desktop writes (tabs, `id::`,
// `collapsed::`, page properties, SCHEDULED, block refs, code blocks, blank lines), plus the
// variants a graph may hold (two-space indentation from `:export/bullet-indentation`, CRLF from
// a Windows editor, no final newline, an org page).

export const TABS = [
  "title:: Project Café",
  "tags:: work, [[日本語]]",
  "",
  "- Goals for the week",
  "  id:: 6571a3f0-1c2b-4d5e-8f90-0a1b2c3d4e5f",
  "  collapsed:: true",
  "\t- TODO write the report",
  "\t  SCHEDULED: <2026-12-07 Mon>",
  "\t- DONE call Zoë about ((6571a3f0-1c2b-4d5e-8f90-0a1b2c3d4e5f))",
  "\t\t- nested note with #tag and [[Café déjà vu]]",
  "\t\t  second line of the note",
  "- A code block",
  "  ```js",
  "  const x = 1;",
  "  ",
  "  console.log(x);",
  "  ```",
  "",
  "- LATER read **the paper**",
  "  id:: 6571a3f0-0000-4d5e-8f90-0a1b2c3d4e60",
  "\t- child of later",
  "- emoji 📝 and 日本語のブロック",
  "",
].join("\n");

export const SPACES_CRLF_NO_FINAL = [
  "- first",
  "  id:: 6571a3f0-1111-4d5e-8f90-0a1b2c3d4e5f",
  "  - child one",
  "    more text",
  "  - child two",
  "    collapsed:: true",
  "    - grandchild",
  "- second",
  "- third without final newline",
].join("\r\n");

export const JOURNAL = [
  "# Morning",
  "- coffee",
  "- NOW standup",
  "  :LOGBOOK:",
  "  CLOCK: [2026-12-06 Sun 09:00]",
  "  :END:",
  "## Afternoon",
  "- DONE review PR",
  "\t- looked at tests",
  "",
].join("\n");

export const ORG = [
  "#+title: Org Page",
  "",
  "* TODO first heading",
  "  :PROPERTIES:",
  "  :ID: 6571a3f0-2222-4d5e-8f90-0a1b2c3d4e5f",
  "  :END:",
  "  body text",
  "** child heading",
  "* second heading",
  "",
].join("\n");

export const PAGES = { TABS, SPACES_CRLF_NO_FINAL, JOURNAL, ORG };
