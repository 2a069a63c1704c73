//! The venues' official SDKs against the local testnet (issue 13, findings 16 and 25): each SDK,
//! run by a small Python driver in `tests/sdk/python/`, reads the server time and the account,
//! places and cancels an order with the options its venue documents, and is refused with the
//! venue's own code for a wrong secret and an unknown key. Binance's SDK also drives the
//! WebSocket API. Where a venue has no official Python SDK that signs its keys (Coinbase
//! Exchange, Coinbase Advanced Trade legacy HMAC keys, Deribit; issue 14), ccxt, the reference
//! multi-venue library, does the same with its own signing code, and signs Coinbase Exchange's
//! WebSocket `subscribe` and Deribit's `public/auth` too.
//!
//! Python comes from `KEYWARD_PYTHON` (set by `cargo xtask ci` to the virtualenv that
//! `xtask/requirements-test.txt` fills), else `.venv/bin/python` at the workspace root. When
//! `KEYWARD_REQUIRE_INTEROP` is set, a missing interpreter or SDK is a failure; otherwise the test
//! says why it did not run and passes, so a bare `cargo test` works without Python.
//!
//! The testnet runs in this process on 127.0.0.1; each driver gets its URLs and credentials on
//! standard input (never in its environment or arguments), prints one JSON object, and is killed
//! if it has not finished within [`CHILD_LIMIT`].

#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/python.rs"]
mod python;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use keyward::crypto::secrecy::ExposeSecret as _;
use keyward_testnet::{Faults, Testnet, TestnetConfig, VenueCredentials};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// How long one driver may run: a cap against a hung child, not a measurement.
const CHILD_LIMIT: Duration = Duration::from_secs(120);

/// A secret of the right form for the venue and one that is wrong.
fn secrets(venue: &str) -> (&'static str, &'static str) {
    match venue {
        // Kraken's secrets are base64.
        "kraken" => (
            "c2RrLXRlc3Qta3Jha2VuLXNlY3JldC1mb3ItdGhlLWxvY2FsLXRlc3RuZXQ=",
            "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==",
        ),
        // Coinbase Exchange's secrets are base64, and ccxt decodes them before it signs.
        "coinbase-exchange" => (
            "c2RrLXRlc3QtY29pbmJhc2UtZXhjaGFuZ2Utc2VjcmV0",
            "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==",
        ),
        // Any other secret is text; none ends in "=" or is 88 characters long, which ccxt's
        // `coinbase` would take for a CDP key rather than a legacy HMAC key.
        _ => ("sdk-test-secret-for-the-local-testnet", "wrong-secret"),
    }
}

const PASSPHRASE: &str = "sdk-test-passphrase";

async fn testnet() -> Testnet {
    let creds = [
        "binance",
        "bybit",
        "okx",
        "kraken",
        "bitmex",
        "coinbase-exchange",
        "coinbase-advanced",
        "deribit",
    ]
    .into_iter()
    .map(|venue| {
        let c = VenueCredentials::new(venue, format!("sdk-{venue}-key"), secrets(venue).0);
        if venue == "okx" || venue == "coinbase-exchange" {
            c.with_passphrase(PASSPHRASE)
        } else {
            c
        }
    })
    .collect();
    Testnet::start(TestnetConfig::default().with_credentials(creds))
        .await
        .unwrap()
}

/// Runs `tests/sdk/python/<script>` with `input` on stdin and returns the JSON it printed.
async fn drive(python: &PathBuf, script: &str, input: &Value) -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/sdk/python/{script}"));
    let mut child = Command::new(python)
        .arg(&path)
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("all_proxy")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(CHILD_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within {CHILD_LIMIT:?}"))
        .unwrap();
    assert!(
        out.status.success(),
        "{script} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{script} printed {text:?}: {e}"))
}

/// The driver's input for `venue`.
fn input(t: &Testnet, venue: &str) -> Value {
    let url = t.url(venue).unwrap();
    let (secret, wrong) = secrets(venue);
    json!({
        "url": url,
        "ws_url": format!("{}/ws", url.replacen("http://", "ws://", 1)),
        "api_key": format!("sdk-{venue}-key"),
        "secret": secret,
        "wrong_secret": wrong,
        "passphrase": PASSPHRASE,
    })
}

