//! The fleet's shared rate budget for a REST client: [`SharedBudget`] (what the builder takes)
//! and [`FleetBudget`] (what a built client decides with).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use keyward_resilience::limiter::Limit;
use keyward_resilience::redis::{
    ConnectionManager, DEFAULT_PROBE_INTERVAL, DEFAULT_TIMEOUT, SharedLimiter,
};
use keyward_resilience::{Monotonic, MonotonicClock, Sleep};
use sha2::{Digest, Sha256};

use crate::venue::Venue;

/// A fleet's shared rate budget, for [`ClientBuilder::shared_budget`](crate::ClientBuilder::shared_budget):
/// a connection to the fleet's Redis, the fleet's key prefix, the fleet's size and the name of
/// the IP its requests leave from.
///
/// Each of the client's limits is keyed as its venue scopes it ([`LimitScope`](super::LimitScope)):
/// `<prefix>:{rl:<venue>:ip:<egress>}:<limit>` for a per-IP limit (Binance's weight),
/// `<prefix>:{rl:<venue>:acct:<key id>}:<limit>` for a per-account limit (Binance's orders, OKX),
/// `<prefix>:{rl:<venue>:acct:<key id>:<group>}:<limit>` for an endpoint group of an account
/// (Bybit). The key id is the first 128 bits of a SHA-256 of the venue and the API key, in hex:
/// the same in every process with that key, and never the key. The egress name is yours to
/// choose (a host or NAT gateway name): give the same one to every process behind one IP.
///
/// Failure semantics are [`SharedLimiter`]'s: Redis unreachable → each process decides locally
/// on `1 / fleet_size` of each limit, with a warning and [`FleetBudget::is_degraded`].
#[derive(Clone)]
pub struct SharedBudget {
    conn: ConnectionManager,
    prefix: String,
    egress: String,
    fleet_size: u32,
    timeout: Duration,
    probe_interval: Duration,
    clock: Option<Arc<dyn Monotonic>>,
}

impl SharedBudget {
    /// A budget on `conn`, with keys under `prefix` (the fleet's name), for processes whose
    /// requests leave from the IP named `egress`. Fleet size 1 until
    /// [`with_fleet_size`](Self::with_fleet_size).
    pub fn new(conn: ConnectionManager, prefix: &str, egress: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            egress: egress.to_owned(),
            fleet_size: 1,
            timeout: DEFAULT_TIMEOUT,
            probe_interval: DEFAULT_PROBE_INTERVAL,
            clock: None,
        }
    }

    /// How many processes share the budget (the divisor of the degraded local share; at
    /// least 1).
    #[must_use]
    pub fn with_fleet_size(mut self, fleet_size: u32) -> Self {
        self.fleet_size = fleet_size.max(1);
        self
    }

    /// The longest one call to Redis may take (default 500 ms).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a degraded budget decides locally before asking Redis again (default 1 s).
    #[must_use]
    pub fn with_probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Decides on this clock instead of Redis's `TIME` (tests: every process must share the
    /// time base, as a frozen clock at its origin does).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Monotonic>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The budget of one client: its limits grouped by the venue's scopes, each group a
    /// [`SharedLimiter`] under the scope's id.
    pub(crate) fn for_client(
        &self,
        venue: Venue,
        api_key: &str,
        limits: Vec<Limit>,
        max_wait: Duration,
    ) -> keyward_resilience::Result<FleetBudget> {
        let key_id = key_id(venue.name(), api_key);
        let mut groups: Vec<(String, Vec<Limit>)> = Vec::new();
        for limit in limits {
            let scope = venue
                .limit_scope(&limit)
                .id(venue.name(), &self.egress, &key_id);
            match groups.iter_mut().find(|(s, _)| *s == scope) {
                Some((_, group)) => group.push(limit),
                None => groups.push((scope, vec![limit])),
            }
        }
        let mut built = Vec::with_capacity(groups.len());
        for (scope, limits) in groups {
            let mut b = SharedLimiter::builder(self.conn.clone(), &self.prefix, limits)
                .with_fleet_size(self.fleet_size)
                .with_timeout(self.timeout)
                .with_probe_interval(self.probe_interval)
                .with_max_wait(max_wait);
            if let Some(clock) = &self.clock {
                b = b.with_clock(clock.clone());
            }
            built.push((scope, b.build()?));
        }
        Ok(FleetBudget {
            groups: built,
            max_wait,
            wait_clock: self
                .clock
                .clone()
                .unwrap_or_else(|| Arc::new(MonotonicClock::new())),
        })
    }
}

