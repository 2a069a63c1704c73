//! [`WsConfig`]: where to connect, with which credentials, and the session's timing.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use keyward_resilience::{Backoff, Jitter, Sleep, TokioSleep};
use keyward_secrets_backends::{SecretStore, Selector};
use keyward_signing::{Credentials, Scheme, Signer};
use serde_json::{Map, Value};
use url::{Host, Url};

use super::error::WsError;
use super::kraken::TokenProvider;
use super::live::Live;
use crate::transport::{RootCertificate, Transport};
use crate::venue::Venue;

/// The longest ping interval taken (a year): longer ones are cut to it.
const MAX_PING_INTERVAL: Duration = Duration::from_secs(365 * 24 * 3600);

/// How a [`WsSession`](super::WsSession) connects, authenticates and stays connected.
///
/// Build it with [`WsConfig::new`] and adjust it with the `with_*` methods. The defaults: ping
/// every 20 s (a connection that answers nothing for 10 s after a ping is replaced), 10 s to connect
/// and 10 s for the auth acknowledgement, the venue's connection age limit (Binance: just under
/// 24 h; others none), exponential backoff from 500 ms capped at 30 s with full jitter seeded
/// from the operating system, reconnecting without limit, and tokio's sleep.
#[derive(Clone)]
pub struct WsConfig {
    pub(crate) venue: Scheme,
    /// The venue's descriptor, resolved once here.
    pub(crate) rules: Venue,
    pub(crate) url: Url,
    pub(crate) signer: Arc<Signer>,
    pub(crate) auth_params: Map<String, Value>,
    pub(crate) ping_interval: Duration,
    pub(crate) pong_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) max_age: Option<Duration>,
    pub(crate) backoff: Backoff,
    pub(crate) backoff_cap: Duration,
    pub(crate) jitter: Jitter,
    pub(crate) seed: Option<u64>,
    pub(crate) max_reconnects: Option<u32>,
    pub(crate) sleep: Arc<dyn Sleep>,
    pub(crate) token_provider: Option<TokenProvider>,
    /// Whether `token_provider` is keyward's default (signed with `signer`), rebuilt when the
    /// signer changes.
    pub(crate) default_token: bool,
    pub(crate) event_buffer: usize,
    /// The REST client whose credentials and clock the session uses, if bound to one.
    pub(crate) live: Option<Live>,
    pub(crate) transport: Transport,
}

impl WsConfig {
    /// A configuration for `venue` at `url` (`wss://`, or `ws://` to a loopback address only),
    /// authenticating with `signer`, which must be prepared for `venue`.
    pub fn new(venue: Scheme, url: &str, signer: impl Into<Arc<Signer>>) -> Result<Self, WsError> {
        let url = parse_url(url)?;
        let signer = signer.into();
        if signer.scheme() != venue {
            return Err(WsError::InvalidConfig {
                reason: "the signer is prepared for another scheme than the session's venue",
            });
        }
        let rules = Venue::new(venue);
        if !super::auth::supports(rules) {
            return Err(WsError::Unsupported { venue, key: None });
        }
        super::auth::check_key(rules, &signer)?;
        Ok(Self {
            venue,
            rules,
            url,
            signer,
            auth_params: Map::new(),
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            ack_timeout: Duration::from_secs(10),
            max_age: rules.ws_max_age(),
            backoff: Backoff::exponential(Duration::from_millis(500)),
            backoff_cap: Duration::from_secs(30),
            jitter: Jitter::Full,
            seed: None,
            max_reconnects: None,
            sleep: Arc::new(TokioSleep),
            token_provider: None,
            default_token: false,
            event_buffer: 1024,
            live: None,
            transport: Transport::default(),
        })
    }

    /// As [`WsConfig::new`], preparing a signer from `credentials`.
    pub fn from_credentials(
        venue: Scheme,
        url: &str,
        credentials: &Credentials,
    ) -> Result<Self, WsError> {
        let signer =
            Signer::new(venue, credentials).map_err(|source| WsError::Signing { venue, source })?;
        Self::new(venue, url, signer)
    }

