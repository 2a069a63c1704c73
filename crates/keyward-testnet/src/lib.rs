#![doc = include_str!("../README.md")]
// On docs.rs (`--cfg docsrs`, a nightly rustdoc): each feature-gated item says which feature it
// needs. `doc_cfg` includes what `doc_auto_cfg` did before Rust 1.92.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod admin;
mod broker_credentials;
mod brokers;
mod clock;
mod config;
mod credentials;
mod error;
mod faults;
mod guard;
mod hits;
mod keys;
mod observe;
mod ratelimit;
mod repeats;
mod reply;
mod server;
#[cfg(feature = "redis")]
mod shared_state;
mod svc;
mod venues;
mod ws;

/// What the fuzz targets (fuzz/, feature `fuzzing`) reach: the testnet's routers, built
/// without binding a listener. Thin re-exports only; not part of the supported API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// The routers a testnet serves, by name, and the fault control they share.
    pub async fn routers(
        config: crate::TestnetConfig,
    ) -> crate::Result<(
        Vec<(String, axum::Router)>,
        std::sync::Arc<crate::FaultControl>,
    )> {
        crate::server::routers(config).await
    }
}

pub use broker_credentials::{BROKERS, BrokerCredentials};
pub use config::TestnetConfig;
pub use credentials::VenueCredentials;
pub use error::{Error, Result};
pub use faults::{FaultControl, Faults};
pub use keys::{ASYMMETRIC_KINDS, KeyPair, VenueKey, accepted_kinds, generate_key_pairs, key_name};
pub use ratelimit::RateUsage;
pub use server::Testnet;
#[cfg(feature = "redis")]
pub use shared_state::SharedState;

/// The venue presets served, each on its own listener, by the names `keyward sign --venue` uses.
pub const VENUES: [&str; 9] = [
    "binance",
    "bybit",
    "okx",
    "coinbase-exchange",
    "coinbase-advanced",
    "kraken",
    "bitmex",
    "deribit",
    "bitmart",
];

/// The venues of [`VENUES`] with signed REST endpoints (BitMart is served for WebSocket auth
/// only).
pub const REST_VENUES: [&str; 8] = [
    "binance",
    "bybit",
    "okx",
    "coinbase-exchange",
    "coinbase-advanced",
    "kraken",
    "bitmex",
    "deribit",
];

/// The service schemes served under `/svc/<scheme>/` on one shared listener.
pub const SERVICE_SCHEMES: [&str; 3] = ["hmac-newline-v0", "hmac-concat", "keyward-v1"];
