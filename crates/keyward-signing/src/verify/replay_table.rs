//! One shard of the in-memory replay cache: an open-addressing table of 128-bit ids whose
//! entries are grouped by expiry bucket, so that a whole bucket expires at once.
//!
//! # Layout
//! A slot is 18 bytes: the id (16 bytes) and the tag of its expiry bucket (2 bytes, 0 for an
//! empty slot), stored side by side so that a lookup touches one cache line. Slots are found
//! by linear probing from a home slot (a seeded multiply of the id mapped onto the table size,
//! so the size need not be a power of two). Nothing is stored per entry besides the id and the
//! tag: no expiry, no heap node, no tombstone.
//!
//! # Buckets
//! An entry expiring at `e` belongs to bucket `e / BUCKET_MS`. For each bucket holding entries
//! the shard keeps its index and the latest expiry it holds (a short list sorted by index,
//! one element per live second of expiries). An entry counts as live until its bucket's latest
//! expiry: its own expiry rounded *up* within its bucket, never down, so an entry is never
//! forgotten early. Buckets expire in index order, so the expired ones are always a prefix of
//! the list; when the prefix is not empty, one pass over the table (a sweep) drops their
//! entries and moves the entries behind each freed slot back towards their home, which keeps
//! every probe chain intact without tombstones.
//!
//! An entry whose own bucket already expired (its expiry is close to `now`, the expired
//! bucket's entries not swept yet) joins the bucket after the last expired one, which expires
//! later: rounded up, never down. Known limit: a run of such entries, each arriving after the
//! previous joined bucket expired, can move that bucket index ahead of the clock, so these
//! entries are then kept longer than their own bucket (never past the latest expiry held,
//! itself within [`MAX_ENTRY_LIFETIME_MS`] of its insertion). A per-bucket tag taken from a
//! free list instead of the index would remove this.
//!
//! # Tags
//! A tag is the bucket index modulo 65535, plus one. Live buckets span at most
//! [`MAX_ENTRY_LIFETIME_MS`] / `BUCKET_MS` + 2 indexes (about 7,000), far fewer than 65535, so
//! a tag names one bucket among those held. Should a clock step back so far that a new bucket
//! would break that, the entry joins the earliest bucket held (its expiry rounded up).
//!
//! # Growth
//! The table starts empty and grows by half (×1.5) when an insert would load it past 3/4,
//! after expired buckets are swept, up to the size the shard's cap needs: loads stay between
//! 1/2 and 3/4, so an entry costs 24 to 36 bytes. Growing rehashes the shard under its lock
//! (one request waits for it: about 10 ns per entry) and holds the old and new tables for that
//! moment; an allocation failure refuses the insert (the cache reports itself full).

use std::collections::VecDeque;

use super::replay::MAX_ENTRY_LIFETIME_MS;

/// Expiries falling in one interval of this many milliseconds share a bucket.
pub(crate) const BUCKET_MS: u64 = 1024;

/// Tags `1..=TAGS` name buckets; 0 marks an empty slot.
const TAGS: u64 = u16::MAX as u64;

/// The smallest table a shard allocates.
const MIN_SLOTS: usize = 16;

// Every live bucket must have its own tag.
const _: () = assert!(MAX_ENTRY_LIFETIME_MS / BUCKET_MS + 4 < TAGS);

/// One entry: the id and its bucket's tag (0: empty), 18 bytes with no padding.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct Slot {
    id: [u8; 16],
    tag: [u8; 2],
}

impl Slot {
    const EMPTY: Slot = Slot {
        id: [0; 16],
        tag: [0; 2],
    };

    fn id(&self) -> u128 {
        u128::from_ne_bytes(self.id)
    }

    fn tag(&self) -> u16 {
        u16::from_ne_bytes(self.tag)
    }
}

/// The bytes one slot occupies.
pub(crate) const SLOT_BYTES: usize = std::mem::size_of::<Slot>();
const _: () = assert!(SLOT_BYTES == 18);

/// A bucket holding entries: its index (`expiry / BUCKET_MS`), the latest expiry in it and
/// how many entries it received.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    index: u64,
    last_expiry_ms: u64,
    count: usize,
}

/// The bytes one bucket record occupies.
pub(crate) const BUCKET_BYTES: usize = std::mem::size_of::<Bucket>();

