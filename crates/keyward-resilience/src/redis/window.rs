//! One limit as the shared scripts decide it: GCRA parameters in whole microseconds.

use crate::error::{Error, Result};
use crate::limiter::Limit;

/// The largest TAT offset a window may reach, in µs (2^50 µs, about 35 years): far below the
/// 2^53 that Lua's doubles hold exactly once added to the current time.
const MAX_SPAN_US: u64 = 1 << 50;

/// One limit with its GCRA parameters in microseconds.
#[derive(Debug, Clone)]
pub(crate) struct SharedWindow {
    pub(crate) limit: Limit,
    /// The refill interval, `period / (capacity - burst + 1)` rounded up to a whole µs (never
    /// shorter than the local limiter's, so the shared budget never admits more).
    pub(crate) t_us: u64,
    /// The tolerance, `t * (burst - 1)`.
    pub(crate) tau_us: u64,
}

impl SharedWindow {
    pub(crate) fn new(limit: Limit) -> Result<Self> {
        let invalid = |why: &str| Error::InvalidConfig(format!("limit {}: {why}", limit.name));
        if limit.burst == 0 || limit.burst > limit.capacity {
            return Err(invalid("burst must be between 1 and the capacity"));
        }
        let t_ns = limit
            .refill_interval_ns()
            .ok_or_else(|| invalid("the period is too short or too long for the capacity"))?;
        let t_us = t_ns.div_ceil(1_000);
        if t_us.saturating_mul(u64::from(limit.capacity).saturating_add(1)) > MAX_SPAN_US {
            return Err(invalid("the period is too long for a shared budget"));
        }
        let tau_us = t_us * u64::from(limit.burst - 1);
        Ok(Self {
            limit,
            t_us,
            tau_us,
        })
    }

    /// The largest cost one request may have: the burst.
    pub(crate) fn fits(&self, cost: u32) -> Result<()> {
        if cost > self.limit.burst {
            return Err(Error::CostExceedsCapacity {
                limit: self.limit.name.clone(),
                cost,
                capacity: self.limit.burst,
            });
        }
        Ok(())
    }

    /// The server's count for this limit in `headers`, capped at the capacity (as the local
    /// limiter reads it).
    pub(crate) fn used_in(&self, headers: &[(&str, &str)]) -> Option<u32> {
        let number = |name: &str| {
            headers
                .iter()
                .find(|(h, _)| h.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.trim().parse::<u32>().ok())
        };
        let used = self
            .limit
            .usage_header
            .as_deref()
            .and_then(number)
            .or_else(|| {
                let left = self.limit.remaining_header.as_deref().and_then(number)?;
                Some(self.limit.capacity.saturating_sub(left))
            })?;
        Some(used.min(self.limit.capacity))
    }
}

/// `limit` scaled down to one process's share of a fleet of `fleet_size`: capacity and burst
/// divided (rounded down, at least 1).
pub(crate) fn local_share(limit: &Limit, fleet_size: u32) -> Limit {
    let n = fleet_size.max(1);
    let mut share = limit.clone();
    share.capacity = (limit.capacity / n).max(1);
    share.burst = (limit.burst / n).clamp(1, share.capacity);
    share
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn parameters_are_rounded_up_to_whole_microseconds() {
        let w = SharedWindow::new(Limit::new("o", "orders", 50, Duration::from_secs(10))).unwrap();
        // 10 s / 26 = 384,615,384.6 ns → 384,615,385 ns locally → 384,616 µs here.
        assert_eq!((w.t_us, w.tau_us), (384_616, 384_616 * 24));
        assert!(SharedWindow::new(Limit::new("x", "w", 0, Duration::from_secs(1))).is_err());
        let long =
            Limit::new("y", "w", 1_000, Duration::from_secs(86_400 * 365 * 40)).with_burst(1_000);
        assert!(SharedWindow::new(long).is_err());
    }

    #[test]
    fn a_local_share_divides_capacity_and_burst() {
        let l = Limit::new("w", "weight", 1_200, Duration::from_secs(60)).with_burst(1_200);
        let s = local_share(&l, 4);
        assert_eq!((s.capacity, s.burst), (300, 300));
        let s = local_share(&Limit::new("w", "weight", 3, Duration::from_secs(1)), 8);
        assert_eq!((s.capacity, s.burst), (1, 1));
        assert_eq!(local_share(&l, 0).capacity, 1_200);
    }
}
