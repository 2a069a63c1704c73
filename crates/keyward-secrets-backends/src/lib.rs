#![doc = include_str!("../README.md")]

mod age;
#[cfg(feature = "aws")]
pub mod aws;
pub mod cache;
pub mod chain;
mod clock;
pub mod env;
mod error;
pub mod file;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;
mod value;

pub use age::{RotationPolicy, SystemClock, WallClock};
#[cfg(feature = "aws")]
pub use aws::AwsStore;
pub use cache::{CacheConfig, CachedStore};
pub use chain::{Answered, ChainStore};
pub use clock::{Clock, ManualClock, MonotonicClock};
pub use env::{DotenvStore, EnvStore, VarStore};
pub use error::{Error, Result};
pub use file::FileStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteVault;
pub use store::{
    CURRENT, Capabilities, Metadata, PENDING, PREVIOUS, Secret, SecretStore, Selector,
    validate_name,
};
pub use value::SecretValue;
