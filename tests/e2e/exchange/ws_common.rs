//! A loopback WebSocket venue for the WebSocket client's tests: it answers the auth message in
//! each venue's own shapes (accepting exactly the messages that carry the good key), records
//! what it receives, and lets a test drop, close or stall each connection. Also an injected
//! sleep whose long waits (the connection age limit) end only when the test says so.

#![allow(dead_code, clippy::unwrap_used, clippy::result_large_err)] // reason: shared by several test binaries; helpers fail loudly; tungstenite's handshake callback returns its large error type

use keyward::resilience as keyward_resilience;
use keyward::signing as keyward_signing;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use keyward::exchange::ws::{WsConfig, WsEvent, WsSession};
use keyward::secrets::{
    Capabilities, Metadata, Result, Secret, SecretStore, SecretValue, Selector,
};
use keyward_resilience::{Backoff, Jitter, Sleep, SleepFuture};
use keyward_signing::Scheme;
use keyward_signing::secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::{Bytes, Message};

/// Every venue and service scheme the testnet authenticates WebSockets for.
pub const WS_VENUES: [&str; 11] = [
    "binance",
    "bybit",
    "okx",
    "coinbase-exchange",
    "kraken",
    "bitmex",
    "deribit",
    "bitmart",
    "hmac-concat",
    "keyward-v1",
    "hmac-newline-v0",
];

/// `ws://` + the testnet venue's `/ws` (the service schemes' at `/svc/<scheme>/ws`).
pub fn ws_url(t: &keyward_testnet::Testnet, venue: &str) -> String {
    let base = t.url(venue).unwrap();
    format!("{}/ws", base.replacen("http://", "ws://", 1))
}

/// The API key the mock accepts; any other is rejected.
pub const GOOD_KEY: &str = "good-key-0001";

/// What a test can make a connection do.
#[derive(Debug)]
pub enum Act {
    /// Send a text frame.
    Text(String),
    /// Send a ping with this payload.
    Ping(&'static [u8]),
    /// Send a close frame.
    Close,
    /// Drop the TCP connection without a close frame.
    Drop,
    /// Stop reading and writing (a dead peer): pings go unanswered.
    Stall,
}

/// What a connection saw.
#[derive(Debug)]
pub enum Seen {
    /// The auth message (or, for handshake-authenticated schemes, the upgrade's headers).
    Auth(Value),
    /// A later text frame.
    Text(Value),
    /// A ping from the client.
    Ping,
    /// A pong from the client, with its payload.
    Pong(Vec<u8>),
}

/// One accepted connection, as the test sees it.
pub struct Conn {
    pub number: usize,
    pub act: mpsc::UnboundedSender<Act>,
    pub seen: mpsc::UnboundedReceiver<Seen>,
}

impl Conn {
    /// The next thing seen that is not a ping (pings come at the client's interval).
    pub async fn next_non_ping(&mut self) -> Seen {
        loop {
            match self.seen.recv().await.expect("connection ended") {
                Seen::Ping => continue,
                other => return other,
            }
        }
    }
}

/// The loopback venue.
pub struct MockVenue {
    pub url: String,
    pub connections: Arc<AtomicUsize>,
    /// When set, every auth is rejected, whatever the key.
    pub reject_all: Arc<AtomicBool>,
    /// Connections to close at once, before any answer (reconnect attempts that fail).
    pub fail_next: Arc<AtomicUsize>,
    /// When set, the auth message is never answered.
    pub silent: Arc<AtomicBool>,
    /// The API key accepted (default [`GOOD_KEY`]); see [`MockVenue::accept`].
    accepted: Arc<Mutex<String>>,
    /// Answers given, in turn, to the next auth messages instead of the venue's own (each
    /// then closes the connection): a scripted refusal.
    pub refusals: Arc<Mutex<VecDeque<Value>>>,
    conns: mpsc::UnboundedReceiver<Conn>,
}

impl MockVenue {
    /// Serves `venue` on 127.0.0.1 at `/ws`.
    pub async fn start(venue: Scheme) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ws", listener.local_addr().unwrap());
        let (tx, conns) = mpsc::unbounded_channel();
        let mock = Self {
            url,
            connections: Arc::default(),
            reject_all: Arc::default(),
            fail_next: Arc::default(),
            silent: Arc::default(),
            accepted: Arc::new(Mutex::new(GOOD_KEY.to_owned())),
            refusals: Arc::default(),
            conns,
        };
        let state = State {
            venue,
            connections: mock.connections.clone(),
            reject_all: mock.reject_all.clone(),
            fail_next: mock.fail_next.clone(),
            silent: mock.silent.clone(),
            accepted: mock.accepted.clone(),
            refusals: mock.refusals.clone(),
        };
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (state, tx) = (state.clone(), tx.clone());
                tokio::spawn(async move { serve(state, tcp, tx).await });
            }
        });
        mock
    }

    /// Accepts `key` from now on, and no other (a rotation at the venue).
    pub fn accept(&self, key: &str) {
        *self.accepted.lock().unwrap() = key.to_owned();
    }

    /// Answers the next auth message with `answer` (then closes the connection).
    pub fn refuse_next(&self, answer: Value) {
        self.refusals.lock().unwrap().push_back(answer);
    }

    /// The next accepted connection.
    pub async fn conn(&mut self) -> Conn {
        self.conns.recv().await.expect("the mock stopped")
    }
}

