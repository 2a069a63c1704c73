//! Shared state for fleets on Redis (feature `redis`): a rate budget that every process of a
//! fleet draws from, decided in Redis.
//!
//! [`SharedLimiter`] takes the same [`Limit`](crate::limiter::Limit)s as the in-process
//! [`RateLimiter`](crate::limiter::RateLimiter) and decides them with the same GCRA arithmetic,
//! in one Lua script per decision (all windows of a request charged, or none). When Redis does
//! not answer within its timeout it falls back, loudly, to a local limiter holding a
//! conservative share of the budget.
//!
//! This crate depends on no other keyward crate (DESIGN.md's layer table), so it keeps its own
//! small timeout wrapper (`call.rs`) rather than `keyward_signing::redis`'s.

mod call;
mod degraded;
mod scripts;
mod shared_limiter;
mod window;

pub use call::{DEFAULT_TIMEOUT, RedisError};
pub use degraded::DEFAULT_PROBE_INTERVAL;
pub use redis::aio::ConnectionManager;
pub use shared_limiter::{Charge, SharedLimiter, SharedLimiterBuilder};
