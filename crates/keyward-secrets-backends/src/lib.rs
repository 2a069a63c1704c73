#![doc = include_str!("../README.md")]
// On docs.rs (`--cfg docsrs`, a nightly rustdoc): each feature-gated item says which feature it
// needs. `doc_cfg` includes what `doc_auto_cfg` did before Rust 1.92.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod age;
pub mod audit;
mod audited;
#[cfg(feature = "aws")]
pub mod aws;
pub mod cache;
pub mod chain;
mod dotenv_bound;
pub mod env;
pub mod environment;
mod error;
pub mod file;
pub mod integrity;
pub mod revocation;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;
mod value;

/// What the fuzz targets (fuzz/, feature `fuzzing`) reach that the public API only reaches
/// through a file on disk. Thin wrappers only; not part of the supported API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use std::collections::BTreeMap;
    use std::path::Path;

    use zeroize::Zeroizing;

    /// The `.env` parser [`DotenvStore`](crate::DotenvStore) and
    /// [`DotenvLoader`](crate::environment::DotenvLoader) read a file's bytes with; `path` only
    /// names the file in errors.
    pub fn parse_dotenv(
        path: &Path,
        data: &[u8],
    ) -> crate::Result<BTreeMap<String, Zeroizing<String>>> {
        crate::env::parse_dotenv(path, data)
    }
}

pub use age::{CredentialAge, RotationPolicy};
pub use audited::AuditedStore;
#[cfg(feature = "aws")]
pub use aws::AwsStore;
pub use cache::{CacheConfig, CachedStore};
pub use chain::{Answered, ChainStore};
pub use env::{DotenvStore, EnvStore, VarStore};
pub use error::{Error, Result};
pub use file::FileStore;
/// The workspace's one clock trait and its system and test clocks, from keyward-core-crypto:
/// the cache reads its monotonic time, the vault its wall time.
pub use keyward_core_crypto::{Clock, FixedClock, SystemClock};
pub use revocation::{Revocation, validate_reason};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteVault;
pub use store::{
    CURRENT, Capabilities, Metadata, PENDING, PREVIOUS, Secret, SecretStore, Selector,
    validate_name,
};
pub use value::SecretValue;
