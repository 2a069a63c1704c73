#![doc = include_str!("../README.md")]
// On docs.rs (`--cfg docsrs`, a nightly rustdoc): each feature-gated item says which feature it
// needs. `doc_cfg` includes what `doc_auto_cfg` did before Rust 1.92.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod breaker;
mod clock;
mod error;
pub mod limiter;
#[cfg(feature = "redis")]
pub mod redis;
pub mod retry;

pub use breaker::{BreakerConfig, BreakerState, CallError, CircuitBreaker, OwnedPermit, Permit};
#[cfg(feature = "tokio")]
pub use clock::TokioSleep;
pub use clock::{ManualClock, ManualSleep, Monotonic, MonotonicClock, Sleep, SleepFuture};
pub use error::{Error, Result};
pub use retry::{
    Backoff, FailureKind, Jitter, RequestClass, RetryBudget, RetryError, RetryPolicy,
    parse_retry_after,
};
