//! How the venues treat a request sent twice: every venue preset served here accepts it.
//!
//! The venues document a freshness rule as their only replay guard, not a memory of the requests
//! they accepted: Binance `recvWindow` (with `timestamp`), Bybit `X-BAPI-RECV-WINDOW`, OKX's 30 s
//! on `OK-ACCESS-TIMESTAMP`, Coinbase's 30 s on `CB-ACCESS-TIMESTAMP`, BitMEX `api-expires`
//! (<https://www.bitmex.com/app/apiKeysUsage>: "a UNIX timestamp after which the request is no longer
//! valid. This is to prevent replay attacks."), Deribit's timestamp window; Kraken's guard
//! is its increasing nonce, which the verifier checks apart from any cache. A byte-identical
//! request inside the window is therefore a new request at the real venue (a client that re-signs
//! within the same millisecond, or the same second on the venues that sign whole seconds, sends
//! one), and the testnet must accept it too: refusing it would be a rule the venues do not have,
//! and tests would then pass or fail by how fast the machine is.
//!
//! The service schemes (`keyward-v1`, `hmac-newline-v0`, `hmac-concat`) are keyward's own: their
//! verifiers keep the default replay cache.

use keyward_signing::verify::{ReplayCache, ReplayId, ReplayRefusal};

/// A replay cache that remembers nothing: the freshness checks before it are the whole guard.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WindowOnly;

impl ReplayCache for WindowOnly {
    fn check_and_insert(
        &self,
        _id: ReplayId,
        _expires_at_ms: u64,
        _now_ms: u64,
    ) -> Result<(), ReplayRefusal> {
        Ok(())
    }
}
