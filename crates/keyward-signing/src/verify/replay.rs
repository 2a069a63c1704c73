//! The replay cache: remembers accepted requests until they would be rejected as stale anyway.
//!
//! Memory is bounded: every entry expires with the freshness window (itself capped at
//! [`Window::MAX`](crate::verify::Window::MAX)), no entry is remembered longer than
//! [`MAX_ENTRY_LIFETIME_MS`], and at a hard cap the
//! cache fails closed (it refuses new requests) rather than forgetting entries that are still
//! live, which would let a replay through. It is sharded, so concurrent verifications do not
//! serialise on one lock; the check and the insert happen under one shard lock, so two threads
//! racing the same request cannot both be accepted.
//!
//! Each shard is a flat open-addressing table of ids, its entries grouped by expiry bucket
//! (1.024 s of expiries) so that a whole bucket expires in one pass: no per-entry expiry, heap
//! or tombstone, 18 bytes per slot, 24 to 36 bytes per entry (`replay_table.rs`).

use std::hash::BuildHasher as _;
use std::sync::Mutex;

use super::replay_table::{Probe, Table};

/// A replay identifier: the first 16 bytes of a SHA-256 over the scheme and the request's
/// identity (its signature; for keyward-v1 what it signs apart from the key id), never the key
/// that verified it. 128 bits make an accidental collision negligible at any realistic volume.
pub type ReplayId = u128;

/// The longest any entry is remembered: 2 hours. Every window is capped at
/// [`Window::MAX`](crate::verify::Window::MAX) (1 hour into the past, 1 minute into the
/// future), so an accepted request is stale well before this; the ceiling holds whatever a
/// request or a caller asks, so no entry can pin the cache for longer.
pub const MAX_ENTRY_LIFETIME_MS: u64 = 2 * 3_600_000;

/// Why the cache refused an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayRefusal {
    /// The same request was accepted before and its entry is still live.
    Replayed,
    /// The cache is full of live entries; failing closed.
    Full,
    /// The entry would have to be remembered longer than [`MAX_ENTRY_LIFETIME_MS`]; refused
    /// rather than forgotten early, which would let a replay through.
    TooLong,
    /// A shared memory (Redis) could not be reached, answered an error or something it never
    /// writes, or did not answer in time. Failing closed: the request is refused, never accepted
    /// unchecked. The client may retry later (the verifier answers 503).
    Unavailable,
    /// The shared memory restarted empty after the request could first have been accepted
    /// (its [`ReplayEntry::valid_from_ms`] lies before the restart), so the memory cannot tell
    /// whether it was accepted before. Refused for one window after a restart; the client signs
    /// a new request.
    SignedBeforeRestart,
}

/// One decision asked of a replay cache: remember `id` until `expires_at_ms`, judged at `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayEntry {
    /// The request's identity.
    pub id: ReplayId,
    /// The earliest time at which the verifier could have accepted this exact request: for a
    /// timestamp window `timestamp - future`, for an `expires` rule `expires - max_ahead`. A
    /// shared cache that restarted empty at `R` refuses entries with `valid_from_ms < R` for a
    /// while, since such a request may have been accepted before the restart.
    pub valid_from_ms: u64,
    /// Until when the request must be remembered: after this, it is stale anyway.
    pub expires_at_ms: u64,
    /// The verifier's clock at the decision.
    pub now_ms: u64,
}

/// A store of accepted requests. The built-in [`ShardedReplayCache`] lives in memory; a shared
/// store (for several server processes, such as `keyward_signing::redis::RedisReplayCache`)
/// implements [`ReplayCache::check_and_insert_shared`] too and is used through
/// [`Verifier::verify_async`](crate::verify::Verifier::verify_async).
#[async_trait::async_trait]
pub trait ReplayCache: Send + Sync + std::fmt::Debug {
    /// Records `id` as accepted until `expires_at_ms`, unless it is already recorded (and live),
    /// the cache is full, or `expires_at_ms` lies more than [`MAX_ENTRY_LIFETIME_MS`] after
    /// `now_ms`. Must be atomic: of two concurrent calls with one `id`, at most one succeeds.
    fn check_and_insert(
        &self,
        id: ReplayId,
        expires_at_ms: u64,
        now_ms: u64,
    ) -> Result<(), ReplayRefusal>;

