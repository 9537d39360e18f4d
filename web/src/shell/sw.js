// The service worker (scope /app/): makes the app installable and opens it offline by caching
// the app shell only: the files listed here and the build's code chunks, network first so an
// update is picked up at once.
// It never touches anything else: API answers, file bodies (ciphertext) and plaintext are not
// cached here (bodies live in IndexedDB as ciphertext, docs/WEB.md).

const CACHE = "logseq-web-shell-v1";
const SHELL = [
  "./",
  "index.html",
  "main.js",
  "crypto.worker.js",
  "parse.worker.js",
  "edit.worker.js",
  "app.css",
  "read.css",
  "ops.css",
  "edit.css",
  "manifest.webmanifest",
  "icons/icon-192.png",
  "icons/icon-512.png",
];
const CHUNK = /\/chunk-[\w-]+\.js$/;
const shellUrls = new Set(SHELL.map((p) => new URL(p, self.registration.scope).href));

self.addEventListener("install", (ev) => {
  ev.waitUntil(
    caches
      .open(CACHE)
      .then((c) => Promise.all(SHELL.map((p) => c.add(p).catch(() => {}))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (ev) => {
  ev.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (ev) => {
  const url = new URL(ev.request.url);
  url.hash = "";
  url.search = "";
  // The shell, and the code chunks the build splits off (chunk-<hash>.js, loaded on first use).
  const shell = shellUrls.has(url.href) || (url.href.startsWith(self.registration.scope) && CHUNK.test(url.pathname));
  if (ev.request.method !== "GET" || !shell) return; // not ours: the network, untouched
  ev.respondWith(
    fetch(ev.request)
      .then((r) => {
        if (r.ok) {
          const copy = r.clone();
          caches.open(CACHE).then((c) => c.put(url.href, copy));
        }
        return r;
      })
      .catch(() => caches.match(url.href).then((r) => r ?? Response.error())),
  );
});