/// What a lookup found.
pub(crate) enum Probe {
    /// The id is held and live.
    Held,
    /// The id is not held; this empty slot is where it would go.
    Vacant(usize),
    /// The id is held in an expired bucket not swept yet: its slot is reused in place.
    Dead(usize),
}

/// One shard's table.
#[derive(Default)]
pub(crate) struct Table {
    /// `len()` is the table size; empty slots have tag 0.
    slots: Vec<Slot>,
    /// Entries in the table, live or dead.
    held: usize,
    /// Entries in the table whose bucket expired (not swept yet).
    dead: usize,
    /// Buckets with entries in the table, sorted by index; the first `expired` ones expired.
    buckets: VecDeque<Bucket>,
    expired: usize,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("slots", &self.slots.len())
            .field("held", &self.held)
            .field("dead", &self.dead)
            .field("buckets", &self.buckets.len())
            .finish()
    }
}

/// The tag naming bucket `index`.
fn tag_of(index: u64) -> u16 {
    // `index % TAGS` is below 65535, so the sum fits.
    (index % TAGS) as u16 + 1
}

/// The next slot after `i` in a table of `n`.
fn next(i: usize, n: usize) -> usize {
    if i + 1 == n { 0 } else { i + 1 }
}

/// The home slot of `id` in a table of `n` slots: a seeded folded multiply of the id's halves
/// (ids are hash outputs, the seed keeps callers from choosing where ids land), mapped onto
/// `0..n` by a multiply-shift.
fn home(id: u128, seed: [u64; 2], n: usize) -> usize {
    let (lo, hi) = (id as u64 ^ seed[0], (id >> 64) as u64 ^ seed[1]);
    let product = u128::from(lo) * u128::from(hi);
    let mixed = (product as u64) ^ ((product >> 64) as u64);
    ((u128::from(mixed) * n as u128) >> 64) as usize
}

impl Table {
    /// Live entries (each until the latest expiry of its bucket).
    pub(crate) fn live(&self) -> usize {
        self.held - self.dead
    }

    /// Bytes the table and bucket list occupy at their current capacities.
    pub(crate) fn bytes(&self) -> usize {
        self.slots.capacity() * SLOT_BYTES + self.buckets.capacity() * BUCKET_BYTES
    }

    /// Marks every bucket whose latest expiry is at or before `now_ms` expired: its entries
    /// are dead from now on (found, they count as absent), and are dropped by the next sweep.
    /// Buckets expire in index order, so the expired ones are a prefix of the list.
    pub(crate) fn expire(&mut self, now_ms: u64) {
        while let Some(bucket) = self.buckets.get(self.expired) {
            if bucket.last_expiry_ms > now_ms {
                break;
            }
            self.dead += bucket.count;
            self.expired += 1;
        }
    }

    /// The index of the bucket `tag` names (every bucket held lies within `TAGS` of the first).
    fn index_of(&self, tag: u16) -> u64 {
        let first = self.buckets.front().map_or(0, |b| b.index);
        first + (u64::from(tag) - 1 + TAGS - first % TAGS) % TAGS
    }

    /// Whether `tag` names an expired bucket.
    fn is_dead(&self, tag: u16) -> bool {
        self.expired > 0 && self.index_of(tag) <= self.buckets[self.expired - 1].index
    }

    /// One pass over the table: drops the dead entries and moves each remaining entry to the
    /// first free slot between its home and where it sits, so that every probe chain stays
    /// unbroken (no tombstones).
    fn sweep(&mut self, seed: [u64; 2]) {
        if self.expired == 0 {
            return;
        }
        let n = self.slots.len();
        let last_dead = self.buckets[self.expired - 1].index;
        let first = self.buckets[0].index;
        let dead =
            |tag: u16| first + (u64::from(tag) - 1 + TAGS - first % TAGS) % TAGS <= last_dead;
        // Start just after an empty slot, so no cluster wraps around the start of the pass.
        // The load never exceeds 3/4, so there is one.
        if let Some(start) = self.slots.iter().position(|s| s.tag() == 0) {
            let mut i = start;
            for _ in 0..n {
                i = next(i, n);
                let slot = self.slots[i];
                let tag = slot.tag();
                if tag == 0 {
                    continue;
                }
                if dead(tag) {
                    self.slots[i] = Slot::EMPTY;
                    self.held -= 1;
                    continue;
                }
                let mut j = home(slot.id(), seed, n);
                while j != i && self.slots[j].tag() != 0 {
                    j = next(j, n);
                }
                if j != i {
                    self.slots[j] = slot;
                    self.slots[i] = Slot::EMPTY;
                }
            }
        }
        self.buckets.drain(..self.expired);
        self.expired = 0;
        self.dead = 0;
    }

