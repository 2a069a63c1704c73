//! WebSocket auth per venue (success and failure shapes), Kraken tokens, the service scheme's
//! WebSocket auth, and pings.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use keyward_signing::{SignOptions, Signer};
use keyward_testnet::Testnet;
use serde_json::{Map, Value, json};
use tokio_tungstenite::tungstenite::Message;

/// The venue's auth message as the client sends it.
fn auth_message(venue: &str, s: &Signer) -> Value {
    let msg = s.ws_auth(&Map::new(), &SignOptions::default()).unwrap();
    match venue {
        // A signed WebSocket API request: Binance refuses an HMAC-signed `session.logon`
        // (Ed25519 only), see venue_rules.rs.
        "binance" => json!({"id": "req-1", "method": "account.status", "params": msg}),
        "deribit" => {
            let mut m = msg;
            m["id"] = json!(7);
            m
        }
        "coinbase-exchange" => {
            let mut m = msg;
            m["channels"] = json!(["user"]);
            m
        }
        _ => msg,
    }
}

fn accepted(venue: &str, r: &Value) -> bool {
    match venue {
        "binance" => r["status"] == 200 && r["id"] == "req-1",
        "bybit" => r["success"] == true && r["op"] == "auth",
        "okx" => r["event"] == "login" && r["code"] == "0",
        "coinbase-exchange" => r["type"] == "subscriptions",
        "bitmex" => r["success"] == true,
        "deribit" => r["result"]["access_token"].is_string() && r["id"] == 7,
        "bitmart" => r["event"] == "login" && r.get("errorCode").is_none(),
        other => panic!("{other}"),
    }
}

fn refused_for_signature(venue: &str, r: &Value) -> bool {
    match venue {
        "binance" => r["status"] == 400 && r["error"]["code"] == -1022,
        "bybit" => r["success"] == false && r["op"] == "auth",
        "okx" => r["event"] == "error" && r["code"] == "60007",
        "coinbase-exchange" => r["type"] == "error" && r["reason"] == "invalid signature",
        "bitmex" => r["status"] == 401 && r["error"] == "Signature not valid.",
        "deribit" => r["error"]["code"] == 13009,
        "bitmart" => r["event"] == "login" && r["errorCode"] == "30005",
        other => panic!("{other}"),
    }
}

const WS_VENUES: [&str; 7] = [
    "binance",
    "bybit",
    "okx",
    "coinbase-exchange",
    "bitmex",
    "deribit",
    "bitmart",
];

#[tokio::test]
async fn venue_auth_succeeds_and_fails_in_the_venue_shape() {
    let t = start().await;
    for venue in WS_VENUES {
        let mut ws = connect(&ws_url(t.url(venue).unwrap(), "/ws")).await;
        let ok = ask(&mut ws, &auth_message(venue, &signer(&t, venue))).await;
        assert!(accepted(venue, &ok), "{venue}: {ok}");
        let bad = ask(&mut ws, &auth_message(venue, &wrong_signer(&t, venue))).await;
        assert!(refused_for_signature(venue, &bad), "{venue}: {bad}");
        let garbage = ask(&mut ws, &json!({"op": "login", "args": 5, "method": "public/auth", "type": "subscribe", "params": {}})).await;
        assert!(!accepted(venue, &garbage), "{venue}: {garbage}");
    }
    t.shutdown().await;
}

#[tokio::test]
async fn a_stale_ws_auth_is_refused() {
    let t = start().await;
    let old = SignOptions::at(now_ms() - 3_600_000);
    let mut ws = connect(&ws_url(t.url("okx").unwrap(), "/ws")).await;
    let msg = signer(&t, "okx").ws_auth(&Map::new(), &old).unwrap();
    let r = ask(&mut ws, &msg).await;
    assert_eq!(
        (r["event"].as_str(), r["code"].as_str()),
        (Some("error"), Some("60006"))
    );
    for venue in WS_VENUES {
        let mut ws = connect(&ws_url(t.url(venue).unwrap(), "/ws")).await;
        let s = signer(&t, venue);
        let stale = match venue {
            "binance" => json!({"id": "req-1", "method": "account.status",
                "params": s.ws_auth(&Map::new(), &old).unwrap()}),
            _ => s.ws_auth(&Map::new(), &old).unwrap(),
        };
        let r = ask(&mut ws, &stale).await;
        assert!(!accepted(venue, &r), "{venue}: {r}");
        // A fresh one is accepted, and so is the very same message again inside the window:
        // the venues' only guard is the timestamp (src/repeats.rs), not a memory of messages.
        let fresh = auth_message(venue, &s);
        assert!(accepted(venue, &ask(&mut ws, &fresh).await), "{venue}");
        let again = ask(&mut ws, &fresh).await;
        assert!(accepted(venue, &again), "{venue}: {again}");
    }
    t.shutdown().await;
}