#[derive(Clone)]
struct State {
    venue: Scheme,
    connections: Arc<AtomicUsize>,
    reject_all: Arc<AtomicBool>,
    fail_next: Arc<AtomicUsize>,
    silent: Arc<AtomicBool>,
    accepted: Arc<Mutex<String>>,
    refusals: Arc<Mutex<VecDeque<Value>>>,
}

fn by_handshake(venue: Scheme) -> bool {
    matches!(venue, Scheme::KeywardV1 | Scheme::HmacNewlineV0)
}

async fn serve(state: State, tcp: TcpStream, tx: mpsc::UnboundedSender<Conn>) {
    let number = state.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let reject = state.reject_all.load(Ordering::SeqCst);
    let headers = Arc::new(Mutex::new(Value::Null));
    let handshake_ok = Arc::new(AtomicBool::new(true));
    let (h, ok, venue) = (headers.clone(), handshake_ok.clone(), state.venue);
    let accepted = state.accepted.lock().unwrap().clone();
    let key = accepted.clone();
    let callback = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let map: serde_json::Map<String, Value> = req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(v.to_str().unwrap_or(""))))
            .collect();
        // hmac-newline-v0 sends no key id: only `reject_all` rejects it.
        let good = venue == Scheme::HmacNewlineV0
            || map
                .values()
                .any(|v| v.as_str().is_some_and(|s| s.contains(&key)));
        *h.lock().unwrap() = Value::Object(map);
        if by_handshake(venue) && (reject || !good) {
            ok.store(false, Ordering::SeqCst);
            let mut err = ErrorResponse::new(Some(r#"{"error":"bad_signature"}"#.into()));
            *err.status_mut() = StatusCode::UNAUTHORIZED;
            return Err(err);
        }
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    if state
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return; // dropped before any answer
    }
    let (act_tx, mut act) = mpsc::unbounded_channel();
    let (seen_tx, seen) = mpsc::unbounded_channel();
    if by_handshake(state.venue) {
        let _ = seen_tx.send(Seen::Auth(headers.lock().unwrap().clone()));
    } else {
        if state.venue == Scheme::Bitmex {
            let banner = json!({"info": "Welcome to the BitMEX Realtime API."}).to_string();
            let _ = ws.send(Message::text(banner)).await;
        }
        let auth = loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => break serde_json::from_str::<Value>(&t).unwrap(),
                Some(Ok(_)) => continue,
                _ => return,
            }
        };
        let _ = seen_tx.send(Seen::Auth(auth.clone()));
        let scripted = state.refusals.lock().unwrap().pop_front();
        if let Some(mut answer) = scripted {
            if let (Some(obj), Some(id)) = (answer.as_object_mut(), auth.get("id")) {
                obj.insert("id".into(), id.clone());
            }
            let _ = ws.send(Message::text(answer.to_string())).await;
            let _ = ws.close(None).await;
            return;
        }
        if !state.silent.load(Ordering::SeqCst) {
            let good = !reject && auth.to_string().contains(&accepted);
            let _ = ws
                .send(Message::text(ack(state.venue, &auth, good).to_string()))
                .await;
            if !good {
                let _ = ws.close(None).await;
                return;
            }
        }
    }
    let _ = tx.send(Conn {
        number,
        act: act_tx,
        seen,
    });
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) => {
                    let _ = seen_tx.send(Seen::Text(serde_json::from_str(&t).unwrap_or(Value::Null)));
                }
                Some(Ok(Message::Ping(_))) => {
                    let _ = seen_tx.send(Seen::Ping);
                }
                Some(Ok(Message::Pong(p))) => {
                    let _ = seen_tx.send(Seen::Pong(p.to_vec()));
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            a = act.recv() => match a {
                Some(Act::Text(t)) => { let _ = ws.send(Message::text(t)).await; }
                Some(Act::Ping(p)) => { let _ = ws.send(Message::Ping(Bytes::from_static(p))).await; }
                Some(Act::Close) => { let _ = ws.close(None).await; }
                Some(Act::Drop) | None => return,
                Some(Act::Stall) => {
                    // Hold the socket open without reading: nothing is answered any more.
                    let _keep = ws;
                    std::future::pending::<()>().await;
                    return;
                }
            },
        }
    }
}

