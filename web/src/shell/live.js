// Live updates: the graph's websocket (/file-sync?graphuuid=, PROTOCOL.md §8) pushes {"txid":N}
// after every commit; onTxid(N) is called for each, and the socket reconnects after a drop
// (with a growing delay, up to a minute). It sends "PING" every 5 minutes like the desktop.

export function watch(graphUuid, onTxid) {
  let ws = null;
  let stopped = false;
  let delay = 1000;
  let ping = null;
  const open = () => {
    if (stopped) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/file-sync?graphuuid=${encodeURIComponent(graphUuid)}`);
    ws.onopen = () => {
      delay = 1000;
      ws.send("PING");
      ping = setInterval(() => ws.readyState === 1 && ws.send("PING"), 5 * 60_000);
    };
    ws.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (Number.isInteger(m?.txid)) onTxid(m.txid);
    };
    ws.onclose = () => {
      clearInterval(ping);
      if (stopped) return;
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 60_000);
    };
  };
  open();
  return () => {
    stopped = true;
    clearInterval(ping);
    ws?.close();
  };
}
