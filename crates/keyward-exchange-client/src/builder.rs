//! [`ClientBuilder`]: the one builder of a signed client (the facade re-exports it), with safe
//! defaults (clock sync, the venue's rate limits, retries by request class, a circuit breaker
//! per venue), each adjustable.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use keyward_resilience::limiter::{DEFAULT_MAX_WAIT, Limit, RateLimiter};
use keyward_resilience::{
    BreakerConfig, CircuitBreaker, Monotonic, MonotonicClock, RetryPolicy, Sleep, TokioSleep,
};
use keyward_secrets_backends::SecretStore;
use keyward_signing::{Credentials, NonceSource, Scheme, SignOptions, SystemClock};
use tokio::sync::broadcast;

use crate::credentials::CredentialSource;
use crate::error::{Error, Result};
use crate::nonce_order::for_key;
use crate::rest::{Inner, RestClient, build_signer};
use crate::time_sync::TimeSync;
use crate::transport::{RootCertificate, Transport};
use crate::url_policy::check_base_url;
use crate::venue::Venue;
use crate::ws::{WsConfig, WsError};

/// Builds a [`RestClient`]. Defaults: clock sync on (for venues that sign a timestamp), the
/// venue's documented rate limits (Binance spot's three windows; 10 requests per second
/// elsewhere), [`RetryPolicy`]'s defaults (3 attempts, exponential backoff with full jitter) by
/// request class, resilience4j's breaker defaults on a breaker named after the venue, a 10 s
/// request timeout, no redirects, the User-Agent [`DEFAULT_USER_AGENT`](crate::DEFAULT_USER_AGENT)
/// and no proxy (the proxy environment variables are never read). TLS verification is always on,
/// with the webpki roots and any root added by [`add_root_certificate`](Self::add_root_certificate);
/// `http://` is accepted only for loopback addresses.
///
/// Credentials come from a secret store by name ([`secret_store`](Self::secret_store): read
/// again after a rotation notice or a refusal) or are given directly
/// ([`credentials`](Self::credentials)). The same builder makes WebSocket sessions:
/// [`build_ws`](Self::build_ws) gives a session configuration on the same venue, credentials
/// source, clock and transport (for a built client, [`RestClient::ws_config`] does the same), so
/// nothing is wired twice.
#[must_use = "a builder does nothing until build() is awaited"]
pub struct ClientBuilder {
    scheme: Scheme,
    base_url: String,
    source: Option<CredentialSource>,
    rotation: Option<broadcast::Receiver<String>>,
    clock_sync: bool,
    recv_window_ms: Option<u64>,
    limits: Option<Vec<Limit>>,
    max_rate_limit_wait: Duration,
    retry: Option<RetryPolicy>,
    breaker: Option<CircuitBreaker>,
    breaker_config: Option<BreakerConfig>,
    clock: Option<Arc<dyn Monotonic>>,
    sleep: Option<Arc<dyn Sleep>>,
    timeout: Duration,
    nonce_file: Option<PathBuf>,
    nonces: Option<Arc<dyn NonceSource>>,
    demo_trading: bool,
    transport: Transport,
    #[cfg(feature = "redis")]
    shared_budget: Option<crate::fleet::SharedBudget>,
    #[cfg(feature = "redis")]
    fleet_nonces: Option<crate::fleet::Fleet>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("scheme", &self.scheme)
            .field(
                "base_url",
                &crate::url_policy::redact_unparsed(&self.base_url),
            )
            .field("credentials", &self.source)
            .field("clock_sync", &self.clock_sync)
            .field("demo_trading", &self.demo_trading)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder for `scheme` at `base_url` (a venue's origin, or `.../svc/<scheme>` for the
    /// service schemes).
    pub fn new(scheme: Scheme, base_url: impl Into<String>) -> Self {
        Self {
            scheme,
            base_url: base_url.into(),
            source: None,
            rotation: None,
            clock_sync: true,
            recv_window_ms: None,
            limits: None,
            max_rate_limit_wait: DEFAULT_MAX_WAIT,
            retry: None,
            breaker: None,
            breaker_config: None,
            clock: None,
            sleep: None,
            timeout: Duration::from_secs(10),
            nonce_file: None,
            nonces: None,
            demo_trading: false,
            transport: Transport::default(),
            #[cfg(feature = "redis")]
            shared_budget: None,
            #[cfg(feature = "redis")]
            fleet_nonces: None,
        }
    }

    /// Uses these credentials, never re-read.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.source = Some(CredentialSource::Fixed(credentials));
        self
    }

