//! The `SecretStore` trait every backend implements, and what it returns.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::age::CredentialAge;
use crate::error::{Error, Result};
use crate::revocation::Revocation;
use crate::value::SecretValue;

/// The stage of the version `get` returns by default.
pub const CURRENT: &str = "current";
/// The stage of the version that `current` replaced.
pub const PREVIOUS: &str = "previous";
/// The stage of a version being rotated in, not yet current.
pub const PENDING: &str = "pending";

/// Which version of a secret to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selector {
    /// The current version.
    #[default]
    Current,
    /// A version by its id.
    Version(String),
    /// The version holding a stage label ([`CURRENT`], [`PREVIOUS`], [`PENDING`]).
    Stage(String),
}

/// What a store knows about one version of a secret. Never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The secret's name.
    pub name: String,
    /// The version's id, as the store assigns it.
    pub version: String,
    /// When the version was created, if the store records it.
    pub created: Option<SystemTime>,
    /// The stage labels on this version.
    pub stages: Vec<String>,
    /// Whether the secret is due for rotation, if the store tracks its age.
    pub rotation_due: Option<bool>,
}

/// A secret read from a store.
#[derive(Debug, Clone)]
pub struct Secret {
    /// The value.
    pub value: SecretValue,
    /// Its metadata.
    pub meta: Metadata,
}

/// What a backend can do, so that one conformance suite runs over all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `put` and `delete` work.
    pub writable: bool,
    /// Old versions stay readable after a `put`.
    pub versioned: bool,
    /// Stage labels can be moved between versions.
    pub stages: bool,
}

/// A place secrets come from. Every backend behaves alike where its [`Capabilities`] say it can.
#[async_trait]
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// The backend's kind (`env`, `dotenv`, `file`, `sqlite`, `aws`).
    fn kind(&self) -> &'static str;

    /// What the backend can do.
    fn capabilities(&self) -> Capabilities;

    /// Reads a version of a secret.
    async fn get(&self, name: &str, which: &Selector) -> Result<Secret>;

    /// Stores a new version, which becomes [`CURRENT`] (the old current becomes [`PREVIOUS`]).
    async fn put(&self, name: &str, value: &SecretValue) -> Result<Metadata>;

    /// Stores a new version labelled [`PENDING`], leaving [`CURRENT`] where it is (rotation).
    async fn put_pending(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        let _ = (name, value);
        Err(self.unsupported("staged versions"))
    }

    /// Moves [`CURRENT`] to `version` (the old current becomes [`PREVIOUS`]; a [`PENDING`] label
    /// on `version` is removed).
    async fn promote(&self, name: &str, version: &str) -> Result<()> {
        let _ = (name, version);
        Err(self.unsupported("staged versions"))
    }

    /// Deletes a secret and all its versions.
    async fn delete(&self, name: &str) -> Result<()>;

    /// The names of all secrets, sorted.
    async fn list(&self) -> Result<Vec<String>>;

    /// Every version of a secret, oldest first.
    async fn versions(&self, name: &str) -> Result<Vec<Metadata>>;

    /// Rotation notices: a receiver of the names of secrets whose value changed, for stores
    /// that announce changes ([`CachedStore`](crate::CachedStore) does); `None` for the others.
    /// A client subscribes when it is built, and reads a named secret again before its next
    /// request.
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        None
    }

    /// The current version's metadata.
    async fn metadata(&self, name: &str) -> Result<Metadata> {
        Ok(self.get(name, &Selector::Current).await?.meta)
    }

    /// Reads the current version from the store itself, past any cache: what a client calls
    /// after the venue refused its credentials, so that a rotated or revoked secret is seen at
    /// once. A cache ([`CachedStore`](crate::CachedStore)) never answers it from memory and never
    /// serves a stale value instead; a chain asks its stores the same way. The default (a store
    /// without a cache) is [`SecretStore::invalidate`] then an ordinary `get` of the current
    /// version.
    async fn get_fresh(&self, name: &str) -> Result<Secret> {
        self.invalidate(name);
        self.get(name, &Selector::Current).await
    }

    /// Forgets anything cached about `name`, so the next read asks the store. A no-op for
    /// stores that cache nothing; a chain passes it to each of its stores.
    fn invalidate(&self, name: &str) {
        let _ = name;
    }

    /// The store's own name for a stage label, as its users know it (AWS Secrets Manager:
    /// `AWSCURRENT` for [`CURRENT`], `AWSPREVIOUS`, `AWSPENDING`); other labels, and every label
    /// of a store without names of its own, are returned as they are.
    fn stage_label<'a>(&self, stage: &'a str) -> std::borrow::Cow<'a, str> {
        std::borrow::Cow::Borrowed(stage)
    }

    /// Marks `name`'s current version compromised (see [`crate::revocation`]): from now on a
    /// read of that version answers [`Error::Revoked`], until a new value replaces it (`put`,
    /// or `promote` of another version). `reason` is checked with
    /// [`validate_reason`](crate::validate_reason). Revoking a revoked secret again keeps the
    /// first time and version. Stores that cannot be written answer [`Error::Unsupported`]
    /// (the default); a missing secret is [`Error::NotFound`].
    async fn revoke(&self, name: &str, reason: Option<&str>) -> Result<Revocation> {
        let _ = (name, reason);
        Err(self.unsupported("revocation"))
    }

    /// The revocation of `name` not yet replaced, if any (`None` for stores that cannot hold
    /// one).
    async fn revocation(&self, name: &str) -> Result<Option<Revocation>> {
        let _ = name;
        Ok(None)
    }

    /// Every revocation not yet replaced, sorted by name (empty for stores that cannot hold
    /// one).
    async fn revocations(&self) -> Result<Vec<Revocation>> {
        Ok(Vec::new())
    }

    /// The rotation age of every secret, sorted by name, under the store's
    /// [`RotationPolicy`](crate::RotationPolicy) (90 days unless configured), for stores that
    /// keep dates (the vault, the encrypted file store, AWS Secrets Manager); the others answer
    /// [`Error::Unsupported`] (the default).
    async fn credential_ages(&self) -> Result<Vec<CredentialAge>> {
        Err(self.unsupported("rotation dates"))
    }

    /// The error for an operation this backend does not support.
    fn unsupported(&self, operation: &'static str) -> Error {
        Error::Unsupported {
            store: self.kind(),
            operation,
        }
    }
}

/// Checks a secret name: 1 to 256 characters of `A-Z a-z 0-9 / _ + = . @ -` (what AWS Secrets
/// Manager accepts), so a name means the same thing in every backend.
pub fn validate_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() || name.len() > 256 {
        Some("it must be 1 to 256 characters long")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
    {
        Some("it may hold only letters, digits and / _ + = . @ -")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidName {
            name: name.chars().take(64).collect(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::validate_name;

    #[test]
    fn names() {
        assert!(validate_name("binance-testnet/prod_1").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name(&"x".repeat(257)).is_err());
    }
}
