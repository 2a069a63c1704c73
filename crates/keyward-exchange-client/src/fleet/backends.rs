//! The backends of one connected [`Fleet`], each on its connection, prefix and timeout: what a
//! verifier, a nonce-signing client, the session layer and a breaker take from the fleet.

use std::sync::Arc;

use keyward_core_crypto::KeyRing;
use keyward_resilience::CircuitBreaker;
use keyward_signing::redis::RedisReplayCache;
use keyward_signing::{Clock, NonceUnit};

use super::{Fleet, FleetBreaker, FleetLogin, SharedBudget};
use crate::session::TokenProvider;

impl Fleet {
    /// The fleet's replay memory, for every replica's verifier
    /// (`Verifier::with_cache(Arc::new(fleet.replay_cache()))`, then `verify_async`).
    pub fn replay_cache(&self) -> RedisReplayCache {
        RedisReplayCache::new(self.connection(), self.prefix()).with_timeout(self.timeout())
    }

    /// The fleet's nonce sequence for the API key called `key_name` (its credential name,
    /// hashed into the counter's key), for `ClientBuilder::nonce_source`. Add a local floor with
    /// `with_floor_file`.
    #[cfg(unix)]
    pub fn nonce_source(
        &self,
        key_name: &str,
        unit: NonceUnit,
        clock: Arc<dyn Clock>,
    ) -> keyward_signing::redis::RedisNonce {
        keyward_signing::redis::RedisNonce::new(
            self.connection(),
            self.prefix(),
            key_name,
            unit,
            clock,
        )
        .with_timeout(self.timeout())
    }

    /// `provider`'s login made single flight across the fleet, its token shared sealed under
    /// `key` (the same ring in every process), for a `TokenCache` or a `SessionSupervisor`.
    pub fn login<P: TokenProvider>(&self, provider: P, key: KeyRing) -> FleetLogin<P> {
        FleetLogin::new(provider, self.connection(), self.prefix(), key)
            .with_timeout(self.timeout())
    }

    /// The fleet's shared rate budget for the processes behind the IP called `egress` (the
    /// same name for every process that sends from one address), with the fleet's size and
    /// timeout, for `ClientBuilder::shared_budget` (or `ClientBuilder::fleet`, which sets it).
    pub fn budget(&self, egress: &str) -> SharedBudget {
        SharedBudget::new(self.connection(), self.prefix(), egress)
            .with_fleet_size(self.fleet_size().get())
            .with_timeout(self.timeout())
    }

    /// Publishes `breaker`'s openings to the fleet and reads the others' (call `attach`).
    pub fn breaker(&self, breaker: &CircuitBreaker) -> FleetBreaker {
        FleetBreaker::new(breaker, self.connection(), self.prefix()).with_timeout(self.timeout())
    }
}
