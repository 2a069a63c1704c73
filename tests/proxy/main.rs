//! `keyward proxy`, the local signing proxy, end to end: the real binary in front of the local
//! testnet (in this process), with Python bots that hold no key.
//!
//! - A plain `requests` bot that signs nothing places and cancels an order on Binance, Bybit,
//!   OKX and Kraken through the proxy; neither the API key nor the secret is in its
//!   environment or anywhere in its memory (read from `/proc/<pid>/mem` while it waits; the
//!   same scan finds a marker the bot holds, so a scan that reads nothing cannot pass).
//! - ccxt with placeholder keys places and cancels through `--resign` on the same four venues
//!   (and the same requests are refused by a proxy without `--resign`); with the real keys,
//!   straight at the testnet, ccxt's requests are accepted too (the control).
//! - Eight bots at once through one proxy: no 429 and no Kraken "Invalid nonce", where two
//!   clients signing their own nonces out of order get "Invalid nonce" from the same testnet.
//!   When another client has spent the venue's window, the proxy learns it from the usage
//!   headers and answers its own `rate_limit_wait` instead of sending into a 429.
//! - The proxy's refusals (access token, plain mode, body ceiling, content type) are JSON with
//!   their documented status; the canary key and secret reach no log line (`RUST_LOG=trace`)
//!   and no answer.
//! - `--unix`: a socket of mode 0600 that answers.
//! - `websocket.rs`: the WebSocket pass-through (`--ws-base-url`) on Bybit's and OKX's private
//!   streams, with a plain bot and with pybit and python-okx through `--resign`.
//! - `fleet.rs`: proxies sharing a fleet's state on Redis (`--shared-state`).
//!
//! Python comes from `KEYWARD_PYTHON` (or `.venv`); with `KEYWARD_REQUIRE_INTEROP` set a
//! missing interpreter or package is a failure, otherwise the Python tests say why they did not
//! run and pass.

#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/python.rs"]
mod python;

mod fleet;
mod harness;
mod websocket;

use std::time::Duration;

use harness::{Bot, Proxy, Setup, python};
use serde_json::{Value, json};

