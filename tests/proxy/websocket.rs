//! The WebSocket pass-through of `keyward proxy --ws-base-url`, against the testnet's private
//! streams, which answer a private subscribe only on a connection that authenticated with a key
//! they know (Bybit "Request not authorized", OKX 60011 "Please log in"), and push each order
//! accepted over REST to the connections subscribed to the order channel.
//!
//! - A bot that holds no key (Python `websockets`) subscribes through the proxy and gets the
//!   push of an order it placed through the same proxy; the same bot straight at the venue's
//!   stream is refused (the control). The key is in neither its memory nor its environment.
//! - pybit and python-okx, the venues' own SDKs, log in with placeholder keys through
//!   `--resign` (the proxy answers their auth message) and get their pushes.
//! - Refusals: a venue whose private streams need no auth message (Binance: a listenKey over
//!   REST), a web page's upgrade (`Origin`), a proxy without `--ws-base-url`, a key the venue
//!   refuses, a missing access token;
//!   then, on an open stream, the bot's own auth in plain mode (1008), a binary message (1003),
//!   and the venue dropping the connection (1012). No log line carries the key.

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::harness::{self, Bot, Proxy, Setup, python};

/// The venues whose private streams the proxy passes through.
const STREAM_VENUES: [&str; 2] = ["bybit", "okx"];

/// The venue's WebSocket origin on the testnet (its stream is at `/ws` below it).
fn ws_base(setup: &Setup, venue: &str) -> String {
    setup
        .testnet
        .url(venue)
        .unwrap()
        .replacen("http://", "ws://", 1)
}

/// The venue's own private stream path (the testnet serves it too).
fn private_path(venue: &str) -> &'static str {
    match venue {
        "bybit" => "/v5/private",
        "okx" => "/ws/v5/private",
        _ => "/ws",
    }
}

/// The venue's private stream's URL at the proxy, at the venue's own path.
fn stream_at(proxy: &Proxy, venue: &str) -> String {
    format!(
        "{}{}",
        proxy.url.replacen("http://", "ws://", 1),
        private_path(venue)
    )
}

/// Whether the venue accepted a subscribe to its order channel.
fn subscribed(venue: &str, answer: &Value) -> bool {
    match venue {
        "bybit" => answer["op"] == "subscribe" && answer["success"] == true,
        _ => answer["event"] == "subscribe" && answer["arg"]["channel"] == "orders",
    }
}

/// The client order id in the venue's order push.
fn pushed_id(venue: &str, push: &Value) -> Value {
    match venue {
        "bybit" => push["data"][0]["orderLinkId"].clone(),
        _ => push["data"][0]["clOrdId"].clone(),
    }
}

fn step<'a>(lines: &'a [Value], key: &str) -> &'a Value {
    lines
        .iter()
        .find_map(|l| l.get(key))
        .unwrap_or_else(|| panic!("no {key:?} step in {lines:?}"))
}