/// The venue's answer to `auth`, accepting or rejecting, in its own shape.
fn ack(venue: Scheme, auth: &Value, ok: bool) -> Value {
    match (venue, ok) {
        (Scheme::Binance, true) => {
            json!({"id": auth["id"], "status": 200, "result": {"apiKey": GOOD_KEY}})
        }
        (Scheme::Binance, false) => {
            json!({"id": auth["id"], "status": 401, "error": {"code": -1022, "msg": "Signature for this request is not valid."}})
        }
        (Scheme::Bybit, true) => {
            json!({"op": "auth", "success": true, "ret_msg": "", "conn_id": "c1"})
        }
        (Scheme::Bybit, false) => {
            json!({"op": "auth", "success": false, "ret_msg": "Invalid apikey"})
        }
        (Scheme::HmacConcat, true) => json!({"op": "auth", "success": true}),
        (Scheme::HmacConcat, false) => {
            json!({"op": "auth", "success": false, "error": "bad_signature"})
        }
        (Scheme::Okx, true) => json!({"event": "login", "code": "0", "msg": "", "connId": "c1"}),
        (Scheme::Okx, false) => json!({"event": "error", "code": "60009", "msg": "Login failed."}),
        (Scheme::CoinbaseExchange, true) => {
            json!({"type": "subscriptions", "channels": auth["channels"]})
        }
        (Scheme::CoinbaseExchange, false) => {
            json!({"type": "error", "message": "Authentication Failed", "reason": "invalid signature"})
        }
        (Scheme::Kraken, true) => {
            json!({"event": "subscriptionStatus", "status": "subscribed", "reqid": auth["reqid"], "channelName": "ownTrades"})
        }
        (Scheme::Kraken, false) => {
            json!({"event": "subscriptionStatus", "status": "error", "reqid": auth["reqid"], "errorMessage": "ESession:Invalid session"})
        }
        (Scheme::Bitmex, true) => json!({"success": true, "request": {"op": "authKeyExpires"}}),
        (Scheme::Bitmex, false) => {
            json!({"status": 401, "error": "Signature not valid.", "meta": {}})
        }
        (Scheme::Deribit, true) => {
            json!({"jsonrpc": "2.0", "id": auth["id"], "result": {"access_token": "at", "expires_in": 900}})
        }
        (Scheme::Deribit, false) => {
            json!({"jsonrpc": "2.0", "id": auth["id"], "error": {"code": 13004, "message": "invalid_credentials"}})
        }
        (Scheme::Bitmart, true) => json!({"event": "login"}),
        (Scheme::Bitmart, false) => {
            json!({"event": "login", "errorCode": 30004, "errorMessage": "invalid sign"})
        }
        _ => json!({"unexpected": true}),
    }
}

