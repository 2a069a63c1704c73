//! WebSocket auth for every venue and scheme that has one: connect, authenticate with the
//! credentials read from the vault, wait for the venue's acknowledgement, close.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use keyward::exchange::WsError;
use keyward::{Scheme, WsConfig, WsEvent, WsSession};

use super::sandbox::Sandbox;
use super::summary::millis;

/// How long connecting and the auth acknowledgement may take.
const WAIT: Duration = Duration::from_secs(5);

/// Authenticates a WebSocket session of `venue` with the credential `testnet/<credential>`, or
/// `None` when the venue has no WebSocket auth with that kind of key.
pub async fn auth(sb: &Sandbox, venue: &str, credential: &str) -> Option<Result<String>> {
    let scheme: Scheme = venue.parse().ok()?;
    let url = match sb.url(venue) {
        Ok(base) => format!("{}/ws", base.replacen("http://", "ws://", 1)),
        Err(e) => return Some(Err(e)),
    };
    let secret = format!("testnet/{credential}");
    let config = match WsConfig::from_store(scheme, &url, sb.store.as_ref(), &secret).await {
        Ok(config) => config,
        Err(WsError::Unsupported { .. }) => return None,
        Err(e) => return Some(Err(e.into())),
    };
    Some(session(config).await)
}

async fn session(config: WsConfig) -> Result<String> {
    let config = config
        .with_connect_timeout(WAIT)
        .with_ack_timeout(WAIT)
        .with_ping_interval(Duration::from_secs(60))
        .with_max_reconnects(Some(0));
    let started = Instant::now();
    let mut session = WsSession::connect(config).await.context("connect")?;
    let took = started.elapsed();
    let first = session.next_event().await;
    session.close().await;
    match first {
        Some(WsEvent::Authenticated) => Ok(format!(
            "connected and authenticated in {} ms",
            millis(took)
        )),
        Some(WsEvent::Message(_)) => bail!("a message came before the auth acknowledgement"),
        None => bail!("the session ended before the auth acknowledgement"),
        Some(other) => bail!("expected the auth acknowledgement, got {other:?}"),
    }
}
