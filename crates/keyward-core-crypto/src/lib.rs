#![doc = include_str!("../README.md")]

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

/// Re-exported so callers name the same `secrecy` types this crate returns.
pub use secrecy;