    /// Looks `id` up.
    pub(crate) fn probe(&self, id: u128, seed: [u64; 2]) -> Probe {
        let n = self.slots.len();
        if n == 0 {
            return Probe::Vacant(usize::MAX);
        }
        let mut i = home(id, seed, n);
        loop {
            let slot = &self.slots[i];
            let tag = slot.tag();
            if tag == 0 {
                return Probe::Vacant(i);
            }
            if slot.id() == id {
                return if self.is_dead(tag) {
                    Probe::Dead(i)
                } else {
                    Probe::Held
                };
            }
            i = next(i, n);
        }
    }

    /// Inserts `id` (not live; `found` is what [`Self::probe`] answered) expiring at
    /// `expires_at_ms`. `max_slots` is the largest table the shard's cap needs. False if the
    /// table could not grow (out of memory): nothing was inserted.
    pub(crate) fn insert(
        &mut self,
        id: u128,
        expires_at_ms: u64,
        mut found: Probe,
        max_slots: usize,
        seed: [u64; 2],
    ) -> bool {
        let index = expires_at_ms / BUCKET_MS;
        let too_wide = |t: &Table| {
            t.buckets
                .front()
                .zip(t.buckets.back())
                .is_some_and(|(f, b)| b.index.max(index) - f.index.min(index) >= TAGS - 1)
        };
        let full = |t: &Table| (t.held + 1) * 4 > t.slots.len() * 3;
        let needs_room = matches!(found, Probe::Vacant(_)) && full(self);
        if (needs_room || too_wide(self)) && self.dead > 0 {
            // Drop the dead entries rather than grow for them: when they are an eighth of the
            // table or more, when the table cannot grow, or when their tags are needed.
            if self.dead * 8 >= self.held || self.slots.len() >= max_slots || too_wide(self) {
                self.sweep(seed);
                found = self.probe(id, seed);
            }
        }
        if matches!(found, Probe::Vacant(_)) && full(self) {
            if !self.grow(max_slots, seed) {
                return false;
            }
            found = self.probe(id, seed);
        }
        if let Probe::Dead(at) = found {
            // The dead entry leaves its (expired) bucket.
            let old = self.index_of(self.slots[at].tag());
            let k = self.buckets.partition_point(|b| b.index < old);
            if let Some(bucket) = self.buckets.get_mut(k) {
                bucket.count -= 1;
            }
            self.dead -= 1;
        }
        let tag = self.bucket_for(index, expires_at_ms);
        let slot = Slot {
            id: id.to_ne_bytes(),
            tag: tag.to_ne_bytes(),
        };
        match found {
            Probe::Vacant(at) => {
                self.slots[at] = slot;
                self.held += 1;
            }
            Probe::Dead(at) => {
                self.slots[at] = slot;
            }
            Probe::Held => {}
        }
        true
    }

    /// The tag of the bucket for an entry expiring at `expires_at_ms` (bucket `index`),
    /// counting the entry.
    fn bucket_for(&mut self, index: u64, expires_at_ms: u64) -> u16 {
        // Never into an expired bucket: an expiry in (or below) the last expired bucket's
        // interval joins the next bucket, which expires later (rounded up, never down).
        let index = match self.expired {
            0 => index,
            k => index.max(self.buckets[k - 1].index + 1),
        };
        let at = self.buckets.partition_point(|b| b.index < index);
        if let Some(bucket) = self.buckets.get_mut(at).filter(|b| b.index == index) {
            bucket.last_expiry_ms = bucket.last_expiry_ms.max(expires_at_ms);
            bucket.count += 1;
            return tag_of(index);
        }
        let back = self.buckets.back().map_or(index, |b| b.index);
        if let Some(front) = self.buckets.get_mut(self.expired) {
            if back.max(index) - front.index.min(index) >= TAGS - 1 {
                // Only a clock stepping back by hours gets here (see the module docs): the
                // earliest live bucket expires later than this entry, so joining it rounds up.
                front.last_expiry_ms = front.last_expiry_ms.max(expires_at_ms);
                front.count += 1;
                return tag_of(front.index);
            }
        }
        self.buckets.insert(
            at,
            Bucket {
                index,
                last_expiry_ms: expires_at_ms,
                count: 1,
            },
        );
        tag_of(index)
    }

