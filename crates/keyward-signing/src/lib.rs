#![doc = include_str!("../README.md")]

#[cfg(feature = "axum")]
pub mod axum;
mod clock;
mod credentials;
mod descriptor;
mod error;
mod jwt;
mod key;
mod mac;
mod nonce;
mod options;
mod params;
mod presets;
#[cfg(feature = "redis")]
pub mod redis;
mod request;
mod scheme;
pub mod schemes;
mod server_clock;
mod signature;
mod signer;
#[cfg(test)]
mod test_support;
mod timestamp;
mod timestamp_method_path;
pub mod verify;

/// Asymmetric API keys (Ed25519, ECDSA P-256 and, with the `rsa` feature, RSA): the forms a
/// secret text is read in (listed in the crate documentation's "Asymmetric keys"), key
/// generation and inspection.
pub mod keys {
    pub use crate::key::{GeneratedKey, KeyError, KeyInfo, KeyKind, generate, inspect, public_pem};
}

pub use clock::{Clock, FixedClock, SystemClock};
pub use credentials::Credentials;
pub use error::{Error, Result};
#[cfg(unix)]
pub use nonce::FileNonce;
pub use nonce::{MonotonicNonce, NonceSource, NonceUnit};
pub use options::SignOptions;
pub use params::{QueryEncoding, build_query};
pub use request::Request;
pub use scheme::{Scheme, UnknownScheme};
pub use server_clock::ServerClock;
pub use signer::Signer;

/// Re-exported so callers name the same `secrecy` types this crate takes.
pub use secrecy;
