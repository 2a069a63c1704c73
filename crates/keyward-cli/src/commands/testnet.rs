//! `keyward testnet serve`: the local exchange testnet until interrupted.

use std::path::Path;

use anyhow::{Context, Result, bail};
use keyward::crypto::private_file::read_private_file;
use keyward::crypto::secrecy::{ExposeSecret, SecretString};
use keyward::secrets::{SecretStore, SecretValue, SqliteVault};
use keyward_testnet::{
    BROKERS, BrokerCredentials, Faults, KeyPair, SharedState, Testnet, TestnetConfig,
    VenueCredentials, VenueKey, generate_key_pairs,
};
use serde_json::{Value, json};

use crate::cli::{TestnetCommand, TestnetServeArgs};
use crate::stdio::write_stdout;

/// The largest credentials file read.
const MAX_CREDENTIALS_FILE: u64 = 1024 * 1024;

/// Runs a `keyward testnet` subcommand.
pub fn run(cmd: TestnetCommand) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    match cmd {
        TestnetCommand::Serve(args) => runtime.block_on(serve(&args)),
    }
}

async fn serve(args: &TestnetServeArgs) -> Result<()> {
    // Before any secret is read or made.
    crate::harden::protect_process_memory()?;
    let faults: Faults = match &args.faults {
        Some(spec) => spec.parse()?,
        None => Faults::default(),
    };
    let (given, keys) = match &args.credentials {
        Some(path) => read_credentials(path)?,
        None => (Vec::new(), Vec::new()),
    };
    let brokers = match &args.credentials {
        Some(path) => read_broker_credentials(path)?,
        None => Vec::new(),
    };
    // Without a credentials file, one key pair per venue and accepted kind: the testnet gets the
    // public halves, the vault the private ones.
    let pairs = if args.credentials.is_none() {
        generate_key_pairs()?
    } else {
        Vec::new()
    };
    let mut config = TestnetConfig::default()
        .with_host(args.host.clone())
        .with_credentials(given)
        .with_broker_credentials(brokers)
        .with_public_keys(keys)
        .with_public_keys(pairs.iter().map(KeyPair::public))
        .with_faults(faults);
    if let Some(url) = &args.shared_state {
        config = config.with_shared_state(shared_state(url, &args.shared_state_prefix).await?);
    }
    // The recorder first, so that the testnet's first answers are counted.
    let metrics = match args.metrics {
        Some(addr) => {
            Some(crate::metrics_endpoint::serve(addr, crate::metrics_endpoint::install()?).await?)
        }
        None => None,
    };
    let testnet = Testnet::start(config).await?;
    if args.credentials.is_none() {
        store_in_vault(&testnet, &pairs).await?;
    }
    let mut urls = json!(testnet.urls());
    if let (Some(endpoint), Some(map)) = (&metrics, urls.as_object_mut()) {
        map.insert("metrics".to_owned(), Value::String(endpoint.url()));
    }
    tracing::info!(listeners = testnet.urls().len(), "testnet serving");
    write_stdout(format!("{urls}\n").as_bytes())?;
    wait_for_stop().await?;
    testnet.shutdown().await;
    Ok(())
}

/// The replicas' shared state (`--shared-state`, [`super::shared_state`]).
async fn shared_state(url: &str, prefix: &str) -> Result<SharedState> {
    let fleet = super::shared_state::connect(url, prefix).await?;
    Ok(SharedState::new(fleet.connection(), fleet.prefix())?.with_timeout(fleet.timeout()))
}