    /// Reads the credentials from `store` under `name` (fields `api_key`, `secret`, optional
    /// `passphrase`), and again after an authentication error (once) or a rotation notice.
    /// Subscribes to the store's own rotation notices ([`SecretStore::changes`]: a
    /// `CachedStore` has them) unless [`rotation_notifications`](Self::rotation_notifications)
    /// gives others.
    pub fn secret_store(mut self, store: Arc<dyn SecretStore>, name: impl Into<String>) -> Self {
        if self.rotation.is_none() {
            self.rotation = store.changes();
        }
        self.source = Some(CredentialSource::Store {
            store,
            name: name.into(),
        });
        self
    }

    /// Rotation notices: names of secrets whose value changed (from
    /// `keyward_secrets_backends::CachedStore::subscribe`). A notice naming this client's secret
    /// makes the next call read it again.
    pub fn rotation_notifications(mut self, changes: broadcast::Receiver<String>) -> Self {
        self.rotation = Some(changes);
        self
    }

    /// Whether to sync with the venue's clock before the first signed call and after a
    /// timestamp refusal (default on; venues without timestamps never sync).
    pub fn clock_sync(mut self, on: bool) -> Self {
        self.clock_sync = on;
        self
    }

    /// The receive window sent to venues that take one (Binance `recvWindow`, Bybit
    /// `X-BAPI-RECV-WINDOW`).
    pub fn recv_window_ms(mut self, ms: u64) -> Self {
        self.recv_window_ms = Some(ms);
        self
    }

    /// Replaces the rate limits (units `weight` and, for Binance orders, `orders`). An empty
    /// list turns client-side rate limiting off.
    pub fn rate_limits(mut self, limits: Vec<Limit>) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Decides the client's rate limits in the fleet's shared budget in Redis (feature
    /// `redis`) instead of in this process: every process given the same budget (prefix,
    /// egress, key) draws from one budget per scope the venue counts in. Redis unreachable:
    /// each process decides on its share (capacity / fleet size), loudly; see
    /// [`SharedBudget`](crate::fleet::SharedBudget). Without it the client's limiter is local.
    #[cfg(feature = "redis")]
    pub fn shared_budget(mut self, budget: crate::fleet::SharedBudget) -> Self {
        self.shared_budget = Some(budget);
        self
    }

    /// Makes the client one process of `fleet` (feature `redis`): its rate limits are decided
    /// in the fleet's shared budget ([`shared_budget`](Self::shared_budget), with `egress`
    /// naming the IP this process sends from: the same name for every process behind one
    /// address), and on a venue whose requests carry a growing nonce (Kraken) its nonces come
    /// from the fleet's one sequence for the API key (`keyward_signing::redis::RedisNonce`,
    /// in milliseconds, leases of one nonce: the closest to one order across processes, since
    /// larger leases from several processes interleave; requests in flight at once can still
    /// arrive out of order, which the venue's nonce window absorbs), unless
    /// [`nonce_source`](Self::nonce_source) or [`nonce_file`](Self::nonce_file) says otherwise.
    #[cfg(feature = "redis")]
    pub fn fleet(mut self, fleet: &crate::fleet::Fleet, egress: &str) -> Self {
        self.shared_budget = Some(fleet.budget(egress));
        self.fleet_nonces = Some(fleet.clone());
        self
    }

    /// The longest a call waits in all for the client's rate limiter (default
    /// [`DEFAULT_MAX_WAIT`], 60 s). A call that would wait longer (a venue's usage header
    /// reporting its quota spent, a daily order limit reached) fails at once, unsent, with
    /// [`Error::RateLimitWait`].
    pub fn max_rate_limit_wait(mut self, max: Duration) -> Self {
        self.max_rate_limit_wait = max;
        self
    }

    /// Replaces the retry policy (the request class still decides what may be retried).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Uses this breaker (share one between clients of a venue).
    pub fn breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// Configures the client's own breaker.
    pub fn breaker_config(mut self, config: BreakerConfig) -> Self {
        self.breaker_config = Some(config);
        self
    }

    /// The monotonic clock of the retry policy and the rate limiter (tests: a `ManualClock`).
    pub fn clock(mut self, clock: Arc<dyn Monotonic>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How backoff and rate-limit waits sleep (tests: a `ManualSleep`).
    pub fn sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.sleep = Some(sleep);
        self
    }

    /// The whole-request timeout (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Persists nonces in this file (`keyward_signing::FileNonce`): needed when the key is
    /// used by several processes or again after a restart. Default: an in-memory monotonic
    /// source.
    pub fn nonce_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.nonce_file = Some(path.into());
        self
    }

