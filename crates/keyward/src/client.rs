//! [`Client`]: one builder for a signed exchange client, with the safe defaults switched on.
//! No logic of its own: it gathers the choices and hands them to
//! [`exchange::ClientBuilder`](crate::exchange::ClientBuilder).

use std::sync::Arc;
use std::time::Duration;

use keyward_exchange_client::{
    ClientBuilder as ExchangeBuilder, Error, RestClient, Result, RootCertificate,
};
use keyward_resilience::limiter::Limit;
use keyward_resilience::{BreakerConfig, RetryPolicy};
use keyward_secrets_backends::SecretStore;
use keyward_signing::{Credentials, Scheme};

/// The venue (or service scheme) a client signs for: the names of `keyward sign --venue`.
pub type Venue = Scheme;

/// Entry point of the facade's builder. See [`ClientBuilder`].
#[derive(Debug, Clone, Copy)]
pub struct Client;

impl Client {
    /// A builder with the safe defaults: clock sync, the venue's rate limits, retries by request
    /// class, a circuit breaker per venue, a 10 s timeout, TLS always verified.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }
}

/// Where the credentials come from.
enum Source {
    Given(Credentials),
    Store(Arc<dyn SecretStore>, String),
}

type Adjust = Box<dyn FnOnce(ExchangeBuilder) -> ExchangeBuilder + Send>;

/// Builds a [`RestClient`]: [`venue`](Self::venue), [`base_url`](Self::base_url) and
/// credentials are required; every default can be changed here or, for anything else the
/// exchange client offers, with [`configure`](Self::configure).
#[must_use = "a builder does nothing until build() is awaited"]
#[derive(Default)]
pub struct ClientBuilder {
    venue: Option<Venue>,
    base_url: Option<String>,
    source: Option<Source>,
    adjust: Vec<Adjust>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("venue", &self.venue)
            .field(
                "base_url",
                &self
                    .base_url
                    .as_deref()
                    .map(keyward_exchange_client::redact_url),
            )
            .field("credentials", &self.source.as_ref().map(|_| "[REDACTED]"))
            .field("adjustments", &self.adjust.len())
            .finish()
    }
}

impl ClientBuilder {
    /// The venue preset or service scheme.
    pub fn venue(mut self, venue: Venue) -> Self {
        self.venue = Some(venue);
        self
    }

    /// The venue's origin (`https://testnet.binance.vision`), or a service scheme's base URL
    /// (`http://127.0.0.1:PORT/svc/keyward-v1`). `http://` only for loopback addresses.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Credentials read from `store` under `name` (fields `api_key`, `secret` and, where the
    /// venue has one, `passphrase`), read again after an authentication refusal and after the
    /// store's rotation notices: the client subscribes to them when it is built
    /// ([`SecretStore::changes`]; a `CachedStore` announces every change), so a rotated secret
    /// signs the next request, and the next authentication of a WebSocket session from
    /// [`RestClient::ws_config`], without rebuilding the client.
    pub fn credentials(mut self, store: Arc<dyn SecretStore>, name: impl Into<String>) -> Self {
        self.source = Some(Source::Store(store, name.into()));
        self
    }

