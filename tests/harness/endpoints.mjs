// The JSON API's endpoint names, read from docs/API.md's `### \`name\`` headings: the one list
// that src/protocol/endpoints.rs's enum is tested equal to (the Rust test
// `the_list_is_the_one_docs_api_md_documents`), so the tests keep no copy of their own.

import { readFileSync } from "node:fs";

const doc = readFileSync(new URL("../../docs/API.md", import.meta.url), "utf8");

/** Every endpoint name, in the order docs/API.md documents them. */
export const ALL_APIS = doc
  .split("\n")
  .filter((l) => l.startsWith("### `"))
  .map((l) => l.slice(5).split("`")[0])
  .filter((name) => /^[a-z0-9_]+$/.test(name));

if (ALL_APIS.length < 20) throw new Error(`docs/API.md lists only ${ALL_APIS.length} endpoints`);
