//! Opening one authenticated connection: the handshake (with signed headers for the schemes
//! that authenticate that way), then the venue's auth message and its acknowledgement.

use std::sync::Arc;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::auth::{self, Verdict};
use super::config::WsConfig;
use super::error::WsError;

/// The WebSocket stream of one connection.
pub(crate) type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An authenticated connection, and what the venue sent before acknowledging the auth.
pub(crate) struct Connected {
    pub(crate) stream: Stream,
    pub(crate) early: Vec<Value>,
}

/// Opens a connection and authenticates it. `id` identifies this connection's auth message.
pub(crate) async fn establish(cfg: &WsConfig, id: u64) -> Result<Connected, WsError> {
    let venue = cfg.venue;
    let token = match &cfg.token_provider {
        Some(provider) => Some(provider().await?),
        None => None,
    };
    let mut request = cfg
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| WsError::Connect {
            url: cfg.redacted_url(),
            reason: e.to_string(),
        })?;
    let handshake = auth::by_handshake(cfg.rules);
    if handshake {
        for (name, value) in auth::handshake_headers(&cfg.signer, &cfg.url)? {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) else {
                return Err(WsError::InvalidConfig {
                    reason: "a signed header is not a valid HTTP header",
                });
            };
            request.headers_mut().insert(name, value);
        }
    }
    let user_agent = cfg
        .transport
        .user_agent_header()
        .map_err(|_| WsError::InvalidConfig {
            reason: "the User-Agent is not a valid HTTP header value",
        })?;
    request.headers_mut().insert(
        tokio_tungstenite::tungstenite::http::header::USER_AGENT,
        user_agent,
    );
    // keyward's own TLS configuration (explicit provider, its roots): tungstenite's default would
    // ask rustls for a process-level provider, which panics when two are compiled in.
    let tls = cfg.transport.tls_config().map_err(|e| WsError::Connect {
        url: cfg.redacted_url(),
        reason: e.to_string(),
    })?;
    let connector = Connector::Rustls(Arc::new(tls));
    let open =
        tokio_tungstenite::connect_async_tls_with_config(request, None, true, Some(connector));
    let (mut stream, _) = tokio::time::timeout(cfg.connect_timeout, open)
        .await
        .map_err(|_| WsError::Connect {
            url: cfg.redacted_url(),
            reason: format!("no handshake within {:?}", cfg.connect_timeout),
        })?
        .map_err(|e| handshake_error(cfg, e))?;
    if handshake {
        return Ok(Connected {
            stream,
            early: Vec::new(),
        });
    }
    let (text, expect) =
        auth::message(cfg.rules, &cfg.signer, &cfg.auth_params, id, token.as_ref())?;
    stream
        .send(Message::text(text))
        .await
        .map_err(|e| closed(cfg, &e.to_string()))?;
    let mut early = Vec::new();
    let wait = async {
        loop {
            let value = match stream.next().await {
                None => return Err(closed(cfg, "the connection ended")),
                Some(Err(e)) => return Err(closed(cfg, &e.to_string())),
                Some(Ok(Message::Text(text))) => parse(text.as_str().as_bytes()),
                Some(Ok(Message::Binary(bytes))) => parse(&bytes),
                Some(Ok(Message::Close(frame))) => {
                    let reason = frame.map_or_else(
                        || "closed by the venue".to_owned(),
                        |f| format!("closed by the venue with code {}", u16::from(f.code)),
                    );
                    return Err(closed(cfg, &reason));
                }
                Some(Ok(Message::Ping(_))) => {
                    // The pong is queued by tungstenite; flushing sends it.
                    let _ = stream.flush().await;
                    continue;
                }
                Some(Ok(_)) => continue,
            };
            match auth::classify(&expect, &value) {
                Verdict::Accepted => return Ok(()),
                Verdict::Rejected(failure) => return Err(WsError::from(failure)),
                Verdict::Other => early.push(value),
            }
        }
    };
    tokio::time::timeout(cfg.ack_timeout, wait)
        .await
        .map_err(|_| WsError::AckTimeout {
            venue,
            timeout: cfg.ack_timeout,
        })??;
    if let Some(then) = expect.then {
        stream
            .send(Message::text(then))
            .await
            .map_err(|e| closed(cfg, &e.to_string()))?;
    }
    Ok(Connected { stream, early })
}

/// A received payload as JSON, or as a JSON string when it is not JSON (`pong` texts).
pub(crate) fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

fn closed(cfg: &WsConfig, reason: &str) -> WsError {
    WsError::ClosedDuringAuth {
        venue: cfg.venue,
        reason: reason.to_owned(),
    }
}

fn handshake_error(cfg: &WsConfig, e: tungstenite::Error) -> WsError {
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            if auth::by_handshake(cfg.rules) && matches!(status, 401 | 403) {
                let body = response.body().as_deref();
                WsError::from(auth::handshake_rejection(cfg.venue, status, body))
            } else {
                WsError::Connect {
                    url: cfg.redacted_url(),
                    reason: format!("the server answered HTTP {status} to the upgrade"),
                }
            }
        }
        other => WsError::Connect {
            url: cfg.redacted_url(),
            reason: other
                .to_string()
                .replace(cfg.url.as_str(), &cfg.redacted_url()),
        },
    }
}