    /// As [`WsConfig::from_credentials`], reading the credentials from the current version of
    /// the secret `name` in `store`: a fields value with `api_key`, `secret` (or `api_secret`) and, for OKX,
    /// Coinbase Exchange and BitMart, `passphrase`.
    pub async fn from_store(
        venue: Scheme,
        url: &str,
        store: &dyn SecretStore,
        name: &str,
    ) -> Result<Self, WsError> {
        let failed = |e: crate::Error| WsError::Credentials {
            name: name.to_owned(),
            source: Box::new(e),
        };
        let secret = store.get(name, &Selector::Current).await.map_err(|e| {
            failed(crate::Error::Credentials {
                reason: format!("the secret store could not give {name:?}"),
                source: Some(e.into()),
            })
        })?;
        // The same fields as the REST client reads (`crate::credentials`).
        let credentials = crate::credentials::from_value(name, &secret.value).map_err(failed)?;
        Self::from_credentials(venue, url, &credentials)
    }

    /// Parameters of the auth message: Binance's `userDataStream.subscribe.signature` parameters, the fields of
    /// Coinbase Exchange's subscribe (default `channels: ["user"]`, `product_ids: ["BTC-USD"]`),
    /// Kraken's `subscription` (default `name: "ownTrades"`).
    pub fn with_auth_params(mut self, params: Map<String, Value>) -> Self {
        self.auth_params = params;
        self
    }

    /// How often to ping.
    pub fn with_ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval.clamp(Duration::from_millis(1), MAX_PING_INTERVAL);
        self
    }

    /// How long a ping may go unanswered: a connection from which nothing (no pong, no
    /// message) arrived for this long after a ping is dead and is replaced. Checked at each
    /// ping, so a dead connection is noticed within `pong_timeout` plus one ping interval.
    pub fn with_pong_timeout(mut self, timeout: Duration) -> Self {
        self.pong_timeout = timeout;
        self
    }

    /// The longest wait for the TCP, TLS and WebSocket handshakes, and for Kraken's token
    /// request.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest wait for the venue's answer to the auth message.
    pub fn with_ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// The age at which a connection is replaced before the venue closes it (`None`: never).
    pub fn with_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// The backoff curve between reconnect attempts, and its cap.
    pub fn with_backoff(mut self, backoff: Backoff, cap: Duration) -> Self {
        self.backoff = backoff;
        self.backoff_cap = cap;
        self
    }

    /// The jitter applied to each backoff delay, and the seed of its generator (`None`: seeded
    /// by the operating system).
    pub fn with_jitter(mut self, jitter: Jitter, seed: Option<u64>) -> Self {
        self.jitter = jitter;
        self.seed = seed;
        self
    }

    /// Gives up after this many failed reconnect attempts in a row (`None`: never).
    pub fn with_max_reconnects(mut self, max: Option<u32>) -> Self {
        self.max_reconnects = max;
        self
    }

    /// The sleep used for reconnect delays and the connection age limit (tests inject one
    /// that does not wait).
    pub fn with_sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.sleep = sleep;
        self
    }

    /// Kraken: where the WebSocket token comes from. The default signs a `POST
    /// /0/private/GetWebSocketsToken` to the REST origin of the WebSocket URL (`ws` → `http`,
    /// `wss` → `https`); see [`kraken_rest_token`](super::kraken_rest_token).
    pub fn with_token_provider(mut self, provider: TokenProvider) -> Self {
        self.token_provider = Some(provider);
        self
    }

    /// Also trusts `root` for TLS (a private venue's CA, a test CA), in addition to the webpki
    /// roots; the Kraken token request trusts it too. Certificate verification itself cannot be
    /// turned off.
    pub fn with_root_certificate(mut self, root: RootCertificate) -> Self {
        self.transport = self.transport.add_root_certificate(root);
        self
    }

    /// The User-Agent sent with the WebSocket upgrade and the Kraken token request (default
    /// [`DEFAULT_USER_AGENT`](crate::DEFAULT_USER_AGENT), `keyward/<version>`). A value that is
    /// not a valid header value fails the connection with [`WsError::InvalidConfig`].
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.transport = self.transport.user_agent(user_agent);
        self
    }

    /// Replaces the whole [`Transport`] (roots and User-Agent; WebSocket connections do not
    /// use its proxy).
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// How many events may wait unread before the session stops reading the socket.
    pub fn with_event_buffer(mut self, size: usize) -> Self {
        self.event_buffer = size.max(1);
        self
    }

    /// This configuration signing with `signer` (the current credentials of a bound client);
    /// keyward's default Kraken token provider follows the signer.
    pub(crate) fn with_current_signer(&self, signer: Arc<Signer>) -> Result<Self, WsError> {
        let mut cfg = self.clone();
        if cfg.default_token {
            let origin = super::kraken::rest_origin_of(&cfg.url);
            cfg.token_provider = Some(super::kraken::kraken_rest_token_with(
                &origin,
                signer.clone(),
                &cfg.transport,
                cfg.connect_timeout,
            )?);
        }
        cfg.signer = signer;
        Ok(cfg)
    }

    /// The venue.
    pub fn venue(&self) -> Scheme {
        self.venue
    }

    /// The URL without its query, as logs show it.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

