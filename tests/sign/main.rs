//! End-to-end tests of `keyward sign`: the venues' published examples reproduced from the
//! command line, each venue's CLI rules, and secrets kept out of arguments and errors.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

mod asymmetric;

use serde_json::Value;

use common::{assert_fails, keyward, stderr};

const SECRET_VAR: &str = "KEYWARD_TEST_SECRET";
const PASS_VAR: &str = "KEYWARD_TEST_PASSPHRASE";

/// Runs `keyward sign --api-key K --secret-env VAR args...` with `secret` in VAR and parses the
/// JSON it prints.
fn sign(secret: &str, args: &[&str]) -> Value {
    let mut all = vec![
        "sign",
        "--api-key",
        "test-key",
        "--secret-env",
        SECRET_VAR,
        "--passphrase-env",
        PASS_VAR,
    ];
    all.extend_from_slice(args);
    let out = keyward(&all, b"", &[(SECRET_VAR, secret), (PASS_VAR, "test-pass")]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn published() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../keyward-signing/tests/data/official.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap()
}

#[test]
fn published_rest_examples_reproduce_from_the_command_line() {
    let mut checked = 0;
    for v in published() {
        let r = &v["request"];
        if r.is_null() {
            continue;
        }
        let secret = s(&v, "secret");
        let mut args = vec![
            "--method",
            s(r, "method"),
            "--path",
            s(r, "path"),
            "--query",
            s(r, "query"),
            "--body",
            s(r, "body"),
        ];
        let expires = v["expires"].to_string();
        let (venue, header) = match s(&v, "venue") {
            "binance" => ("binance", None),
            "kraken" => ("kraken", Some("API-Sign")),
            "bitmex" => {
                args.extend(["--expires", &expires]);
                ("bitmex", Some("api-signature"))
            }
            other => panic!("no CLI check for {other}"),
        };
        args.extend(["--venue", venue]);
        let out = sign(secret, &args);
        let expected = s(&v, "expected");
        match header {
            Some(name) => assert_eq!(out["headers"][name], expected, "{}", v["id"]),
            None => {
                let sent = format!("{}{}", out["url"], out["body"]);
                assert!(
                    sent.contains(&format!("signature={expected}")),
                    "{}: {sent}",
                    v["id"]
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 8);
}

#[test]
fn binance_appends_to_the_body_when_there_is_one_and_recv_window_only_when_asked() {
    let out = sign(
        "k",
        &[
            "--venue",
            "binance",
            "--method",
            "POST",
            "--path",
            "/api/v3/order",
            "--query",
            "symbol=A",
            "--body",
            "side=BUY",
            "--timestamp",
            "7",
        ],
    );
    assert_eq!(out["url"], "/api/v3/order?symbol=A");
    let body = out["body"].as_str().unwrap();
    assert!(
        body.starts_with("side=BUY&timestamp=7&signature="),
        "{body}"
    );
    let out = sign(
        "k",
        &[
            "--venue",
            "binance",
            "--method",
            "GET",
            "--path",
            "/api/v3/account",
            "--timestamp",
            "7",
            "--recv-window",
            "5000",
        ],
    );
    assert!(
        out["url"]
            .as_str()
            .unwrap()
            .starts_with("/api/v3/account?recvWindow=5000&timestamp=7&signature=")
    );
    assert_eq!(out["headers"]["X-MBX-APIKEY"], "test-key");
}

#[test]
fn timestamps_are_milliseconds_and_each_venue_converts() {
    let args = |venue| {
        vec![
            "--venue",
            venue,
            "--method",
            "GET",
            "--path",
            "/x",
            "--timestamp",
            "1607418537715",
        ]
    };
    assert_eq!(
        sign("k", &args("okx"))["headers"]["OK-ACCESS-TIMESTAMP"],
        "2020-12-08T09:08:57.715Z"
    );
    let b64 = "dGVzdA==";
    assert_eq!(
        sign(b64, &args("coinbase-exchange"))["headers"]["CB-ACCESS-TIMESTAMP"],
        "1607418537"
    );
    assert_eq!(
        sign("k", &args("bybit"))["headers"]["X-BAPI-TIMESTAMP"],
        "1607418537715"
    );
    assert_eq!(
        sign("k", &args("bybit"))["headers"]["X-BAPI-RECV-WINDOW"],
        "5000"
    );
    assert_eq!(
        sign("k", &args("hmac-newline-v0"))["headers"]["X-Timestamp"],
        "1607418537"
    );
}

#[test]
fn ws_names_print_auth_messages() {
    let out = sign("k", &["--venue", "okx-ws", "--timestamp", "1607418537715"]);
    assert_eq!(out["op"], "login");
    assert_eq!(out["args"][0]["timestamp"], "1607418537");
    let out = sign("k", &["--venue", "bybit-ws", "--expires", "1700000000"]);
    assert_eq!(out["args"][1], 1_700_000_000_000u64);
    let out = sign(
        "k",
        &[
            "--venue",
            "binance-ws",
            "--params",
            r#"{"symbol":"BTCUSDT"}"#,
            "--timestamp",
            "5",
        ],
    );
    assert_eq!(out["apiKey"], "test-key");
    assert_eq!(out["signature"].as_str().unwrap().len(), 64);
    let out = sign("k", &["--venue", "bitmex-ws", "--expires", "9"]);
    assert_eq!(out["op"], "authKeyExpires");
    let out = sign(
        "dGVzdA==",
        &[
            "--venue",
            "coinbase-exchange-ws",
            "--params",
            r#"{"channels":["full"]}"#,
        ],
    );
    assert_eq!(out["type"], "subscribe");
    assert_eq!(out["channels"][0], "full");
}

#[test]
fn kraken_refuses_a_disagreeing_nonce() {
    let out = keyward(
        &[
            "sign",
            "--venue",
            "kraken",
            "--api-key",
            "k",
            "--secret-env",
            SECRET_VAR,
            "--method",
            "POST",
            "--path",
            "/0/private/Balance",
            "--body",
            "nonce=1",
            "--nonce",
            "2",
        ],
        b"",
        &[(SECRET_VAR, "dGVzdA==")],
    );
    assert_fails(&out, "nonce");
}

#[test]
fn deribit_uses_a_fresh_random_nonce() {
    let args = [
        "--venue",
        "deribit",
        "--method",
        "GET",
        "--path",
        "/api/v2/private/get_positions",
        "--timestamp",
        "1",
    ];
    let a = sign("k", &args);
    let b = sign("k", &args);
    let auth = a["headers"]["Authorization"].as_str().unwrap();
    assert!(
        auth.starts_with("deri-hmac-sha256 id=test-key,ts=1,sig="),
        "{auth}"
    );
    assert_ne!(a["headers"]["Authorization"], b["headers"]["Authorization"]);
    let fixed = sign(
        "k",
        &["--venue", "deribit-ws", "--nonce", "n", "--timestamp", "1"],
    );
    assert_eq!(fixed["params"]["nonce"], "n");
    assert_eq!(fixed["params"]["data"], "");
}

#[test]
fn keyward_v1_sends_a_canonical_query_and_covers_headers() {
    let out = sign(
        "k",
        &[
            "--venue",
            "keyward-v1",
            "--method",
            "GET",
            "--path",
            "/v1/items",
            "--query",
            "b=2&a=1",
            "--header",
            "X-Request-Id: r1",
            "--signed-header",
            "x-request-id",
        ],
    );
    assert_eq!(out["url"], "/v1/items?a=1&b=2");
    assert!(
        out["headers"]["Signature-Input"]
            .as_str()
            .unwrap()
            .contains("\"x-request-id\"")
    );
}

#[test]
fn bad_names_and_missing_inputs_are_clear_errors() {
    let env = [(SECRET_VAR, "CANARY-SECRET-VALUE")];
    let run = |args: &[&str]| {
        let mut all = vec!["sign", "--api-key", "k", "--secret-env", SECRET_VAR];
        all.extend_from_slice(args);
        keyward(&all, b"", &env)
    };
    let out = run(&["--venue", "nasdaq"]);
    assert_fails(&out, "unknown signing scheme");
    assert!(stderr(&out).contains("binance"));
    assert_fails(&run(&["--venue", "kraken-ws"]), "no WebSocket auth");
    assert_fails(&run(&["--venue", "bitmart"]), "bitmart-ws");
    assert_fails(&run(&["--venue", "binance"]), "--method and --path");
    assert_fails(
        &run(&["--venue", "okx", "--method", "GET", "--path", "/x"]),
        "passphrase",
    );
    assert_fails(
        &run(&["--venue", "kraken", "--method", "GET", "--path", "/x"]),
        "not valid",
    );
    assert_fails(
        &run(&["--venue", "binance-ws", "--params", "[1]"]),
        "JSON object",
    );
    for args in [
        &["--venue", "okx", "--method", "GET", "--path", "/x"][..],
        &["--venue", "kraken", "--method", "GET", "--path", "/x"],
    ] {
        assert!(!stderr(&run(args)).contains("CANARY"));
    }
    let missing = keyward(
        &[
            "sign",
            "--venue",
            "binance",
            "--api-key",
            "k",
            "--secret-env",
            "KEYWARD_TEST_UNSET_VAR",
        ],
        b"",
        &[],
    );
    assert_fails(&missing, "KEYWARD_TEST_UNSET_VAR");
}

#[test]
fn secrets_are_never_taken_from_argument_values() {
    let out = keyward(
        &[
            "sign",
            "--venue",
            "binance",
            "--api-key",
            "k",
            "--secret",
            "abc",
        ],
        b"",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}
