//! The User-Agent (issue 13, finding 14): `keyward/<version>` by default on REST requests, the
//! WebSocket upgrade and Kraken's token request, and adjustable.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected
#![allow(clippy::result_large_err)] // reason: tungstenite's handshake callback signature

mod common;

use std::sync::{Arc, Mutex};

use common::{Seen, header, http_server, json_response};
use keyward_exchange_client::ws::{WsConfig, WsSession, kraken_rest_token, kraken_rest_token_with};
use keyward_exchange_client::{ClientBuilder, Credentials, Scheme, Transport};
use keyward_signing::Signer;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// What keyward sends by default (spelled out: the test must not take it from the code).
const DEFAULT: &str = concat!("keyward/", env!("CARGO_PKG_VERSION"));

fn creds() -> Credentials {
    Credentials::new("test-key", "dGVzdC1zZWNyZXQ=".into())
}

fn user_agent_of(seen: &Seen) -> Option<String> {
    let heads = seen.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    header(&heads[0], "user-agent")
}

async fn rest_user_agent(builder: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Option<String> {
    let (addr, seen) = http_server(json_response(r#"{"serverTime":1}"#)).await;
    let client = builder(
        ClientBuilder::new(Scheme::Binance, format!("http://{addr}"))
            .credentials(creds())
            .clock_sync(false),
    )
    .build()
    .await
    .unwrap();
    client.server_time().await.unwrap();
    user_agent_of(&seen)
}

#[tokio::test]
async fn rest_sends_keyward_and_its_version_by_default() {
    assert_eq!(rest_user_agent(|b| b).await.as_deref(), Some(DEFAULT));
}

#[tokio::test]
async fn rest_user_agent_is_adjustable_and_checked() {
    let custom = rest_user_agent(|b| b.user_agent("my-bot/2.1 (+ops@example.com)")).await;
    assert_eq!(custom.as_deref(), Some("my-bot/2.1 (+ops@example.com)"));
    let err = ClientBuilder::new(Scheme::Binance, "http://127.0.0.1:9")
        .credentials(creds())
        .user_agent("bad\r\nX-Injected: 1")
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        keyward_exchange_client::ErrorKind::Config,
        "{err}"
    );
}

/// A WebSocket server on 127.0.0.1 that records the upgrade's User-Agent.
async fn ws_server() -> (std::net::SocketAddr, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let callback = |request: &Request, response: Response| {
                    let agent = request
                        .headers()
                        .get("user-agent")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    record.lock().unwrap().push(agent);
                    Ok(response)
                };
                if let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await {
                    use futures_util::StreamExt as _;
                    while let Some(Ok(_)) = ws.next().await {}
                }
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn the_websocket_upgrade_sends_it_default_and_adjusted() {
    for (set, expected) in [(None, DEFAULT), (Some("my-bot/3"), "my-bot/3")] {
        let (addr, seen) = ws_server().await;
        let url = format!("ws://{addr}/ws");
        let mut config = WsConfig::from_credentials(Scheme::KeywardV1, &url, &creds()).unwrap();
        if let Some(agent) = set {
            config = config.with_user_agent(agent);
        }
        let mut session = WsSession::connect(config).await.unwrap();
        session.close().await;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen, vec![Some(expected.to_owned())]);
    }
}

#[tokio::test]
async fn the_kraken_token_request_sends_it_default_and_adjusted() {
    let signer = Arc::new(Signer::new(Scheme::Kraken, &creds()).unwrap());
    let answer = json_response(r#"{"error":[],"result":{"token":"t"}}"#);
    let (addr, seen) = http_server(answer.clone()).await;
    let provider = kraken_rest_token(&format!("http://{addr}"), signer.clone()).unwrap();
    provider().await.unwrap();
    assert_eq!(user_agent_of(&seen).as_deref(), Some(DEFAULT));
    let (addr, seen) = http_server(answer).await;
    let transport = Transport::default().user_agent("my-bot/4");
    let provider = kraken_rest_token_with(
        &format!("http://{addr}"),
        signer,
        &transport,
        std::time::Duration::from_secs(30),
    )
    .unwrap();
    provider().await.unwrap();
    assert_eq!(user_agent_of(&seen).as_deref(), Some("my-bot/4"));
}
