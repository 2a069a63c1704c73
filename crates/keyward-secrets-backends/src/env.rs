//! Secrets from environment variables and `.env` files.
//!
//! A secret `binance-testnet` with fields `api_key` and `api_secret` lives in
//! `KEYWARD_BINANCE_TESTNET_API_KEY` and `KEYWARD_BINANCE_TESTNET_API_SECRET` (the prefix is
//! configurable; the name is upper-cased and every character other than a letter or digit
//! becomes `_`). A variable named exactly `KEYWARD_<NAME>` is a single-value secret.
//!
//! Both stores are read-only snapshots: the process environment is read once, when the store
//! is made, and is never written (edition 2024 makes `set_var` unsafe for good reason, and this
//! crate forbids unsafe code).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::environment::{DotenvLoader, Environment, OverridePolicy};
use crate::error::{Error, Result};
use crate::store::{CURRENT, Capabilities, Metadata, Secret, SecretStore, Selector, validate_name};
use crate::value::SecretValue;

/// The default variable prefix.
pub const DEFAULT_PREFIX: &str = "KEYWARD";

/// The variable stem of a secret name: `PREFIX_NAME` upper-cased, non-alphanumerics as `_`.
pub fn variable_stem(prefix: &str, name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}_{name}")
}

/// Variables (name → value), zeroized on drop.
pub(crate) type Vars = BTreeMap<String, Zeroizing<String>>;

/// The process environment as UTF-8 pairs, and the names of the variables under `prefix` whose
/// value is not UTF-8 (their values are dropped unread, never shown). Variables whose name is
/// not UTF-8 are skipped: no secret name maps to them. `std::env::vars()` would panic on
/// either, and its panic message prints the value.
pub(crate) fn process_vars(prefix: &str) -> (Vec<(String, String)>, BTreeSet<String>) {
    split_vars(prefix, std::env::vars_os())
}

