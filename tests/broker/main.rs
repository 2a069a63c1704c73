//! End-to-end tests of `keyward broker login NAME --venue upstox`: the login fields from a
//! temporary vault, the login against the testnet's Upstox-shaped flow (in this process), the
//! token stored encrypted as `NAME/token` and accepted by the profile endpoint, and never
//! printed; a refused PIN fails with one sentence after one attempt.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

use std::process::Output;

use common::{assert_fails, keyward, stderr};
use keyward::crypto::secrecy::ExposeSecret as _;
use keyward_testnet::{Testnet, TestnetConfig};
use serde_json::Value;

const TWO_FA: &str = "/service/login/open/v3/auth/2fa";

/// Runs `keyward` off the runtime's threads, so that the testnet keeps serving.
async fn run(args: Vec<String>, stdin: Vec<u8>, home: String) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        keyward(&args, &stdin, &[("KEYWARD_HOME", home.as_str())])
    })
    .await
    .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// A vault in `home` holding the login secret `bot/upstox` for the testnet's account, with
/// `pin` instead of the right one when given.
async fn vault_with_login(t: &Testnet, home: &str, pin: Option<&str>) {
    let out = run(strings(&["vault", "init"]), Vec::new(), home.to_owned()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let c = t.broker_credentials("upstox").unwrap();
    let lines = format!(
        "username={}\npin={}\ntotp_secret={}\nclient_id={}\nclient_secret={}\nredirect_uri={}\n",
        c.username,
        pin.unwrap_or(c.pin.expose_secret()),
        c.totp_secret.expose_secret(),
        c.client_id,
        c.client_secret.expose_secret(),
        c.redirect_uri
    );
    let mut args = strings(&["secret", "put", "bot/upstox"]);
    for field in [
        "username",
        "pin",
        "totp_secret",
        "client_id",
        "client_secret",
        "redirect_uri",
    ] {
        args.push("--field".to_owned());
        args.push(field.to_owned());
    }
    let out = run(args, lines.into_bytes(), home.to_owned()).await;
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_stores_the_token_and_prints_only_its_expiry() {
    let t = Testnet::start(TestnetConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let home = home.path().to_str().unwrap().to_owned();
    vault_with_login(&t, &home, None).await;
    let base = t.url("upstox").unwrap().to_owned();

    let login = strings(&[
        "broker",
        "login",
        "bot/upstox",
        "--venue",
        "upstox",
        "--base-url",
        &base,
    ]);
    let out = run(login.clone(), Vec::new(), home.clone()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        text.starts_with("stored bot/upstox/token version "),
        "{text}"
    );
    assert!(
        text.contains("; expires ") && text.contains(" GMT (in "),
        "{text}"
    );

    let get = strings(&[
        "secret",
        "get",
        "bot/upstox/token",
        "--reveal",
        "--format",
        "json",
    ]);
    let out = run(get, Vec::new(), home.clone()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let stored: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = stored["access_token"].as_str().unwrap().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert_eq!(stored["venue"], "upstox");
    let expires: u64 = stored["expires_at_ms"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires % 86_400_000, 22 * 3_600_000, "03:30 Asia/Kolkata");
    assert!(!text.contains(&token));

    let status = reqwest::Client::new()
        .get(format!("{base}/api/v2/user/profile"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    // JSON output: the name, the version and the expiry only.
    let mut json = login;
    json.extend(strings(&["--format", "json"]));
    let out = run(json, Vec::new(), home.clone()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["stored"], "bot/upstox/token");
    assert!(shown["expires_at"].as_u64().is_some());
    assert_eq!(shown.as_object().unwrap().len(), 3, "{shown}");
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_pin_fails_once_with_one_sentence_and_stores_nothing() {
    let t = Testnet::start(TestnetConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let home = home.path().to_str().unwrap().to_owned();
    vault_with_login(&t, &home, Some("CANARY-PIN")).await;
    let base = t.url("upstox").unwrap().to_owned();
    let out = run(
        strings(&[
            "broker",
            "login",
            "bot/upstox",
            "--venue",
            "upstox",
            "--base-url",
            &base,
        ]),
        Vec::new(),
        home.clone(),
    )
    .await;
    assert_fails(&out, "upstox refused the PIN at step 2fa");
    assert!(!stderr(&out).contains("CANARY"));
    assert_eq!(t.hits("upstox", "POST", TWO_FA), 1);
    let out = run(
        strings(&["secret", "get", "bot/upstox/token"]),
        Vec::new(),
        home.clone(),
    )
    .await;
    assert!(!out.status.success());
    // A base URL off loopback over plain HTTP is refused before anything is sent.
    let out = run(
        strings(&[
            "broker",
            "login",
            "bot/upstox",
            "--venue",
            "upstox",
            "--base-url",
            "http://example.com",
        ]),
        Vec::new(),
        home,
    )
    .await;
    assert_fails(&out, "plain http:// is only allowed to a loopback address");
    t.shutdown().await;
}
