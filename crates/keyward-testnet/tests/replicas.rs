//! Testnet replicas (feature `redis`): two testnets on one redis-server act as one venue. The
//! rate limit is counted across both (and, as a control, per testnet without shared state), an
//! Upstox token from a login on replica A is accepted by replica B, other credentials are
//! refused the shared account, and a Redis that stops answering makes requests fail with 503
//! instead of passing uncounted.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;

use keyward_signing::FixedClock;
use keyward_signing::secrecy::ExposeSecret as _;
use keyward_testnet::{BrokerCredentials, SharedState, Testnet, TestnetConfig};
use serde_json::{Value, json};

/// A frozen clock: the rate-limit window never ends during the test.
const NOW_MS: u64 = 1_765_000_000_000;
const LIMIT: u32 = 10;

async fn shared(url: &str, prefix: &str) -> SharedState {
    let connection = redis::Client::open(url)
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    SharedState::new(connection, prefix).unwrap()
}

fn config(upstox: &BrokerCredentials) -> TestnetConfig {
    TestnetConfig::default()
        .with_rate_limit(LIMIT)
        .with_clock(Arc::new(FixedClock::new(NOW_MS)))
        .with_broker_credentials(vec![upstox.clone()])
}

/// Sends `n` requests to binance's listener at `base`; counts (served, 429).
async fn hammer(base: &str, n: usize) -> (u32, u32) {
    let client = reqwest::Client::new();
    let (mut served, mut limited) = (0, 0);
    for _ in 0..n {
        let r = client
            .get(format!("{base}/api/v3/time"))
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            429 => limited += 1,
            503 => panic!("shared state unavailable: {}", r.text().await.unwrap()),
            _ => served += 1,
        }
    }
    (served, limited)
}

#[tokio::test]
async fn the_rate_limit_is_counted_across_replicas() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let upstox = BrokerCredentials::generate("upstox").unwrap();
    let a =
        Testnet::start(config(&upstox).with_shared_state(shared(&server.url(), "venue-x").await))
            .await
            .unwrap();
    let b =
        Testnet::start(config(&upstox).with_shared_state(shared(&server.url(), "venue-x").await))
            .await
            .unwrap();
    let on_a = hammer(a.url("binance").unwrap(), 6).await;
    let on_b = hammer(b.url("binance").unwrap(), 6).await;
    eprintln!("replicas: A served/429 {on_a:?}, B served/429 {on_b:?}, limit {LIMIT}");
    assert_eq!(on_a, (6, 0));
    assert_eq!(on_b, (4, 2), "B must see A's six requests");
    // Another venue keeps its own count.
    assert_eq!(hammer(b.url("bybit").unwrap(), 3).await, (3, 0));

    // Control: the same run without shared state exceeds the venue's limit across the two.
    let c = Testnet::start(config(&upstox)).await.unwrap();
    let d = Testnet::start(config(&upstox)).await.unwrap();
    let on_c = hammer(c.url("binance").unwrap(), 6).await;
    let on_d = hammer(d.url("binance").unwrap(), 6).await;
    assert_eq!(
        (on_c, on_d),
        ((6, 0), (6, 0)),
        "alone, each testnet counts only its own"
    );

    // Another prefix is another venue.
    let e =
        Testnet::start(config(&upstox).with_shared_state(shared(&server.url(), "venue-y").await))
            .await
            .unwrap();
    assert_eq!(hammer(e.url("binance").unwrap(), 3).await, (3, 0));
}

