// Headless Chromium flags for this machine's closed network, shared by every browser test
// (status page, admin page, stock-desktop route, LAN modes): without the background-networking
// flags Chromium keeps trying Google's hosts, which this sandbox refuses. Each test adds its
// own --user-data-dir (a fresh profile) and whatever else it needs.
export const CHROMIUM_FLAGS = Object.freeze([
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
]);
