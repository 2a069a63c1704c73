//! Broker tokens (issue 16): expiry from a JWT's `exp` and from a daily cutoff, the token
//! cache (refresh ahead, single flight, restart, lockout), the token-generation guard and its
//! audit entries, the generic OAuth2 login against a loopback server, and canaries.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

mod auth_server;
mod cache;
mod canary;
mod expiry;
mod fake;
mod guard;
mod oauth2;
#[path = "../support/trace.rs"]
mod trace;

use std::path::PathBuf;

/// A file of `tests/data/`.
fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}
