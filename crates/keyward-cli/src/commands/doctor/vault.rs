//! The local vault: permissions of the vault and its key, credentials due for rotation, and
//! the keys the credentials hold (`keys.rs`).

use std::path::Path;

use keyward::secrets::{RotationPolicy, SecretStore as _, Selector, SqliteVault};

use super::checks::loose_mode;
use super::finding::{Finding, Severity, shell_quote};
use super::keys::KeyChecks;

/// Checks the vault at `path` (and `path.key`) if it exists, and hands each credential's key to
/// `keys`.
pub async fn check(
    path: &Path,
    policy: &RotationPolicy,
    keys: &mut KeyChecks,
    out: &mut Vec<Finding>,
) {
    if !path.exists() {
        return;
    }
    let key = SqliteVault::key_path(path);
    let mut loose = false;
    for file in [path, key.as_path()] {
        if let Some(mode) = loose_mode(file) {
            loose = true;
            out.push(
                Finding::new(
                    "vault",
                    Severity::Critical,
                    format!(
                        "the local vault's file has mode {mode:04o}: group or others can access it"
                    ),
                    format!("chmod 600 {}", shell_quote(file)),
                )
                .at(file),
            );
        }
    }
    if loose {
        // keyward refuses to open a loose vault; rotation is checked once it is fixed.
        return;
    }
    let vault = match SqliteVault::open_with_key_file(path, &key) {
        Ok(vault) => vault.with_rotation_policy(*policy),
        Err(e) => {
            out.push(
                Finding::new(
                    "vault",
                    Severity::Medium,
                    format!("the local vault cannot be opened ({e}): rotation not checked"),
                    format!("keyward vault audit {}", shell_quote(path)),
                )
                .at(path),
            );
            return;
        }
    };
    let names = match vault.list().await {
        Ok(names) => names,
        Err(e) => {
            out.push(
                Finding::new(
                    "vault",
                    Severity::Medium,
                    format!("the local vault cannot be listed ({e})"),
                    format!("keyward vault audit {}", shell_quote(path)),
                )
                .at(path),
            );
            return;
        }
    };
    for name in names {
        if let Ok(meta) = vault.metadata(&name).await
            && meta.rotation_due == Some(true)
        {
            out.push(
                Finding::new(
                    "rotation",
                    Severity::Medium,
                    format!("credential {name:?} is due for rotation"),
                    format!(
                        "rotate it at the venue, then `keyward secret put {name} --store sqlite:{}`",
                        path.display()
                    ),
                )
                .at(path),
            );
        }
        if let Ok(secret) = vault.get(&name, &Selector::Current).await {
            keys.credential(&name, &secret.value, path, out);
        }
    }
}