impl fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBudget")
            .field("prefix", &self.prefix)
            .field("egress", &self.egress)
            .field("fleet_size", &self.fleet_size)
            .finish_non_exhaustive()
    }
}

/// The id of an API key in key names: the first 128 bits of SHA-256 over the venue's name and
/// the key, in hex. Never the key.
fn key_id(venue: &str, api_key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"keyward rate budget\0")
        .chain_update(venue.as_bytes())
        .chain_update(b"\0")
        .chain_update(api_key.as_bytes())
        .finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// One client's shared budget: a [`SharedLimiter`] per scope its limits count in.
///
/// A request is charged scope by scope (each scope's windows atomically, in one script); when
/// a later scope refuses, what the earlier ones charged is given back, so a refused request
/// costs nothing anywhere. Waits are bounded by the client's max rate-limit wait.
pub struct FleetBudget {
    groups: Vec<(String, SharedLimiter)>,
    max_wait: Duration,
    wait_clock: Arc<dyn Monotonic>,
}

impl FleetBudget {
    /// The Redis key of every limit, as every process of the fleet with this venue, key,
    /// egress and prefix names it.
    pub fn keys(&self) -> Vec<String> {
        self.groups
            .iter()
            .flat_map(|(scope, l)| {
                l.limits()
                    .into_iter()
                    .map(move |limit| l.key(scope, &limit.name))
            })
            .collect()
    }

    /// Whether any scope is deciding locally because Redis did not answer.
    pub fn is_degraded(&self) -> bool {
        self.groups.iter().any(|(_, l)| l.is_degraded())
    }

    /// Decisions the degraded local shares took, over all scopes.
    pub fn local_decisions(&self) -> u64 {
        self.groups.iter().map(|(_, l)| l.local_decisions()).sum()
    }

    /// Each scope's id with its limiter (its limits, health and counters).
    pub fn scopes(&self) -> impl Iterator<Item = (&str, &SharedLimiter)> {
        self.groups.iter().map(|(s, l)| (s.as_str(), l))
    }

