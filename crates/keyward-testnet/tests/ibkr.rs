//! The IBKR-shaped gateway: the session on an injected clock (kept open by requests, ended by
//! six idle minutes), the auth status, re-authentication, logout, the session faults (also
//! through the admin endpoint), and JSON answers throughout.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;

use keyward_signing::FixedClock;
use keyward_testnet::{Testnet, TestnetConfig};
use serde_json::{Value, json};

const MINUTE: u64 = 60_000;

async fn start() -> (Testnet, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(1_700_000_000_000));
    let t = Testnet::start(TestnetConfig::default().with_clock(clock.clone()))
        .await
        .unwrap();
    (t, clock)
}

async fn call(t: &Testnet, method: &str, path: &str) -> (u16, Value) {
    let url = format!("{}/v1/api{path}", t.url("ibkr").unwrap());
    let client = reqwest::Client::new();
    let req = match method {
        "GET" => client.get(url),
        _ => client.post(url),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()["content-type"],
        "application/json",
        "{method} {path}"
    );
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn tickle_answers_with_the_documented_fields_and_keeps_the_session_open() {
    let (t, clock) = start().await;
    let (status, body) = call(&t, "POST", "/tickle").await;
    assert_eq!(status, 200);
    assert_eq!(body["session"].as_str().unwrap().len(), 32);
    assert!(body["ssoExpires"].as_u64().unwrap() > 0);
    assert_eq!(body["collission"], false);
    assert!(body["userId"].is_u64());
    assert_eq!(body["iserver"]["tickle"], true);
    let auth = &body["iserver"]["authStatus"];
    assert_eq!(auth["authenticated"], true);
    assert_eq!(auth["competing"], false);
    assert_eq!(auth["connected"], true);
    assert!(auth["message"].is_string());
    // A tickle every five minutes for an hour keeps it open.
    for _ in 0..12 {
        clock.advance(5 * MINUTE);
        assert_eq!(call(&t, "POST", "/tickle").await.0, 200);
    }
    assert_eq!(t.hits("ibkr", "POST", "/v1/api/tickle"), 13);
}

#[tokio::test]
async fn six_idle_minutes_end_the_session() {
    let (t, clock) = start().await;
    clock.advance(6 * MINUTE - 1);
    assert_eq!(call(&t, "POST", "/iserver/auth/status").await.0, 200);
    clock.advance(6 * MINUTE);
    let (status, body) = call(&t, "POST", "/tickle").await;
    assert_eq!((status, body), (401, json!({"error": "no session"})));
    assert_eq!(call(&t, "POST", "/iserver/reauthenticate").await.0, 401);
    // A new login (the `new_session` fault) opens a fresh one.
    t.faults()
        .apply(&"new_session=1,venue=ibkr".parse().unwrap());
    let (status, body) = call(&t, "GET", "/iserver/auth/status").await;
    assert_eq!(status, 200);
    assert_eq!(body["authenticated"], true);
}

#[tokio::test]
async fn a_dropped_brokerage_session_is_reported_and_reauthentication_restores_it() {
    let (t, _clock) = start().await;
    t.faults()
        .apply(&"drop_session=1,fail_reauth=1,venue=ibkr".parse().unwrap());
    let (_, body) = call(&t, "POST", "/tickle").await;
    assert_eq!(body["iserver"]["authStatus"]["authenticated"], false);
    assert_eq!(body["iserver"]["authStatus"]["competing"], true);
    // The first re-authentication is triggered but fails; the second works.
    let (status, body) = call(&t, "POST", "/iserver/reauthenticate").await;
    assert_eq!((status, body), (200, json!({"message": "triggered"})));
    assert_eq!(
        call(&t, "POST", "/iserver/auth/status").await.1["authenticated"],
        false
    );
    call(&t, "GET", "/iserver/reauthenticate").await;
    let (_, body) = call(&t, "POST", "/iserver/auth/status").await;
    assert_eq!(body["authenticated"], true);
    assert_eq!(body["competing"], false);
    assert_eq!(body["serverInfo"]["serverName"], "keyward-testnet");
}

#[tokio::test]
async fn ssodh_init_logout_and_the_admin_endpoint() {
    let (t, _clock) = start().await;
    let admin = t.url("admin").unwrap().to_owned();
    let resp = reqwest::Client::new()
        .post(format!("{admin}/faults"))
        .json(&json!({"drop_session": true, "venue": "ibkr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        call(&t, "POST", "/iserver/auth/status").await.1["authenticated"],
        false
    );
    let url = format!("{}/v1/api/iserver/auth/ssodh/init", t.url("ibkr").unwrap());
    let resp = reqwest::Client::new()
        .post(&url)
        .json(&json!({"publish": true, "compete": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["authenticated"], true);
    let resp = reqwest::Client::new()
        .post(&url)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        call(&t, "POST", "/logout").await,
        (200, json!({"status": true}))
    );
    assert_eq!(call(&t, "POST", "/tickle").await.0, 401);
    // expire_session ends a fresh session at the next request.
    t.faults()
        .apply(&"new_session=1,expire_session=1".parse().unwrap());
    assert_eq!(call(&t, "POST", "/tickle").await.0, 401);
    assert_eq!(call(&t, "GET", "/nope").await.0, 404);
    assert!(t.urls().contains_key("ibkr"));
}

#[tokio::test]
async fn listener_faults_apply_to_the_gateway() {
    let (t, _clock) = start().await;
    t.faults().apply(&"fail_5xx=1,venue=ibkr".parse().unwrap());
    assert_eq!(call(&t, "POST", "/tickle").await.0, 503);
    assert_eq!(call(&t, "POST", "/tickle").await.0, 200);
}
