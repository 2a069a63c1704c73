//! [`TestnetConfig`]: what the testnet serves and how.

use std::collections::HashMap;
use std::sync::Arc;

use keyward_signing::verify::ReplayCache;
use keyward_signing::{Clock, SystemClock};

use crate::broker_credentials::BrokerCredentials;
use crate::credentials::VenueCredentials;
use crate::faults::Faults;
use crate::keys::VenueKey;

/// How to start a [`Testnet`](crate::Testnet): host (loopback only), credentials (generated
/// where not given), faults at start, and rate-limit quotas.
#[derive(Debug, Clone)]
pub struct TestnetConfig {
    /// The host to bind: `127.0.0.1` by default; anything but a loopback address is refused.
    pub host: String,
    /// Credentials per venue or scheme; any venue without some gets fresh ones.
    pub credentials: Vec<VenueCredentials>,
    /// Login credentials per broker flow (`upstox`); any broker without some gets fresh ones.
    pub broker_credentials: Vec<BrokerCredentials>,
    /// Public keys (Ed25519, ECDSA P-256, RSA) the venues accept besides their HMAC
    /// credentials, each under its own API key; several per venue are allowed. None by default.
    pub public_keys: Vec<VenueKey>,
    /// Faults in force from the start.
    pub faults: Faults,
    /// Requests per venue per minute before 429 (default 1200).
    pub rate_limit: u32,
    /// Per-venue quotas that override `rate_limit`.
    pub venue_rate_limits: HashMap<String, u32>,
    /// Whether a request counts its venue's documented weight against the quota (Binance:
    /// `GET /api/v3/account` 20, the others 1) instead of 1. Off by default: every request
    /// counts 1.
    pub request_weights: bool,
    /// The headers `hmac-newline-v0` signatures cover (default none).
    pub signed_headers: Vec<String>,
    /// The testnet's clock: verification windows, time endpoints and the broker sessions
    /// (the IBKR gateway's idle timeout) read it. The system clock by default; a test injects
    /// a `FixedClock` and moves it.
    pub clock: Arc<dyn Clock>,
    /// The replay memory of the service schemes' verifiers (`keyward-v1`, `hmac-newline-v0`,
    /// `hmac-concat`): None (the default) gives each its own in-memory cache; a shared one
    /// (say `keyward_signing::redis::RedisReplayCache`) makes several testnet processes act as
    /// replicas that refuse each other's replays. The venue presets keep no memory (see
    /// `repeats.rs`: the venues document a freshness rule only).
    pub replay_cache: Option<Arc<dyn ReplayCache>>,
    /// Replicas (feature `redis`): with a [`SharedState`](crate::SharedState), this testnet
    /// keeps its rate-limit account and its broker sessions (the Upstox account that signs
    /// access tokens) in Redis with every other testnet on the same Redis and prefix, as
    /// replicas of one venue. Every replica must be given the same credentials: a venue left
    /// out gets fresh ones per replica (which the others refuse), and an Upstox login left out
    /// keeps an account of its own per replica. `None` (the
    /// default): everything stays in this process. The replicas' replay memory is the replay
    /// cache built on the same connection (`with_replay_cache`).
    #[cfg(feature = "redis")]
    pub shared_state: Option<crate::SharedState>,
}

impl Default for TestnetConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            credentials: Vec::new(),
            broker_credentials: Vec::new(),
            public_keys: Vec::new(),
            faults: Faults::default(),
            rate_limit: 1200,
            venue_rate_limits: HashMap::new(),
            request_weights: false,
            signed_headers: Vec::new(),
            clock: Arc::new(SystemClock),
            replay_cache: None,
            #[cfg(feature = "redis")]
            shared_state: None,
        }
    }
}

impl TestnetConfig {
    /// Binds `host` (must be a loopback address).
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Uses these credentials (replacing any given for the same venue before).
    pub fn with_credentials(mut self, credentials: Vec<VenueCredentials>) -> Self {
        for c in credentials {
            self.credentials.retain(|old| old.venue != c.venue);
            self.credentials.push(c);
        }
        self
    }

    /// Uses these broker login credentials (replacing any given for the same broker before).
    pub fn with_broker_credentials(mut self, credentials: Vec<BrokerCredentials>) -> Self {
        for c in credentials {
            self.broker_credentials.retain(|old| old.venue != c.venue);
            self.broker_credentials.push(c);
        }
        self
    }

    /// Also accepts these public keys (added to any given before).
    pub fn with_public_keys(mut self, keys: impl IntoIterator<Item = VenueKey>) -> Self {
        self.public_keys.extend(keys);
        self
    }

    /// Starts with these faults.
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Sets every venue's quota (requests per minute).
    pub fn with_rate_limit(mut self, per_minute: u32) -> Self {
        self.rate_limit = per_minute;
        self
    }

    /// Sets one venue's quota (requests per minute).
    pub fn with_venue_rate_limit(mut self, venue: impl Into<String>, per_minute: u32) -> Self {
        self.venue_rate_limits.insert(venue.into(), per_minute);
        self
    }

    /// Counts each request's documented weight against the quota (the quota is then weight
    /// per minute, as Binance's `REQUEST_WEIGHT`), instead of 1 per request.
    pub fn with_request_weights(mut self, on: bool) -> Self {
        self.request_weights = on;
        self
    }

    /// The headers `hmac-newline-v0` signatures cover.
    pub fn with_signed_headers(mut self, names: Vec<String>) -> Self {
        self.signed_headers = names;
        self
    }

    /// Acts as one replica of a venue whose rate-limit account, broker sessions and replay
    /// memory live in `state` (see [`TestnetConfig::shared_state`]). Unless a replay cache was
    /// given already, the service schemes' verifiers share a `RedisReplayCache` on the same
    /// connection, prefix and timeout, so a request accepted by one replica is a replay at
    /// every other.
    #[cfg(feature = "redis")]
    pub fn with_shared_state(mut self, state: crate::SharedState) -> Self {
        if self.replay_cache.is_none() {
            let cache =
                keyward_signing::redis::RedisReplayCache::new(state.connection(), state.prefix())
                    .with_timeout(state.timeout);
            self.replay_cache = Some(Arc::new(cache));
        }
        self.shared_state = Some(state);
        self
    }

    /// Reads time from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Shares `cache` as the service schemes' replay memory (see
    /// [`TestnetConfig::replay_cache`]); their verifiers then verify with
    /// `Verifier::verify_async`, so a cache that answers over the network works.
    pub fn with_replay_cache(mut self, cache: Arc<dyn ReplayCache>) -> Self {
        self.replay_cache = Some(cache);
        self
    }
}