    /// The same decision for a cache that answers asynchronously (over the network), with the
    /// entry's [`ReplayEntry::valid_from_ms`] as well. The default calls
    /// [`Self::check_and_insert`], which an in-memory cache answers at once.
    async fn check_and_insert_shared(&self, entry: ReplayEntry) -> Result<(), ReplayRefusal> {
        self.check_and_insert(entry.id, entry.expires_at_ms, entry.now_ms)
    }
}

/// An in-memory, sharded, bounded replay cache.
///
/// Each shard is an open-addressing table of 18-byte slots (the 128-bit id and a 2-byte tag
/// naming the id's expiry bucket) behind its own lock; entries whose expiries fall in the same
/// 1.024 s bucket expire together, in one pass over the shard, and an entry counts as live
/// until the latest expiry in its bucket (its own rounded up, never down). Tables grow by half
/// as entries arrive, so memory follows the live entries, not the cap: 24 to 36 bytes per
/// entry (see `replay_table.rs` for the layout and what growth costs).
#[derive(Debug)]
pub struct ShardedReplayCache {
    shards: Vec<Padded>,
    shard_cap: usize,
    /// The largest table a shard grows to: `shard_cap` live entries and an eighth as many
    /// expired ones not swept yet, at a load of 3/4.
    max_slots: usize,
    /// Seeds where ids land in a table, so no caller can choose ids that collide there.
    seed: [u64; 2],
}

/// A shard on its own cache line(s), so two cores working on neighbouring shards do not
/// contend for one line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Padded(Mutex<Table>);

impl ShardedReplayCache {
    /// The default number of shards.
    pub const DEFAULT_SHARDS: usize = 64;

    /// A cache holding at most `capacity` live entries, over [`Self::DEFAULT_SHARDS`] shards.
    pub fn new(capacity: usize) -> Self {
        Self::with_shards(capacity, Self::DEFAULT_SHARDS)
    }

    /// A cache holding at most `capacity` live entries over `shards` shards (at least one). Each
    /// shard holds `capacity / shards` entries (rounded up), so the cache fails closed when any
    /// shard is full; entries spread evenly because ids are hash outputs. No memory is taken
    /// up front: each shard's table grows with its entries.
    pub fn with_shards(capacity: usize, shards: usize) -> Self {
        let shards = shards.max(1);
        let shard_cap = capacity.div_ceil(shards).max(1);
        let random = std::collections::hash_map::RandomState::new();
        Self {
            shards: (0..shards).map(|_| Padded::default()).collect(),
            shard_cap,
            max_slots: shard_cap.saturating_add(shard_cap / 2).saturating_add(2),
            seed: [random.hash_one(1u8), random.hash_one(2u8)],
        }
    }

    /// The number of live entries: an entry is live until the latest expiry in its bucket
    /// (its own expiry, rounded up within 1.024 s). Expired entries are dropped from memory
    /// in batches, when their shard needs the room.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.0.lock().map_or(0, |s| s.live()))
            .sum()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of memory the cache occupies: every shard's table and bucket list at their
    /// current capacities, and the shards themselves.
    pub fn approx_bytes(&self) -> usize {
        self.shards.len() * std::mem::size_of::<Padded>()
            + self
                .shards
                .iter()
                .map(|s| s.0.lock().map_or(0, |s| s.bytes()))
                .sum::<usize>()
    }

    fn shard(&self, id: ReplayId) -> &Mutex<Table> {
        // Ids are hash outputs: their low bits are uniform.
        &self.shards[(id as usize) % self.shards.len()].0
    }
}

impl ReplayCache for ShardedReplayCache {
    fn check_and_insert(
        &self,
        id: ReplayId,
        expires_at_ms: u64,
        now_ms: u64,
    ) -> Result<(), ReplayRefusal> {
        if expires_at_ms.saturating_sub(now_ms) > MAX_ENTRY_LIFETIME_MS {
            return Err(ReplayRefusal::TooLong);
        }
        // A poisoned lock means a panic elsewhere while holding it; the table is still valid
        // (every write to it is a whole slot), and refusing every request forever would be worse.
        let mut table = self
            .shard(id)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = table.live();
        let result = self.insert_locked(&mut table, id, expires_at_ms, now_ms);
        super::observe::replay_fill(before, table.live());
        result
    }
}

