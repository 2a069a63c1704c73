//! The local signing proxy (feature `proxy`): a bot in any language sends plain, unsigned
//! requests at the venue's own paths to a loopback port or a Unix socket, and the proxy sends
//! them on through a [`RestClient`], signed with credentials the bot never holds, with
//! everything the client has (clock sync and one resync on a timestamp refusal, the venue's
//! rate limits, retries by request class, the breaker, unknown-outcome handling, nonces in
//! order, TLS always verified). The answer is the venue's own status and body
//! ([`RestClient::relay`]); the proxy's own refusals are JSON with documented status codes
//! ([`refusal`]). `keyward proxy` runs it.
//!
//! In [`Mode::Plain`] a request that carries the venue's signature or API key is refused (the
//! bot should not hold one); in [`Mode::Resign`] they are stripped and the request is signed
//! again, so an existing client (ccxt, a venue's SDK) works unchanged with placeholder keys.
//! Either way the parameters the signer generates (a timestamp, Kraken's nonce) are the
//! proxy's: a client's own are dropped.
//!
//! A WebSocket upgrade at any path is passed through to the venue's stream at that path below
//! [`ProxyConfig::ws_base_url`], authenticated by the proxy, for the venues whose private
//! streams need an auth message on connect (Bybit, OKX); see the `ws` module's notes.

mod incoming;
pub mod refusal;
mod ws;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use secrecy::SecretString;
use tokio::sync::Semaphore;

use crate::rest::{Relayed, RestClient};
use refusal::Refusal;

/// How the proxy treats a request that already carries a client's own signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Refuse it (400, `carries_credentials`): the bot signs nothing and holds no key.
    #[default]
    Plain,
    /// Strip the client's signature, key and signing headers, and sign again.
    Resign,
}

/// The proxy's settings. Every size and wait a client controls has a ceiling here.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// Plain or re-sign.
    pub mode: Mode,
    /// When set, every request must carry `Proxy-Authorization: Bearer <token>` (compared in
    /// constant time); otherwise 401.
    pub access_token: Option<SecretString>,
    /// The largest request body taken (default 64 KiB); larger is 413.
    pub max_body: usize,
    /// Requests sent on at once (default 64); more wait for a slot, at most `queue_wait`.
    pub max_in_flight: usize,
    /// How long a request may wait for a slot (default 30 s); then 503 `busy`.
    pub queue_wait: Duration,
    /// The venue's WebSocket origin (`wss://stream.bybit.com`, or `ws://` to a loopback
    /// address) that WebSocket upgrades are passed through to, at their own path; None: 501
    /// `ws_not_served`.
    pub ws_base_url: Option<String>,
    /// WebSocket sessions passed through at once (default 16), each one connection to the
    /// venue; past it an upgrade is 503 `busy`.
    pub max_ws_sessions: usize,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Plain,
            access_token: None,
            max_body: 64 * 1024,
            max_in_flight: 64,
            queue_wait: Duration::from_secs(30),
            ws_base_url: None,
            max_ws_sessions: 16,
        }
    }
}

impl ProxyConfig {
    /// The default settings in `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            ..Self::default()
        }
    }

    /// Requires `Proxy-Authorization: Bearer <token>` on every request.
    pub fn with_access_token(mut self, token: SecretString) -> Self {
        self.access_token = Some(token);
        self
    }

    /// The largest request body taken.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Passes WebSocket upgrades through to the venue's streams below `url`.
    pub fn with_ws_base_url(mut self, url: impl Into<String>) -> Self {
        self.ws_base_url = Some(url.into());
        self
    }

    /// WebSocket sessions passed through at once.
    pub fn with_max_ws_sessions(mut self, max: usize) -> Self {
        self.max_ws_sessions = max;
        self
    }

    /// Requests sent on at once, and how long one waits for a slot.
    pub fn with_in_flight(mut self, max: usize, queue_wait: Duration) -> Self {
        self.max_in_flight = max.max(1);
        self.queue_wait = queue_wait;
        self
    }
}

/// The signing proxy for one venue and one key.
#[derive(Clone)]
pub struct SigningProxy {
    inner: Arc<Shared>,
}

