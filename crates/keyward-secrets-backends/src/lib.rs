#![doc = include_str!("../README.md")]

mod age;
mod error;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;
mod value;

pub use age::{Clock, RotationPolicy, SystemClock};
pub use error::{Error, Result};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteVault;
pub use store::{
    CURRENT, Capabilities, Metadata, PENDING, PREVIOUS, Secret, SecretStore, Selector,
    validate_name,
};
pub use value::SecretValue;