impl fmt::Debug for WsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsConfig")
            .field("venue", &self.venue)
            .field("url", &redact_url(&self.url))
            .field("signer", &self.signer)
            .field("auth_params", &self.auth_params.keys().collect::<Vec<_>>())
            .field("ping_interval", &self.ping_interval)
            .field("pong_timeout", &self.pong_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("ack_timeout", &self.ack_timeout)
            .field("max_age", &self.max_age)
            .field("backoff", &self.backoff)
            .field("backoff_cap", &self.backoff_cap)
            .field("jitter", &self.jitter)
            .field("seed", &self.seed)
            .field("max_reconnects", &self.max_reconnects)
            .field(
                "token_provider",
                &self.token_provider.as_ref().map(|_| ".."),
            )
            .field("bound_to_client", &self.live.is_some())
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// Parses a WebSocket URL: `wss://` anywhere, `ws://` only to a loopback address.
pub(crate) fn parse_url(text: &str) -> Result<Url, WsError> {
    let url = Url::parse(text).map_err(|_| WsError::InvalidUrl {
        url: redact_text(text),
        reason: "it is not a valid URL",
    })?;
    match url.scheme() {
        "wss" => Ok(url),
        "ws" if is_loopback(&url) => Ok(url),
        "ws" => Err(WsError::InvalidUrl {
            url: redact_url(&url),
            reason: "plain ws:// is only allowed to a loopback address; use wss://",
        }),
        _ => Err(WsError::InvalidUrl {
            url: redact_url(&url),
            reason: "the scheme must be wss:// (or ws:// to a loopback address)",
        }),
    }
}

/// Whether the URL's host is a loopback address (`127.0.0.0/8`, `[::1]`, `localhost`).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `scheme://host[:port]/path`: no query, no fragment, no user info, and no path segment that
/// can be a credential (see [`redact_path`]).
pub(crate) fn redact_url(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let path = redact_path(url.path());
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{path}", url.scheme()),
        None => format!("{}://{host}{path}", url.scheme()),
    }
}

/// A URL that did not parse, as errors show it: no user info, query or fragment, and no path
/// segment that can be a credential.
fn redact_text(text: &str) -> String {
    let shown = crate::url_policy::redact_unparsed(text);
    let (origin, path) = match shown.split_once("://") {
        Some((scheme, rest)) => match rest.find('/') {
            Some(i) => (format!("{scheme}://{}", &rest[..i]), &rest[i..]),
            None => return shown,
        },
        None => (String::new(), shown.as_str()),
    };
    format!("{origin}{}", redact_path(path))
}

/// The shortest path segment taken for a credential.
const SECRET_SEGMENT_LEN: usize = 20;