async fn kraken_token(t: &Testnet) -> String {
    let req = keyward_signing::Request::post("/0/private/GetWebSocketsToken");
    let a = sign_send(
        t,
        "kraken",
        &signer(t, "kraken"),
        req,
        &SignOptions::default(),
    )
    .await;
    assert_eq!(a.body["error"], json!([]));
    assert_eq!(a.body["result"]["expires"], 900);
    a.body["result"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn kraken_subscribes_with_an_issued_token_only() {
    let t = start().await;
    let token = kraken_token(&t).await;
    let mut ws = connect(&ws_url(t.url("kraken").unwrap(), "/ws")).await;
    let sub = |token: &str| json!({"event": "subscribe", "reqid": 3, "subscription": {"name": "ownTrades", "token": token}});
    let ok = ask(&mut ws, &sub(&token)).await;
    assert_eq!(ok["status"], "subscribed", "{ok}");
    assert_eq!(ok["reqid"], 3);
    let bad = ask(&mut ws, &sub("forged")).await;
    assert_eq!(bad["status"], "error");
    assert_eq!(bad["errorMessage"], "ESession:Invalid session");
    let pong = ask(&mut ws, &json!({"event": "ping", "reqid": 4})).await;
    assert_eq!(pong, json!({"event": "pong", "reqid": 4}));
    t.shutdown().await;
}

#[tokio::test]
async fn hmac_concat_ws_auth() {
    let t = start().await;
    let base = t.url("hmac-concat").unwrap();
    let mut ws = connect(&ws_url(base, "/ws")).await;
    let s = signer(&t, "hmac-concat");
    let msg = s.ws_auth(&Map::new(), &SignOptions::default()).unwrap();
    assert_eq!(
        ask(&mut ws, &msg).await,
        json!({"op": "auth", "success": true})
    );
    assert_eq!(
        ask(&mut ws, &msg).await,
        json!({"op": "auth", "success": false, "error": "replayed"})
    );
    let forged = wrong_signer(&t, "hmac-concat")
        .ws_auth(&Map::new(), &SignOptions::default())
        .unwrap();
    assert_eq!(
        ask(&mut ws, &forged).await,
        json!({"op": "auth", "success": false, "error": "bad_signature"})
    );
    let old = s
        .ws_auth(&Map::new(), &SignOptions::at(now_ms() - 3_600_000))
        .unwrap();
    assert_eq!(
        ask(&mut ws, &old).await,
        json!({"op": "auth", "success": false, "error": "expired"})
    );
    assert_eq!(
        ask(&mut ws, &json!({"op": "auth", "args": []})).await,
        json!({"op": "auth", "success": false, "error": "malformed"})
    );
    t.shutdown().await;
}

#[tokio::test]
async fn pings_get_pongs() {
    let t = start().await;
    let mut ws = connect(&ws_url(t.url("bybit").unwrap(), "/ws")).await;
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    match ws.next().await.unwrap().unwrap() {
        Message::Pong(p) => assert_eq!(p.as_ref(), b"hi"),
        other => panic!("expected a pong, got {other:?}"),
    }
    ws.send(Message::Text("ping".into())).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Text("pong".into())
    );
    let r = ask(&mut ws, &json!({"op": "ping"})).await;
    assert_eq!(r["ret_msg"], "pong");
    let r = ask(&mut ws, &json!("not an object")).await;
    assert!(r.is_object());
    ws.send(Message::Text("{not json".into())).await.unwrap();
    assert!(matches!(
        ws.next().await.unwrap().unwrap(),
        Message::Text(_)
    ));
    t.shutdown().await;
}

/// Opens `/svc/<scheme>/ws` with the upgrade request signed by `signer` (keyward-v1 and
/// hmac-newline-v0 have no auth message: the upgrade itself is verified).
async fn signed_upgrade(
    t: &Testnet,
    scheme: &str,
    signer: &Signer,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let path = format!("/svc/{scheme}/ws");
    let signed = signer
        .sign(
            keyward_signing::Request::get(&path),
            &SignOptions::default(),
        )
        .unwrap();
    let base = t.url(scheme).unwrap();
    let mut request = ws_url(base, "/ws").into_client_request().unwrap();
    for (name, value) in &signed.headers {
        request.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

#[tokio::test]
async fn keyward_v1_and_hmac_newline_v0_verify_the_signed_upgrade() {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let t = start().await;
    for scheme in ["keyward-v1", "hmac-newline-v0"] {
        let mut ws = signed_upgrade(&t, scheme, &signer(&t, scheme))
            .await
            .unwrap_or_else(|e| panic!("{scheme}: {e}"));
        ws.send(Message::Ping(b"ok".to_vec().into())).await.unwrap();
        assert!(matches!(
            ws.next().await.unwrap().unwrap(),
            Message::Pong(_)
        ));

        let refused = signed_upgrade(&t, scheme, &wrong_signer(&t, scheme)).await;
        match refused {
            Err(WsError::Http(response)) => {
                assert_eq!(response.status(), 401, "{scheme}");
                let body: Value =
                    serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
                assert_eq!(body, json!({"error": "bad_signature"}), "{scheme}");
            }
            other => panic!("{scheme}: expected a 401, got {:?}", other.map(|_| ())),
        }
        let unsigned =
            tokio_tungstenite::connect_async(ws_url(t.url(scheme).unwrap(), "/ws")).await;
        assert!(
            matches!(unsigned, Err(WsError::Http(r)) if r.status() == 401),
            "{scheme}"
        );
    }
    t.shutdown().await;
}
