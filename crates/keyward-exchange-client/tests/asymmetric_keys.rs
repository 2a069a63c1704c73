//! The REST client with asymmetric keys and venue options: it signs with whichever kind of key
//! the store holds, and follows a rotation from an HMAC secret to an Ed25519 key (and back) on
//! its next call; OKX's demo trading header goes with every request when asked for, and a venue
//! that documents none refuses the option when the client is built.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use keyward_exchange_client::{ClientBuilder, Credentials, ErrorKind, RestClient, Scheme};
use keyward_secrets_backends::{
    Capabilities, Metadata, Result, Secret, SecretStore, SecretValue, Selector,
};
use keyward_signing::keys::{KeyKind, generate};
use secrecy::ExposeSecret as _;
use tokio::sync::broadcast;

use common::{header, http_server, json_response};

const NAME: &str = "bot/binance";

/// A store of one secret, replaced by `put`.
#[derive(Debug)]
struct One(Mutex<(String, String)>);

fn meta(name: &str) -> Metadata {
    Metadata {
        name: name.to_owned(),
        version: "1".into(),
        created: None,
        stages: vec![],
        rotation_due: None,
    }
}

#[async_trait]
impl SecretStore for One {
    fn kind(&self) -> &'static str {
        "test"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            writable: true,
            versioned: false,
            stages: false,
        }
    }
    async fn get(&self, name: &str, _which: &Selector) -> Result<Secret> {
        let (k, s) = self.0.lock().unwrap().clone();
        Ok(Secret {
            value: SecretValue::fields([("api_key", k.as_str()), ("secret", s.as_str())]),
            meta: meta(name),
        })
    }
    async fn put(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        let field = |f: &str| value.field(f).unwrap().expose_secret().to_owned();
        *self.0.lock().unwrap() = (field("api_key"), field("secret"));
        Ok(meta(name))
    }
    async fn delete(&self, _name: &str) -> Result<()> {
        Ok(())
    }
    async fn list(&self) -> Result<Vec<String>> {
        Ok(vec![NAME.into()])
    }
    async fn versions(&self, name: &str) -> Result<Vec<Metadata>> {
        Ok(vec![meta(name)])
    }
}

/// The `signature` parameter of the request line in `head`.
fn signature(head: &str) -> String {
    let line = head.lines().next().unwrap();
    let query = line.split(' ').nth(1).unwrap().split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|p| p.strip_prefix("signature="))
        .unwrap()
        .to_owned()
}

fn is_hmac_hex(sig: &str) -> bool {
    sig.len() == 64 && sig.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An Ed25519 signature: 64 bytes in base64 (88 characters, `==` at the end), percent-escaped
/// in the query.
fn is_escaped_ed25519(sig: &str) -> bool {
    let plain = sig
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    plain.len() == 88 && plain.ends_with("==") && !plain.contains('%')
}

#[tokio::test]
async fn a_rotation_from_hmac_to_ed25519_and_back_reaches_the_next_rest_call() {
    let (addr, seen) = http_server(json_response("{}")).await;
    let store = Arc::new(One(Mutex::new((
        "key-hmac".into(),
        "an-hmac-secret".into(),
    ))));
    let (notify, changes) = broadcast::channel(4);
    let client = RestClient::builder(Scheme::Binance, format!("http://{addr}"))
        .secret_store(store.clone(), NAME)
        .rotation_notifications(changes)
        .clock_sync(false)
        .rate_limits(Vec::new())
        .build()
        .await
        .unwrap();
    client.balance().await.unwrap();

    let ed = generate(KeyKind::Ed25519).unwrap();
    let rotate = |key: &str, secret: &str| {
        let value = SecretValue::fields([("api_key", key), ("secret", secret)]);
        let store = store.clone();
        async move { store.put(NAME, &value).await.unwrap() }
    };
    rotate("key-ed25519", ed.private_pem().expose_secret()).await;
    notify.send(NAME.to_owned()).unwrap();
    client.balance().await.unwrap();

    rotate("key-hmac-2", "another-hmac-secret").await;
    notify.send(NAME.to_owned()).unwrap();
    client.balance().await.unwrap();

    let heads = seen.heads();
    assert_eq!(heads.len(), 3, "{heads:?}");
    let keys: Vec<_> = heads
        .iter()
        .map(|h| header(h, "x-mbx-apikey").unwrap())
        .collect();
    assert_eq!(keys, ["key-hmac", "key-ed25519", "key-hmac-2"]);
    assert!(is_hmac_hex(&signature(&heads[0])), "{}", heads[0]);
    assert!(is_escaped_ed25519(&signature(&heads[1])), "{}", heads[1]);
    assert!(is_hmac_hex(&signature(&heads[2])), "{}", heads[2]);
}

#[tokio::test]
async fn okx_demo_trading_sends_its_header_with_every_request() {
    let (addr, seen) = http_server(json_response(
        r#"{"code":"0","msg":"","data":[{"ts":"1700000000000"}]}"#,
    ))
    .await;
    let creds = Credentials::new("k", "s".into()).with_passphrase("p".into());
    let demo = RestClient::builder(Scheme::Okx, format!("http://{addr}"))
        .credentials(creds.clone())
        .demo_trading(true)
        .rate_limits(Vec::new())
        .build()
        .await
        .unwrap();
    // The clock sync (unsigned) and the balance (signed) both carry it.
    demo.balance().await.unwrap();
    let live = RestClient::builder(Scheme::Okx, format!("http://{addr}"))
        .credentials(creds)
        .clock_sync(false)
        .rate_limits(Vec::new())
        .build()
        .await
        .unwrap();
    live.balance().await.unwrap();
    let heads = seen.heads();
    assert_eq!(heads.len(), 3, "{heads:?}");
    assert!(
        heads[0].starts_with("GET /api/v5/public/time"),
        "{}",
        heads[0]
    );
    for head in &heads[..2] {
        assert_eq!(
            header(head, "x-simulated-trading").as_deref(),
            Some("1"),
            "{head}"
        );
    }
    assert!(header(&heads[1], "ok-access-sign").is_some());
    assert_eq!(
        header(&heads[2], "x-simulated-trading"),
        None,
        "{}",
        heads[2]
    );
}

#[tokio::test]
async fn venues_without_a_demo_header_refuse_demo_trading_at_build() {
    for (scheme, base) in [
        (Scheme::Binance, "https://api.binance.com"),
        (Scheme::Bybit, "https://api.bybit.com"),
        (Scheme::Kraken, "https://api.kraken.com"),
        (Scheme::CoinbaseAdvanced, "https://api.coinbase.com"),
    ] {
        let err = ClientBuilder::new(scheme, base)
            .credentials(Credentials::new("k", "c2VjcmV0".into()))
            .demo_trading(true)
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{scheme}: {err}");
        assert!(
            err.to_string().contains("demo trading header"),
            "{scheme}: {err}"
        );
    }
    // Off is accepted everywhere.
    ClientBuilder::new(Scheme::Bybit, "https://api.bybit.com")
        .credentials(Credentials::new("k", "s".into()))
        .demo_trading(false)
        .build()
        .await
        .unwrap();
}
