//! What a limit is: a capacity of some unit (request weight, orders) per period, and presets
//! for venues whose limits are documented.

use std::time::Duration;

/// A limit: at most `capacity` units of `unit` in any window of length `period` (sliding, so
/// also in the venue's fixed windows), enforced with GCRA.
///
/// GCRA lets a burst through and then refills at a steady rate; over any window of length
/// `period` it admits up to `burst + refill - 1` units. To keep that within `capacity` the limiter
/// refills `capacity - burst + 1` units per period, one every `period / (capacity - burst + 1)`
/// (rounded up). The default burst is half the capacity (rounded up): a bot can send half its
/// quota at once and the rest at a steady pace. [`Limit::with_burst`] trades one for the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The limit's name, unique in a limiter (`weight/1m`, `orders/10s`).
    pub name: String,
    /// What it counts: requests name their costs per unit (`weight`, `orders`).
    pub unit: String,
    /// Units allowed per period.
    pub capacity: u32,
    /// The period.
    pub period: Duration,
    /// Units that may go at once (1..=capacity).
    pub burst: u32,
    /// The response header reporting the server's count for this limit, if the venue sends one
    /// (Binance `X-MBX-USED-WEIGHT-1M`).
    pub usage_header: Option<String>,
    /// The response header reporting what is left of this limit, for venues that count down
    /// instead (BitMEX `x-ratelimit-remaining`, Bybit `X-Bapi-Limit-Status`): the server's
    /// count is then the capacity minus the remainder.
    pub remaining_header: Option<String>,
}

impl Limit {
    /// A limit named `name` on `unit`.
    pub fn new(name: &str, unit: &str, capacity: u32, period: Duration) -> Self {
        Self {
            name: name.to_owned(),
            unit: unit.to_owned(),
            capacity,
            period,
            burst: capacity.div_ceil(2),
            usage_header: None,
            remaining_header: None,
        }
    }

    /// Sets how many units may go at once (at most the capacity; more burst means a slower
    /// steady refill, see the type's docs).
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// Time between two refilled units: `period / (capacity - burst + 1)`, rounded up to whole
    /// nanoseconds so rounding can never admit an extra unit. None if the limit is invalid.
    pub(crate) fn refill_interval_ns(&self) -> Option<u64> {
        if self.burst == 0 || self.burst > self.capacity {
            return None;
        }
        let refills = u128::from(self.capacity - self.burst + 1);
        let interval = self.period.as_nanos().div_ceil(refills);
        u64::try_from(interval).ok().filter(|&ns| ns > 0)
    }

    /// Names the response header that reports the server's count for this limit.
    pub fn with_usage_header(mut self, header: &str) -> Self {
        self.usage_header = Some(header.to_owned());
        self
    }

    /// Names the response header that reports what is left of this limit (the server's count
    /// is the capacity minus it). Set the capacity to the venue's own for this to be exact; a
    /// smaller local capacity makes the limiter more careful, never less.
    pub fn with_remaining_header(mut self, header: &str) -> Self {
        self.remaining_header = Some(header.to_owned());
        self
    }

    /// Whether a response header can resync this limit.
    pub(crate) fn tracks_headers(&self) -> bool {
        self.usage_header.is_some() || self.remaining_header.is_some()
    }
}
