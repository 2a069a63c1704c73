//! Shared state for fleets on Redis (feature `redis`): what several processes of one fleet must
//! agree on when they sign or verify.
//!
//! Every backend here is built from a [`ConnectionManager`] (which reconnects by itself), a key
//! prefix naming the fleet, and a timeout that bounds every call to Redis. A decision that needs
//! several keys runs as one Lua script, so it takes one round trip and is atomic. Keys are
//! `<prefix>:{<scope>}:<name>`: the part in braces is a Redis Cluster hash tag, so the keys of one
//! decision always live in one slot.
//!
//! The connection itself (a `redis://` or `rediss://` URL, TLS, the prefix) is configured in
//! `keyward-exchange-client`'s `fleet` module, which hands the connection to these backends.

mod call;
mod epoch;
mod replay;
// The floor file is a `FileNonce` state file, which is Unix only (it locks with `flock`).
#[cfg(unix)]
mod nonce;

pub use call::{DEFAULT_TIMEOUT, RedisError, bounded};
#[cfg(unix)]
pub use nonce::RedisNonce;
pub use redis::aio::ConnectionManager;
pub use replay::{RedisReplayCache, ReplayDecision};
