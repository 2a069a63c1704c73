//! TOTP (issue 16): RFC 6238 vectors, pyotp agreeing on random seeds and times, seed forms and
//! stores, the window-edge guard under an injected clock and sleep, and canaries.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

mod canary;
mod guard;
mod pyotp;
// The test virtualenv's Python: keyward-signing's helper, one file for both crates' interop
// tests (the scripts it runs are named relative to the crate that includes it).
#[path = "../../../keyward-signing/tests/common/python.rs"]
mod python;
mod seeds;
#[path = "../support/trace.rs"]
mod trace;
mod vectors;
