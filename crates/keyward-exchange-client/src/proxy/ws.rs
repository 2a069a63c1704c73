//! The WebSocket pass-through: a bot opens a WebSocket to the proxy at the venue's own stream
//! path; the proxy opens the venue's stream at the same path below its WebSocket base URL with
//! a [`WsSession`] bound to the proxy's client (the venue's auth message signed with the
//! stored key on the synced clock, the acknowledgement awaited, a timestamp refusal resynced),
//! and only then accepts the bot's upgrade. From there it passes text messages both ways.
//!
//! - A refusal before the upgrade (no access, venue or key refused, a venue that needs no auth
//!   message) is the proxy's JSON refusal with its status, as for REST.
//! - A bot's own auth message (the venue's module recognises it) is refused in plain mode
//!   (close 1008) and answered by the proxy with the venue's acceptance in re-sign mode, so a
//!   client built to log in (pybit, python-okx) works with placeholder keys.
//! - When the venue's connection is lost the proxy closes the bot's (1012) rather than
//!   reconnect behind its back: the bot reconnects and subscribes again, as it would to the
//!   venue.
//! - Binary messages are refused (1003); a message over the body ceiling ends the session.

use std::sync::Arc;

use axum::extract::FromRequestParts as _;
use axum::extract::Request;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument as _;

use super::refusal::Refusal;
use super::{Mode, Shared, count, incoming};
use crate::venue::WsRelay;
use crate::ws::{WsEvent, WsSession};

/// WebSocket close codes (RFC 6455 section 7.4.1).
const POLICY: u16 = 1008;
const UNSUPPORTED_DATA: u16 = 1003;
const INTERNAL: u16 = 1011;
const RESTART: u16 = 1012;

/// Whether the request asks for a WebSocket upgrade.
pub(super) fn is_upgrade(request: &Request) -> bool {
    request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// One bot's WebSocket: checked, the venue's session opened, then the upgrade accepted.
pub(super) async fn open(shared: Arc<Shared>, request: Request) -> Response {
    let venue = shared.client.scheme().name();
    let span = tracing::info_span!("keyward.proxy_ws", venue, path = %request.uri().path());
    match connect(&shared, request).instrument(span.clone()).await {
        Ok((upgrade, session, client_auth, permit)) => {
            tracing::info!(parent: &span, "passing the WebSocket through");
            count(venue, "ws_session");
            let mode = shared.config.mode;
            let max = shared.config.max_body;
            upgrade
                .max_message_size(max)
                .max_frame_size(max)
                .on_upgrade(move |bot| {
                    pass(bot, session, client_auth, mode, permit).instrument(span)
                })
        }
        Err(refusal) => {
            tracing::info!(parent: &span, status = refusal.status.as_u16(), kind = refusal.kind, "refused");
            count(venue, refusal.kind);
            refusal.into_response()
        }
    }
}

type ClientAuth = fn(&Value) -> Option<Value>;

async fn connect(
    shared: &Shared,
    request: Request,
) -> Result<
    (
        WebSocketUpgrade,
        WsSession,
        ClientAuth,
        OwnedSemaphorePermit,
    ),
    Refusal,
> {
    incoming::check_access(&shared.config, request.headers())?;
    let rules = shared
        .client
        .relay_rules()
        .ok_or_else(Refusal::venue_not_served)?;
    let client_auth = match rules.ws {
        WsRelay::Served { client_auth } => client_auth,
        WsRelay::NotNeeded(instead) => {
            return Err(Refusal::new(
                StatusCode::NOT_IMPLEMENTED,
                "ws_not_served",
                instead,
            ));
        }
    };
    let Some(base) = &shared.config.ws_base_url else {
        return Err(Refusal::new(
            StatusCode::NOT_IMPLEMENTED,
            "ws_not_served",
            "this proxy passes no WebSocket through: start it with a WebSocket base URL (--ws-base-url)",
        ));
    };
    let permit = shared
        .ws_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| Refusal::busy())?;
    let url = match request.uri().query() {
        Some(query) => format!(
            "{}{}?{query}",
            base.trim_end_matches('/'),
            request.uri().path()
        ),
        None => format!("{}{}", base.trim_end_matches('/'), request.uri().path()),
    };
    let (mut parts, _) = request.into_parts();
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &())
        .await
        .map_err(|e| Refusal::bad_request(format!("not a WebSocket upgrade: {e}")))?;
    // One connection per bot: the proxy does not reconnect behind the bot's back (see above).
    let config = shared
        .client
        .ws_config(&url)
        .map_err(|e| Refusal::from_ws_error(&e))?
        .with_max_reconnects(Some(0));
    let session = WsSession::connect(config)
        .await
        .map_err(|e| Refusal::from_ws_error(&e))?;
    Ok((upgrade, session, client_auth, permit))
}

