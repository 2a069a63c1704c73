//! Store credentials in the encrypted SQLite vault, rotate them without downtime (pending,
//! verify, promote), then rotate the vault's master key. Everything happens in a temporary
//! directory.
//!
//! ```sh
//! cargo run -p keyward --example rotate_credentials
//! ```

use std::ops::ControlFlow;

use keyward::secrets::{CURRENT, PENDING, PREVIOUS, Selector, SqliteVault};
use keyward::{SecretStore as _, SecretValue};
use secrecy::ExposeSecret as _;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("vault.db");
    // Creates the vault and its master key file beside it (both mode 0600).
    let (vault, key_file) = SqliteVault::create(&path)?;

    let name = "binance-main";
    vault
        .put(
            name,
            &SecretValue::fields([("api_key", "key-v1"), ("secret", "secret-v1")]),
        )
        .await?;

    // Rotation: the new key is stored as pending while the current one keeps working...
    let staged = vault
        .put_pending(
            name,
            &SecretValue::fields([("api_key", "key-v2"), ("secret", "secret-v2")]),
        )
        .await?;
    let pending = vault.get(name, &Selector::Stage(PENDING.into())).await?;
    let api_key = pending
        .value
        .field("api_key")
        .map(|k| k.expose_secret().to_owned());
    println!(
        "pending version {} holds api key {:?}",
        pending.meta.version, api_key
    );
    // ... it is tested against the venue here, then promoted: current becomes previous.
    vault.promote(name, &staged.version).await?;
    for stage in [CURRENT, PREVIOUS] {
        let secret = vault.get(name, &Selector::Stage(stage.into())).await?;
        let api_key = secret
            .value
            .field("api_key")
            .map(|k| k.expose_secret().to_owned());
        println!("{stage}: version {} ({:?})", secret.meta.version, api_key);
    }

    // The master key: every row re-encrypted in one transaction, then the key file replaced.
    let rows = vault.rotate_key_file(&key_file, |_progress| ControlFlow::Continue(()))?;
    println!("master key rotated: {rows} rows re-encrypted");
    let current = vault.get(name, &Selector::Current).await?;
    println!("still readable: version {}", current.meta.version);
    Ok(())
}