#[tokio::test]
async fn a_replica_without_redis_answers_503_never_uncounted() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let upstox = BrokerCredentials::generate("upstox").unwrap();
    let state = shared(&server.url(), "venue-z")
        .await
        .with_timeout(std::time::Duration::from_millis(300));
    let a = Testnet::start(config(&upstox).with_shared_state(state))
        .await
        .unwrap();
    assert_eq!(hammer(a.url("binance").unwrap(), 1).await, (1, 0));
    server.stop();
    let r = reqwest::get(format!("{}/api/v3/time", a.url("binance").unwrap()))
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("shared rate-limit state"),
        "{body}"
    );
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn post(base: &str, path: &str, cookie: &str, body: Value) -> Value {
    client()
        .post(format!("{base}{path}"))
        .header("cookie", cookie)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The whole Upstox login at `base` (as tests/upstox.rs drives it): the access token.
async fn login(base: &str, c: &BrokerCredentials) -> String {
    let r = client()
        .get(format!("{base}/api/v2/login/authorization/dialog"))
        .query(&[
            ("response_type", "code"),
            ("client_id", c.client_id.as_str()),
            ("redirect_uri", c.redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let user_id = location
        .query_pairs()
        .find(|(k, _)| k == "user_id")
        .unwrap()
        .1
        .into_owned();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = post(
        base,
        "/service/login/open/v6/auth/1fa/otp/generate",
        &cookie,
        json!({"data": {"mobileNumber": c.username, "userId": user_id}}),
    )
    .await;
    let validate = body["data"]["validateOTPToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let seed = totp_rs::Secret::Encoded(c.totp_secret.expose_secret().to_owned())
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, seed);
    let body = post(
        base,
        "/service/login/open/v4/auth/1fa/otp-totp/verify",
        &cookie,
        json!({"data": {"otp": totp.generate(NOW_MS / 1000), "validateOtpToken": validate}}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    let internal = "https://api-v2.upstox.com/login/authorization/redirect";
    let pin = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        c.pin.expose_secret(),
    );
    let body = post(
        base,
        &format!(
            "/service/login/open/v3/auth/2fa?client_id={}&redirect_uri={internal}",
            c.client_id
        ),
        &cookie,
        json!({"data": {"twoFAMethod": "SECRET_PIN", "inputText": pin}}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    let body = post(
        base,
        &format!(
            "/service/login/v2/oauth/authorize?client_id={}&redirect_uri={internal}&requestId=WPRO-1&response_type=code",
            c.client_id
        ),
        &cookie,
        json!({"data": {"userOAuthApproval": true}}),
    )
    .await;
    let redirect = url::Url::parse(body["data"]["redirectUri"].as_str().unwrap()).unwrap();
    let code = redirect
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let body: Value = client()
        .post(format!("{base}/api/v2/login/authorization/token"))
        .form(&[
            ("code", code.as_str()),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.expose_secret()),
            ("redirect_uri", c.redirect_uri.as_str()),
            ("grant_type", "authorization_code"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn profile_status(base: &str, token: &str) -> u16 {
    client()
        .get(format!("{base}/api/v2/user/profile"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_broker_token_from_replica_a_is_accepted_by_replica_b() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let upstox = BrokerCredentials::generate("upstox").unwrap();
    let a = Testnet::start(config(&upstox).with_shared_state(shared(&server.url(), "brk").await))
        .await
        .unwrap();
    let b = Testnet::start(config(&upstox).with_shared_state(shared(&server.url(), "brk").await))
        .await
        .unwrap();
    let token = login(a.url("upstox").unwrap(), &upstox).await;
    assert_eq!(profile_status(a.url("upstox").unwrap(), &token).await, 200);
    assert_eq!(profile_status(b.url("upstox").unwrap(), &token).await, 200);
    // A token B issued is accepted by A as well.
    let token_b = login(b.url("upstox").unwrap(), &upstox).await;
    assert_eq!(
        profile_status(a.url("upstox").unwrap(), &token_b).await,
        200
    );

    // Control: a testnet alone (same credentials, no shared state) does not know A's tokens.
    let alone = Testnet::start(config(&upstox)).await.unwrap();
    assert_eq!(
        profile_status(alone.url("upstox").unwrap(), &token).await,
        401
    );

    // What Redis holds: the user id in clear, the token key only Fernet-encrypted.
    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let stored: String = redis::cmd("GET")
        .arg("brk:{testnet:upstox}:account")
        .query_async(&mut conn)
        .await
        .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert!(
        stored["jwt_key"].as_str().unwrap().starts_with("gAAAAA"),
        "{stored}"
    );

    // A replica with other broker credentials is refused the shared account.
    let other = BrokerCredentials::generate("upstox").unwrap();
    let e = Testnet::start(config(&other).with_shared_state(shared(&server.url(), "brk").await))
        .await
        .expect_err("other credentials joined the replicas");
    assert!(e.to_string().contains("other broker credentials"), "{e}");
}

#[tokio::test]
async fn bad_prefixes_and_foreign_values_are_typed_errors() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let connection = redis::Client::open(server.url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    for bad in ["", "a:b", "{x}", &"x".repeat(65)] {
        assert!(
            SharedState::new(connection.clone(), bad).is_err(),
            "{bad:?}"
        );
    }
    // Another program wrote the keys: a string where the count's hash goes, junk as the
    // account.
    let mut conn = connection.clone();
    let () = redis::cmd("SET")
        .arg("junk:{testnet:binance}:ratelimit")
        .arg("not a hash")
        .query_async(&mut conn)
        .await
        .unwrap();
    let () = redis::cmd("SET")
        .arg("junk:{testnet:upstox}:account")
        .arg("{\"user_id\": 5}")
        .query_async(&mut conn)
        .await
        .unwrap();
    let upstox = BrokerCredentials::generate("upstox").unwrap();
    let e = Testnet::start(
        config(&upstox).with_shared_state(SharedState::new(connection.clone(), "junk").unwrap()),
    )
    .await
    .expect_err("a foreign account was used");
    assert!(e.to_string().contains("not one this testnet wrote"), "{e}");
    let () = redis::cmd("DEL")
        .arg("junk:{testnet:upstox}:account")
        .query_async(&mut conn)
        .await
        .unwrap();
    let t = Testnet::start(
        config(&upstox).with_shared_state(SharedState::new(connection, "junk").unwrap()),
    )
    .await
    .unwrap();
    let r = reqwest::get(format!("{}/api/v3/time", t.url("binance").unwrap()))
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "a count over a foreign key must not pass");
}
