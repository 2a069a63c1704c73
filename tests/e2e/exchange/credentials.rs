//! Credentials from a SecretStore: read at build, re-read once on an authentication error and
//! after a rotation notice; a store that still holds the wrong secret is not retried.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use keyward::exchange as keyward_exchange_client;
use keyward::secrets as keyward_secrets_backends;
use keyward::signing as keyward_signing;

use crate::common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::*;
use keyward_exchange_client::{ErrorKind, OrderRequest, RestClient, Scheme, Side};
use keyward_secrets_backends::{Metadata, Result, Secret, SecretStore, SecretValue, Selector};
use keyward_signing::secrecy::ExposeSecret;

/// A one-secret store whose value the test changes.
#[derive(Debug, Default)]
struct OneSecret(Mutex<Option<(String, String)>>);

impl OneSecret {
    fn set(&self, key: &str, secret: &str) {
        *self.0.lock().unwrap() = Some((key.to_owned(), secret.to_owned()));
    }
}

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
impl SecretStore for OneSecret {
    fn kind(&self) -> &'static str {
        "test"
    }
    fn capabilities(&self) -> keyward_secrets_backends::Capabilities {
        keyward_secrets_backends::Capabilities {
            writable: false,
            versioned: false,
            stages: false,
        }
    }
    async fn get(&self, name: &str, _which: &Selector) -> Result<Secret> {
        let (k, s) = self.0.lock().unwrap().clone().unwrap();
        Ok(Secret {
            value: SecretValue::fields([("api_key", k.as_str()), ("secret", s.as_str())]),
            meta: meta(name),
        })
    }
    async fn put(&self, name: &str, _value: &SecretValue) -> Result<Metadata> {
        Ok(meta(name))
    }
    async fn delete(&self, _name: &str) -> Result<()> {
        Ok(())
    }
    async fn list(&self) -> Result<Vec<String>> {
        Ok(vec!["bot/bybit".into()])
    }
    async fn versions(&self, name: &str) -> Result<Vec<Metadata>> {
        Ok(vec![meta(name)])
    }
}

#[tokio::test]
async fn an_auth_error_rereads_the_store_once_and_a_rotation_notice_before_the_call() {
    let t = testnet().await;
    let right = t.credentials("bybit").unwrap().to_signing();
    let store = Arc::new(OneSecret::default());
    store.set(right.api_key(), "stale-secret");
    let (notify, changes) = tokio::sync::broadcast::channel(4);
    let c = RestClient::builder(Scheme::Bybit, t.url("bybit").unwrap())
        .secret_store(store.clone(), "bot/bybit")
        .rotation_notifications(changes)
        .rate_limits(Vec::new())
        .build()
        .await
        .unwrap();
    let path = "/v5/order/create";
    // Each order carries its own client id, so the hits below count distinct orders.
    let n = std::sync::atomic::AtomicU32::new(0);
    let order = || {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        OrderRequest::market("BTCUSDT", Side::Buy, "1").with_client_order_id(format!("c{i}"))
    };
    // The store still holds the stale secret: re-read, unchanged, not re-sent.
    assert_eq!(
        c.place_order(&order()).await.unwrap_err().kind(),
        ErrorKind::Authentication
    );
    assert_eq!(t.hits("bybit", "POST", path), 1);
    // Rotated in the store without a notice: the auth error re-reads it and re-sends once.
    store.set(right.api_key(), right.secret().expose_secret());
    c.place_order(&order()).await.unwrap();
    assert_eq!(t.hits("bybit", "POST", path), 3);
    // Rotated back to a stale secret with a notice: re-read before the call, refused once.
    store.set(right.api_key(), "stale-secret");
    notify.send("other/secret".to_owned()).unwrap();
    notify.send("bot/bybit".to_owned()).unwrap();
    assert_eq!(
        c.place_order(&order()).await.unwrap_err().kind(),
        ErrorKind::Authentication
    );
    assert_eq!(t.hits("bybit", "POST", path), 4);
    store.set(right.api_key(), right.secret().expose_secret());
    notify.send("bot/bybit".to_owned()).unwrap();
    c.place_order(&order()).await.unwrap();
    assert_eq!(
        t.hits("bybit", "POST", path),
        5,
        "the notice avoided a refused request"
    );
    t.shutdown().await;
}
