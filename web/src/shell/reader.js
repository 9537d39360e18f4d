// Which reader the shell uses: web-read's (web/src/read, the seam in docs/WEB.md): mldoc in a
// parse worker, Logseq titles, the outline renderer, block refs, linked references, search, diff.
export { createReader } from "../read/index.js";
