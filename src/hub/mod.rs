//! Live pushes (PROTOCOL.md §8): one `GraphHub` Durable Object per graph
//! holds the graph's websockets with the hibernation API, and after every
//! committed transaction sends `{"txid":N}` to each of them.

use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Method, Request, RequestInit, Response,
    Result, State, WebSocket, WebSocketIncomingMessage, WebSocketPair,
};

use crate::ctx::Ctx;

/// Binding name of the hub namespace (wrangler.toml).
pub const BINDING: &str = "GRAPH_HUB";

/// The client sends `PING` when the socket opens and every 5 minutes (LS
/// sync.cljs:217-230). The runtime answers it without waking the object;
/// the answer is JSON without `txid`, which the client parses and ignores.
const PING: &str = "PING";
const PONG: &str = r#"{"message":"PONG"}"#;

/// The push frame: lower-case `txid` is what the client reads (LS
/// sync.cljs:255-266); `TXId` too, for clients of other servers' docs.
pub fn push_frame(txid: i64) -> String {
    format!(r#"{{"txid":{txid},"TXId":{txid}}}"#)
}

/// Queues a push of `txid` to the graph's hub, after the response. A failed
/// push never fails the commit: clients also poll every 10 minutes.
pub fn notify(ctx: &Ctx, graph_id: &str, txid: i64) {
    let Some(ns) = ctx.hub.clone() else {
        return;
    };
    let graph_id = graph_id.to_string();
    ctx.count(|c| c.do_requests += 1);
    let hub_down = ctx.fault == Some(crate::hooks::fault::Fault::Hub);
    ctx.defer(async move {
        let pushed = if hub_down {
            Err(worker::Error::RustError("fault injected: hub down".into()))
        } else {
            push(&ns, &graph_id, txid).await
        };
        if let Err(e) = pushed {
            worker::console_warn!("{}", serde_json::json!({"event": "hub_push_failed", "graph": graph_id, "txid": txid, "error": e.to_string()}));
        }
    });
}

async fn push(ns: &worker::ObjectNamespace, graph_id: &str, txid: i64) -> Result<()> {
    let stub = ns.get_by_name(graph_id)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(push_frame(txid).into()));
    let req = Request::new_with_init("https://hub/notify", &init)?;
    stub.fetch_with_request(req).await?;
    Ok(())
}

/// Forwards a websocket upgrade for a graph to its hub.
pub async fn connect(
    ns: &worker::ObjectNamespace,
    graph_id: &str,
    req: Request,
) -> Result<Response> {
    ns.get_by_name(graph_id)?.fetch_with_request(req).await
}

#[durable_object]
pub struct GraphHub {
    state: State,
}

impl DurableObject for GraphHub {
    fn new(state: State, _env: Env) -> Self {
        if let Ok(pair) = worker::worker_sys::WebSocketRequestResponsePair::new(PING, PONG) {
            state.set_websocket_auto_response(&pair);
        }
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if req.path() == "/health" {
            return Response::ok("ok");
        }
        if req.path() == "/notify" {
            let frame = req.text().await?;
            for ws in self.state.get_websockets() {
                // A socket that is closing may refuse; the others still get it.
                let _ = ws.send_with_str(&frame);
            }
            return Response::empty();
        }
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        Response::from_websocket(pair.client)
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        // Only reached when the auto-response did not apply (e.g. "ping").
        if let WebSocketIncomingMessage::String(text) = message {
            if text.trim().eq_ignore_ascii_case(PING) {
                let _ = ws.send_with_str(PONG);
            }
        }
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> Result<()> {
        // Complete the close handshake; 1005/1006 may not be sent back.
        let code = if (1000..5000).contains(&code) && code != 1005 && code != 1006 {
            code
        } else {
            1000
        };
        let _ = ws.close(Some(code as u16), Some("bye"));
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: worker::Error) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_frame_has_lower_case_txid() {
        let v: serde_json::Value = serde_json::from_str(&push_frame(42)).unwrap();
        assert_eq!(v["txid"], 42);
        let pong: serde_json::Value = serde_json::from_str(PONG).unwrap();
        assert!(pong.get("txid").is_none());
    }
}
