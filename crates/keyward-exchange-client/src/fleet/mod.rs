//! Fleets on Redis (feature `redis`): several processes that share one API key, one IP or one
//! broker account share one rate budget, one replay memory, one nonce sequence and one login.
//!
//! The backends that decide live in the layer that owns each seam (the replay cache and nonce
//! leases in `keyward_signing::redis`, the rate budget in `keyward_resilience::redis`); this
//! module connects to Redis and wires them into the client and the session layer.
//!
//! [`FleetLogin`] (feature `redis`) makes a broker login single flight across the fleet: one
//! process logs in under a fenced lock, the others read the token from a shared, Fernet-sealed
//! entry. [`FleetBreaker`] publishes a circuit breaker's open state to the fleet, so one
//! process's detection spares the others the failing calls.

mod backends;
mod breaker;
mod budget;
mod config;
mod connect;
mod error;
mod login;
mod login_scripts;
mod probe;
mod token_entry;

pub use crate::venue::LimitScope;
pub use breaker::{DEFAULT_BREAKER_REFRESH, FleetBreaker};
pub use login::{
    DEFAULT_FAILURE_TTL, DEFAULT_LOCK_TTL, DEFAULT_LOCKOUT_FAILURE_TTL, DEFAULT_WAIT_MARGIN,
    FIRST_POLL, FleetLogin, MAX_HOLDERS, MAX_POLL,
};

pub use budget::{FleetBudget, SharedBudget};
pub use config::{
    DEFAULT_PREFIX, ENV_CA_FILE, ENV_FLEET_SIZE, ENV_PREFIX, ENV_URL, FleetConfig, MAX_PREFIX_LEN,
    MAX_TIMEOUT, check_prefix,
};
pub use connect::{Fleet, RECONNECT_MAX_DELAY, RECONNECT_RETRIES};
pub use error::FleetError;
pub use probe::AnonymousAccess;
