//! Fleets on Redis (feature `redis`): several processes that share one API key, one IP or one
//! broker account share one rate budget, one replay memory, one nonce sequence and one login.
//!
//! The backends that decide live in the layer that owns each seam (the replay cache and nonce
//! leases in `keyward_signing::redis`, the rate budget in `keyward_resilience::redis`); this
//! module connects to Redis and wires them into the client and the session layer.

mod config;
mod connect;
mod error;
mod probe;

pub use config::{
    DEFAULT_PREFIX, ENV_CA_FILE, ENV_FLEET_SIZE, ENV_PREFIX, ENV_URL, FleetConfig, MAX_PREFIX_LEN,
    MAX_TIMEOUT, check_prefix,
};
pub use connect::{Fleet, RECONNECT_MAX_DELAY, RECONNECT_RETRIES};
pub use error::FleetError;
pub use probe::AnonymousAccess;