    /// Grows the table by half (at least to [`MIN_SLOTS`], at most to `max_slots`) and places
    /// every entry again. False if the memory could not be had.
    fn grow(&mut self, max_slots: usize, seed: [u64; 2]) -> bool {
        let n = self.slots.len();
        let target = (n + n / 2).max(MIN_SLOTS).min(max_slots.max(MIN_SLOTS));
        if target <= n {
            return false;
        }
        let mut slots = Vec::new();
        if slots.try_reserve_exact(target).is_err() {
            return false;
        }
        slots.resize(target, Slot::EMPTY);
        for slot in self.slots.iter().filter(|s| s.tag() != 0) {
            let mut i = home(slot.id(), seed, target);
            while slots[i].tag() != 0 {
                i = next(i, target);
            }
            slots[i] = *slot;
        }
        self.slots = slots;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u64; 2] = [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210];

    fn insert(t: &mut Table, id: u128, expires: u64) {
        let found = t.probe(id, SEED);
        assert!(!matches!(found, Probe::Held), "{id} is held");
        assert!(t.insert(id, expires, found, 1 << 20, SEED));
    }

    fn held(t: &Table, id: u128) -> bool {
        matches!(t.probe(id, SEED), Probe::Held)
    }

    #[test]
    fn a_bucket_expires_at_its_latest_expiry_never_before() {
        let mut t = Table::default();
        // Both expiries fall in bucket 1 (1024..2048).
        insert(&mut t, 1, 1100);
        insert(&mut t, 2, 1500);
        t.expire(1100);
        // Entry 1's own expiry passed, but it is rounded up to its bucket's latest.
        assert!(held(&t, 1) && held(&t, 2));
        t.expire(1499);
        assert!(held(&t, 2));
        t.expire(1500);
        assert!(!held(&t, 1) && !held(&t, 2));
        assert_eq!(t.live(), 0);
    }

    #[test]
    fn buckets_expire_one_by_one_in_order() {
        let mut t = Table::default();
        for id in 0..300u128 {
            // Expiries 0, 100, ... 29_900 ms: buckets 0 to 29.
            insert(&mut t, id, id as u64 * 100 + 1);
        }
        for now in (0..30_000).step_by(250) {
            t.expire(now);
            for id in 0..300u128 {
                let expiry = id as u64 * 100 + 1;
                let bucket_end = (expiry / BUCKET_MS + 1) * BUCKET_MS;
                if expiry > now {
                    assert!(held(&t, id), "{id} at {now}");
                } else if bucket_end <= now {
                    assert!(!held(&t, id), "{id} at {now}");
                }
            }
        }
    }

    #[test]
    fn a_sweep_keeps_every_probe_chain_intact() {
        // A tiny table with long clusters: half the entries expire, the rest stay findable.
        let mut t = Table::default();
        let ids: Vec<u128> = (0..1000u128).map(|i| i * 0x9E37_79B9_7F4A_7C15).collect();
        for (k, id) in ids.iter().enumerate() {
            insert(&mut t, *id, if k % 2 == 0 { 10 } else { 5_000 });
        }
        t.expire(10);
        assert_eq!(t.live(), 500);
        t.sweep(SEED);
        assert_eq!((t.held, t.dead), (500, 0));
        for (k, id) in ids.iter().enumerate() {
            assert_eq!(held(&t, *id), k % 2 == 1, "{k}");
        }
    }

    #[test]
    fn a_clock_stepping_back_by_days_rounds_up_into_the_earliest_bucket() {
        let mut t = Table::default();
        let day = 86_400_000;
        insert(&mut t, 1, 10 * day);
        // 9 days earlier: more than 65535 buckets below the one held.
        insert(&mut t, 2, day);
        t.expire(day);
        assert!(held(&t, 2), "rounded up, never down");
        t.expire(10 * day);
        assert_eq!(t.live(), 0);
    }

    #[test]
    fn the_table_grows_by_half_and_stays_under_three_quarters() {
        let mut t = Table::default();
        for id in 0..10_000u128 {
            insert(
                &mut t,
                id.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835),
                100,
            );
            assert!(t.held * 4 <= t.slots.len() * 3);
            assert!(t.held * 2 >= t.slots.len() || t.slots.len() == MIN_SLOTS);
        }
    }
}
