//! Rotation age: how old each credential's current version is, and whether it is due.

use std::time::{Duration, SystemTime};

use super::{SqliteVault, db, from_millis};
use crate::age::RotationPolicy;
use crate::error::Result;

/// The rotation age of one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialAge {
    /// The secret's name.
    pub name: String,
    /// When its current version was stored or promoted; `None` if it has no current version.
    pub rotated_at: Option<SystemTime>,
    /// How old the current version is.
    pub age: Option<Duration>,
    /// Whether it is due for rotation under the vault's policy.
    pub due: bool,
}

impl SqliteVault {
    /// The rotation age of every credential, sorted by name.
    pub fn credential_ages(&self) -> Result<Vec<CredentialAge>> {
        let now = self.now();
        let policy = self.policy;
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare("SELECT name, rotated_at FROM secrets ORDER BY name")
            .map_err(db)?;
        let rows = stmt
            .query_map([], |row| {
                let name: String = row.get(0)?;
                let rotated_at: Option<i64> = row.get(1)?;
                Ok((name, rotated_at.map(from_millis)))
            })
            .map_err(db)?;
        rows.map(|row| {
            let (name, rotated_at) = row.map_err(db)?;
            Ok(CredentialAge {
                name,
                rotated_at,
                age: rotated_at.map(|at| RotationPolicy::age(at, now)),
                due: rotated_at.is_some_and(|at| policy.is_due(at, now)),
            })
        })
        .collect()
    }

    /// The vault's rotation policy.
    pub fn rotation_policy(&self) -> RotationPolicy {
        self.policy
    }
}
