//! [`RedisReplayCache`]: one replay memory shared by every verifier replica of a fleet.

use std::fmt;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::epoch::{Status, fresh_id, parse_reply};
use super::{DEFAULT_TIMEOUT, RedisError, bounded};
use crate::verify::{MAX_ENTRY_LIFETIME_MS, ReplayCache, ReplayEntry, ReplayId, ReplayRefusal};

/// The decision script: the entry's `SET NX PX` and the epoch check, atomic, in one round trip.
static SCRIPT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("replay.lua")));

/// What a [`RedisReplayCache`] decided about one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayDecision {
    /// Remembered: the request is new to the fleet.
    Accepted,
    /// The fleet accepted the same request before and its entry is still live.
    Replayed,
    /// Redis restarted empty after the request could first have been accepted: it may have
    /// been accepted before the restart, so it is refused.
    SignedBeforeRestart,
    /// The entry would outlive [`MAX_ENTRY_LIFETIME_MS`]; refused without asking Redis.
    TooLong,
}

/// A replay cache in Redis, shared by every verifier of a fleet: a request accepted by one
/// replica is a replay at every other. Use it with
/// [`Verifier::with_cache`](crate::verify::Verifier::with_cache) and verify with
/// [`Verifier::verify_async`](crate::verify::Verifier::verify_async) (or
/// [`Verifier::verify_ws_async`](crate::verify::Verifier::verify_ws_async)).
///
/// Each decision is one Lua script (one round trip, atomic): `SET <prefix>:{replay}:<hex id> 1 NX
/// PX <expires - now>` plus the epoch check below. Of concurrent decisions on one request, across
/// all replicas, exactly one is accepted.
///
/// # Failure semantics
/// - **Redis unreachable, failing, or slower than the timeout** (default
///   [`DEFAULT_TIMEOUT`]): the request is refused with [`ReplayRefusal::Unavailable`]
///   (the verifier answers 503, retry later), never accepted unchecked: fail closed.
/// - **Redis restarted empty**: detected through the epoch key `<prefix>:{replay}:epoch`
///   (its creation time `R` on the verifier's clock, a random id, and a restarted flag). Each
///   cache remembers the epoch id it saw last. A cache that had seen an epoch and finds the key
///   missing creates a new one flagged restarted; one that finds another id than it saw flags the
///   current epoch restarted. A brand-new fleet (no cache had seen an epoch) creates a fresh one
///   and refuses nothing. While the epoch is restarted, entries whose
///   [`ReplayEntry::valid_from_ms`] lies before `R` are refused
///   ([`ReplayRefusal::SignedBeforeRestart`]): a replay of a request accepted before the restart
///   cannot slip through the empty memory. Such requests are stale one window after `R`
///   anyway; requests that could only be accepted after `R` pass at once. The detection is
///   logged once (`tracing::warn`).
/// - **Garbage in the epoch key** (another program wrote it): every decision fails closed with
///   [`ReplayRefusal::Unavailable`] ([`Self::decide`] says [`RedisError::Unexpected`]) until
///   the key is deleted.
/// - **Eviction**: Redis must run with `maxmemory-policy noeviction`. An evicted entry would let
///   its replay through; with `noeviction` a full Redis answers writes with an OOM error, and
///   decisions fail closed.
///
/// Its synchronous [`ReplayCache::check_and_insert`] cannot ask Redis and always refuses with
/// [`ReplayRefusal::Unavailable`]: a shared cache answers only through
/// [`ReplayCache::check_and_insert_shared`], which `verify_async` calls.
///
/// Errors and logs carry key names (the prefix is the fleet's name) and Redis's own messages,
/// never a request, a signature or a secret.
pub struct RedisReplayCache {
    conn: ConnectionManager,
    prefix: String,
    epoch_key: String,
    timeout: Duration,
    /// The epoch id this cache saw last (None: none yet, a fresh fleet for all it knows).
    seen: Mutex<Option<String>>,
}