/// Reads `{"credentials":[{"venue","api_key","secret"|"public_key","passphrase"}]}` from a
/// private file: entries with a `secret` are HMAC credentials, entries with a `public_key` (a
/// PEM public key, for a venue that accepts its kind) the public halves of asymmetric keys.
fn read_credentials(path: &Path) -> Result<(Vec<VenueCredentials>, Vec<VenueKey>)> {
    let bytes = read_private_file(path, MAX_CREDENTIALS_FILE)?;
    // The parse error names a line and column, never the file's content.
    let doc: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let Some(entries) = doc.get("credentials").and_then(Value::as_array) else {
        bail!("{} must hold {{\"credentials\": [...]}}", path.display());
    };
    let mut secrets = Vec::with_capacity(entries.len());
    let mut keys = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let text = |field: &str| -> Result<Option<String>> {
            match entry.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => bail!(
                    "{}: credentials[{i}].{field} must be a string",
                    path.display()
                ),
            }
        };
        let at = |venue: &str| format!("{}: credentials[{i}] ({venue})", path.display());
        let venue = text("venue")?
            .with_context(|| format!("{}: credentials[{i}] has no venue", path.display()))?;
        if BROKERS.contains(&venue.as_str()) {
            // Login fields, read by read_broker_credentials.
            continue;
        }
        if venue == IBKR {
            bail!(
                "{}: the testnet's IBKR gateway takes no credentials (its session starts logged \
                 in, as a real gateway is once a person has logged in at its page); remove the entry",
                at(&venue)
            );
        }
        match (text("secret")?, text("public_key")?) {
            (Some(_), Some(_)) => bail!(
                "{} has both a secret and a public_key; give one per entry",
                at(&venue)
            ),
            (None, None) => bail!("{} has no secret (or public_key)", at(&venue)),
            (Some(secret), None) => secrets.push(VenueCredentials {
                api_key: text("api_key")?,
                secret: SecretString::from(secret),
                passphrase: text("passphrase")?.map(SecretString::from),
                venue,
            }),
            (None, Some(pem)) => {
                if text("passphrase")?.is_some() {
                    bail!(
                        "{} has a public_key and a passphrase; public keys take none",
                        at(&venue)
                    );
                }
                let api_key = text("api_key")?
                    .with_context(|| format!("{} has a public_key but no api_key", at(&venue)))?;
                let key = VenueKey::new(venue.clone(), api_key, pem);
                key.check().with_context(|| at(&venue))?;
                keys.push(key);
            }
        }
    }
    Ok((secrets, keys))
}

/// The IBKR-shaped gateway's name: a credentials-file entry for it is refused, as its flow uses
/// no login fields.
const IBKR: &str = "ibkr";

/// Reads the broker entries (`upstox`) of the credentials file: `username`, `password`
/// (optional), `pin`, `totp_secret`, `client_id`, `client_secret` and `redirect_uri` instead of a
/// `secret`. A broker without an entry gets fresh credentials.
fn read_broker_credentials(path: &Path) -> Result<Vec<BrokerCredentials>> {
    let bytes = read_private_file(path, MAX_CREDENTIALS_FILE)?;
    let doc: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let entries = doc
        .get("credentials")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(venue) = entry.get("venue").and_then(Value::as_str) else {
            continue;
        };
        if !BROKERS.contains(&venue) {
            continue;
        }
        let at = format!("{}: credentials[{i}] ({venue})", path.display());
        if entry.get("secret").is_some() || entry.get("public_key").is_some() {
            bail!("{at} is a broker login: give its login fields, not a secret or public_key");
        }
        let field = |name: &str, required: bool| -> Result<String> {
            match entry.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                None | Some(Value::Null) if !required => Ok(String::new()),
                None | Some(Value::Null) => bail!("{at} has no {name}"),
                Some(_) => bail!("{at}: {name} must be a string"),
            }
        };
        out.push(BrokerCredentials {
            venue: venue.to_owned(),
            username: field("username", true)?,
            password: SecretString::from(field("password", false)?),
            pin: SecretString::from(field("pin", true)?),
            totp_secret: SecretString::from(field("totp_secret", true)?),
            client_id: field("client_id", true)?,
            client_secret: SecretString::from(field("client_secret", true)?),
            redirect_uri: field("redirect_uri", true)?,
        });
    }
    Ok(out)
}

