//! Helpers shared by the testnet's integration tests: signed requests sent with reqwest.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::time::{SystemTime, UNIX_EPOCH};

use keyward_signing::{Credentials, Request, Scheme, SignOptions, Signer};
use keyward_testnet::{Testnet, TestnetConfig};
use serde_json::Value;

/// The venues with signed REST endpoints.
pub const REST_VENUES: [&str; 8] = keyward_testnet::REST_VENUES;

/// A response: status, headers, JSON body (null when not JSON) and the body's text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

pub async fn start() -> Testnet {
    Testnet::start(TestnetConfig::default()).await.unwrap()
}

pub fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A signer with the testnet's credentials for `name`.
pub fn signer(t: &Testnet, name: &str) -> Signer {
    let creds = t.credentials(name).unwrap().to_signing();
    Signer::new(name.parse().unwrap(), &creds).unwrap()
}

/// A signer with the right key (and passphrase) but another secret of the right form.
pub fn wrong_signer(t: &Testnet, name: &str) -> Signer {
    let right = t.credentials(name).unwrap();
    let secret = match name {
        "kraken" | "coinbase-exchange" => "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==".to_owned(),
        _ => "wrong-secret".to_owned(),
    };
    let mut creds = Credentials::new(right.key_id(), secret.into());
    if let Some(p) = &right.passphrase {
        creds = creds.with_passphrase(p.clone());
    }
    let scheme: Scheme = name.parse().unwrap();
    Signer::new(scheme, &creds).unwrap()
}

/// Sends `req` as it is to `base` (a base URL; the request's path is appended).
pub async fn send_to(base: &str, req: &Request) -> Answer {
    let origin = origin(base);
    let url = format!("{origin}{}", req.url());
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap();
    let mut builder = reqwest::Client::new()
        .request(method, url)
        .body(req.body.clone());
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// `http://127.0.0.1:PORT` of a base URL that may carry a path.
pub fn origin(base: &str) -> String {
    let rest = base.trim_start_matches("http://");
    let host = rest.split('/').next().unwrap();
    format!("http://{host}")
}

/// Sends `req` to `name`'s listener.
pub async fn send(t: &Testnet, name: &str, req: &Request) -> Answer {
    send_to(t.url(name).unwrap(), req).await
}

/// Signs with `signer` and `options`, then sends.
pub async fn sign_send(
    t: &Testnet,
    name: &str,
    signer: &Signer,
    req: Request,
    options: &SignOptions,
) -> Answer {
    let signed = signer.sign(req, options).unwrap();
    send(t, name, &signed).await
}

/// The unsigned balance, place and cancel requests of a venue.
pub fn requests(venue: &str) -> Vec<Request> {
    let json = |r: Request, body: &str| {
        r.with_header("Content-Type", "application/json")
            .with_body(body.to_owned())
    };
    match venue {
        "binance" => vec![
            Request::get("/api/v3/account"),
            Request::post("/api/v3/order")
                .with_body("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1"),
            Request::new("DELETE", "/api/v3/order").with_query("symbol=BTCUSDT&orderId=1"),
        ],
        "bybit" => vec![
            Request::get("/v5/account/wallet-balance").with_query("accountType=UNIFIED"),
            json(
                Request::post("/v5/order/create"),
                r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"1"}"#,
            ),
            json(
                Request::post("/v5/order/cancel"),
                r#"{"category":"spot","symbol":"BTCUSDT","orderId":"1"}"#,
            ),
        ],
        "okx" => vec![
            Request::get("/api/v5/account/balance").with_query("ccy=USDT"),
            json(
                Request::post("/api/v5/trade/order"),
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"1"}"#,
            ),
            json(
                Request::post("/api/v5/trade/cancel-order"),
                r#"{"instId":"BTC-USDT","ordId":"1"}"#,
            ),
        ],
        "coinbase-exchange" => vec![
            Request::get("/accounts"),
            json(
                Request::post("/orders"),
                r#"{"product_id":"BTC-USD","side":"buy","type":"market","size":"1"}"#,
            ),
            Request::new("DELETE", "/orders/order-1"),
        ],
        "coinbase-advanced" => vec![
            Request::get("/api/v3/brokerage/accounts"),
            json(
                Request::post("/api/v3/brokerage/orders"),
                r#"{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY"}"#,
            ),
            json(
                Request::post("/api/v3/brokerage/orders/batch_cancel"),
                r#"{"order_ids":["order-1"]}"#,
            ),
        ],
        "kraken" => vec![
            Request::post("/0/private/Balance"),
            Request::post("/0/private/AddOrder")
                .with_body("ordertype=market&type=buy&volume=1&pair=XBTUSD"),
            Request::post("/0/private/CancelOrder").with_body("txid=OTESTN"),
        ],
        "bitmex" => vec![
            Request::get("/api/v1/user/wallet").with_query("currency=XBt"),
            json(
                Request::post("/api/v1/order"),
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Market"}"#,
            ),
            json(
                Request::new("DELETE", "/api/v1/order"),
                r#"{"orderID":"x"}"#,
            ),
        ],
        "deribit" => vec![
            Request::get("/api/v2/private/get_account_summary").with_query("currency=BTC"),
            Request::get("/api/v2/private/buy")
                .with_query("instrument_name=BTC-PERPETUAL&amount=10&type=market"),
            Request::get("/api/v2/private/cancel").with_query("order_id=1"),
        ],
        other => panic!("no requests for {other}"),
    }
}

/// Whether an answer is the venue's success shape.
pub fn is_success(venue: &str, a: &Answer) -> bool {
    a.status == 200
        && match venue {
            "bybit" => a.body["retCode"] == 0,
            "okx" => a.body["code"] == "0",
            "kraken" => a.body["error"].as_array().is_some_and(Vec::is_empty),
            "deribit" => a.body.get("result").is_some(),
            _ => a.body.get("code").is_none() && a.body.get("message").is_none(),
        }
}

/// The WebSocket URL of a base URL.
pub fn ws_url(base: &str, path: &str) -> String {
    format!("{}{path}", base.replacen("http://", "ws://", 1))
}

/// A WebSocket connection to the testnet.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to the WebSocket at `url`.
pub async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// Sends `msg` and reads the next text reply as JSON.
pub async fn ask(ws: &mut Ws, msg: &serde_json::Value) -> serde_json::Value {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}
