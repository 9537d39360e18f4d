// Cross-page knowledge built from parsed pages: which file holds which page name (titles,
// journal titles, alias::), where each block uuid lives (for ((block refs))), and who links
// to whom (linked references). Pure: fed with block models from parse.js.
import { pageKey } from "./titles.js";

export function createRefIndex() {
  const pathByName = new Map(); // pageKey → path
  const namesByPath = new Map(); // path → [pageKey]
  const blockByUuid = new Map(); // uuid → {path, pos}
  const uuidsByPath = new Map(); // path → [uuid]
  const linksByPath = new Map(); // path → [{key, pos}] (pos -1: the page's own properties)

  function setNames(path, names) {
    for (const key of namesByPath.get(path) ?? []) if (pathByName.get(key) === path) pathByName.delete(key);
    const keys = [...new Set(names.filter(Boolean).map(pageKey))];
    namesByPath.set(path, keys);
    // A name claimed by two files: the first one keeps it (Logseq refuses the second file).
    for (const key of keys) if (!pathByName.has(key)) pathByName.set(key, path);
  }

  function removePage(path) {
    for (const uuid of uuidsByPath.get(path) ?? []) if (blockByUuid.get(uuid)?.path === path) blockByUuid.delete(uuid);
    uuidsByPath.delete(path);
    linksByPath.delete(path);
  }

  return {
    setNames,
    /** Index a parsed page's blocks and links (replacing what the path had before). */
    addPage(path, page) {
      removePage(path);
      const uuids = [];
      const links = [];
      for (const name of page.refs ?? []) links.push({ key: pageKey(name), pos: -1 });
      for (const block of page.blocks ?? []) {
        if (block.uuid) {
          uuids.push(block.uuid);
          if (!blockByUuid.has(block.uuid)) blockByUuid.set(block.uuid, { path, pos: block.pos });
        }
        for (const name of new Set(block.refs.map(pageKey))) links.push({ key: name, pos: block.pos });
      }
      uuidsByPath.set(path, uuids);
      linksByPath.set(path, links);
    },
    removePath(path) {
      removePage(path);
      setNames(path, []);
      namesByPath.delete(path);
    },
    /** Path of the page called `name` (any case), or null. */
    resolve(name) {
      return pathByName.get(pageKey(name)) ?? null;
    },
    /** {path, pos} of the block with this id:: uuid, or null. */
    block(uuid) {
      return blockByUuid.get(String(uuid).trim().toLowerCase()) ?? null;
    },
    /** Blocks (and page-property lines, pos -1) of other pages that link to `path`, grouped by page. */
    backlinks(path) {
      const keys = new Set(namesByPath.get(path) ?? []);
      const out = [];
      for (const [from, links] of linksByPath) {
        if (from === path) continue;
        const positions = [...new Set(links.filter((l) => keys.has(l.key)).map((l) => l.pos))];
        if (positions.length) out.push({ path: from, positions });
      }
      return out;
    },
  };
}
