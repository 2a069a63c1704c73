//! WebSocket sessions: each text message is answered by the venue's rules (auth, ping, a
//! private subscribe once authenticated); protocol pings get pongs; a connection subscribed to
//! the venue's order channel is pushed each accepted order; `drop_ws` and shutdown close the
//! socket.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::{broadcast, watch};

use crate::faults::FaultControl;
use crate::venues::VenueCtx;

/// The answer to one text message, if any. Awaited: a service scheme's verifier may ask a
/// shared replay cache over the network.
pub(crate) type Answer =
    Box<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Option<Value>> + Send>> + Send + Sync>;

/// One connection's state, as a venue whose private channels need an authenticated
/// connection keeps it: whether it authenticated, and whether it subscribed to the order
/// channel.
#[derive(Debug, Default)]
pub(crate) struct WsConn {
    authenticated: AtomicBool,
    orders: AtomicBool,
}

impl WsConn {
    /// The venue accepted the connection's auth message.
    pub(crate) fn authenticate(&self) {
        self.authenticated.store(true, Ordering::SeqCst);
    }

    /// Whether the connection authenticated.
    pub(crate) fn authenticated(&self) -> bool {
        self.authenticated.load(Ordering::SeqCst)
    }

    /// The connection subscribed to the order channel: accepted orders are pushed from now on.
    pub(crate) fn subscribe_orders(&self) {
        self.orders.store(true, Ordering::SeqCst);
    }

    fn wants_orders(&self) -> bool {
        self.orders.load(Ordering::SeqCst)
    }
}

/// The order pushes a session forwards: the venue's channel, and the connection whose
/// subscription decides.
pub(crate) type Pushes = (broadcast::Receiver<Value>, Arc<WsConn>);

/// A venue's `/ws`.
pub(crate) async fn venue_ws(
    State((ctx, faults)): State<(Arc<VenueCtx>, Arc<FaultControl>)>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let drops = faults.drops();
    let name = ctx.rules.name().to_owned();
    let conn = Arc::new(WsConn::default());
    // Subscribed before the upgrade is answered: an order accepted after the client saw its
    // subscription confirmed is never missed.
    let pushes = (ctx.pushes.subscribe(), conn.clone());
    upgrade.on_upgrade(move |socket| {
        let answer: Answer = Box::new(move |msg| {
            let reply = ctx.rules.ws_message(&ctx, &conn, &msg);
            Box::pin(std::future::ready(reply))
        });
        session(socket, drops, name, answer, Some(pushes))
    })
}

/// Runs one session until the peer closes it, or `drop_ws` applies to `name`.
pub(crate) async fn session(
    mut socket: WebSocket,
    mut drops: watch::Receiver<(u64, Option<String>)>,
    name: String,
    answer: Answer,
    mut pushes: Option<Pushes>,
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
            push = next_push(&mut pushes) => {
                if socket.send(Message::Text(push.to_string().into())).await.is_err() {
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

/// The next order push for a connection subscribed to the order channel; never, without
/// pushes. A reader that fell behind skips what it missed.
async fn next_push(pushes: &mut Option<Pushes>) -> Value {
    if let Some((rx, conn)) = pushes {
        loop {
            match rx.recv().await {
                Ok(push) if conn.wants_orders() => return push,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    }
    std::future::pending().await
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
