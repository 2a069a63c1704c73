//! The venues: each module states one venue's endpoints, answers and error shapes; this module
//! holds what they share (the per-venue context and the REST handler).

mod binance;
mod bitmart;
mod bitmex;
mod bybit;
mod coinbase;
mod deribit;
mod kraken;
mod okx;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use keyward_signing::verify::{Verifier, VerifyError};
use keyward_signing::{Clock, Request, Scheme};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tokio::sync::broadcast;

use crate::clock::VenueClock;
use crate::credentials::{hex, random_bytes};
use crate::ratelimit::Usage;
use crate::reply;
use crate::ws::WsConn;

/// What an endpoint does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// Server time (public).
    Time,
    /// Account balance.
    Balance,
    /// Place an order.
    Place,
    /// Cancel an order.
    Cancel,
    /// Kraken's `GetWebSocketsToken`.
    WsToken,
}

impl Endpoint {
    /// Whether it counts as an order.
    pub(crate) fn is_order(self) -> bool {
        matches!(self, Endpoint::Place | Endpoint::Cancel)
    }
}

/// What an accepted request is answered with: a generated id, the time, and the request's own
/// parameters to echo.
#[derive(Debug)]
pub(crate) struct Echo {
    pub(crate) id: String,
    pub(crate) path: String,
    pub(crate) now_ms: u64,
    pub(crate) fields: Map<String, Value>,
}

impl Echo {
    /// A parameter of the request, or null.
    pub(crate) fn field(&self, name: &str) -> Value {
        self.fields.get(name).cloned().unwrap_or(Value::Null)
    }
}

/// One venue's rules: endpoints, answers and error shapes.
pub(crate) trait Rules: Send + Sync + 'static {
    /// The venue's name.
    fn name(&self) -> &'static str;
    /// The signing scheme.
    fn scheme(&self) -> Scheme;
    /// The endpoint at `method` `path`, if the venue serves one.
    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint>;
    /// The time endpoint's answer.
    fn time(&self, now_ms: u64) -> Response;
    /// The answer to an accepted request.
    fn success(&self, endpoint: Endpoint, echo: &Echo) -> Response;
    /// The answer to a rejected request, in the venue's own shape.
    fn reject(&self, err: &VerifyError, now_ms: u64) -> Response;
    /// The answer to a rejected REST request, where the venue's answer depends on how the
    /// request authenticated (Coinbase Advanced's CDP JWTs): [`Rules::reject`] unless the venue
    /// says otherwise.
    fn reject_request(&self, err: &VerifyError, _req: &Request, now_ms: u64) -> Response {
        self.reject(err, now_ms)
    }
    /// What a request to `endpoint` (None: a path the venue does not serve) counts against
    /// the quota when request weights are on: 1 unless the venue documents otherwise.
    fn weight(&self, _endpoint: Option<Endpoint>) -> u32 {
        1
    }
    /// The body of a 429 (the caller adds `Retry-After`).
    fn too_many(&self) -> Response;
    /// Adds the venue's usage headers.
    fn usage_headers(&self, _usage: &Usage, _order: bool, _response: &mut Response) {}
    /// The answer to a WebSocket text message (auth, ping), if any.
    fn ws_message(&self, ctx: &VenueCtx, conn: &WsConn, message: &Value) -> Option<Value>;
    /// The venue's own private stream paths, served beside `/ws` (clients that check the path,
    /// as pybit does, connect there).
    fn ws_paths(&self) -> &'static [&'static str] {
        &[]
    }
    /// What a connection subscribed to the venue's private order channel is pushed when an
    /// order is accepted (Bybit `order`, OKX `orders`); None for a venue without one here.
    fn ws_order_push(&self, _echo: &Echo) -> Option<Value> {
        None
    }
    /// An unknown path.
    fn not_found(&self) -> Response {
        reply::json(404, json!({"error": "not found"}))
    }
    /// The form of the secrets the venue issues (what generated credentials look like).
    fn secret_form(&self) -> SecretForm {
        SecretForm::Hex
    }
    /// Whether the venue's keys come with a passphrase (or memo).
    fn needs_passphrase(&self) -> bool {
        false
    }
}

/// The text form of a venue's secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretForm {
    /// 32 random bytes in lowercase hex.
    Hex,
    /// 64 random bytes in standard base64.
    Base64,
}

/// Every venue's rules, in the order of [`crate::VENUES`].
pub(crate) const ALL: [&'static dyn Rules; 9] = [
    &binance::Binance,
    &bybit::Bybit,
    &okx::Okx,
    &coinbase::CoinbaseExchange,
    &coinbase::CoinbaseAdvanced,
    &kraken::Kraken,
    &bitmex::Bitmex,
    &deribit::Deribit,
    &bitmart::Bitmart,
];