/// Why a pass-through ends, and the close frame the bot gets, if any.
enum End {
    /// The bot closed or went away.
    BotGone,
    /// Close the bot's socket with this code and reason.
    Close(u16, &'static str),
}

/// Passes messages both ways until either side ends.
async fn pass(
    mut bot: WebSocket,
    mut session: WsSession,
    client_auth: ClientAuth,
    mode: Mode,
    _permit: OwnedSemaphorePermit,
) {
    let end = loop {
        tokio::select! {
            event = session.next_event() => match event {
                Some(WsEvent::Message(value)) => {
                    let text = match value {
                        Value::String(text) => text,
                        other => other.to_string(),
                    };
                    if bot.send(Message::Text(text.into())).await.is_err() {
                        break End::BotGone;
                    }
                }
                Some(WsEvent::Reconnecting { .. }) => {
                    break End::Close(RESTART, "the venue's connection was lost; connect again");
                }
                Some(WsEvent::AuthFailed(_)) => {
                    break End::Close(INTERNAL, "the venue refused the credentials");
                }
                Some(WsEvent::Closed) | None => {
                    break End::Close(RESTART, "the venue's connection closed; connect again");
                }
                Some(_) => {}
            },
            message = bot.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    match from_bot(text.as_str(), client_auth, mode) {
                        FromBot::Forward => {
                            if session.send_text(text.as_str().to_owned()).await.is_err() {
                                break End::Close(RESTART, "the venue's connection was lost; connect again");
                            }
                        }
                        FromBot::Answer(ack) => {
                            if bot.send(Message::Text(ack.to_string().into())).await.is_err() {
                                break End::BotGone;
                            }
                        }
                        FromBot::Refuse => {
                            break End::Close(POLICY, "carries_credentials: the proxy authenticates this session; send no auth message, or start the proxy with --resign");
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    break End::Close(UNSUPPORTED_DATA, "the proxy passes text messages only");
                }
                // Protocol pings are answered by the WebSocket layer; the venue's connection
                // keeps its own.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break End::BotGone,
            },
        }
    };
    match end {
        End::BotGone => tracing::info!(event = "bot_closed", "the bot ended the WebSocket"),
        End::Close(code, reason) => {
            tracing::info!(event = "closing", code, "closing the bot's WebSocket");
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = bot.send(Message::Close(Some(frame))).await;
        }
    }
    session.close().await;
}

/// What the proxy does with a bot's text message.
#[derive(Debug, PartialEq)]
enum FromBot {
    /// Send it to the venue as it is.
    Forward,
    /// Answer it here (re-sign mode: the bot's own auth message).
    Answer(Value),
    /// Refuse it (plain mode: the bot's own auth message).
    Refuse,
}

fn from_bot(text: &str, client_auth: ClientAuth, mode: Mode) -> FromBot {
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        // Not JSON: a venue's text ping ("ping" to OKX); the venue answers it.
        return FromBot::Forward;
    };
    match (client_auth(&message), mode) {
        (None, _) => FromBot::Forward,
        (Some(_), Mode::Plain) => FromBot::Refuse,
        (Some(ack), Mode::Resign) => FromBot::Answer(ack),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn auth(msg: &Value) -> Option<Value> {
        (msg["op"] == "auth").then(|| json!({"op": "auth", "success": true}))
    }

    #[test]
    fn a_bots_own_auth_is_refused_in_plain_mode_and_answered_in_resign_mode() {
        let own = r#"{"op":"auth","args":["dummy",1,"sig"]}"#;
        assert_eq!(from_bot(own, auth, Mode::Plain), FromBot::Refuse);
        assert_eq!(
            from_bot(own, auth, Mode::Resign),
            FromBot::Answer(json!({"op": "auth", "success": true}))
        );
    }

    #[test]
    fn other_messages_and_text_pings_go_to_the_venue() {
        for text in [
            r#"{"op":"subscribe","args":["order"]}"#,
            "ping",
            "{not json",
        ] {
            assert_eq!(from_bot(text, auth, Mode::Plain), FromBot::Forward);
            assert_eq!(from_bot(text, auth, Mode::Resign), FromBot::Forward);
        }
    }
}
