//! The WebSocket client: an authenticated session per venue that keeps itself alive.
//!
//! [`WsSession::connect`] opens a connection (tokio-tungstenite over rustls; `ws://` only to a
//! loopback address, certificates always verified), sends the venue's auth message built by
//! [`Signer::ws_auth`](keyward_signing::Signer::ws_auth) and waits, up to a timeout, for the
//! venue's answer, recognised per venue: Binance WebSocket API `status` 200 or `error`, Bybit
//! and hmac-concat `{"op":"auth","success":..}`, OKX `login`/`error` events, Coinbase Exchange
//! `subscriptions`/`error`, Kraken's token subscribe, BitMEX `success`/`error`, Deribit JSON-RPC
//! `result`/`error`, BitMart `login`. keyward-v1 and hmac-newline-v0 sign the handshake request
//! instead.
//!
//! The session then pings, answers pings, replaces a dead connection or one that reached the
//! venue's age limit, with backoff and seeded jitter from `keyward-resilience`, authenticates
//! again and resends what was [subscribed](WsSession::subscribe). A configuration from
//! [`RestClient::ws_config`](crate::RestClient::ws_config) signs each authentication with the
//! client's current credentials (rotation notices included) on its synced clock. A refused
//! authentication is read from the venue's declared error code: a timestamp refusal resyncs the
//! client's clock and is tried once more, a rate limit is tried again after a bounded backoff,
//! a refused key is read again from the client's store (past its cache) and tried once more if
//! it changed. Past that, a rejection is loud (a tracing error, [`WsEvent::AuthFailed`],
//! [`WsError::AuthRejected`]) and final: the session does not retry a bad key. Logs carry the venue, the URL without its query and an
//! `event` name, never a key, a signature, a token or an auth message.

mod auth;
mod config;
mod connect;
mod driver;
mod error;
mod kraken;
mod live;
mod reauth;
mod session;
mod stats;

pub use config::WsConfig;
pub use error::{AuthFailure, WsError};
pub use kraken::{TokenFuture, TokenProvider, kraken_rest_token, kraken_rest_token_with};
pub use session::{ReconnectReason, WsEvent, WsSession};
pub use stats::WsStats;