/// The rules of every venue, by name.
pub(crate) fn rules(name: &str) -> Option<&'static dyn Rules> {
    ALL.into_iter().find(|r| r.name() == name)
}

/// Order pushes a slow WebSocket reader may fall behind by before it misses some.
const PUSH_BUFFER: usize = 256;

/// One venue's state: its rules, verifier, clock, issued WebSocket tokens and order ids.
pub(crate) struct VenueCtx {
    pub(crate) rules: &'static dyn Rules,
    pub(crate) verifier: Verifier,
    pub(crate) clock: VenueClock,
    pub(crate) tokens: Mutex<HashSet<String>>,
    next_id: AtomicU64,
    /// The order pushes of the venue's private WebSocket channel ([`Rules::ws_order_push`]).
    pub(crate) pushes: broadcast::Sender<Value>,
}

impl VenueCtx {
    pub(crate) fn new(rules: &'static dyn Rules, verifier: Verifier, clock: VenueClock) -> Self {
        Self {
            rules,
            verifier,
            clock,
            tokens: Mutex::new(HashSet::new()),
            next_id: AtomicU64::new(1),
            pushes: broadcast::channel(PUSH_BUFFER).0,
        }
    }

    /// A fresh order id.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Issues a WebSocket token (Kraken).
    pub(crate) fn issue_token(&self) -> Option<String> {
        let token = hex(&random_bytes(24).ok()?);
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone());
        Some(token)
    }

    /// Whether `token` was issued.
    pub(crate) fn token_valid(&self, token: &str) -> bool {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(token)
    }
}

/// The request as received, in the form the verifier takes: every header, `Host` included
/// (a Coinbase Advanced CDP JWT names the host it was signed for in its `uri` claim, and the
/// verifier matches it against the request's `Host`).
pub(crate) fn to_request(method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Request {
    let mut req = Request::new(method.as_str(), uri.path())
        .with_query(uri.query().unwrap_or(""))
        .with_body(body.to_vec());
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            req.headers
                .push((name.as_str().to_owned(), value.to_owned()));
        }
    }
    req
}

/// The request's parameters: the query, then a form or JSON body.
fn fields(req: &Request) -> Map<String, Value> {
    let mut out = Map::new();
    let body = std::str::from_utf8(&req.body).unwrap_or("");
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) {
        out.extend(map);
    } else {
        add_form(&mut out, body);
    }
    add_form(&mut out, &req.query);
    out.remove("signature");
    out
}

fn add_form(out: &mut Map<String, Value>, text: &str) {
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.entry(k.to_owned()).or_insert_with(|| Value::from(v));
    }
}

/// Every venue's REST handler: finds the endpoint, verifies, answers in the venue's shape.
pub(crate) async fn rest(
    State(ctx): State<Arc<VenueCtx>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rules = ctx.rules;
    let now = ctx.clock.now_ms();
    let Some(endpoint) = rules.endpoint(method.as_str(), uri.path()) else {
        return rules.not_found();
    };
    if endpoint == Endpoint::Time {
        return rules.time(now);
    }
    let req = to_request(&method, &uri, &headers, &body);
    if let Err(err) = ctx.verifier.verify(&req) {
        return rules.reject_request(&err, &req, now);
    }
    let id = if endpoint == Endpoint::WsToken {
        match ctx.issue_token() {
            Some(token) => token,
            None => return reply::json(500, json!({"error": ["EGeneral:Internal error"]})),
        }
    } else {
        ctx.next_id().to_string()
    };
    let echo = Echo {
        id,
        path: req.path.clone(),
        now_ms: now,
        fields: fields(&req),
    };
    if endpoint == Endpoint::Place {
        if let Some(push) = rules.ws_order_push(&echo) {
            // No subscriber is not an error.
            let _ = ctx.pushes.send(push);
        }
    }
    rules.success(endpoint, &echo)
}

/// The last path segment (Coinbase Exchange's `DELETE /orders/{id}`).
pub(crate) fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

#[cfg(test)]
mod registry_tests {
    use super::ALL;

    /// The public lists are the registry's: a venue added to one and not the other fails here.
    #[test]
    fn the_public_venue_lists_are_the_registry() {
        let names: Vec<&str> = ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names, crate::VENUES);
        let rest: Vec<&str> = ALL
            .iter()
            .filter(|r| r.scheme().has_rest())
            .map(|r| r.name())
            .collect();
        assert_eq!(rest, crate::REST_VENUES);
        for rules in ALL {
            assert_eq!(rules.scheme().name(), rules.name());
        }
    }
}
