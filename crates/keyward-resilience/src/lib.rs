#![doc = include_str!("../README.md")]

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