/// Stores every credential in use in the default vault (created if missing) as
/// `testnet/<venue>`, and the private halves of `pairs` as `testnet/<venue>-<kind>`, and says
/// where on stderr.
async fn store_in_vault(testnet: &Testnet, pairs: &[KeyPair]) -> Result<()> {
    let path = super::vault::default_path()?;
    let vault = if path.exists() {
        super::vault::open(Some(path.clone()))?
    } else {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_dir::create_private_dir_all(dir)?;
        }
        let (vault, key) = SqliteVault::create(&path)?;
        eprintln!(
            "created vault {} with master key {} (both mode 0600)",
            path.display(),
            key.display()
        );
        vault
    };
    store_credentials(&vault, testnet).await?;
    store_broker_credentials(&vault, testnet).await?;
    store_key_pairs(&vault, pairs).await?;
    eprintln!(
        "testnet credentials stored in vault {} as testnet/<venue> (fields api_key, secret, passphrase)",
        path.display()
    );
    eprintln!(
        "broker login credentials stored as testnet/<broker> (fields username, password, pin, totp_secret, client_id, client_secret, redirect_uri); log in with: keyward broker login testnet/upstox --venue upstox --base-url <upstox URL>"
    );
    if !pairs.is_empty() {
        let names: Vec<String> = pairs
            .iter()
            .map(|p| format!("testnet/{}", p.name()))
            .collect();
        eprintln!(
            "testnet key pairs stored as {} (fields api_key, secret: the private key, PKCS#8 PEM); the testnet holds the public halves",
            names.join(", ")
        );
    }
    Ok(())
}

/// Stores every credential the testnet accepts in `store` as `testnet/<venue>`, with fields
/// `api_key`, `secret` and, where the venue has one, `passphrase`. hmac-newline-v0 requests carry
/// no key id; its `api_key` is the key id the testnet gives it (its name), so that clients read
/// every entry alike.
pub async fn store_credentials(store: &dyn SecretStore, testnet: &Testnet) -> Result<usize> {
    let mut stored = 0;
    for creds in testnet.all_credentials() {
        let mut fields: Vec<(&str, &str)> = Vec::with_capacity(3);
        fields.push(("api_key", creds.key_id()));
        fields.push(("secret", creds.secret.expose_secret()));
        if let Some(p) = &creds.passphrase {
            fields.push(("passphrase", p.expose_secret()));
        }
        store
            .put(
                &format!("testnet/{}", creds.venue),
                &SecretValue::fields(fields),
            )
            .await?;
        stored += 1;
    }
    Ok(stored)
}

/// Stores every broker's login credentials in `store` as `testnet/<broker>`
/// (`testnet/upstox`), with the fields `keyward broker login` reads: `username`, `password`,
/// `pin`, `totp_secret`, `client_id`, `client_secret`, `redirect_uri`.
pub async fn store_broker_credentials(store: &dyn SecretStore, testnet: &Testnet) -> Result<usize> {
    let mut stored = 0;
    for c in testnet.all_broker_credentials() {
        let fields = [
            ("username", c.username.as_str()),
            ("password", c.password.expose_secret()),
            ("pin", c.pin.expose_secret()),
            ("totp_secret", c.totp_secret.expose_secret()),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.expose_secret()),
            ("redirect_uri", c.redirect_uri.as_str()),
        ];
        store
            .put(
                &format!("testnet/{}", c.venue),
                &SecretValue::fields(fields),
            )
            .await?;
        stored += 1;
    }
    Ok(stored)
}

/// Stores the private half of each pair in `store` as `testnet/<venue>-<kind>`
/// (`testnet/binance-ed25519`), with fields `api_key` and `secret` (the PKCS#8 PEM), so that a
/// client reads it as any other credential: the secret's text says it is a private key.
pub async fn store_key_pairs(store: &dyn SecretStore, pairs: &[KeyPair]) -> Result<usize> {
    for pair in pairs {
        let fields = [
            ("api_key", pair.api_key()),
            ("secret", pair.private_pem().expose_secret()),
        ];
        store
            .put(
                &format!("testnet/{}", pair.name()),
                &SecretValue::fields(fields),
            )
            .await?;
    }
    Ok(pairs.len())
}

/// Waits for ctrl-c or SIGTERM.
pub async fn wait_for_stop() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("could not watch for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("could not watch for ctrl-c")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("could not watch for ctrl-c")?;
    Ok(())
}

