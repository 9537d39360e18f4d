// The sync API calls the commit sequence makes (commit.js's injected `api`, without the byte
// transfers), as docs/API.md names them: one copy of the endpoint names and JSON bodies for the
// browser (web/src/shell/writer.js, over api.js) and for the Node harness that drives the same
// code (tests/harness/browser-device.mjs, tests/e2e/web-write.test.mjs). `json(name, body)`
// posts one call and resolves with its JSON answer, or throws an Error with `.status` and the
// server's message.

/** @param {(name: string, body: object) => Promise<any>} json  @param {string} graph the graph's UUID */
export function syncCalls(json, graph) {
  return {
    getFilesMeta: (names) => json("get_files_meta", { GraphUUID: graph, Files: names }),
    getUploadUrls: async (count) => (await json("get_upload_urls", { GraphUUID: graph, Count: count }))?.Uploads ?? [],
    updateFiles: (txid, files) => json("update_files", { GraphUUID: graph, TXId: txid, Files: files }),
    deleteFiles: (txid, names) => json("delete_files", { GraphUUID: graph, TXId: txid, Files: names }),
    getDiff: (fromTxid) => json("get_diff", { GraphUUID: graph, FromTXId: fromTxid }),
    getFiles: (names) => json("get_files", { GraphUUID: graph, Files: names }),
  };
}
