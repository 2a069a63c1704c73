#![doc = include_str!("../README.md")]
// On docs.rs (`--cfg docsrs`, a nightly rustdoc): each feature-gated item says which feature it
// needs. `doc_cfg` includes what `doc_auto_cfg` did before Rust 1.92.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
pub mod ct;
mod error;
mod key;
pub mod keyfile;
mod keyring;
pub mod private_file;
mod token;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Error, KeyFormatError, Result};
pub use key::{FernetKey, KeyId, ParseKeyIdError};
pub use keyring::{Fernet, KeyRing};
pub use token::Plaintext;

/// Entry points for the cargo-fuzz targets (`fuzz/`) to parsers that have no public text entry
/// point of their own: thin wrappers, no logic. Feature `fuzzing`; not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use crate::{KeyRing, Result};

    /// [`KeyRing::from_env`]'s parser, over `value` instead of an environment variable (the
    /// fuzzer runs single-threaded, but setting variables is `unsafe` in edition 2024).
    pub fn parse_key_ring(value: &str) -> Result<KeyRing> {
        KeyRing::parse_list("KEYWARD_MASTER_KEY", value)
    }
}

/// Re-exported so callers name the same `secrecy` types this crate returns.
pub use secrecy;