/// What each venue's answers say when they accept (the venue's own success shapes).
fn accepted(venue: &str, answer: &Value) -> bool {
    let (status, body) = (&answer[0], &answer[1]);
    status == 200
        && match venue {
            "binance" => body.get("orderId").is_some(),
            "bybit" => body["retCode"] == 0,
            "okx" => body["code"] == "0",
            "kraken" => body["error"].as_array().is_some_and(Vec::is_empty),
            _ => false,
        }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_that_signs_nothing_trades_on_every_venue_and_never_holds_the_key() {
    let Some(python) = python("requests").await else {
        return;
    };
    let setup = Setup::new().await;
    for venue in harness::VENUES {
        let proxy = Proxy::start(&setup, venue, &[]).await;
        let marker = format!("bot-marker-{venue}-{}", std::process::id());
        let mut bot = Bot::start(
            &python,
            "plain_requests.py",
            &json!({"url": proxy.url, "venue": venue, "rounds": 1, "marker": marker}),
        )
        .await;
        let lines = bot.lines_until_done().await;
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(accepted(venue, &lines[0]["place"]), "{venue}: {}", lines[0]);
        assert!(
            accepted(venue, &lines[0]["cancel"]),
            "{venue}: {}",
            lines[0]
        );

        harness::assert_holds_no_key(&bot, &setup.credentials(venue), &marker, venue);
        bot.finish().await;
        proxy.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ccxt_with_placeholder_keys_trades_through_resign_on_every_venue() {
    let Some(python) = python("ccxt").await else {
        return;
    };
    let setup = Setup::new().await;
    for venue in harness::VENUES {
        // The control: ccxt's requests, signed by ccxt with the real keys, straight at the
        // testnet, are ones the venue takes.
        let creds = setup.credentials(venue);
        let direct = json!({"api_key": creds.api_key, "secret": creds.secret, "passphrase": creds.passphrase});
        let mut bot = Bot::start(
            &python,
            "ccxt_resign.py",
            &json!({"url": setup.testnet.url(venue).unwrap(), "venue": venue, "direct": direct}),
        )
        .await;
        let control = bot.line().await;
        bot.finish().await;
        assert!(control.get("error").is_none(), "{venue} direct: {control}");

        // Placeholder keys through a plain proxy: refused, naming --resign.
        let plain = Proxy::start(&setup, venue, &[]).await;
        let mut bot = Bot::start(
            &python,
            "ccxt_resign.py",
            &json!({"url": plain.url, "venue": venue}),
        )
        .await;
        let refused = bot.line().await;
        bot.finish().await;
        plain.stop().await;
        let message = refused["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("carries_credentials") && message.contains("--resign"),
            "{venue} plain: {refused}"
        );

        // Placeholder keys through --resign: placed and cancelled.
        let proxy = Proxy::start(&setup, venue, &["--resign"]).await;
        let mut bot = Bot::start(
            &python,
            "ccxt_resign.py",
            &json!({"url": proxy.url, "venue": venue}),
        )
        .await;
        let answer = bot.line().await;
        let memory = bot.memory();
        bot.finish().await;
        proxy.stop().await;
        assert!(answer.get("error").is_none(), "{venue} resign: {answer}");
        for (what, value) in creds.iter() {
            assert!(
                !harness::contains(&memory, value.as_bytes()),
                "{venue}: ccxt's memory holds the {what}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_bots_through_one_proxy_see_no_429_and_no_invalid_nonce() {
    let Some(python) = python("ccxt").await else {
        return;
    };
    let setup = Setup::new().await;

    for venue in ["kraken", "binance"] {
        let proxy = Proxy::start(&setup, venue, &[]).await;
        let job = json!({"url": proxy.url, "venue": venue, "rounds": 5});
        let mut bots = Vec::new();
        for _ in 0..8 {
            bots.push(Bot::start(&python, "plain_requests.py", &job).await);
        }
        let mut answers = 0;
        for bot in &mut bots {
            for line in bot.lines_until_done().await {
                for answer in [&line["place"], &line["cancel"]] {
                    assert_ne!(answer[0], 429, "{venue}: {line}");
                    assert!(
                        !answer[1].to_string().contains("Invalid nonce"),
                        "{venue}: {line}"
                    );
                    assert!(accepted(venue, answer), "{venue}: {line}");
                    answers += 1;
                }
            }
        }
        for bot in bots {
            bot.finish().await;
        }
        proxy.stop().await;
        assert_eq!(answers, 8 * 5 * 2, "{venue}");
        let usage = setup.testnet.rate_usage(venue).unwrap();
        assert_eq!(usage.refused, 0, "{venue}: {usage:?}");
    }

    // The control, after the bots (its first nonce is a minute ahead): two clients that sign their own nonces, out of order, on one key: the
    // testnet refuses the second with Kraken's "Invalid nonce".
    let creds = setup.credentials("kraken");
    let mut bot = Bot::start(
        &python,
        "nonce_control.py",
        &json!({"url": setup.testnet.url("kraken").unwrap(), "api_key": creds.api_key, "secret": creds.secret}),
    )
    .await;
    let control = bot.line().await;
    bot.finish().await;
    assert_eq!(control["first"], json!([]), "{control}");
    assert_eq!(
        control["second"],
        json!(["EAPI:Invalid nonce"]),
        "{control}"
    );
}

/// The venue's own count decides, not only the proxy's: another client on the same IP has spent
/// all but 20 of Binance's 6,000 weight this minute. Eight bots then trade through the proxy. The
/// first answers carry `X-MBX-USED-WEIGHT-1M` near 6,000, the proxy resyncs its limit from them,
/// and every later request gets the proxy's own `rate_limit_wait` refusal (429, not sent)
/// instead of spending the venue's patience: the testnet refuses nothing. A proxy that ignored
/// the header would send about 80 requests into a window with room for 20.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_at_a_window_another_client_spent_get_the_proxys_refusal_not_the_venues_429() {
    let Some(python) = python("requests").await else {
        return;
    };
    let setup = Setup::with_config(|config| {
        config
            .with_request_weights(true)
            .with_venue_rate_limit("binance", 6_000)
    })
    .await;
    // The other client: 299 account reads of weight 20 (5,980), unthrottled by keyward.
    let creds = setup.credentials("binance");
    let other = keyward::exchange::RestClient::builder(
        keyward::exchange::Scheme::Binance,
        setup.testnet.url("binance").unwrap(),
    )
    .credentials(keyward::exchange::Credentials::new(
        &creds.api_key,
        creds.secret.clone().into(),
    ))
    .rate_limits(vec![keyward::resilience::limiter::Limit::new(
        "weight/1s",
        "weight",
        u32::MAX,
        Duration::from_secs(1),
    )])
    .build()
    .await
    .unwrap();
    for _ in 0..299 {
        other
            .send(
                "GET",
                "/api/v3/account",
                keyward::exchange::Params::None,
                keyward::exchange::RequestClass::Read,
                20,
            )
            .await
            .unwrap();
    }
    // 5,980, and the weight of its clock sync.
    let spent = setup.testnet.rate_usage("binance").unwrap();
    assert!((5_980..5_990).contains(&spent.used), "{spent:?}");
    assert_eq!(spent.refused, 0, "{spent:?}");

    let proxy = Proxy::start(&setup, "binance", &[]).await;
    let job = json!({"url": proxy.url, "venue": "binance", "rounds": 5});
    let mut bots = Vec::new();
    for _ in 0..8 {
        bots.push(Bot::start(&python, "plain_requests.py", &job).await);
    }
    let (mut held, mut sent) = (0, 0);
    for bot in &mut bots {
        for line in bot.lines_until_done().await {
            for answer in [&line["place"], &line["cancel"]] {
                if answer[2] == "rate_limit_wait" {
                    assert_eq!(answer[0], 429, "{line}");
                    held += 1;
                } else {
                    assert_ne!(answer[0], 429, "the venue's 429 reached a bot: {line}");
                    sent += 1;
                }
            }
        }
    }
    for bot in bots {
        bot.finish().await;
    }
    proxy.stop().await;
    let usage = setup.testnet.rate_usage("binance").unwrap();
    assert_eq!(usage.refused, 0, "the venue refused: {usage:?}");
    assert!(usage.peak_admitted <= 6_000, "{usage:?}");
    assert!(held > 0 && sent <= 20, "held {held}, sent {sent}");
    assert_eq!(held + sent, 8 * 5 * 2);
}

/// A page the user visits can make the browser `POST` a form to any loopback port (no CORS
/// preflight for a form) or reach it through a host name its site rebinds to 127.0.0.1: the
/// proxy, which signs for whoever reaches it, must refuse both, and still serve the bot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_page_cannot_make_the_proxy_sign_a_request() {
    let setup = Setup::new().await;
    let proxy = Proxy::start(&setup, "binance", &[]).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/api/v3/order", proxy.url);
    let port = proxy.url.rsplit(':').next().unwrap().to_owned();
    let order = [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.01"),
        ("price", "20000"),
    ];
    for (header, value) in [
        ("Origin", "https://evil.example".to_owned()),
        ("Origin", "null".to_owned()),
        ("Host", format!("rebound.evil.example:{port}")),
    ] {
        let response = http
            .post(&url)
            .header(header, &value)
            .form(&order)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{header}: {value}");
        assert_eq!(response.headers()["x-keyward-refusal"], "cross_origin");
    }
    // The bot itself (no Origin, a loopback Host) is served.
    let response = http.post(&url).form(&order).send().await.unwrap();
    assert_eq!(response.status(), 200);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_documented_json_and_the_canary_key_reaches_no_log_or_answer() {
    let setup = Setup::new().await;
    setup
        .put_secret("proxy/token", "token=canary-access-token-0123456789")
        .await;
    let proxy = Proxy::start(&setup, "binance", &["--access-token", "proxy/token#token"]).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let bearer = "Bearer canary-access-token-0123456789";
    let order = [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.01"),
        ("price", "20000"),
    ];
    let mut bodies = Vec::new();
    let mut send = async |request: reqwest::RequestBuilder| {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("x-keyward-refusal")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        bodies.push(body.clone());
        (status, kind, body)
    };
    let url = format!("{}/api/v3/order", proxy.url);

    let (status, kind, _) = send(
        http.post(&url)
            .header("Proxy-Authorization", bearer)
            .form(&order),
    )
    .await;
    assert_eq!((status, kind), (200, None));
    let (status, kind, body) = send(http.post(&url).form(&order)).await;
    assert_eq!(
        (status, kind.as_deref()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (status, kind, _) = send(
        http.post(&url)
            .header("Proxy-Authorization", "Bearer wrong-token-wrong-token")
            .form(&order),
    )
    .await;
    assert_eq!((status, kind.as_deref()), (401, Some("unauthorized")));
    let (status, kind, body) = send(
        http.post(&url)
            .header("Proxy-Authorization", bearer)
            .header("X-MBX-APIKEY", "some-key")
            .form(&order),
    )
    .await;
    assert_eq!(
        (status, kind.as_deref()),
        (400, Some("carries_credentials")),
        "{body}"
    );
    let parsed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(parsed["keyward_error"]["kind"], "carries_credentials");
    assert!(
        parsed["keyward_error"]["message"]
            .as_str()
            .unwrap()
            .contains("--resign")
    );
    let (status, kind, _) = send(
        http.post(&url)
            .header("Proxy-Authorization", bearer)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(vec![b'a'; 70 * 1024]),
    )
    .await;
    assert_eq!((status, kind.as_deref()), (413, Some("body_too_large")));
    let (status, kind, _) = send(
        http.post(&url)
            .header("Proxy-Authorization", bearer)
            .header("Content-Type", "text/plain")
            .body("symbol=BTCUSDT"),
    )
    .await;
    assert_eq!((status, kind.as_deref()), (400, Some("bad_request")));
    // The venue's own refusal passes through as the venue gave it: an unknown endpoint.
    let (status, kind, body) = send(
        http.get(format!("{}/api/v3/noSuchEndpoint", proxy.url))
            .header("Proxy-Authorization", bearer),
    )
    .await;
    assert_eq!(kind, None, "{body}");
    assert!(status >= 400, "{status} {body}");

    let stderr = proxy.stop().await;
    let creds = setup.credentials("binance");
    for (what, value) in creds.iter() {
        assert!(
            !stderr.contains(value.as_str()),
            "the {what} is in the proxy's log"
        );
        for body in &bodies {
            assert!(
                !body.contains(value.as_str()),
                "the {what} is in an answer: {body}"
            );
        }
    }
    assert!(
        !stderr.contains("canary-access-token"),
        "the access token is in the log"
    );
    assert!(
        stderr.contains("relayed"),
        "RUST_LOG=trace logged nothing: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_relayed_and_refused_requests_and_carry_no_key() {
    let Some(python) = python("prometheus_client.parser").await else {
        return;
    };
    let setup = Setup::new().await;
    let proxy = Proxy::start(&setup, "binance", &["--metrics", "127.0.0.1:0"]).await;
    let metrics = proxy
        .metrics
        .clone()
        .expect("no \"metrics\" in the first line");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/api/v3/account", proxy.url);
    for _ in 0..3 {
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = http
        .get(&url)
        .header("X-MBX-APIKEY", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let scraped = harness::scrape(&python, &metrics).await;
    let sample = |name: &str, labels: &[(&str, &str)]| python::sample(&scraped, name, labels);
    let relayed = [("venue", "binance"), ("result", "relayed")];
    let refused = [("venue", "binance"), ("result", "carries_credentials")];
    assert_eq!(
        sample("keyward_proxy_requests_total", &relayed),
        Some(3.0),
        "{scraped}"
    );
    assert_eq!(
        sample("keyward_proxy_requests_total", &refused),
        Some(1.0),
        "{scraped}"
    );
    // The client's own counters, under the proxy: the account read and the clock sync.
    let ok = [("venue", "binance"), ("outcome", "ok")];
    assert!(
        sample("keyward_requests_total", &ok).is_some_and(|n| n >= 3.0),
        "{scraped}"
    );
    let text = scraped["text"].as_str().unwrap();
    for (what, value) in setup.credentials("binance").iter() {
        assert!(!text.contains(value.as_str()), "the {what} is in /metrics");
    }
    proxy.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_of_mode_0600_serves_the_bot() {
    use std::os::unix::fs::PermissionsExt as _;
    let setup = Setup::new().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let socket = dir.path().join("binance.sock");
    let proxy = Proxy::start(&setup, "binance", &["--unix", socket.to_str().unwrap()]).await;
    assert_eq!(proxy.url, format!("unix:{}", socket.display()));
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let answer = harness::unix_get(&socket, "/api/v3/account").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"balances\""), "{answer}");
    proxy.stop().await;
    assert!(!socket.exists(), "the socket file is left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_listen_address_and_an_unserved_venue_are_refused() {
    let setup = Setup::new().await;
    let url = setup.testnet.url("binance").unwrap().to_owned();
    let out = setup
        .keyward(&[
            "proxy",
            "--venue",
            "binance",
            "--base-url",
            &url,
            "--name",
            "bot/binance",
            "--listen",
            "0.0.0.0:0",
        ])
        .await;
    common::assert_fails(&out, "not a loopback address");
    let out = setup
        .keyward(&[
            "proxy",
            "--venue",
            "deribit",
            "--base-url",
            &url,
            "--name",
            "bot/binance",
        ])
        .await;
    common::assert_fails(&out, "binance, bybit, okx and kraken");
    let _ = Duration::ZERO;
}