/// `text` with every path segment that can be a credential replaced by `[REDACTED]`: venues put
/// session keys in the path (Binance's user-data stream is `/ws/<listenKey>`, a 60-character
/// token). A segment of at least 20 characters drawn only from token characters (letters,
/// digits, `-`, `_`, `.`, `=`, `%`) is taken for one; route names are short and stream names
/// carry `@` (`btcusdt@depth20@100ms`), so they stay. No venue is named here: the rule is
/// about the shape of the segment.
pub(crate) fn redact_path(text: &str) -> String {
    text.split('/')
        .map(|segment| {
            let token_like = segment.len() >= SECRET_SEGMENT_LEN
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.=%".contains(c));
            if token_like { "[REDACTED]" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_only_to_loopback() {
        assert!(parse_url("ws://127.0.0.1:9/ws").is_ok());
        assert!(parse_url("ws://[::1]:9/ws").is_ok());
        assert!(parse_url("ws://localhost:9/ws").is_ok());
        assert!(parse_url("wss://stream.example.com/ws").is_ok());
        let err = parse_url("ws://example.com/ws?listenKey=abc").unwrap_err();
        assert!(err.to_string().contains("ws://example.com/ws"));
        assert!(!err.to_string().contains("abc"));
        assert!(parse_url("http://127.0.0.1/ws").is_err());
        assert!(parse_url("not a url").is_err());
    }

    /// Finding 19: a path segment that can be a credential (Binance's `/ws/<listenKey>`) is
    /// not shown, and neither is anything of a URL that does not parse.
    #[test]
    fn redaction_hides_listen_keys_in_paths_and_unparsable_urls() {
        let key = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1";
        let url = Url::parse(&format!("wss://stream.binance.com:9443/ws/{key}")).unwrap();
        let shown = redact_url(&url);
        assert!(!shown.contains(key), "{shown}");
        assert_eq!(shown, "wss://stream.binance.com:9443/ws/[REDACTED]");
        let public = Url::parse("wss://stream.binance.com/ws/btcusdt@depth20@100ms").unwrap();
        assert_eq!(
            redact_url(&public),
            "wss://stream.binance.com/ws/btcusdt@depth20@100ms"
        );
        let err = parse_url("wss://user:CANARY-pw@bad host/ws?token=CANARY-q")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("CANARY"), "{err}");
        assert!(err.contains("wss://bad host/ws"), "{err}");
        let err = parse_url(&format!(
            "wss://ws-api.testnet.binance.vision:99999/ws/{key}"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("wss://ws-api.testnet.binance.vision:99999/ws/[REDACTED]")
                && !err.contains(key),
            "{err}"
        );
    }

    #[test]
    fn redacted_url_has_no_query_nor_user_info() {
        let url = Url::parse("wss://user:pw@h.example:8443/ws/v1?token=t#f").unwrap();
        assert_eq!(redact_url(&url), "wss://h.example:8443/ws/v1");
    }

    #[tokio::test]
    async fn credentials_come_from_a_store() {
        use keyward_secrets_backends::EnvStore;
        let vars = [
            ("KEYWARD_OKX_TEST_API_KEY", "okx-key-1"),
            ("KEYWARD_OKX_TEST_API_SECRET", "CANARY-okx-secret"),
            ("KEYWARD_OKX_TEST_PASSPHRASE", "CANARY-okx-pass"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let store = EnvStore::from_vars("KEYWARD", vars);
        let url = "wss://ws.okx.example/ws/v5/private";
        let cfg = WsConfig::from_store(Scheme::Okx, url, &store, "okx-test")
            .await
            .unwrap();
        let shown = format!("{cfg:?}");
        assert!(
            shown.contains("okx-…") && !shown.contains("CANARY"),
            "{shown}"
        );
        let err = WsConfig::from_store(Scheme::Okx, url, &store, "missing")
            .await
            .unwrap_err();
        assert!(matches!(err, WsError::Credentials { .. }), "{err}");
    }

    #[test]
    fn venue_and_signer_must_agree() {
        let creds = Credentials::new("key", "secret".into());
        let signer = Signer::new(Scheme::Bybit, &creds).unwrap();
        assert!(WsConfig::new(Scheme::Okx, "ws://127.0.0.1:1/ws", signer).is_err());
        let binance = WsConfig::from_credentials(Scheme::Binance, "wss://x.example/ws", &creds);
        assert_eq!(
            binance.unwrap().max_age,
            Some(Duration::from_secs(24 * 3600 - 300))
        );
    }
}