    /// Uses this nonce source. The default is shared by every client of the key in this
    /// process; another process using the key needs a [`nonce_file`](Self::nonce_file).
    pub fn nonce_source(mut self, nonces: Arc<dyn NonceSource>) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// Sends every REST request to the venue's demo trading environment, with the header the
    /// venue documents for it (OKX: `x-simulated-trading: 1`, to the production origin; use a
    /// demo trading API key). A venue that documents no such header fails `build()` with
    /// [`Error::Config`]: its demo or test environment is a base URL of its own. Default off.
    pub fn demo_trading(mut self, on: bool) -> Self {
        self.demo_trading = on;
        self
    }

    /// Also trusts `root` for TLS (a private venue's CA, a test CA), in addition to the webpki
    /// roots. Certificate verification itself cannot be turned off.
    pub fn add_root_certificate(mut self, root: RootCertificate) -> Self {
        self.transport = self.transport.add_root_certificate(root);
        self
    }

    /// The User-Agent header sent with every request (default
    /// [`DEFAULT_USER_AGENT`](crate::DEFAULT_USER_AGENT), `keyward/<version>`; some venues refuse
    /// requests without one). A value that is not a valid header value fails `build()`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.transport = self.transport.user_agent(user_agent);
        self
    }

    /// Sends requests to the venue through this proxy. Requests to a loopback base URL never
    /// use it, and the proxy environment variables (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`)
    /// are never read: a proxy is used only when set here.
    pub fn proxy(mut self, proxy: url::Url) -> Self {
        self.transport = self.transport.proxy(proxy);
        self
    }

    /// Replaces the whole [`Transport`] (roots, User-Agent, proxy) at once.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Builds the configuration of a WebSocket session at `url` (`wss://`; `ws://` only to
    /// loopback) on this builder's venue, credentials source, sleep and transport. For a venue
    /// with a signed REST API the session is bound to a client built here, as
    /// [`RestClient::ws_config`] binds it: rotation notices and re-reads of the store reach its
    /// next authentication, and a timestamp refusal resyncs the shared clock through the
    /// venue's time endpoint. A venue with WebSocket authentication only (BitMart) signs with the
    /// credentials read now.
    pub async fn build_ws(self, url: &str) -> std::result::Result<WsConfig, WsError> {
        let venue = self.scheme;
        let transport = self.transport.clone();
        let sleep = self.sleep.clone();
        let config = if venue.has_rest() {
            let client = self.build().await.map_err(|e| WsError::Client {
                venue,
                source: Box::new(e),
            })?;
            client.ws_config(url)?
        } else {
            let failed = |e: Error| WsError::Client {
                venue,
                source: Box::new(e),
            };
            let source = self.source.ok_or_else(|| {
                failed(Error::config(
                    "no credentials: call .credentials(credentials) or .secret_store(store, name)",
                ))
            })?;
            let credentials = source.load().await.map_err(failed)?;
            WsConfig::from_credentials(venue, url, &credentials)?
        };
        let config = config.with_transport(transport);
        Ok(match sleep {
            Some(sleep) => config.with_sleep(sleep),
            None => config,
        })
    }

    /// Checks the configuration, reads the credentials and builds the client. No request is
    /// sent: the clock is synced lazily before the first signed call.
    pub async fn build(self) -> Result<RestClient> {
        let venue = Venue::new(self.scheme);
        if !self.scheme.has_rest() {
            return Err(Error::config(format!(
                "{} has no signed REST API",
                self.scheme
            )));
        }
        let base = check_base_url(&self.base_url)?;
        let headers = match (self.demo_trading, venue.demo_header()) {
            (false, _) => Vec::new(),
            (true, Some(header)) => vec![header],
            (true, None) => {
                return Err(Error::config(format!(
                    "{} documents no demo trading header: point the client at its test environment's base URL instead of calling demo_trading(true)",
                    self.scheme
                )));
            }
        };
        let source = self.source.ok_or_else(|| {
            Error::config(
                "no credentials: call .credentials(credentials) or .secret_store(store, name)",
            )
        })?;
        let creds = source.load().await?;
        let local: Arc<dyn keyward_signing::Clock> = Arc::new(SystemClock);
        let time = TimeSync::new(self.clock_sync && venue.uses_timestamps(), local.clone());
        let key_order = for_key(venue.name(), creds.api_key());
        let nonces: Arc<dyn NonceSource> = match (self.nonces, self.nonce_file) {
            (Some(n), _) => n,
            #[cfg(unix)]
            (None, Some(path)) => Arc::new(
                keyward_signing::FileNonce::open(&path, keyward_signing::NonceUnit::Millis, local)
                    .map_err(|e| Error::config_from("the nonce file cannot be used", e))?,
            ),
            #[cfg(not(unix))]
            (None, Some(_)) => {
                return Err(Error::config("nonce files need a Unix system"));
            }
            (None, None) => fleet_nonces(
                #[cfg(feature = "redis")]
                self.fleet_nonces.as_ref(),
                venue.uses_nonces(),
                creds.api_key(),
                &local,
            )
            .unwrap_or_else(|| key_order.nonces.clone()),
        };
        let signer = build_signer(self.scheme, &creds, &time, &nonces)?;
        let clock: Arc<dyn Monotonic> = self
            .clock
            .unwrap_or_else(|| Arc::new(MonotonicClock::new()));
        let limits = self.limits.unwrap_or_else(|| venue.default_limits());
        #[cfg(feature = "redis")]
        let (shared, limits) = match &self.shared_budget {
            Some(budget) if !limits.is_empty() => (
                Some(
                    budget
                        .for_client(venue, creds.api_key(), limits, self.max_rate_limit_wait)
                        .map_err(|e| {
                            Error::config_from("the shared rate budget cannot be used", e)
                        })?,
                ),
                Vec::new(),
            ),
            _ => (None, limits),
        };
        let limiter = if limits.is_empty() {
            None
        } else {
            Some(
                RateLimiter::new(limits, clock.clone())
                    .map_err(|e| Error::config_from("the rate limits cannot be used", e))?
                    .with_max_wait(self.max_rate_limit_wait),
            )
        };
        let retry = match self.retry {
            Some(r) => r,
            None => RetryPolicy::builder()
                .build()
                .map_err(|e| Error::config_from("the default retry policy cannot be built", e))?,
        };
        let breaker = self.breaker.unwrap_or_else(|| {
            CircuitBreaker::new(venue.name(), self.breaker_config.unwrap_or_default())
        });
        let http = self
            .transport
            .http_client(base.origin_url(), self.timeout)?;
        let options = SignOptions {
            recv_window_ms: self.recv_window_ms,
            // Coinbase Advanced's CDP JWT names the host the request goes to.
            origin: self.scheme.signs_host().then(|| base.origin.clone()),
            ..SignOptions::default()
        };
        Ok(RestClient::from_inner(Inner {
            venue,
            base,
            urls: crate::rest::PathUrls::default(),
            http,
            source,
            signer: RwLock::new(Arc::new(signer)),
            creds: RwLock::new(creds),
            rotation: Mutex::new(self.rotation),
            time,
            nonces,
            key_order,
            limiter_turn: tokio::sync::Mutex::new(()),
            limiter,
            #[cfg(feature = "redis")]
            shared,
            breaker,
            retry,
            clock,
            sleep: self.sleep.unwrap_or_else(|| Arc::new(TokioSleep)),
            options,
            headers,
        }))
    }
}

