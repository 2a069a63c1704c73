//! Injected time, so that signing is deterministic in tests: the workspace's one clock trait,
//! from keyward-core-crypto (where keyward-secrets-backends takes it too), re-exported here so
//! that a user of this crate names `keyward_signing::Clock`. Signing reads its wall time
//! ([`Clock::now_ms`]).

pub use keyward_core_crypto::{Clock, FixedClock, SystemClock};
