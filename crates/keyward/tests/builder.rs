//! The one client builder (the exchange client's `ClientBuilder`, re-exported) as a user of the
//! facade reaches it: `RestClient::builder(venue, base_url)`.

#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use std::sync::Arc;

use keyward::{Credentials, ErrorKind, RestClient, Scheme};

fn creds() -> Credentials {
    Credentials::new("key-1", "canary-secret-5c1d".into())
}

#[test]
fn debug_shows_the_base_url_without_user_info_or_query() {
    let builder = RestClient::builder(
        Scheme::Binance,
        "https://user:CANARYpw@api.example.com/v1?token=CANARYq#frag",
    )
    .credentials(creds());
    let shown = format!("{builder:?}");
    assert!(shown.contains("https://api.example.com/v1"), "{shown}");
    for leak in ["CANARY", "user", "frag", "canary-secret"] {
        assert!(!shown.contains(leak), "{leak} in {shown}");
    }
}

#[tokio::test]
async fn each_missing_part_is_a_config_error_that_says_what_to_call() {
    // The venue and the base URL are the builder's arguments: they cannot be missing.
    let no_creds = RestClient::builder(Scheme::Binance, "http://127.0.0.1:9");
    for (builder, hint) in [(no_creds, ".credentials(")] {
        let err = builder.build().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains(hint), "{err}");
    }
}

#[tokio::test]
async fn the_transport_setters_reach_the_client() {
    use axum::http::{HeaderMap, header};
    use std::sync::Mutex;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/api/v3/time",
        axum::routing::get(move |headers: HeaderMap| async move {
            let agent = headers.get(header::USER_AGENT).cloned();
            record.lock().unwrap().push(agent);
            (
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"serverTime":1}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    // A proxy is never used for loopback traffic: the request still reaches the server.
    let proxy = keyward::exchange::Url::parse("http://127.0.0.1:9").unwrap();
    let client = RestClient::builder(Scheme::Binance, format!("http://{addr}"))
        .credentials(creds())
        .clock_sync(false)
        .user_agent("facade-bot/1")
        .proxy(proxy)
        .build()
        .await
        .unwrap();
    client.server_time().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].as_ref().unwrap(), "facade-bot/1");
    let err = RestClient::builder(Scheme::Binance, "http://127.0.0.1:9")
        .credentials(creds())
        .user_agent("bad\r\nX-Injected: 1")
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn the_exchange_rules_still_apply_and_adjustments_reach_the_client() {
    // Plain HTTP off loopback is refused, whatever the facade is given.
    let err = RestClient::builder(Scheme::Binance, "http://example.com")
        .credentials(creds())
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let client = RestClient::builder(Scheme::Kraken, "http://127.0.0.1:9")
        .credentials(Credentials::new("k", "c2VjcmV0".into()))
        .clock_sync(false)
        .recv_window_ms(2_000)
        .build()
        .await
        .unwrap();
    assert_eq!(client.scheme(), Scheme::Kraken);
}

#[test]
fn debug_never_shows_the_credentials() {
    let builder = RestClient::builder(Scheme::Okx, "https://www.okx.com").credentials(creds());
    let text = format!("{builder:?}");
    assert!(!text.contains("canary-secret-5c1d"), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}

#[tokio::test]
async fn demo_trading_passes_through_to_the_venue_that_documents_it() {
    let okx = Credentials::new("key-1", "s".into()).with_passphrase("p".into());
    let client = RestClient::builder(Scheme::Okx, "https://www.okx.com")
        .credentials(okx)
        .demo_trading(true)
        .build()
        .await
        .unwrap();
    assert_eq!(client.scheme(), Scheme::Okx);
    let err = RestClient::builder(Scheme::Bybit, "https://api.bybit.com")
        .credentials(creds())
        .demo_trading(true)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string()
            .contains("bybit documents no demo trading header"),
        "{err}"
    );
}

#[tokio::test]
async fn an_asymmetric_key_the_venue_refuses_fails_the_build_naming_its_kind() {
    use keyward::signing::keys::{KeyKind, generate};
    use keyward::signing::secrecy::ExposeSecret as _;
    let key = generate(KeyKind::Ed25519).unwrap();
    let pem = key.private_pem().expose_secret().to_owned();
    let err = RestClient::builder(Scheme::Bybit, "https://api.bybit.com")
        .credentials(Credentials::new("key-1", pem.clone().into()))
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(": {s}"));
        source = s.source();
    }
    assert!(chain.contains("Ed25519"), "{chain}");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!chain.contains(&body[20..40]) && !format!("{err:?}").contains(&body[20..40]));
    // Binance takes it.
    RestClient::builder(Scheme::Binance, "https://api.binance.com")
        .credentials(Credentials::new("key-1", pem.into()))
        .build()
        .await
        .unwrap();
}
