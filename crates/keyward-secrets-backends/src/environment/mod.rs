//! Environments: which `.env.<NAME>` file a process reads, and what a process variable may do
//! to a value from it.
//!
//! - [`Environment`] is a checked name (letters, digits, `-` and `_`, 1 to
//!   [`MAX_ENVIRONMENT_LEN`] bytes: no path separator, no dot, so `..` and `.` are refused too),
//!   chosen by the caller or by [`ENV_VAR`] (`KEYWARD_ENV`) through [`Environment::from_process`].
//! - [`DotenvLoader`] reads `<dir>/.env.<NAME>`; a missing file is
//!   [`Error::EnvironmentFileMissing`](crate::Error::EnvironmentFileMissing), never a fallback
//!   to `.env`.
//! - [`OverridePolicy`] says what happens when a process variable under the prefix differs from
//!   the file's value for the same variable. `prod` and `production` (any case) are production
//!   environments, whose default is [`OverridePolicy::Refuse`]; the default elsewhere is
//!   [`OverridePolicy::ProcessWins`], and [`OverridePolicy::ProcessWins`] is refused for a
//!   production environment, so a production value is never overridden silently.
//! - [`shared_values`] finds the same value in two environments' files, compared by a keyed
//!   hash under a per-call random key (no value and no hash leaves it).

mod loader;
mod name;
mod policy;
mod shared;

pub use loader::DotenvLoader;
pub use name::{ENV_VAR, Environment, MAX_ENVIRONMENT_LEN};
pub use policy::OverridePolicy;
pub use shared::{Occurrence, SharedScan, SharedValue, shared_values};
