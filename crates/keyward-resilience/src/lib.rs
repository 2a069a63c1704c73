#![doc = include_str!("../README.md")]

pub mod breaker;
mod clock;
mod error;

pub use breaker::{
    BreakerConfig, BreakerRegistry, BreakerState, CallError, CircuitBreaker, OwnedPermit, Permit,
};
pub use clock::{Clock, ManualClock, ManualSleep, MonotonicClock, Sleep, SleepFuture};
pub use error::{Error, Result};
