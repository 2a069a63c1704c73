//! The server's clock: the testnet's clock (the system clock unless one was injected with
//! [`TestnetConfig::with_clock`](crate::TestnetConfig::with_clock)) moved by the
//! `clock_offset_ms` fault in force.

use std::sync::Arc;

use keyward_signing::Clock;

use crate::faults::FaultControl;

/// One venue's notion of now, used both to verify requests and by its time endpoint.
#[derive(Debug, Clone)]
pub(crate) struct VenueClock {
    pub(crate) venue: String,
    pub(crate) faults: Arc<FaultControl>,
    /// The testnet's clock, before the offset.
    pub(crate) base: Arc<dyn Clock>,
}

impl Clock for VenueClock {
    fn now_ms(&self) -> u64 {
        let now = self.base.now_ms();
        let offset = self.faults.clock_offset_ms(&self.venue);
        if offset >= 0 {
            now.saturating_add(offset.unsigned_abs())
        } else {
            now.saturating_sub(offset.unsigned_abs())
        }
    }
}
