#![doc = include_str!("../README.md")]

mod clock;
mod error;
pub mod limiter;

pub use clock::{Clock, ManualClock, ManualSleep, MonotonicClock, Sleep, SleepFuture};
pub use error::{Error, Result};