/// The fleet's nonce sequence for `api_key` (hashed into the counter's key), for a venue that
/// uses nonces and a client made part of a fleet on a Unix system; None otherwise.
fn fleet_nonces(
    #[cfg(feature = "redis")] fleet: Option<&crate::fleet::Fleet>,
    uses_nonces: bool,
    api_key: &str,
    clock: &Arc<dyn keyward_signing::Clock>,
) -> Option<Arc<dyn NonceSource>> {
    #[cfg(all(feature = "redis", unix))]
    if let Some(fleet) = fleet.filter(|_| uses_nonces) {
        let nonces = fleet
            .nonce_source(api_key, keyward_signing::NonceUnit::Millis, clock.clone())
            .with_lease(1);
        return Some(Arc::new(nonces));
    }
    let _ = (uses_nonces, api_key, clock);
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn creds() -> Credentials {
        Credentials::new("key-abcdef", "CANARY-secret".into())
    }

    #[tokio::test]
    async fn plain_http_off_loopback_is_a_config_error() {
        let err = ClientBuilder::new(Scheme::Binance, "http://api.binance.com")
            .credentials(creds())
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("loopback"));
    }

    #[tokio::test]
    async fn credentials_are_required_and_checked() {
        let err = ClientBuilder::new(Scheme::Binance, "https://api.binance.com")
            .build()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no credentials"), "{err}");
        // Kraken secrets are base64: a bad one is refused at build time, without its text.
        let err = ClientBuilder::new(Scheme::Kraken, "https://api.kraken.com")
            .credentials(Credentials::new("k", "CANARY not base64!".into()))
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.to_string().contains("CANARY"));
        let err = ClientBuilder::new(Scheme::Bitmart, "https://api-cloud.bitmart.com")
            .credentials(creds())
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[tokio::test]
    async fn a_built_client_hides_its_secret() {
        let client = ClientBuilder::new(Scheme::Okx, "https://www.okx.com")
            .credentials(creds())
            .recv_window_ms(2_000)
            .build()
            .await
            .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("CANARY"), "{shown}");
        assert!(!shown.contains("key-abc"), "{shown}");
        assert!(shown.contains("key-…"), "{shown}");
        assert_eq!(client.breaker().name(), "okx");
        assert_eq!(client.clock_syncs(), 0);
    }

    #[tokio::test]
    async fn raw_send_refuses_odd_methods_and_paths_before_sending() {
        let client = ClientBuilder::new(Scheme::KeywardV1, "http://127.0.0.1:9/svc/keyward-v1")
            .credentials(creds())
            .build()
            .await
            .unwrap();
        use crate::params::Params;
        use keyward_resilience::RequestClass;
        for (m, p) in [
            ("TRACE", "/a"),
            ("GET", "a"),
            ("GET", "/a?b=1"),
            ("GET", "/a\r\nX: y"),
        ] {
            let err = client
                .send(m, p, Params::None, RequestClass::Read, 1)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{m} {p}");
        }
        let err = client.balance().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
}