impl RedisReplayCache {
    /// A cache on `conn` with keys under `prefix` (the fleet's name), each call bounded by
    /// [`DEFAULT_TIMEOUT`].
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            epoch_key: format!("{prefix}:{{replay}}:epoch"),
            timeout: DEFAULT_TIMEOUT,
            seen: Mutex::new(None),
        }
    }

    /// Bounds every call to Redis by `timeout`; past it the decision fails closed.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The key an entry is remembered under: `<prefix>:{replay}:<32 hex digits>`.
    pub fn entry_key(&self, id: ReplayId) -> String {
        format!("{}:{{replay}}:{id:032x}", self.prefix)
    }

    /// The epoch key: `<prefix>:{replay}:epoch`.
    pub fn epoch_key(&self) -> &str {
        &self.epoch_key
    }

    /// Decides `entry` in one round trip: remembered ([`ReplayDecision::Accepted`]), a replay,
    /// or signed before a restart. A Redis that cannot answer is an error; the
    /// [`ReplayCache`] methods turn it into a refusal (fail closed).
    pub async fn decide(&self, entry: ReplayEntry) -> Result<ReplayDecision, RedisError> {
        if entry.expires_at_ms.saturating_sub(entry.now_ms) > MAX_ENTRY_LIFETIME_MS {
            return Ok(ReplayDecision::TooLong);
        }
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .unwrap_or_default();
        // An entry already stale still needs a live key for PX; it dies within a millisecond.
        let px = entry.expires_at_ms.saturating_sub(entry.now_ms).max(1);
        let mut conn = self.conn.clone();
        let mut invocation = SCRIPT.prepare_invoke();
        invocation
            .key(self.entry_key(entry.id))
            .key(&self.epoch_key)
            .arg(entry.now_ms)
            .arg(px)
            .arg(entry.valid_from_ms)
            .arg(seen.as_str())
            .arg(fresh_id()?);
        let reply: Vec<String> = bounded(self.timeout, invocation.invoke_async(&mut conn)).await?;
        let reply = parse_reply(&self.epoch_key, &reply)?;
        if reply.detected {
            tracing::warn!(
                epoch_key = %self.epoch_key,
                restarted_at_ms = reply.epoch.created_ms,
                "the shared replay memory restarted empty: requests that could have been accepted before the restart are refused for one window; run Redis with maxmemory-policy noeviction and keep it up"
            );
        }
        *self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reply.epoch.id);
        Ok(match reply.status {
            Status::Accepted => ReplayDecision::Accepted,
            Status::Replayed => ReplayDecision::Replayed,
            Status::BeforeRestart => ReplayDecision::SignedBeforeRestart,
        })
    }
}

#[async_trait::async_trait]
impl ReplayCache for RedisReplayCache {
    /// Always a refusal: [`ReplayRefusal::TooLong`] past [`MAX_ENTRY_LIFETIME_MS`], else
    /// [`ReplayRefusal::Unavailable`], since Redis answers only asynchronously. Verify with
    /// [`Verifier::verify_async`](crate::verify::Verifier::verify_async).
    fn check_and_insert(
        &self,
        _: ReplayId,
        expires_at_ms: u64,
        now_ms: u64,
    ) -> Result<(), ReplayRefusal> {
        if expires_at_ms.saturating_sub(now_ms) > MAX_ENTRY_LIFETIME_MS {
            return Err(ReplayRefusal::TooLong);
        }
        Err(ReplayRefusal::Unavailable)
    }

    async fn check_and_insert_shared(&self, entry: ReplayEntry) -> Result<(), ReplayRefusal> {
        match self.decide(entry).await {
            Ok(ReplayDecision::Accepted) => Ok(()),
            Ok(ReplayDecision::Replayed) => Err(ReplayRefusal::Replayed),
            Ok(ReplayDecision::SignedBeforeRestart) => Err(ReplayRefusal::SignedBeforeRestart),
            Ok(ReplayDecision::TooLong) => Err(ReplayRefusal::TooLong),
            Err(error) => {
                tracing::debug!(%error, "replay decision failed closed");
                Err(ReplayRefusal::Unavailable)
            }
        }
    }
}

impl fmt::Debug for RedisReplayCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayCache")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