struct Shared {
    client: RestClient,
    config: ProxyConfig,
    slots: Semaphore,
    ws_slots: Arc<Semaphore>,
}

impl std::fmt::Debug for SigningProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningProxy")
            .field("client", &self.inner.client)
            .field("mode", &self.inner.config.mode)
            .field("access_token", &self.inner.config.access_token.is_some())
            .finish_non_exhaustive()
    }
}

impl SigningProxy {
    /// A proxy that sends requests on through `client`.
    pub fn new(client: RestClient, config: ProxyConfig) -> Self {
        let slots = Semaphore::new(config.max_in_flight.max(1));
        let ws_slots = Arc::new(Semaphore::new(config.max_ws_sessions));
        Self {
            inner: Arc::new(Shared {
                client,
                config,
                slots,
                ws_slots,
            }),
        }
    }

    /// The proxy as an axum router for a TCP listener: every path and method goes to the
    /// venue, a WebSocket upgrade to its streams. A request from a web page (an `Origin` that
    /// is not this machine) or with a non-loopback `Host` (a rebound host name) is refused
    /// (403 `cross_origin`): a page the user visits could otherwise trade with the key.
    pub fn router(&self) -> Router {
        self.router_with(true)
    }

    /// The router; `check_host` off for a Unix socket, whose clients may send any `Host`.
    fn router_with(&self, check_host: bool) -> Router {
        Router::new()
            .fallback(move |State(shared): State<Arc<Shared>>, request: Request| {
                forward(shared, request, check_host)
            })
            .with_state(self.inner.clone())
    }

    /// Serves on a TCP listener (bind it to a loopback address) until `shutdown` completes.
    pub async fn serve_tcp(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Serves on a Unix socket listener until `shutdown` completes. The socket file's mode is
    /// the caller's to set (0600: only this user may connect).
    #[cfg(unix)]
    pub async fn serve_unix(
        &self,
        listener: tokio::net::UnixListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router_with(false))
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// One request: a slot, the access check, the request read and checked, relayed.
async fn forward(shared: Arc<Shared>, request: Request, check_host: bool) -> Response {
    if let Err(refusal) = incoming::check_origin(request.headers(), check_host) {
        count(shared.client.scheme().name(), refusal.kind);
        return refusal.into_response();
    }
    if ws::is_upgrade(&request) {
        return ws::open(shared, request).await;
    }
    let _slot = match tokio::time::timeout(shared.config.queue_wait, shared.slots.acquire()).await {
        Ok(Ok(slot)) => slot,
        _ => return Refusal::busy().into_response(),
    };
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!("keyward.proxy", venue = shared.client.scheme().name(), method = %method, path = %path);
    let result = async {
        incoming::check_access(&shared.config, request.headers())?;
        let rules = shared
            .client
            .relay_rules()
            .ok_or_else(Refusal::venue_not_served)?;
        let (method, path, params) =
            incoming::read(request, rules, shared.config.mode, shared.config.max_body).await?;
        shared
            .client
            .relay(&method, &path, params)
            .await
            .map_err(|e| Refusal::from_error(&e))
    };
    let result = tracing::Instrument::instrument(result, span.clone()).await;
    let venue = shared.client.scheme().name();
    match result {
        Ok(answer) => {
            tracing::info!(parent: &span, status = answer.status, "relayed");
            count(venue, "relayed");
            relayed(answer)
        }
        Err(refusal) => {
            tracing::info!(parent: &span, status = refusal.status.as_u16(), kind = refusal.kind, "refused");
            count(venue, refusal.kind);
            refusal.into_response()
        }
    }
}

/// Counts one request of the proxy (feature `metrics`): `keyward_proxy_requests_total{venue,
/// result}`, `result` being `relayed` (the venue's answer passed on, whatever its status),
/// `ws_session` (a WebSocket passed through) or a refusal kind of [`refusal`]'s closed table:
/// never a value from the request.
fn count(venue: &'static str, result: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("keyward_proxy_requests_total", "venue" => venue, "result" => result)
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (venue, result);
}

/// The venue's answer as the proxy's response.
fn relayed(answer: Relayed) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    }
    response
}