/// [`process_vars`] over any environment.
fn split_vars(
    prefix: &str,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> (Vec<(String, String)>, BTreeSet<String>) {
    let prefix_ = format!("{prefix}_");
    let mut good = Vec::new();
    let mut unreadable = BTreeSet::new();
    for (name, value) in vars {
        let Ok(name) = name.into_string() else {
            continue;
        };
        match value.into_string() {
            Ok(value) => good.push((name, value)),
            Err(value) => {
                // Wipe what we can of the unreadable value before dropping it.
                zeroize::Zeroize::zeroize(&mut value.into_encoded_bytes());
                if name.starts_with(&prefix_) || name == prefix {
                    unreadable.insert(name);
                }
            }
        }
    }
    (good, unreadable)
}

/// Looks a secret up in `vars`.
fn lookup(
    store: &'static str,
    prefix: &str,
    (vars, unreadable): (&Vars, &BTreeSet<String>),
    name: &str,
    which: &Selector,
) -> Result<Secret> {
    validate_name(name)?;
    match which {
        Selector::Current => {}
        Selector::Stage(stage) if stage == CURRENT => {}
        _ => {
            return Err(Error::Unsupported {
                store,
                operation: "versions",
            });
        }
    }
    let stem = variable_stem(prefix, name);
    let field_prefix = format!("{stem}_");
    if let Some(bad) = unreadable
        .iter()
        .find(|k| **k == stem || k.starts_with(&field_prefix))
    {
        return Err(Error::Corrupt {
            name: bad.clone(),
            reason: "the variable's value is not UTF-8".to_owned(),
        });
    }
    let value = if let Some(single) = vars.get(&stem) {
        SecretValue::bytes(single.as_bytes().to_vec())
    } else {
        let fields: BTreeMap<String, SecretString> = vars
            .iter()
            .filter_map(|(k, v)| {
                let field = k.strip_prefix(&field_prefix)?;
                Some((field.to_ascii_lowercase(), SecretString::from(v.as_str())))
            })
            .collect();
        if fields.is_empty() {
            return Err(Error::NotFound {
                name: name.to_owned(),
                detail: Some(format!("no variable {stem} or {stem}_*")),
            });
        }
        SecretValue::Fields(fields)
    };
    Ok(Secret {
        value,
        meta: Metadata {
            name: name.to_owned(),
            version: store.to_owned(),
            created: None,
            stages: vec![CURRENT.to_owned()],
            rotation_due: None,
        },
    })
}

const READ_ONLY: Capabilities = Capabilities {
    writable: false,
    versioned: false,
    stages: false,
};

/// Secrets from variables: a snapshot of the process environment ([`EnvStore`]) or a `.env`
/// file overlaid by it ([`DotenvStore`]). Both are this one read-only type.
///
/// A `.env` file is read only if its permissions are 0600 or stricter (the key-file rules of
/// keyward-core-crypto). Environments are explicit: [`VarStore::for_environment`] (or
/// [`DotenvLoader`]) reads `.env.<environment>` in a directory, and a missing file is an error,
/// never a silent fallback to another environment. What a process variable may do to a value
/// from the file is an [`OverridePolicy`]: outside production it wins unless
/// [`VarStore::overriding`] is asked for; in production (`prod`, `production`) a differing
/// process variable is refused by default, and never wins silently.
pub struct VarStore {
    kind: &'static str,
    path: Option<PathBuf>,
    prefix: String,
    vars: Vars,
    /// Variables under the prefix whose value is not UTF-8: a read of their secret fails.
    unreadable: BTreeSet<String>,
}

/// Secrets from a snapshot of the process environment.
pub type EnvStore = VarStore;
/// Secrets from a `.env` file overlaid by the process environment.
pub type DotenvStore = VarStore;

/// The largest `.env` file read.
pub(crate) const MAX_DOTENV_LEN: u64 = 1024 * 1024;

impl VarStore {
    /// A snapshot of the process environment. A variable whose name is not UTF-8 is skipped;
    /// one under the prefix whose value is not UTF-8 makes reads of its secret fail with
    /// [`Error::Corrupt`] naming the variable (never its value).
    pub fn from_process(prefix: &str) -> Self {
        let (vars, unreadable) = process_vars(prefix);
        Self {
            unreadable,
            ..Self::from_vars(prefix, vars)
        }
    }

    /// A store over the given variables (for tests and embedding).
    pub fn from_vars(prefix: &str, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let prefix_ = format!("{prefix}_");
        Self {
            kind: "env",
            path: None,
            prefix: prefix.to_owned(),
            vars: vars
                .into_iter()
                .filter(|(k, _)| k.starts_with(&prefix_) || k == prefix)
                .map(|(k, v)| (k, Zeroizing::new(v)))
                .collect(),
            unreadable: BTreeSet::new(),
        }
    }

    /// Reads the `.env` file `path` (or a directory's `.env`), overlaid by the process
    /// environment under the default [`OverridePolicy`]: the process wins, except for a file
    /// named `.env.prod` or `.env.production`, where a differing process variable is refused
    /// ([`Error::OverrideRefused`]). [`DotenvLoader`] chooses the policy, an audit log and an
    /// integrity watch.
    pub fn open(path: impl AsRef<Path>, prefix: &str) -> Result<Self> {
        DotenvLoader::new(path, prefix).load_unaudited()
    }

    /// Reads `<dir>/.env.<environment>` (for example `.env.staging`) under the environment's
    /// default [`OverridePolicy`]. The name is checked ([`Environment::new`]); a missing file is
    /// [`Error::EnvironmentFileMissing`], never a fallback to `.env`.
    pub fn for_environment(dir: impl AsRef<Path>, environment: &str, prefix: &str) -> Result<Self> {
        DotenvLoader::new(dir, prefix)
            .environment(Some(Environment::new(environment)?))
            .load_unaudited()
    }

    /// Reads the `.env` file `path` with `process` as the process environment; the file's
    /// values win over the process's only if `override_process` is set. A production file
    /// (`.env.prod`, `.env.production`) refuses `override_process == false`
    /// ([`Error::UnsafeOverridePolicy`]): its values are never overridden silently.
    pub fn with_process_vars(
        path: &Path,
        prefix: &str,
        process: impl IntoIterator<Item = (String, String)>,
        override_process: bool,
    ) -> Result<Self> {
        DotenvLoader::new(path, prefix)
            .process_vars(process)
            .policy(if override_process {
                OverridePolicy::FileWins
            } else {
                OverridePolicy::ProcessWins
            })
            .load_unaudited()
    }

    /// Re-reads the `.env` file with the file's values winning over the process environment
    /// (a process-environment store is returned unchanged).
    pub fn overriding(self) -> Result<Self> {
        match &self.path {
            Some(path) => DotenvLoader::new(path, &self.prefix)
                .policy(OverridePolicy::FileWins)
                .load_unaudited(),
            None => Ok(self),
        }
    }

    /// A dotenv store over variables already read and overlaid (by [`DotenvLoader`]).
    pub(crate) fn from_parts(
        path: PathBuf,
        prefix: &str,
        vars: Vars,
        unreadable: BTreeSet<String>,
    ) -> Self {
        Self {
            kind: "dotenv",
            path: Some(path),
            prefix: prefix.to_owned(),
            vars,
            unreadable,
        }
    }

    /// The `.env` file this store was read from (`None` for the process environment).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

/// Parses the contents of the `.env` file `path`; an error never quotes a line.
pub(crate) fn parse_dotenv(path: &Path, data: &[u8]) -> Result<Vars> {
    let longest_env = std::env::vars_os()
        .map(|(_, value)| value.len() as u64)
        .max()
        .unwrap_or(0);
    if let Err(bound) = crate::dotenv_bound::check(data, longest_env) {
        return Err(Error::Corrupt {
            name: path.display().to_string(),
            reason: format!(
                "its `$` substitutions could expand its values to {bound} bytes, over the {} allowed",
                crate::dotenv_bound::MAX_EXPANDED
            ),
        });
    }
    let mut vars: Vars = Vars::new();
    for item in dotenvy::from_read_iter(data) {
        let (k, v) = item.map_err(|e| Error::Corrupt {
            name: path.display().to_string(),
            reason: dotenv_error(&e),
        })?;
        vars.insert(k, Zeroizing::new(v));
    }
    Ok(vars)
}

/// A parse error's description, without the line's content (which may hold a secret).
fn dotenv_error(e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::LineParse(_, index) => format!("cannot parse the line at byte {index}"),
        dotenvy::Error::Io(io) => io.kind().to_string(),
        _ => "not a .env file".to_owned(),
    }
}

impl std::fmt::Debug for VarStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VarStore")
            .field("kind", &self.kind)
            .field("path", &self.path)
            .field("prefix", &self.prefix)
            .field("variables", &self.vars.len())
            .field("unreadable", &self.unreadable)
            .finish()
    }
}

