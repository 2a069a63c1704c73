//! Fleets on Redis (feature `redis`): several processes that share one API key, one IP or one
//! broker account share one rate budget, one replay memory, one nonce sequence and one login.
//!
//! The backends that decide live in the layer that owns each seam (the replay cache and nonce
//! leases in `keyward_signing::redis`, the rate budget in `keyward_resilience::redis`); this
//! module connects to Redis and wires them into the client and the session layer.

mod budget;

pub use crate::venue::LimitScope;
pub use budget::{FleetBudget, SharedBudget};
