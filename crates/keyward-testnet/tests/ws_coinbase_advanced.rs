//! Coinbase Advanced Trade's WebSocket `subscribe` with a CDP key's JWT: verified with the key
//! the JWT's `kid` names and answered on the `subscriptions` channel, or refused with
//! Coinbase's `{"type":"error","message":"authentication failure"}`
//! (<https://docs.cdp.coinbase.com/advanced-trade/docs/ws-auth>).
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use common::{connect, ws_url};
use keyward_signing::keys::{GeneratedKey, KeyKind, generate};
use keyward_signing::secrecy::ExposeSecret as _;
use keyward_signing::{Credentials, Request, Scheme, SignOptions, Signer};
use keyward_testnet::{Testnet, TestnetConfig, VenueCredentials, VenueKey};
use serde_json::{Value, json};

const KEY_NAME: &str = "organizations/org-1/apiKeys/key-1";

/// A testnet that knows only `key`'s public half, as coinbase-advanced's key [`KEY_NAME`].
async fn testnet(key: &GeneratedKey) -> Testnet {
    let public = VenueKey::new("coinbase-advanced", KEY_NAME, key.public_pem());
    Testnet::start(TestnetConfig::default().with_public_keys([public]))
        .await
        .unwrap()
}

fn signer(key: &GeneratedKey) -> Signer {
    let creds = Credentials::new(KEY_NAME, key.private_pem().expose_secret().into());
    Signer::new(Scheme::CoinbaseAdvanced, &creds).unwrap()
}

async fn ask(t: &Testnet, msg: &Value) -> Value {
    let mut ws = connect(&ws_url(t.url("coinbase-advanced").unwrap(), "/ws")).await;
    common::ask(&mut ws, msg).await
}

fn subscribe(s: &Signer) -> Value {
    let params = json!({"channel": "user", "product_ids": ["BTC-USD"]});
    s.ws_auth(params.as_object().unwrap(), &SignOptions::default())
        .unwrap()
}

fn refused(answer: &Value) -> bool {
    *answer == json!({"type": "error", "message": "authentication failure"})
}

#[tokio::test]
async fn a_cdp_key_subscribes_and_another_key_under_its_name_is_refused() {
    for kind in [KeyKind::P256, KeyKind::Ed25519] {
        let key = generate(kind).unwrap();
        let t = testnet(&key).await;
        let answer = ask(&t, &subscribe(&signer(&key))).await;
        assert_eq!(answer["channel"], "subscriptions", "{kind}: {answer}");
        assert_eq!(
            answer["events"][0]["subscriptions"]["user"],
            json!(["BTC-USD"]),
            "{kind}: {answer}"
        );
        let other = generate(kind).unwrap();
        let answer = ask(&t, &subscribe(&signer(&other))).await;
        assert!(refused(&answer), "{kind}: {answer}");
    }
}

#[tokio::test]
async fn rest_tokens_missing_tokens_and_hmac_keys_are_refused() {
    let key = generate(KeyKind::P256).unwrap();
    let t = testnet(&key).await;
    let s = signer(&key);
    // A REST token (it has a `uri`) is not a WebSocket token.
    let rest = s
        .sign(
            Request::get("/api/v3/brokerage/accounts"),
            &SignOptions::default(),
        )
        .unwrap();
    let token = rest
        .header("Authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap()
        .to_owned();
    let msg = json!({"type": "subscribe", "channel": "user", "jwt": token});
    assert!(refused(&ask(&t, &msg).await));
    assert!(refused(
        &ask(&t, &json!({"type": "subscribe", "channel": "user"})).await
    ));
    // A testnet holding a legacy HMAC secret refuses every token: HMAC keys have no WebSocket
    // auth on Advanced Trade.
    let hmac = Testnet::start(TestnetConfig {
        credentials: vec![VenueCredentials::new(
            "coinbase-advanced",
            KEY_NAME,
            "legacy-secret",
        )],
        ..TestnetConfig::default()
    })
    .await
    .unwrap();
    assert!(refused(&ask(&hmac, &subscribe(&s)).await));
    // Anything but a subscribe is not handled.
    let answer = ask(&t, &json!({"type": "ping"})).await;
    assert_eq!(answer, json!({"error": "unsupported message"}));
}