// The credentials file must be mode 0600, which these tests set with Unix permissions.
#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)] // reason: the test helpers fail loudly, as the tests do
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use keyward::signing::keys::KeyKind;

    use super::*;

    /// A private (0600) credentials file holding `doc`.
    fn file(doc: &Value) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.json");
        std::fs::write(&path, doc.to_string()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        (dir, path)
    }

    fn public(venue: &str, kind: KeyKind) -> String {
        KeyPair::generate(venue, kind).unwrap().public().public_key
    }

    #[test]
    fn a_venue_takes_a_secret_and_several_public_keys() {
        let ed = public("binance", KeyKind::Ed25519);
        let p256 = public("coinbase-advanced", KeyKind::P256);
        let (_dir, path) = file(&json!({"credentials": [
            {"venue": "binance", "api_key": "hmac-key", "secret": "s3cret"},
            {"venue": "binance", "api_key": "ed-key", "public_key": ed},
            {"venue": "coinbase-advanced", "api_key": "organizations/o/apiKeys/k", "public_key": p256},
        ]}));
        let (secrets, keys) = read_credentials(&path).unwrap();
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].key_id(), "hmac-key");
        let got: Vec<(&str, &str, KeyKind)> = keys
            .iter()
            .map(|k| (k.venue.as_str(), k.api_key.as_str(), k.kind().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("binance", "ed-key", KeyKind::Ed25519),
                (
                    "coinbase-advanced",
                    "organizations/o/apiKeys/k",
                    KeyKind::P256
                )
            ]
        );
    }

    #[test]
    fn a_public_key_the_venue_does_not_take_is_a_config_error_naming_the_entry() {
        let p256 = public("coinbase-advanced", KeyKind::P256);
        let (_dir, path) = file(&json!({"credentials": [
            {"venue": "bybit", "api_key": "k", "public_key": p256},
        ]}));
        let err = format!("{:#}", read_credentials(&path).unwrap_err());
        assert!(err.contains("credentials[0] (bybit)"), "{err}");
        assert!(
            err.contains("bybit does not accept ECDSA P-256 keys"),
            "{err}"
        );
    }

    #[test]
    fn malformed_public_key_entries_are_refused_without_echoing_the_key() {
        let pair = KeyPair::generate("binance", KeyKind::Ed25519).unwrap();
        let private = pair.private_pem().expose_secret().to_owned();
        let body = private.lines().nth(1).unwrap().to_owned();
        let ed = pair.public().public_key;
        for (entry, says) in [
            (
                json!({"venue": "binance", "api_key": "k", "public_key": private}),
                "private key",
            ),
            (json!({"venue": "binance", "public_key": ed}), "no api_key"),
            (
                json!({"venue": "binance", "api_key": "k", "secret": "s", "public_key": ed}),
                "both",
            ),
            (
                json!({"venue": "binance", "api_key": "k", "public_key": ed, "passphrase": "p"}),
                "passphrase",
            ),
            (json!({"venue": "binance", "api_key": "k"}), "no secret"),
        ] {
            let (_dir, path) = file(&json!({ "credentials": [entry] }));
            let err = format!("{:#}", read_credentials(&path).unwrap_err());
            assert!(err.contains(says), "{says}: {err}");
            assert!(!err.contains(&body), "{err}");
        }
    }

    #[tokio::test]
    async fn key_pairs_are_stored_by_venue_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let (vault, _key) = SqliteVault::create(dir.path().join("vault.db")).unwrap();
        let pairs = [
            KeyPair::generate("binance", KeyKind::Ed25519).unwrap(),
            KeyPair::generate("coinbase-advanced", KeyKind::P256).unwrap(),
        ];
        assert_eq!(store_key_pairs(&vault, &pairs).await.unwrap(), 2);
        for (pair, name) in pairs
            .iter()
            .zip(["testnet/binance-ed25519", "testnet/coinbase-advanced-p256"])
        {
            let got = vault
                .get(name, &keyward::secrets::Selector::Current)
                .await
                .unwrap()
                .value;
            assert_eq!(
                got.field("api_key").unwrap().expose_secret(),
                pair.api_key()
            );
            assert_eq!(
                got.field("secret").unwrap().expose_secret(),
                pair.private_pem().expose_secret()
            );
        }
    }
}
