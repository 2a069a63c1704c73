//! Canary private keys through the client's asymmetric-key paths: an Ed25519 and a P-256 key,
//! each as a PEM and as its bare base64 body, a damaged key, and keys a venue does not accept
//! (Bybit and Binance with the wrong kind), through builders, REST calls the venue refuses,
//! WebSocket configurations and failed sessions, with a TRACE subscriber capturing every log
//! line. No piece of any key appears in a log line, an error's Display or Debug (what a panic
//! on `unwrap()` would print), or the Debug of a builder, client or session configuration.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

mod common;
#[path = "support/trace.rs"]
mod trace;

use keyward_exchange_client::ws::{WsConfig, WsSession};
use keyward_exchange_client::{ClientBuilder, Credentials, ErrorKind, RestClient, Scheme};
use keyward_signing::keys::{KeyKind, generate};
use secrecy::ExposeSecret as _;

use common::http_server;

/// The base64 body of a PEM: its lines between the BEGIN and END lines, joined.
fn body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// Every 12-character window of each key's base64 body (its first 16 characters are the
/// PKCS#8 header every key of the kind shares, and are skipped).
fn fragments(keys: &[String]) -> Vec<String> {
    keys.iter()
        .flat_map(|k| {
            let b = body(k);
            (16..b.len().saturating_sub(12))
                .map(move |i| b[i..i + 12].to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn assert_clean(what: &str, text: &str, fragments: &[String]) {
    for f in fragments {
        assert!(
            !text.contains(f.as_str()),
            "{what} carries key material {f:?}: {text}"
        );
    }
}

/// A damaged PEM: the body's middle characters replaced, the armour kept.
fn damaged(pem: &str) -> String {
    let b = body(pem);
    let mid = b.len() / 2;
    let broken = format!("{}!!!!{}", &b[..mid], &b[mid + 4..]);
    format!("-----BEGIN PRIVATE KEY-----\n{broken}\n-----END PRIVATE KEY-----\n")
}

/// A Binance REST refusal, so signed requests are made and their failures logged.
const REFUSAL: &str = "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: 58\r\nconnection: close\r\n\r\n{\"code\":-1022,\"msg\":\"Signature for this request is not val\"}";

#[tokio::test]
async fn canary_keys_reach_no_log_error_or_debug() {
    let ed = generate(KeyKind::Ed25519).unwrap();
    let p256 = generate(KeyKind::P256).unwrap();
    let ed_pem = ed.private_pem().expose_secret().to_owned();
    let p_pem = p256.private_pem().expose_secret().to_owned();
    let keys = [ed_pem.clone(), p_pem.clone()];
    let frags = fragments(&keys);
    let (capture, _guard) = trace::capture_trace();

    let (addr, _seen) = http_server(REFUSAL.to_owned()).await;
    let base = format!("http://{addr}");
    let mut shown: Vec<(String, String)> = Vec::new();
    let mut show = |what: &str, text: String| shown.push((what.to_owned(), text));

    // Accepted keys: Binance with Ed25519 (REST, then a WebSocket that cannot connect);
    // Coinbase Advanced with P-256 (a CDP key).
    for (scheme, secret) in [
        (Scheme::Binance, ed_pem.clone()),
        (Scheme::CoinbaseAdvanced, p_pem.clone()),
    ] {
        let builder = ClientBuilder::new(scheme, base.clone())
            .credentials(Credentials::new("organizations/o/apiKeys/k", secret.into()))
            .clock_sync(false)
            .rate_limits(Vec::new());
        show("builder Debug", format!("{builder:?}"));
        let client = builder.build().await.unwrap();
        show("client Debug", format!("{client:?}"));
        let err = client.balance().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
        show("REST error", format!("{err} {err:?}"));
        // A port nothing listens on: the connection fails after the config is built.
        let cfg = client.ws_config("ws://127.0.0.1:9/ws").unwrap();
        show("WsConfig Debug", format!("{cfg:?}"));
        let err = WsSession::connect(cfg).await.unwrap_err();
        show("WS error", format!("{err} {err:?}"));
    }

    // Keys a venue does not accept: refused at build with a typed error naming the kind.
    for (scheme, secret, kind) in [
        (Scheme::Bybit, ed_pem.clone(), "Ed25519"),
        (Scheme::Binance, p_pem.clone(), "ECDSA P-256"),
        (Scheme::Okx, ed_pem.clone(), "Ed25519"),
    ] {
        let err = ClientBuilder::new(scheme, base.clone())
            .credentials(Credentials::new("k", secret.clone().into()).with_passphrase("p".into()))
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{scheme}: {err}");
        let chain = error_chain(&err);
        assert!(chain.contains(kind), "{scheme}: {chain}");
        show("refused kind", format!("{chain} {err:?}"));
        let err = WsConfig::from_credentials(
            scheme,
            "ws://127.0.0.1:9/ws",
            &Credentials::new("k", secret.into()).with_passphrase("p".into()),
        )
        .unwrap_err();
        show(
            "refused kind (WS)",
            format!("{} {err:?}", error_chain(&err)),
        );
    }

    // Damaged keys and bare base64 bodies.
    for secret in [
        damaged(&ed_pem),
        damaged(&p_pem),
        body(&ed_pem),
        body(&p_pem),
    ] {
        for scheme in [Scheme::Binance, Scheme::CoinbaseAdvanced, Scheme::Kraken] {
            let built = RestClient::builder(scheme, base.clone())
                .credentials(Credentials::new("k", secret.clone().into()))
                .clock_sync(false)
                .rate_limits(Vec::new())
                .build()
                .await;
            match built {
                Ok(client) => {
                    show("client Debug", format!("{client:?}"));
                    if let Err(err) = client.balance().await {
                        show("REST error", format!("{} {err:?}", error_chain(&err)));
                    }
                }
                Err(err) => {
                    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
                    show("build error", format!("{} {err:?}", error_chain(&err)));
                }
            }
        }
    }

    let logs = capture.text();
    assert!(
        logs.contains("DEBUG") || logs.contains("WARN"),
        "nothing was logged"
    );
    assert_clean("the logs", &logs, &frags);
    for (what, text) in &shown {
        assert_clean(what, text, &frags);
        assert!(!text.contains("PRIVATE KEY"), "{what}: {text}");
    }
}

/// An error's Display and those of its sources, as a report would print them.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