    /// Credentials given directly (tests, or a caller with its own store).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.source = Some(Source::Given(credentials));
        self
    }

    /// Clock sync with the venue (default on).
    pub fn clock_sync(self, on: bool) -> Self {
        self.configure(move |b| b.clock_sync(on))
    }

    /// The rate limits to keep (default: the venue's documented limits).
    pub fn rate_limits(self, limits: Vec<Limit>) -> Self {
        self.configure(move |b| b.rate_limits(limits))
    }

    /// The retry policy (default: 3 attempts, exponential backoff with full jitter, by request
    /// class).
    pub fn retry_policy(self, policy: RetryPolicy) -> Self {
        self.configure(move |b| b.retry_policy(policy))
    }

    /// The circuit breaker's settings (default: resilience4j's).
    pub fn breaker_config(self, config: BreakerConfig) -> Self {
        self.configure(move |b| b.breaker_config(config))
    }

    /// The request timeout (default 10 s).
    pub fn timeout(self, timeout: Duration) -> Self {
        self.configure(move |b| b.timeout(timeout))
    }

    /// The User-Agent sent with every request (default `keyward/<version>`).
    pub fn user_agent(self, user_agent: impl Into<String>) -> Self {
        let user_agent = user_agent.into();
        self.configure(move |b| b.user_agent(user_agent))
    }

    /// Also trusts this certificate authority for TLS (a private venue's CA), in addition to
    /// the webpki roots. Verification itself cannot be turned off.
    pub fn add_root_certificate(self, root: RootCertificate) -> Self {
        self.configure(move |b| b.add_root_certificate(root))
    }

    /// Sends venue traffic through this proxy; loopback traffic never uses it, and the proxy
    /// environment variables are never read.
    pub fn proxy(self, proxy: keyward_exchange_client::Url) -> Self {
        self.configure(move |b| b.proxy(proxy))
    }

    /// Any other setting of the exchange client's builder (receive window, nonce file, injected
    /// clock and sleep, a shared breaker, rotation notices...).
    pub fn configure(
        mut self,
        adjust: impl FnOnce(ExchangeBuilder) -> ExchangeBuilder + Send + 'static,
    ) -> Self {
        self.adjust.push(Box::new(adjust));
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] when the venue, the base URL or the credentials are missing or the URL
    /// is refused; [`Error::Credentials`] when the store cannot provide them.
    pub async fn build(self) -> Result<RestClient> {
        let venue = self
            .venue
            .ok_or_else(|| Error::Config("no venue: call .venue(Venue::...)".into()))?;
        let base_url = self
            .base_url
            .ok_or_else(|| Error::Config("no base URL: call .base_url(...)".into()))?;
        let mut builder = RestClient::builder(venue, base_url);
        builder = match self.source {
            Some(Source::Given(credentials)) => builder.credentials(credentials),
            Some(Source::Store(store, name)) => builder.secret_store(store, name),
            None => {
                return Err(Error::Config(
                    "no credentials: call .credentials(store, name)".into(),
                ));
            }
        };
        for adjust in self.adjust {
            builder = adjust(builder);
        }
        builder.build().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_exchange_client::ErrorKind;

    fn creds() -> Credentials {
        Credentials::new("key-1", "canary-secret-5c1d".into())
    }

    #[test]
    fn debug_shows_the_base_url_without_user_info_or_query() {
        let builder = Client::builder()
            .venue(Venue::Binance)
            .base_url("https://user:CANARYpw@api.example.com/v1?token=CANARYq#frag")
            .with_credentials(creds());
        let shown = format!("{builder:?}");
        assert!(shown.contains("https://api.example.com/v1"), "{shown}");
        for leak in ["CANARY", "user", "frag", "canary-secret"] {
            assert!(!shown.contains(leak), "{leak} in {shown}");
        }
    }

    #[tokio::test]
    async fn each_missing_part_is_a_config_error_that_says_what_to_call() {
        let no_venue = Client::builder()
            .base_url("http://127.0.0.1:9")
            .with_credentials(creds());
        let no_url = Client::builder()
            .venue(Venue::Binance)
            .with_credentials(creds());
        let no_creds = Client::builder()
            .venue(Venue::Binance)
            .base_url("http://127.0.0.1:9");
        for (builder, hint) in [
            (no_venue, ".venue("),
            (no_url, ".base_url("),
            (no_creds, ".credentials("),
        ] {
            let err = builder.build().await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains(hint), "{err}");
        }
    }

    #[tokio::test]
    async fn the_transport_setters_reach_the_client() {
        use axum::http::{HeaderMap, header};
        use std::sync::Mutex;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let app = axum::Router::new().route(
            "/api/v3/time",
            axum::routing::get(move |headers: HeaderMap| async move {
                let agent = headers.get(header::USER_AGENT).cloned();
                record.lock().unwrap().push(agent);
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"serverTime":1}"#,
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        // A proxy is never used for loopback traffic: the request still reaches the server.
        let proxy = keyward_exchange_client::Url::parse("http://127.0.0.1:9").unwrap();
        let client = Client::builder()
            .venue(Venue::Binance)
            .base_url(format!("http://{addr}"))
            .with_credentials(creds())
            .clock_sync(false)
            .user_agent("facade-bot/1")
            .proxy(proxy)
            .build()
            .await
            .unwrap();
        client.server_time().await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].as_ref().unwrap(), "facade-bot/1");
        let err = Client::builder()
            .venue(Venue::Binance)
            .base_url("http://127.0.0.1:9")
            .with_credentials(creds())
            .user_agent("bad\r\nX-Injected: 1")
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[tokio::test]
    async fn the_exchange_rules_still_apply_and_adjustments_reach_the_client() {
        // Plain HTTP off loopback is refused, whatever the facade is given.
        let err = Client::builder()
            .venue(Venue::Binance)
            .base_url("http://example.com")
            .with_credentials(creds())
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let client = Client::builder()
            .venue(Venue::Kraken)
            .base_url("http://127.0.0.1:9")
            .with_credentials(Credentials::new("k", "c2VjcmV0".into()))
            .clock_sync(false)
            .configure(|b| b.recv_window_ms(2_000))
            .build()
            .await
            .unwrap();
        assert_eq!(client.scheme(), Venue::Kraken);
    }

    #[test]
    fn debug_never_shows_the_credentials() {
        let builder = Client::builder()
            .venue(Venue::Okx)
            .with_credentials(creds());
        let text = format!("{builder:?}");
        assert!(!text.contains("canary-secret-5c1d"), "{text}");
        assert!(text.contains("[REDACTED]"), "{text}");
    }
}
