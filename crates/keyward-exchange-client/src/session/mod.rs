//! Broker sessions: what a broker login needs besides an API key. Today the TOTP codes of a
//! login's second factor ([`Totp`]), with a window-edge guard so that a slow login never submits
//! a code that expires in flight.

mod totp;
mod totp_error;
mod totp_seed;

pub use totp::{Totp, TotpAlgorithm, TotpCode};
pub use totp_error::TotpError;
pub use totp_seed::TOTP_SECRET_FIELD;
