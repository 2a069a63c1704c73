//! Rotation age: how old each credential's current version is, and whether it is due.

use super::{SqliteVault, db, from_millis};
use crate::age::{CredentialAge, RotationPolicy};
use crate::error::Result;

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
            Ok(CredentialAge::at(name, rotated_at, &policy, now))
        })
        .collect()
    }

    /// The vault's rotation policy.
    pub fn rotation_policy(&self) -> RotationPolicy {
        self.policy
    }
}
