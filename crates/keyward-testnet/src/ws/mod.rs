//! WebSocket sessions: each text message is answered by the venue's rules (auth, ping); protocol
//! pings get pongs; `drop_ws` and shutdown close the socket.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::watch;

use crate::faults::FaultControl;
use crate::venues::VenueCtx;

/// The answer to one text message, if any. Awaited: a service scheme's verifier may ask a
/// shared replay cache over the network.
pub(crate) type Answer =
    Box<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Option<Value>> + Send>> + Send + Sync>;

/// A venue's `/ws`.
pub(crate) async fn venue_ws(
    State((ctx, faults)): State<(Arc<VenueCtx>, Arc<FaultControl>)>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let drops = faults.drops();
    let name = ctx.rules.name().to_owned();
    upgrade.on_upgrade(move |socket| {
        let answer: Answer = Box::new(move |msg| {
            let reply = ctx.rules.ws_message(&ctx, &msg);
            Box::pin(std::future::ready(reply))
        });
        session(socket, drops, name, answer)
    })
}

/// Runs one session until the peer closes it, or `drop_ws` applies to `name`.
pub(crate) async fn session(
    mut socket: WebSocket,
    mut drops: watch::Receiver<(u64, Option<String>)>,
    name: String,
    answer: Answer,
) {
    // `drops` was subscribed before the upgrade was answered: a `drop_ws` sent since then is
    // still unseen here, so a client that saw the upgrade succeed cannot miss it.
    loop {
        tokio::select! {
            changed = drops.changed() => {
                if changed.is_err() {
                    break;
                }
                let applies = drops.borrow_and_update().1.as_ref().is_none_or(|v| *v == name);
                if applies {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let reply = reply_to(text.as_str(), &answer).await;
                    if let Some(reply) = reply {
                        if socket.send(Message::Text(reply.into())).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                // Protocol pings are answered with pongs by the WebSocket layer itself.
                Some(Ok(_)) => {}
            },
        }
    }
}

/// The reply to a text message: `pong` to a bare `ping`, else what the venue answers (an
/// error object for a message it does not handle).
async fn reply_to(text: &str, answer: &Answer) -> Option<String> {
    if text.trim() == "ping" {
        return Some("pong".to_owned());
    }
    let message: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => return Some(r#"{"error":"the message is not JSON"}"#.to_owned()),
    };
    Some(answer(message).await.map_or_else(
        || r#"{"error":"unsupported message"}"#.to_owned(),
        |v| v.to_string(),
    ))
}
