//! A canary secret, passphrase and token never appear in any log line at TRACE, nor in the
//! `Debug` or `Display` of the configuration, the session, the events or the errors; neither do
//! the full API key nor any signature the venue received.

#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use keyward::exchange as keyward_exchange_client;
use keyward::resilience as keyward_resilience;
use keyward::signing as keyward_signing;

use crate::ws_common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use keyward_exchange_client::ws::{TokenProvider, WsConfig, WsSession};
use keyward_resilience::Jitter;
use keyward_signing::secrecy::SecretString;
use keyward_signing::{Credentials, Scheme};
use serde_json::Value;
use ws_common::{Act, GOOD_KEY, GatedSleep, MockVenue, Seen};

const SECRET: &str = "Q0FOQVJZLXNlY3JldC01ZjNhOWM="; // base64, so Kraken and Coinbase take it
const PASSPHRASE: &str = "CANARY-passphrase-77d1";
const TOKEN: &str = "CANARY-token-90be";

fn config(venue: Scheme, url: &str, key: &str) -> WsConfig {
    let creds = Credentials::new(key, SECRET.into()).with_passphrase(PASSPHRASE.into());
    let provider: TokenProvider =
        Arc::new(|| Box::pin(async { Ok(SecretString::from(format!("{GOOD_KEY}-{TOKEN}"))) }));
    WsConfig::from_credentials(venue, url, &creds)
        .unwrap()
        .with_sleep(Arc::new(GatedSleep::new(Duration::from_secs(3600))))
        .with_max_age(Some(Duration::from_secs(3600)))
        .with_ping_interval(Duration::from_secs(3600))
        .with_jitter(Jitter::Full, Some(1))
        .with_token_provider(provider)
}

/// Every string in a received auth message that may be secret: all but the venue's fixed words.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.len() >= 16 && s != GOOD_KEY => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn no_secret_in_logs_or_debug() {
    let (captured, _guard) = crate::trace::capture_trace();

    let mut shown = Vec::new();
    let mut sent = Vec::new();
    for venue in [
        Scheme::Okx,
        Scheme::CoinbaseExchange,
        Scheme::Kraken,
        Scheme::Binance,
        Scheme::Bybit,
        Scheme::KeywardV1,
    ] {
        // Accepted, then dropped and re-authenticated, then rejected on the next reconnect.
        let mut mock = MockVenue::start(venue).await;
        let cfg = config(
            venue,
            &format!("{}?listenKey=CANARY-query", mock.url),
            GOOD_KEY,
        );
        shown.push(format!("{cfg:?}"));
        let mut session = WsSession::connect(cfg).await.unwrap();
        shown.push(format!("{session:?}"));
        let mut conn = mock.conn().await;
        let Seen::Auth(auth) = conn.next_non_ping().await else {
            panic!()
        };
        strings(&auth, &mut sent);
        conn.act.send(Act::Drop).unwrap();
        let mut conn = mock.conn().await;
        let Seen::Auth(auth) = conn.next_non_ping().await else {
            panic!()
        };
        strings(&auth, &mut sent);
        mock.reject_all.store(true, Ordering::SeqCst);
        conn.act.send(Act::Drop).unwrap();
        while let Some(event) = session.next_event().await {
            shown.push(format!("{event:?}"));
        }
        assert!(
            shown.last().unwrap().contains("Closed"),
            "{venue}: {shown:?}"
        );
        assert!(shown.iter().any(|s| s.contains("AuthFailed")), "{venue}");

        let err = WsSession::connect(config(venue, &mock.url, "CANARY-full-api-key-3141"))
            .await
            .unwrap_err();
        shown.push(format!("{err:?}"));
        shown.push(err.to_string());
    }

    let logs = captured.text();
    if std::env::var_os("WS_SHOW_LOGS").is_some() {
        println!("{logs}\n{}", shown.join("\n"));
    }
    assert!(
        logs.contains("auth_rejected") && logs.contains("reconnecting"),
        "{logs}"
    );
    assert!(logs.lines().count() > 20);
    assert!(!sent.is_empty());
    let shown = shown.join("\n");
    // The full API key neither: only its first four characters.
    let mut canaries = vec![
        SECRET.to_owned(),
        PASSPHRASE.into(),
        TOKEN.into(),
        "CANARY".into(),
        GOOD_KEY.into(),
    ];
    canaries.extend(
        sent.iter()
            .filter(|s| !s.starts_with("keyward-auth-"))
            .cloned(),
    );
    for canary in &canaries {
        assert!(
            !logs.contains(canary.as_str()),
            "log lines carry {canary:?}:\n{logs}"
        );
        assert!(
            !shown.contains(canary.as_str()),
            "Debug/Display carries {canary:?}:\n{shown}"
        );
    }
}
