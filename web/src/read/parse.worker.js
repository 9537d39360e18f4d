// The parse worker: mldoc (~4 ms per KiB) runs here, off the page's thread.
// Message in: {id, text, format, maxChars?}; out: {id, page} (page.error set when mldoc threw).
import { parsePage } from "./parse.js";

self.onmessage = (event) => {
  const { id, text, format, maxChars } = event.data;
  let page;
  try {
    // A preview (maxChars set) is parsed in small pieces so that it is ready soon.
    page = maxChars ? parsePage(text, format, { maxChars, chunkChars: maxChars }) : parsePage(text, format);
  } catch (e) {
    page = { format, error: "This page could not be read: " + (e?.message ?? String(e)) };
  }
  self.postMessage({ id, page });
};
