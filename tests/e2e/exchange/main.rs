//! End-to-end suites of the exchange client (through the `keyward` facade) against the local
//! testnet and loopback WebSocket servers: every venue preset and service scheme, faults, limits,
//! nonces, credentials from stores, WebSocket sessions, and canary-secret checks.
//!
//! Declared by keyward-cli, the one package that may depend on both the facade and the testnet
//! (docs/ARCHITECTURE.md); one test binary, so the suites link once.

mod asymmetric;
mod canary;
mod common;
mod credentials;
mod faults;
mod fleet_budget;
mod fleet_login;
mod ibkr_session;
mod limits;
mod nonce;
#[path = "../../support/redis_server.rs"]
mod redis_server;
#[path = "../../../crates/keyward-exchange-client/tests/support/trace.rs"]
mod trace;
mod upstox;
mod venues;
mod ws_builder;
mod ws_coinbase_advanced;
mod ws_common;
mod ws_logon;
mod ws_loopback;
mod ws_redaction;
mod ws_rotation;
mod ws_testnet;