    /// Charges `costs` in every scope, or nothing: see the type's docs. The whole wait is
    /// bounded by the max wait, as [`SharedLimiter::until_ready`]'s.
    pub(crate) async fn until_ready(
        &self,
        costs: &[(&str, u32)],
        sleep: &dyn Sleep,
    ) -> keyward_resilience::Result<()> {
        let started = self.wait_clock.now();
        loop {
            match self.check(costs).await {
                Err(keyward_resilience::Error::RateLimited { limit, wait }) => {
                    let waited = self.wait_clock.now().saturating_sub(started);
                    if waited.saturating_add(wait) > self.max_wait {
                        return Err(keyward_resilience::Error::RateLimited { limit, wait });
                    }
                    sleep.sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn check(&self, costs: &[(&str, u32)]) -> keyward_resilience::Result<()> {
        let mut charged = Vec::with_capacity(self.groups.len());
        for (scope, limiter) in &self.groups {
            match limiter.check_charge(scope, costs).await {
                Ok(charge) => charged.push((limiter, charge)),
                Err(refused) => {
                    for (limiter, charge) in charged {
                        if let Err(e) = limiter.refund(&charge).await {
                            tracing::warn!(error = %e, "a shared rate budget refund failed");
                        }
                    }
                    return Err(refused);
                }
            }
        }
        Ok(())
    }

    /// Raises every scope's shared count to what the venue's usage headers report. A failure
    /// (bad data in a key) is logged, not returned: the answer it came with stands.
    pub(crate) async fn resync(&self, headers: &[(&str, &str)]) {
        for (scope, limiter) in &self.groups {
            if let Err(e) = limiter.resync(scope, headers.iter().copied()).await {
                tracing::warn!(scope = %scope, error = %e, "the shared rate budget could not be resynced from the venue's usage headers");
            }
        }
    }
}

impl fmt::Debug for FleetBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetBudget")
            .field(
                "scopes",
                &self.groups.iter().map(|(s, _)| s).collect::<Vec<_>>(),
            )
            .field("degraded", &self.is_degraded())
            .finish_non_exhaustive()
    }
}

/// A test's own redis-server (the workspace's test support, shared by every Redis suite).
#[cfg(test)]
#[path = "../../../../tests/support/redis_server.rs"]
mod redis_server;

#[cfg(test)]
mod tests {
    use super::redis_server;
    use keyward_resilience::{Error, ManualClock, ManualSleep};
    use keyward_signing::Scheme;
    use redis::AsyncCommands;

    use super::*;
    use crate::fleet::LimitScope;

    const CANARY_KEY: &str = "CANARYapiKEY0123456789";

    async fn connect(server: &redis_server::RedisServer) -> ConnectionManager {
        redis::Client::open(server.url())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap()
    }

    #[test]
    fn each_venue_declares_its_scopes() {
        let orders = Limit::new("orders/10s", "orders", 50, Duration::from_secs(10));
        let weight = Limit::new("weight/1m", "weight", 6_000, Duration::from_secs(60));
        let scope = |s: Scheme, l: &Limit| Venue::new(s).limit_scope(l);
        assert_eq!(scope(Scheme::Binance, &weight), LimitScope::Ip);
        assert_eq!(scope(Scheme::Binance, &orders), LimitScope::Account);
        assert_eq!(
            scope(Scheme::Bybit, &orders),
            LimitScope::AccountGroup("trade")
        );
        assert_eq!(
            scope(Scheme::Bybit, &weight),
            LimitScope::AccountGroup("other")
        );
        assert_eq!(scope(Scheme::Okx, &weight), LimitScope::Account);
        assert_eq!(scope(Scheme::Bitmex, &weight), LimitScope::Account);
    }

    #[tokio::test]
    async fn every_process_names_the_same_keys_and_never_the_api_key() {
        let Some(server) = redis_server::RedisServer::start() else {
            return;
        };
        let venue = Venue::new(Scheme::Binance);
        // Two processes: two connections, the same configuration.
        let build = |conn, egress: &str| {
            SharedBudget::new(conn, "fleet-x", egress)
                .with_fleet_size(3)
                .for_client(
                    venue,
                    CANARY_KEY,
                    venue.default_limits(),
                    Duration::from_secs(60),
                )
                .unwrap()
        };
        let a = build(connect(&server).await, "nat-1");
        let b = build(connect(&server).await, "nat-1");
        assert_eq!(a.keys(), b.keys());
        let id = key_id("binance", CANARY_KEY);
        assert_eq!(
            a.keys(),
            vec![
                "fleet-x:{rl:binance:ip:nat-1}:weight/1m".to_owned(),
                format!("fleet-x:{{rl:binance:acct:{id}}}:orders/10s"),
                format!("fleet-x:{{rl:binance:acct:{id}}}:orders/1d"),
            ]
        );
        // Behind another IP: another weight budget, the same account's orders.
        let c = build(connect(&server).await, "nat-2");
        assert_ne!(a.keys()[0], c.keys()[0]);
        assert_eq!(a.keys()[1..], c.keys()[1..]);
        let shown = format!("{a:?} {:?}", a.keys());
        assert!(!shown.contains("CANARY"), "{shown}");
    }

    #[tokio::test]
    async fn a_refusal_in_one_scope_gives_back_the_other_scopes_charge() {
        let Some(server) = redis_server::RedisServer::start() else {
            return;
        };
        let conn = connect(&server).await;
        let venue = Venue::new(Scheme::Binance);
        let limits = vec![
            Limit::new("weight/1m", "weight", 100, Duration::from_secs(60)).with_burst(100),
            Limit::new("orders/10s", "orders", 1, Duration::from_secs(10)).with_burst(1),
        ];
        let budget = SharedBudget::new(conn.clone(), "fleet-x", "nat-1")
            .with_clock(Arc::new(ManualClock::new()))
            .for_client(venue, CANARY_KEY, limits, Duration::ZERO)
            .unwrap();
        let sleep = ManualSleep::new(Arc::new(ManualClock::new()));
        let order = [("weight", 1), ("orders", 1)];
        budget.until_ready(&order, &sleep).await.unwrap();
        let mut c = conn.clone();
        let weight_key = "fleet-x:{rl:binance:ip:nat-1}:weight/1m";
        let after_one: String = c.get(weight_key).await.unwrap();
        // The account's orders window refuses the second order: the IP's weight is given back.
        match budget.until_ready(&order, &sleep).await {
            Err(Error::RateLimited { limit, .. }) => assert_eq!(limit, "orders/10s"),
            other => panic!("{other:?}"),
        }
        let after_two: String = c.get(weight_key).await.unwrap();
        assert_eq!(after_one, after_two);
        assert!(sleep.slept().is_empty());
        // A read (weight only) still fits.
        budget.until_ready(&[("weight", 1)], &sleep).await.unwrap();
        assert!(!budget.is_degraded());
    }

    #[test]
    fn a_key_id_is_a_stable_hash_and_never_the_key() {
        let a = key_id("binance", "CANARY-api-key-1");
        assert_eq!(a, key_id("binance", "CANARY-api-key-1"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("CANARY"));
        assert_ne!(a, key_id("binance", "CANARY-api-key-2"));
        assert_ne!(a, key_id("okx", "CANARY-api-key-1"));
    }
}