/// Runs one SDK against a fresh testnet, or returns None when it cannot run here.
async fn run(venue: &str, module: &str, script: &str) -> Option<Value> {
    let python = python::interpreter()?;
    if !python::imports(&python, module) {
        return None;
    }
    let t = testnet().await;
    let out = drive(&python, script, &input(&t, venue)).await;
    t.shutdown().await;
    Some(out)
}

/// Runs the driver in its `stale` mode, with the testnet's clock for `venue` an hour ahead, and
/// returns the code the SDK was refused with.
async fn stale(venue: &str, module: &str, script: &str) -> Option<Value> {
    let python = python::interpreter()?;
    if !python::imports(&python, module) {
        return None;
    }
    let t = testnet().await;
    let ahead: Faults = format!("clock_offset_ms=3600000,venue={venue}")
        .parse()
        .unwrap();
    t.faults().apply(&ahead);
    let mut input = input(&t, venue);
    input["mode"] = json!("stale");
    let out = drive(&python, script, &input).await;
    t.shutdown().await;
    Some(out["stale"]["code"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_timestamp_gets_the_venue_code_through_the_sdks() {
    let cases = [
        (
            "binance",
            "binance.spot",
            "drive_binance_connector.py",
            json!(-1021),
        ),
        ("bybit", "pybit", "drive_pybit_v5.py", json!(10002)),
        ("okx", "okx.Account", "drive_python_okx.py", json!("50102")),
    ];
    for (venue, module, script, code) in cases {
        let Some(got) = stale(venue, module, script).await else {
            return;
        };
        assert_eq!(got, code, "{venue}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binance_sdk_spot_rest_and_websocket_api() {
    let Some(out) = run("binance", "binance_sdk_spot", "drive_binance_sdk_spot.py").await else {
        return;
    };
    assert!(out["time"].as_u64().unwrap() > 1_600_000_000_000, "{out}");
    assert_eq!(out["account"]["can_trade"], true, "{out}");
    // Binance sends balances as strings ("1.00000000").
    assert_eq!(out["account_types"]["free"], "str", "{out}");
    assert_eq!(out["order"]["status"], "NEW", "{out}");
    assert!(out["order"]["order_id"].as_u64().is_some(), "{out}");
    assert_eq!(out["cancel"]["status"], "CANCELED", "{out}");
    // orderId is a number in Binance's answers.
    assert_eq!(out["cancel_types"]["orderId"], "int", "{out}");
    assert_eq!(out["wrong_secret"]["code"], -1022, "{out}");
    assert_eq!(out["unknown_key"]["code"], -2015, "{out}");
    assert!(
        out["ws_time"].as_u64().unwrap() > 1_600_000_000_000,
        "{out}"
    );
    assert_eq!(out["ws_account_status"]["status"], 200, "{out}");
    // session.logon is Ed25519 only at Binance: the SDK's HMAC logon is refused.
    assert_eq!(out["ws_logon"]["accepted"], false, "{out}");
    assert_eq!(out["ws_logon"]["code"], -1022, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binance_connector_rest() {
    let Some(out) = run("binance", "binance.spot", "drive_binance_connector.py").await else {
        return;
    };
    assert!(out["time"].as_u64().unwrap() > 1_600_000_000_000, "{out}");
    assert_eq!(out["account"]["canTrade"], true, "{out}");
    assert_eq!(out["account"]["free_type"], "str", "{out}");
    assert_eq!(out["order"]["status"], "NEW", "{out}");
    assert_eq!(out["cancel"]["status"], "CANCELED", "{out}");
    assert_eq!(out["cancel"]["orderId"], out["order"]["orderId"], "{out}");
    assert_eq!(out["wrong_secret"]["code"], -1022, "{out}");
    assert_eq!(out["unknown_key"]["code"], -2015, "{out}");
    assert_eq!(out["unknown_key"]["status"], 401, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pybit_v5() {
    let Some(out) = run("bybit", "pybit", "drive_pybit_v5.py").await else {
        return;
    };
    assert_eq!(out["time"]["retCode"], 0, "{out}");
    // Bybit's v5 answers carry numbers as strings.
    assert_eq!(out["time_types"]["timeSecond"], "str", "{out}");
    assert_eq!(out["balance"]["retCode"], 0, "{out}");
    assert_eq!(out["order"]["retCode"], 0, "{out}");
    assert_eq!(out["order_types"]["orderId"], "str", "{out}");
    assert_eq!(out["order_types"]["orderLinkId"], "str", "{out}");
    assert_eq!(out["cancel"]["retCode"], 0, "{out}");
    assert_eq!(out["cancel"]["orderId"], out["order"]["orderId"], "{out}");
    assert_eq!(out["wrong_secret"]["code"], 10004, "{out}");
    assert_eq!(out["unknown_key"]["code"], 10003, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_okx() {
    let Some(out) = run("okx", "okx.Account", "drive_python_okx.py").await else {
        return;
    };
    assert_eq!(out["time"]["code"], "0", "{out}");
    assert!(
        out["time"]["ts"].is_string(),
        "OKX sends every number as a string: {out}"
    );
    assert_eq!(out["balance"]["code"], "0", "{out}");
    assert_eq!(out["order"]["code"], "0", "{out}");
    assert_eq!(out["order"]["sCode"], "0", "{out}");
    assert!(
        out["order_types"]
            .as_object()
            .unwrap()
            .values()
            .all(|t| t == "str"),
        "{out}"
    );
    assert_eq!(out["cancel"]["code"], "0", "{out}");
    assert_eq!(out["wrong_secret"]["code"], "50113", "{out}");
    assert_eq!(out["unknown_key"]["code"], "50111", "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn krakenex() {
    let Some(out) = run("kraken", "krakenex", "drive_krakenex_api.py").await else {
        return;
    };
    assert_eq!(out["time"]["error"], json!([]), "{out}");
    assert_eq!(out["balance"]["error"], json!([]), "{out}");
    assert_eq!(out["order"]["error"], json!([]), "{out}");
    assert!(out["order"]["txid"][0].is_string(), "{out}");
    assert_eq!(out["cancel"]["error"], json!([]), "{out}");
    assert_eq!(out["ws_token"]["has_token"], true, "{out}");
    assert_eq!(
        out["wrong_secret"]["error"],
        json!(["EAPI:Invalid signature"]),
        "{out}"
    );
    assert_eq!(
        out["unknown_key"]["error"],
        json!(["EAPI:Invalid key"]),
        "{out}"
    );
    assert_eq!(
        out["stale_nonce"]["error"],
        json!(["EAPI:Invalid nonce"]),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitmex_api_key_authenticator() {
    let Some(out) = run(
        "bitmex",
        "BitMEXAPIKeyAuthenticator",
        "drive_bitmex_signer.py",
    )
    .await
    else {
        return;
    };
    assert_eq!(out["time"]["status"], 200, "{out}");
    assert_eq!(out["wallet"]["status"], 200, "{out}");
    assert_eq!(out["wallet"]["amount_type"], "int", "{out}");
    // Two byte-identical reads in one second: BitMEX's replay guard is `api-expires` alone.
    assert_eq!(out["wallet_twice"], json!([200, 200]), "{out}");
    assert_eq!(out["order"]["status"], 200, "{out}");
    assert_eq!(out["order"]["ordStatus"], "New", "{out}");
    assert_eq!(out["cancel"]["status"], 200, "{out}");
    assert_eq!(out["cancel"]["ordStatus"], "Canceled", "{out}");
    assert_eq!(out["wrong_secret"]["status"], 401, "{out}");
    assert_eq!(
        out["wrong_secret"]["message"], "Signature not valid.",
        "{out}"
    );
    assert_eq!(out["unknown_key"]["status"], 401, "{out}");
    assert_eq!(out["unknown_key"]["message"], "Invalid API Key.", "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ccxt_coinbaseexchange_rest_and_websocket_subscribe() {
    let Some(out) = run(
        "coinbase-exchange",
        "ccxt.pro",
        "drive_ccxt_coinbaseexchange.py",
    )
    .await
    else {
        return;
    };
    // Coinbase's /time gives epoch seconds as a number with a fraction.
    assert_eq!(out["time"]["epoch_type"], "float", "{out}");
    assert_eq!(out["accounts"]["currency"], "USD", "{out}");
    assert_eq!(out["accounts"]["balance_type"], "str", "{out}");
    assert_eq!(out["order"]["status"], "pending", "{out}");
    assert_eq!(out["order"]["product_id"], "BTC-USD", "{out}");
    // Coinbase answers a cancel with the id of the order, as a bare JSON string.
    let id = out["order"]["id"].as_str().unwrap();
    assert_eq!(out["cancel"]["body"], format!("\"{id}\""), "{out}");
    assert_eq!(out["wrong_secret"]["error"], "AuthenticationError", "{out}");
    assert_eq!(out["wrong_secret"]["message"], "invalid signature", "{out}");
    assert_eq!(out["unknown_key"]["error"], "AuthenticationError", "{out}");
    assert_eq!(out["unknown_key"]["message"], "Invalid API Key", "{out}");
    assert_eq!(out["ws_subscribe"]["type"], "subscriptions", "{out}");
    // ccxt sends the subscribe's timestamp as a JSON number, Coinbase's examples as a string.
    assert_eq!(out["ws_subscribe"]["timestamp_type"], "int", "{out}");
    assert_eq!(out["ws_wrong_secret"]["type"], "error", "{out}");
    assert_eq!(
        out["ws_wrong_secret"]["reason"], "invalid signature",
        "{out}"
    );
}

/// Coinbase Exchange signs a GET's query string with its path; the testnet serves no Coinbase
/// Exchange GET that takes one, so ccxt's headers for a fixed time, sent nowhere, are compared
/// with `keyward sign`'s for the same request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ccxt_coinbaseexchange_get_with_a_query_matches_keyward_sign() {
    let Some(python) = python::interpreter() else {
        return;
    };
    if !python::imports(&python, "ccxt.pro") {
        return;
    }
    const BASE: &str = "http://127.0.0.1";
    let (secret, _) = secrets("coinbase-exchange");
    let input = json!({"mode": "fixed", "url": BASE, "api_key": "sdk-coinbase-exchange-key",
        "secret": secret, "passphrase": PASSPHRASE, "timestamp_s": 1_700_000_000});
    let out = drive(&python, "drive_ccxt_coinbaseexchange.py", &input).await;
    let ccxt = &out["fixed"];
    let url = ccxt["url"].as_str().unwrap();
    let (path, query) = url.strip_prefix(BASE).unwrap().split_once('?').unwrap();
    assert_eq!((path, query), ("/orders", "status=open&product_id=BTC-USD"));
    let signed = common::keyward(
        &[
            "sign",
            "--venue",
            "coinbase-exchange",
            "--api-key",
            "sdk-coinbase-exchange-key",
            "--secret-env",
            "SDK_TEST_SECRET",
            "--passphrase-env",
            "SDK_TEST_PASSPHRASE",
            "--method",
            "GET",
            "--path",
            path,
            "--query",
            query,
            "--timestamp",
            "1700000000000",
        ],
        b"",
        &[
            ("SDK_TEST_SECRET", secret),
            ("SDK_TEST_PASSPHRASE", PASSPHRASE),
        ],
    );
    assert!(signed.status.success(), "{}", common::stderr(&signed));
    let keyward: Value = serde_json::from_slice(&signed.stdout).unwrap();
    assert_eq!(keyward["url"], format!("{path}?{query}"), "{keyward}");
    for header in [
        "CB-ACCESS-KEY",
        "CB-ACCESS-SIGN",
        "CB-ACCESS-TIMESTAMP",
        "CB-ACCESS-PASSPHRASE",
    ] {
        assert!(ccxt["headers"][header].is_string(), "{header}: {out}");
        assert_eq!(
            keyward["headers"][header], ccxt["headers"][header],
            "{header}: keyward {keyward}, ccxt {out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ccxt_coinbase_advanced_legacy_hmac_key() {
    let Some(out) = run(
        "coinbase-advanced",
        "ccxt.pro",
        "drive_ccxt_coinbase_advanced.py",
    )
    .await
    else {
        return;
    };
    assert_eq!(out["time"]["epochMillis_type"], "str", "{out}");
    assert_eq!(out["time"]["time_difference_type"], "int", "{out}");
    assert_eq!(out["accounts"]["currency"], "USD", "{out}");
    assert_eq!(out["accounts"]["has_next"], false, "{out}");
    assert_eq!(out["order"]["success"], true, "{out}");
    assert_eq!(out["order"]["client_order_id"], "ccxt-advanced-1", "{out}");
    assert_eq!(out["cancel"]["success"], true, "{out}");
    assert_eq!(out["cancel"]["order_id"], out["order"]["order_id"], "{out}");
    assert_eq!(out["wrong_secret"]["error"], "AuthenticationError", "{out}");
    assert_eq!(out["wrong_secret"]["message"], "invalid signature", "{out}");
    assert_eq!(out["unknown_key"]["error"], "AuthenticationError", "{out}");
    assert_eq!(out["unknown_key"]["message"], "Invalid API Key", "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ccxt_deribit_rest_and_websocket_public_auth() {
    let Some(out) = run("deribit", "ccxt.pro", "drive_ccxt_deribit.py").await else {
        return;
    };
    assert!(
        out["time"]["result"].as_u64().unwrap() > 1_600_000_000_000,
        "{out}"
    );
    assert_eq!(out["summary"]["currency"], "BTC", "{out}");
    assert_eq!(out["summary"]["balance_type"], "float", "{out}");
    assert_eq!(out["order"]["order_state"], "open", "{out}");
    assert_eq!(out["order"]["direction"], "buy", "{out}");
    assert_eq!(out["cancel"]["order_id"], out["order"]["order_id"], "{out}");
    assert_eq!(out["cancel"]["order_state"], "cancelled", "{out}");
    assert_eq!(out["wrong_secret"]["code"], 13009, "{out}");
    assert_eq!(out["wrong_secret"]["message"], "unauthorized", "{out}");
    assert_eq!(out["unknown_key"]["code"], 13004, "{out}");
    assert_eq!(
        out["unknown_key"]["message"], "invalid_credentials",
        "{out}"
    );
    assert_eq!(out["ws_auth"]["accepted"], true, "{out}");
    assert_eq!(out["ws_auth"]["token_type"], "bearer", "{out}");
    assert_eq!(out["ws_auth"]["has_access_token"], true, "{out}");
    assert_eq!(out["ws_wrong_secret"]["accepted"], false, "{out}");
    assert_eq!(out["ws_wrong_secret"]["code"], 13009, "{out}");
    assert_eq!(out["ws_unknown_key"]["accepted"], false, "{out}");
    assert_eq!(out["ws_unknown_key"]["code"], 13004, "{out}");
}

/// Issue 16: the `upstox-totp` SDK (1.0.8) runs the six-step login against the testnet's
/// Upstox-shaped flow (its `base_domain` pointed at `<base>/{stage}`), gets a token answer with
/// every field of its `AccessTokenData` model, and the token is accepted by the profile
/// endpoint; a wrong TOTP seed is refused at the TOTP step, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstox_totp_sdk_logs_in_and_the_token_works() {
    let Some(python) = python::interpreter() else {
        return;
    };
    if !python::imports(&python, "upstox_totp") {
        return;
    }
    let t = Testnet::start(TestnetConfig::default()).await.unwrap();
    let c = t.broker_credentials("upstox").unwrap();
    let base = t.url("upstox").unwrap().to_owned();
    let input = json!({
        "base": base,
        "username": c.username,
        "password": c.password.expose_secret(),
        "pin": c.pin.expose_secret(),
        "totp_secret": c.totp_secret.expose_secret(),
        "client_id": c.client_id,
        "client_secret": c.client_secret.expose_secret(),
        "redirect_uri": c.redirect_uri,
        // A valid base32 seed that is not the account's.
        "wrong_totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    });
    let out = drive(&python, "drive_upstox_totp.py", &input).await;
    assert_eq!(out["success"], true, "{out}");
    let fields: Vec<&str> = out["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for field in [
        "access_token",
        "broker",
        "ddpi",
        "email",
        "exchanges",
        "extended_token",
        "is_active",
        "order_types",
        "poa",
        "products",
        "user_id",
        "user_name",
        "user_type",
    ] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    assert_eq!(out["token_parts"], 3, "the token is a JWT");
    assert_eq!(out["profile"]["status"], 200, "{out}");
    assert_eq!(out["profile"]["body"]["status"], "success");
    assert_eq!(out["profile"]["body"]["data"]["user_id"], out["user_id"]);
    assert_eq!(out["profile_bad_token"]["status"], 401);
    assert_eq!(
        out["profile_bad_token"]["body"]["errors"][0]["errorCode"],
        "UDAPI100050"
    );
    let wrong = &out["wrong_totp"];
    assert!(
        wrong["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid OTP"),
        "{out}"
    );
    // One right code and one wrong one reached the TOTP step; only the right login went on.
    let verify = "/service/login/open/v4/auth/1fa/otp-totp/verify";
    assert_eq!(t.hits("upstox", "POST", verify), 2);
    assert_eq!(
        t.hits("upstox", "POST", "/service/login/open/v3/auth/2fa"),
        1
    );
    assert_eq!(
        t.hits("upstox", "POST", "/api/v2/login/authorization/token"),
        1
    );
    t.shutdown().await;
}
