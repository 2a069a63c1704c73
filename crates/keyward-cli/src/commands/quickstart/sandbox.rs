//! The quickstart's world: a vault with a fresh master key in a temporary directory, the testnet
//! on 127.0.0.1 in this process, and the testnet's credentials stored in the vault: an HMAC
//! secret per venue and scheme, plus the key pairs of [`KEY_PAIRS`] (the testnet holds only
//! their public halves), and the broker login fields (`testnet/upstox`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use keyward::secrets::{SecretStore, SqliteVault};
use keyward::signing::keys::KeyKind;
use keyward::{ClientBuilder, RestClient, Scheme};
use keyward_testnet::{Faults, KeyPair, Testnet, TestnetConfig};
use tempfile::TempDir;

/// The asymmetric keys the tour shows beside the HMAC secrets: Binance with an Ed25519 key (REST,
/// and the WebSocket API's `session.logon`, which takes nothing else) and Coinbase Advanced with a
/// CDP key (EC P-256: a fresh ES256 JWT per request).
pub const KEY_PAIRS: [(&str, KeyKind); 2] = [
    ("binance", KeyKind::Ed25519),
    ("coinbase-advanced", KeyKind::P256),
];

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
    /// The key pairs' `(venue, credential name)`: `("binance", "binance-ed25519")`, ...
    pub key_pairs: Vec<(&'static str, String)>,
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
        let pairs = KEY_PAIRS
            .iter()
            .map(|(venue, kind)| KeyPair::generate(venue, *kind))
            .collect::<Result<Vec<_>, _>>()?;
        let config = TestnetConfig::default()
            .with_faults(faults)
            .with_public_keys(pairs.iter().map(KeyPair::public));
        let testnet = Testnet::start(config).await?;
        let mut stored = super::super::testnet::store_credentials(store.as_ref(), &testnet).await?;
        stored += super::super::testnet::store_key_pairs(store.as_ref(), &pairs).await?;
        stored += super::super::testnet::store_broker_credentials(store.as_ref(), &testnet).await?;
        let key_pairs = KEY_PAIRS
            .iter()
            .zip(&pairs)
            .map(|((venue, _), pair)| (*venue, pair.name()))
            .collect();
        Ok(Self {
            dir,
            vault_path,
            key_path,
            store,
            testnet,
            stored,
            key_pairs,
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
        self.client_with(venue, venue)
    }

    /// A client for `venue` whose credentials are read from the vault as
    /// `testnet/<credential>` (a key pair's name, say `binance-ed25519`).
    pub fn client_with(&self, venue: &str, credential: &str) -> Result<ClientBuilder> {
        let scheme: Scheme = venue
            .parse()
            .map_err(|_| anyhow::anyhow!("{venue} is not a venue keyward signs for"))?;
        Ok(RestClient::builder(scheme, self.url(venue)?)
            .secret_store(self.store.clone(), format!("testnet/{credential}")))
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
