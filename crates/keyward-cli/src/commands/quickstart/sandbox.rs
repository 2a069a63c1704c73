//! The quickstart's world: a vault with a fresh master key in a temporary directory, the testnet
//! on 127.0.0.1 in this process, and the testnet's credentials stored in the vault.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use keyward::secrets::{SecretStore, SqliteVault};
use keyward::{ClientBuilder, RestClient, Scheme};
use keyward_testnet::{Faults, Testnet, TestnetConfig};
use tempfile::TempDir;

/// Where the quickstart runs. Dropping it stops the testnet and removes the directory;
/// [`Sandbox::close`] does the same and reports a directory that could not be removed.
pub struct Sandbox {
    dir: TempDir,
    vault_path: PathBuf,
    key_path: PathBuf,
    /// The vault, as the clients read it.
    pub store: Arc<dyn SecretStore>,
    /// The running testnet.
    pub testnet: Testnet,
    /// How many credentials were stored.
    pub stored: usize,
}

impl Sandbox {
    /// Creates the directory and the vault, starts the testnet with `faults` and stores its
    /// credentials in the vault.
    pub async fn start(faults: Faults) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("keyward-quickstart-")
            .tempdir()
            .context("could not create a temporary directory")?;
        let vault_path = dir.path().join("vault.db");
        let (vault, key_path) = SqliteVault::create(&vault_path)?;
        let store: Arc<dyn SecretStore> = Arc::new(vault);
        let testnet = Testnet::start(TestnetConfig::default().with_faults(faults)).await?;
        let stored = super::super::testnet::store_credentials(store.as_ref(), &testnet).await?;
        Ok(Self {
            dir,
            vault_path,
            key_path,
            store,
            testnet,
            stored,
        })
    }

    /// The temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The vault's database file.
    pub fn vault_path(&self) -> &Path {
        &self.vault_path
    }

    /// The vault's master key file.
    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    /// The testnet's base URL for `name` (a venue, a service scheme or `admin`).
    pub fn url(&self, name: &str) -> Result<&str> {
        self.testnet
            .url(name)
            .with_context(|| format!("the testnet serves no {name}"))
    }

    /// A client for `venue` through the facade, its credentials read from the vault as
    /// `testnet/<venue>`.
    pub fn client(&self, venue: &str) -> Result<ClientBuilder> {
        let scheme: Scheme = venue
            .parse()
            .map_err(|_| anyhow::anyhow!("{venue} is not a venue keyward signs for"))?;
        Ok(RestClient::builder(scheme, self.url(venue)?)
            .secret_store(self.store.clone(), format!("testnet/{venue}")))
    }

    /// Requests the testnet received at `method` `path` of `venue`.
    pub fn hits(&self, venue: &str, method: &str, path: &str) -> u64 {
        self.testnet.hits(venue, method, path)
    }

    /// Applies `faults` to `venue` only (fields left `None` keep their value).
    pub fn fault(&self, venue: &str, faults: Faults) {
        self.testnet.faults().apply(&Faults {
            venue: Some(venue.to_owned()),
            ..faults
        });
    }

    /// Stops the testnet and removes the directory.
    pub async fn close(self) -> Result<()> {
        self.testnet.shutdown().await;
        let shown = self.dir.path().display().to_string();
        self.dir
            .close()
            .with_context(|| format!("could not remove the temporary directory {shown}"))
    }

    /// Stops the testnet and keeps the directory; returns its path.
    pub async fn keep(self) -> PathBuf {
        self.testnet.shutdown().await;
        self.dir.keep()
    }
}