#[async_trait]
impl SecretStore for VarStore {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn capabilities(&self) -> Capabilities {
        READ_ONLY
    }

    async fn get(&self, name: &str, which: &Selector) -> Result<Secret> {
        lookup(
            self.kind,
            &self.prefix,
            (&self.vars, &self.unreadable),
            name,
            which,
        )
    }

    async fn put(&self, _: &str, _: &SecretValue) -> Result<Metadata> {
        Err(self.unsupported("writing"))
    }

    async fn delete(&self, _: &str) -> Result<()> {
        Err(self.unsupported("deleting"))
    }

    async fn list(&self) -> Result<Vec<String>> {
        // Variable names do not map back to secret names (the mapping is lossy).
        Err(self.unsupported("listing"))
    }

    async fn versions(&self, name: &str) -> Result<Vec<Metadata>> {
        Ok(vec![self.get(name, &Selector::Current).await?.meta])
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::ffi::OsStringExt;

    use super::*;

    #[test]
    fn variables_that_are_not_utf8_are_split_off_by_name() {
        let os = |b: &[u8]| OsString::from_vec(b.to_vec());
        let (good, unreadable) = split_vars(
            "KEYWARD",
            [
                (os(b"KEYWARD_A"), os(b"a")),
                (os(b"KEYWARD_B"), os(b"\xff")),
                (os(b"OTHER"), os(b"\xff")),
                (os(b"KEYWARD_\xff"), os(b"x")),
            ],
        );
        assert_eq!(good, [("KEYWARD_A".to_owned(), "a".to_owned())]);
        assert_eq!(unreadable.into_iter().collect::<Vec<_>>(), ["KEYWARD_B"]);
    }
}