fn assert_no_key(setup: &Setup, venue: &str, log: &str) {
    for (what, value) in setup.credentials(venue).iter() {
        assert!(
            !log.contains(value.as_str()),
            "{venue}: the proxy logged the {what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_that_holds_no_key_gets_its_private_stream_through_the_proxy() {
    let Some(python) = python("websockets.sync.client").await else {
        return;
    };
    let setup = Setup::new().await;
    for venue in STREAM_VENUES {
        let base = ws_base(&setup, venue);
        // The control: straight at the venue, unauthenticated, the subscribe is refused.
        let mut control = Bot::start(
            &python,
            "ws_plain.py",
            &json!({"ws": format!("{base}{}", private_path(venue)), "venue": venue}),
        )
        .await;
        let lines = control.lines_until_done().await;
        assert!(
            !subscribed(venue, step(&lines, "subscribe")),
            "{venue}: {lines:?}"
        );
        control.finish().await;

        let proxy = Proxy::start(&setup, venue, &["--ws-base-url", &base]).await;
        let marker = format!("ws-marker-{venue}-{}", std::process::id());
        let mut bot = Bot::start(
            &python,
            "ws_plain.py",
            &json!({"ws": stream_at(&proxy, venue), "rest": proxy.url, "venue": venue, "marker": marker}),
        )
        .await;
        let lines = bot.lines_until_done().await;
        assert!(
            subscribed(venue, step(&lines, "subscribe")),
            "{venue}: {lines:?}"
        );
        assert_eq!(step(&lines, "place")[0], 200, "{venue}: {lines:?}");
        let expected = match venue {
            "bybit" => "ws-pass-through-1",
            _ => "wsPassThrough1",
        };
        assert_eq!(
            pushed_id(venue, step(&lines, "push")),
            expected,
            "{lines:?}"
        );
        harness::assert_holds_no_key(&bot, &setup.credentials(venue), &marker, venue);
        bot.finish().await;
        let log = proxy.stop().await;
        assert_no_key(&setup, venue, &log);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pybit_and_python_okx_with_placeholder_keys_get_their_streams_through_resign() {
    for (venue, module) in [("bybit", "pybit"), ("okx", "okx.websocket.WsPrivateAsync")] {
        let Some(python) = python(module).await else {
            return;
        };
        let setup = Setup::new().await;
        let base = ws_base(&setup, venue);
        let proxy = Proxy::start(&setup, venue, &["--resign", "--ws-base-url", &base]).await;
        let mut bot = Bot::start(
            &python,
            "ws_sdks.py",
            &json!({"ws": stream_at(&proxy, venue), "rest": proxy.url, "venue": venue}),
        )
        .await;
        let lines = bot.lines_until_done().await;
        let auth = step(&lines, "auth");
        match venue {
            "bybit" => assert_eq!(auth["success"], true, "{lines:?}"),
            _ => assert_eq!(auth["code"], "0", "{lines:?}"),
        }
        assert!(
            subscribed(venue, step(&lines, "subscribe")),
            "{venue}: {lines:?}"
        );
        let expected = match venue {
            "bybit" => "pybit-ws-1",
            _ => "pythonOkxWs1",
        };
        assert_eq!(
            pushed_id(venue, step(&lines, "push")),
            expected,
            "{lines:?}"
        );
        bot.finish().await;
        let log = proxy.stop().await;
        assert_no_key(&setup, venue, &log);
    }
}

/// The proxy's refusal of an upgrade: its status and `keyward_error.kind`, and the message.
async fn refused(url: &str, token: Option<&str>) -> (u16, String, String) {
    refused_with(url, token, None).await
}

/// As [`refused`], the upgrade sent with `origin` (a web page's).
async fn refused_with(
    url: &str,
    token: Option<&str>,
    origin: Option<&str>,
) -> (u16, String, String) {
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = token {
        request.headers_mut().insert(
            "proxy-authorization",
            format!("Bearer {token}").parse().unwrap(),
        );
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => {
            let body: Value =
                serde_json::from_slice(response.body().as_deref().unwrap_or_default())
                    .unwrap_or(Value::Null);
            (
                response.status().as_u16(),
                body["keyward_error"]["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                body["keyward_error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
        Err(e) => panic!("{url}: {e}"),
        Ok(_) => panic!("{url}: the upgrade was accepted"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_the_proxy_cannot_serve_are_refused_with_documented_json() {
    let setup = Setup::new().await;

    let binance = Proxy::start(
        &setup,
        "binance",
        &["--ws-base-url", &ws_base(&setup, "binance")],
    )
    .await;
    let (status, kind, message) = refused(&stream_at(&binance, "binance"), None).await;
    assert_eq!((status, kind.as_str()), (501, "ws_not_served"));
    assert!(message.contains("listenKey"), "{message}");
    binance.stop().await;

    // A web page opening the stream in the user's browser (no CORS for WebSockets).
    let open = Proxy::start(
        &setup,
        "bybit",
        &["--ws-base-url", &ws_base(&setup, "bybit")],
    )
    .await;
    let (status, kind, _) = refused_with(
        &stream_at(&open, "bybit"),
        None,
        Some("https://evil.example"),
    )
    .await;
    assert_eq!((status, kind.as_str()), (403, "cross_origin"));
    open.stop().await;

    let unset = Proxy::start(&setup, "bybit", &[]).await;
    let (status, kind, message) = refused(&stream_at(&unset, "bybit"), None).await;
    assert_eq!((status, kind.as_str()), (501, "ws_not_served"));
    assert!(message.contains("--ws-base-url"), "{message}");
    unset.stop().await;

    // A key the venue does not know: the venue's refusal of the auth message, as 502.
    setup
        .put_secret(
            "bot/bybit-unknown",
            "api_key=canary-unknown-api-key-1e9d\nsecret=canary-unknown-secret-for-the-ws-tests\n",
        )
        .await;
    let base = ws_base(&setup, "bybit");
    let unknown = Proxy::start_as(
        &setup,
        "bybit",
        "bot/bybit-unknown",
        &["--ws-base-url", &base],
    )
    .await;
    let (status, kind, _) = refused(&stream_at(&unknown, "bybit"), None).await;
    assert_eq!((status, kind.as_str()), (502, "ws_auth_rejected"));
    let log = unknown.stop().await;
    assert!(
        !log.contains("canary-unknown-secret"),
        "the proxy logged the secret"
    );

    setup
        .put_secret("proxy/token", "token=canary-proxy-access-token-5b2c\n")
        .await;
    let guarded = Proxy::start(
        &setup,
        "bybit",
        &[
            "--ws-base-url",
            &base,
            "--access-token",
            "proxy/token#token",
        ],
    )
    .await;
    let (status, kind, _) = refused(&stream_at(&guarded, "bybit"), None).await;
    assert_eq!((status, kind.as_str()), (401, "unauthorized"));
    let (status, kind, _) = refused(
        &stream_at(&guarded, "bybit"),
        Some("canary-wrong-token-00000"),
    )
    .await;
    assert_eq!((status, kind.as_str()), (401, "unauthorized"));
    let mut request = stream_at(&guarded, "bybit").into_client_request().unwrap();
    request.headers_mut().insert(
        "proxy-authorization",
        "Bearer canary-proxy-access-token-5b2c".parse().unwrap(),
    );
    let (mut stream, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    stream
        .send(Message::text(r#"{"op":"ping","req_id":"p"}"#))
        .await
        .unwrap();
    let pong = next_text(&mut stream).await;
    assert_eq!(pong["ret_msg"], "pong", "{pong}");
    let log = guarded.stop().await;
    assert_no_key(&setup, "bybit", &log);
    assert!(
        !log.contains("canary-proxy-access-token"),
        "the proxy logged the access token"
    );
}

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text message, as JSON.
async fn next_text(stream: &mut Stream) -> Value {
    loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// The close frame's code and reason the proxy ends the stream with.
async fn closed_with(stream: &mut Stream) -> (u16, String) {
    loop {
        match stream.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_stream_is_closed_with_a_code_for_what_it_cannot_pass() {
    let setup = Setup::new().await;
    let base = ws_base(&setup, "bybit");
    let proxy = Proxy::start(&setup, "bybit", &["--ws-base-url", &base]).await;
    let url = stream_at(&proxy, "bybit");

    // The bot's own auth message, in plain mode.
    let (mut stream, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    stream
        .send(Message::text(
            r#"{"op":"auth","args":["canary-placeholder",1,"signature"]}"#,
        ))
        .await
        .unwrap();
    let (code, reason) = closed_with(&mut stream).await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.starts_with("carries_credentials"), "{reason}");

    // A binary message.
    let (mut stream, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    stream.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(closed_with(&mut stream).await.0, 1003);

    // The venue drops the connection: the proxy closes the bot's rather than reconnect
    // behind its back. A ping answered first proves the session is up before the drop.
    let (mut stream, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    stream
        .send(Message::text(r#"{"op":"ping","req_id":"p"}"#))
        .await
        .unwrap();
    assert_eq!(next_text(&mut stream).await["ret_msg"], "pong");
    setup.testnet.faults().drop_websockets(Some("bybit"));
    assert_eq!(closed_with(&mut stream).await.0, 1012);

    let log = proxy.stop().await;
    assert_no_key(&setup, "bybit", &log);

    // One stream at most: the second upgrade is refused while the first is open.
    let single = Proxy::start(
        &setup,
        "bybit",
        &["--ws-base-url", &base, "--max-ws-sessions", "1"],
    )
    .await;
    let url = stream_at(&single, "bybit");
    let (mut first, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let (status, kind, _) = refused(&url, None).await;
    assert_eq!((status, kind.as_str()), (503, "busy"));
    first
        .send(Message::text(r#"{"op":"ping","req_id":"p"}"#))
        .await
        .unwrap();
    assert_eq!(next_text(&mut first).await["ret_msg"], "pong");
    single.stop().await;
}