/// A sleep that returns at once for short waits (backoff delays, recorded) and, for a wait of
/// exactly `gated` (the connection age limit), only when the test calls [`GatedSleep::open`].
#[derive(Debug, Clone)]
pub struct GatedSleep {
    gated: Duration,
    real: bool,
    gate: Arc<Notify>,
    slept: Arc<Mutex<Vec<Duration>>>,
}

impl GatedSleep {
    pub fn new(gated: Duration) -> Self {
        Self {
            gated,
            real: false,
            gate: Arc::default(),
            slept: Arc::default(),
        }
    }

    /// As [`GatedSleep::new`], but short waits take their real time (against a real server,
    /// where the client's wait for the next second must pass).
    pub fn real(gated: Duration) -> Self {
        Self {
            real: true,
            ..Self::new(gated)
        }
    }

    /// Ends the pending gated wait (or the next one).
    pub fn open(&self) {
        self.gate.notify_one();
    }

    /// The short waits so far (backoff delays), in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().unwrap().clone()
    }
}

impl Sleep for GatedSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        if duration == self.gated {
            let gate = self.gate.clone();
            return Box::pin(async move { gate.notified().await });
        }
        self.slept.lock().unwrap().push(duration);
        if self.real {
            return Box::pin(tokio::time::sleep(duration));
        }
        Box::pin(std::future::ready(()))
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions and stores shared by the WebSocket suites

/// The next event of `session` that is not a message.
pub async fn next_state(session: &mut WsSession) -> WsEvent {
    loop {
        match session.next_event().await.unwrap() {
            WsEvent::Message(_) => continue,
            other => return other,
        }
    }
}

/// Session timing for tests: no pings, an age limit of `age`, a backoff of 1 ms (recorded by
/// `sleep`), no jitter, at most 3 reconnects.
pub fn timing(cfg: WsConfig, sleep: &GatedSleep, age: Duration) -> WsConfig {
    cfg.with_sleep(Arc::new(sleep.clone()))
        .with_max_age(Some(age))
        .with_ping_interval(age)
        .with_backoff(
            Backoff::Constant(Duration::from_millis(1)),
            Duration::from_millis(1),
        )
        .with_jitter(Jitter::None, Some(3))
}

/// A store of one secret: `get` hands out the queued values in turn (the last one stays), `put`
/// replaces them; every `get` is counted.
#[derive(Debug, Default)]
pub struct Queue {
    name: String,
    values: Mutex<VecDeque<(String, String)>>,
    reads: AtomicUsize,
}

impl Queue {
    /// A store of the secret `name` holding `values` (API key, secret) in turn.
    pub fn of(name: &str, values: &[(&str, &str)]) -> Arc<Self> {
        let q = Self {
            name: name.to_owned(),
            ..Self::default()
        };
        *q.values.lock().unwrap() = values
            .iter()
            .map(|(k, s)| ((*k).to_owned(), (*s).to_owned()))
            .collect();
        Arc::new(q)
    }

    /// How many times the secret was read.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

fn meta(name: &str) -> Metadata {
    Metadata {
        name: name.to_owned(),
        version: "1".into(),
        created: None,
        stages: vec![],
        rotation_due: None,
    }
}

#[async_trait::async_trait]
impl SecretStore for Queue {
    fn kind(&self) -> &'static str {
        "test"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            writable: true,
            versioned: false,
            stages: false,
        }
    }
    async fn get(&self, name: &str, _which: &Selector) -> Result<Secret> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let mut values = self.values.lock().unwrap();
        let (k, s) = if values.len() > 1 {
            values.pop_front().unwrap()
        } else {
            values.front().cloned().unwrap()
        };
        Ok(Secret {
            value: SecretValue::fields([("api_key", k.as_str()), ("secret", s.as_str())]),
            meta: meta(name),
        })
    }
    async fn put(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        let field = |f: &str| value.field(f).unwrap().expose_secret().to_owned();
        *self.values.lock().unwrap() = VecDeque::from([(field("api_key"), field("secret"))]);
        Ok(meta(name))
    }
    async fn delete(&self, _name: &str) -> Result<()> {
        Ok(())
    }
    async fn list(&self) -> Result<Vec<String>> {
        Ok(vec![self.name.clone()])
    }
    async fn versions(&self, name: &str) -> Result<Vec<Metadata>> {
        Ok(vec![meta(name)])
    }
}