impl ShardedReplayCache {
    /// [`ReplayCache::check_and_insert`] on the locked shard `table`.
    fn insert_locked(
        &self,
        table: &mut Table,
        id: ReplayId,
        expires_at_ms: u64,
        now_ms: u64,
    ) -> Result<(), ReplayRefusal> {
        table.expire(now_ms);
        let found = table.probe(id, self.seed);
        if matches!(found, Probe::Held) {
            return Err(ReplayRefusal::Replayed);
        }
        if table.live() >= self.shard_cap {
            return Err(ReplayRefusal::Full);
        }
        if expires_at_ms <= now_ms {
            // Stale already: never live, nothing to remember.
            return Ok(());
        }
        if !table.insert(id, expires_at_ms, found, self.max_slots, self.seed) {
            // No memory to grow the table: fail closed.
            return Err(ReplayRefusal::Full);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_second_insert_is_a_replay_until_expiry() {
        let cache = ShardedReplayCache::new(10);
        assert_eq!(cache.check_and_insert(1, 100, 0), Ok(()));
        assert_eq!(
            cache.check_and_insert(1, 100, 99),
            Err(ReplayRefusal::Replayed)
        );
        // At its expiry the entry is gone (the request would be stale by then).
        assert_eq!(cache.check_and_insert(1, 200, 100), Ok(()));
    }

    #[test]
    fn fails_closed_at_the_cap_and_recovers_after_expiry() {
        let cache = ShardedReplayCache::with_shards(1000, 1);
        for id in 0..1000 {
            assert_eq!(cache.check_and_insert(id, 500, 0), Ok(()));
        }
        assert_eq!(
            cache.check_and_insert(5000, 500, 10),
            Err(ReplayRefusal::Full)
        );
        // Live entries are never evicted to make room.
        assert_eq!(
            cache.check_and_insert(7, 500, 10),
            Err(ReplayRefusal::Replayed)
        );
        assert_eq!(cache.check_and_insert(5000, 900, 500), Ok(()));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn racing_threads_accept_one_copy_only() {
        for round in 0..200u128 {
            let cache = Arc::new(ShardedReplayCache::new(100));
            let barrier = Arc::new(std::sync::Barrier::new(4));
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let (cache, barrier) = (cache.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        cache.check_and_insert(round, 1000, 0).is_ok()
                    })
                })
                .collect();
            let accepted = handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|ok| *ok)
                .count();
            assert_eq!(accepted, 1, "round {round}");
        }
    }

    #[tokio::test]
    async fn the_shared_decision_defaults_to_the_sync_one() {
        let cache = ShardedReplayCache::new(10);
        let entry = ReplayEntry {
            id: 9,
            valid_from_ms: 0,
            expires_at_ms: 100,
            now_ms: 10,
        };
        assert_eq!(cache.check_and_insert_shared(entry).await, Ok(()));
        assert_eq!(
            cache.check_and_insert_shared(entry).await,
            Err(ReplayRefusal::Replayed)
        );
        assert_eq!(
            cache.check_and_insert(9, 100, 50),
            Err(ReplayRefusal::Replayed)
        );
        let too_long = ReplayEntry {
            expires_at_ms: 10 + MAX_ENTRY_LIFETIME_MS + 1,
            id: 10,
            ..entry
        };
        assert_eq!(
            cache.check_and_insert_shared(too_long).await,
            Err(ReplayRefusal::TooLong)
        );
    }

    #[test]
    fn memory_stays_bounded_over_a_million_distinct_requests() {
        // 1,000,000 distinct requests arriving at 1,000 per (simulated) second, each live for
        // 300 s: at most 300,000 are live at once, and the cache never holds more than its cap.
        let cap = 400_000;
        let cache = ShardedReplayCache::new(cap);
        let mut peak_len = 0;
        let mut peak_bytes = 0;
        for i in 0..1_000_000u64 {
            let now = i; // one millisecond per request
            let id = u128::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
            assert_eq!(
                cache.check_and_insert(id, now + 300_000, now),
                Ok(()),
                "request {i}"
            );
            if i % 50_000 == 0 {
                peak_len = peak_len.max(cache.len());
                peak_bytes = peak_bytes.max(cache.approx_bytes());
            }
        }
        // Expired entries are purged lazily, when their shard is next used: a few per shard linger.
        assert!(peak_len <= 300_000 + 64 * 100, "{peak_len} live entries");
        // Map and heap slots of about 57 bytes, at most doubled by growth.
        assert!(peak_bytes <= cap * 2 * 57 + 64 * 4096, "{peak_bytes} bytes");
    }

    /// What the cache accepted, with exact expiries. An entry must be remembered until its
    /// expiry (never forgotten early); it may be remembered longer (rounded up to its bucket,
    /// see `replay_table.rs`).
    #[derive(Default)]
    struct Model(std::collections::HashMap<ReplayId, u64>);

    impl Model {
        fn live(&self, now: u64) -> usize {
            self.0.values().filter(|e| **e > now).count()
        }
    }

    proptest::proptest! {
        #[test]
        fn never_forgets_an_entry_early(
            ops in proptest::collection::vec((0u128..40, 0u64..8_000, 0u64..400), 1..400),
            cap in 1usize..30,
        ) {
            use proptest::prop_assert as check;
            let cache = ShardedReplayCache::with_shards(cap, 1);
            let mut model = Model::default();
            let mut now = 1_000_000u64;
            for (id, lifetime, step) in ops {
                now += step;
                // Ids spread over the table, a few of them repeated.
                let id = id.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
                let known = model.0.get(&id).copied();
                let live = known.is_some_and(|e| e > now);
                let answer = cache.check_and_insert(id, now + lifetime, now);
                match answer {
                    Ok(()) => {
                        check!(!live && model.live(now) < cap, "{answer:?}");
                        if lifetime > 0 {
                            model.0.insert(id, now + lifetime);
                        }
                    }
                    Err(ReplayRefusal::Replayed) => check!(known.is_some()),
                    Err(ReplayRefusal::Full) => check!(!live),
                    Err(other) => check!(false, "{other:?}"),
                }
                if live {
                    proptest::prop_assert_eq!(answer, Err(ReplayRefusal::Replayed));
                }
                let len = cache.len();
                check!(model.live(now) <= len);
            }
        }
    }

    #[test]
    fn full_exactly_at_the_cap_and_open_exactly_at_expiry() {
        let cache = ShardedReplayCache::with_shards(3, 1);
        for id in 0..3 {
            assert_eq!(cache.check_and_insert(id, 10_000, 0), Ok(()));
        }
        assert_eq!(
            cache.check_and_insert(3, 10_000, 0),
            Err(ReplayRefusal::Full)
        );
        assert_eq!(
            cache.check_and_insert(3, 19_999, 9_999),
            Err(ReplayRefusal::Full)
        );
        assert_eq!(
            cache.check_and_insert(0, 20_000, 9_999),
            Err(ReplayRefusal::Replayed)
        );
        assert_eq!(cache.check_and_insert(3, 20_000, 10_000), Ok(()));
        assert_eq!(cache.check_and_insert(0, 20_000, 10_000), Ok(()));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn an_entry_is_kept_until_the_latest_expiry_of_its_bucket() {
        let cache = ShardedReplayCache::with_shards(10, 1);
        // Same bucket (1024..2048 ms): the first is kept until the second expires.
        assert_eq!(cache.check_and_insert(1, 1_100, 0), Ok(()));
        assert_eq!(cache.check_and_insert(2, 2_000, 0), Ok(()));
        assert_eq!(
            cache.check_and_insert(1, 3_000, 1_100),
            Err(ReplayRefusal::Replayed)
        );
        assert_eq!(cache.check_and_insert(1, 3_000, 2_000), Ok(()));
        // Another bucket (2048..3072): it expires on its own.
        assert_eq!(cache.check_and_insert(9, 2_048, 0), Ok(()));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn a_stale_entry_is_not_remembered() {
        let cache = ShardedReplayCache::with_shards(1, 1);
        assert_eq!(cache.check_and_insert(1, 50, 50), Ok(()));
        assert!(cache.is_empty());
        assert_eq!(cache.check_and_insert(2, 60, 50), Ok(()));
    }
}
