//! `keyward testnet serve`: the local exchange testnet until interrupted.

use std::path::Path;

use anyhow::{Context, Result, bail};
use keyward::crypto::private_file::read_private_file;
use keyward::crypto::secrecy::{ExposeSecret, SecretString};
use keyward::secrets::{SecretStore, SecretValue, SqliteVault};
use keyward_testnet::{Faults, Testnet, TestnetConfig, VenueCredentials};
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
    let given = match &args.credentials {
        Some(path) => read_credentials(path)?,
        None => Vec::new(),
    };
    let config = TestnetConfig::default()
        .with_host(args.host.clone())
        .with_credentials(given)
        .with_faults(faults);
    let testnet = Testnet::start(config).await?;
    if args.credentials.is_none() {
        store_in_vault(&testnet).await?;
    }
    write_stdout(format!("{}\n", json!(testnet.urls())).as_bytes())?;
    wait_for_stop().await?;
    testnet.shutdown().await;
    Ok(())
}

/// Reads `{"credentials":[{"venue","api_key","secret","passphrase"}]}` from a private file.
fn read_credentials(path: &Path) -> Result<Vec<VenueCredentials>> {
    let bytes = read_private_file(path, MAX_CREDENTIALS_FILE)?;
    // The parse error names a line and column, never the file's content.
    let doc: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let Some(entries) = doc.get("credentials").and_then(Value::as_array) else {
        bail!("{} must hold {{\"credentials\": [...]}}", path.display());
    };
    let mut out = Vec::with_capacity(entries.len());
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
        let venue = text("venue")?
            .with_context(|| format!("{}: credentials[{i}] has no venue", path.display()))?;
        let secret = text("secret")?.with_context(|| {
            format!(
                "{}: credentials[{i}] ({venue}) has no secret",
                path.display()
            )
        })?;
        out.push(VenueCredentials {
            venue,
            api_key: text("api_key")?,
            secret: SecretString::from(secret),
            passphrase: text("passphrase")?.map(SecretString::from),
        });
    }
    Ok(out)
}

/// Stores every credential in use in the default vault (created if missing) as
/// `testnet/<venue>`, and says where on stderr.
async fn store_in_vault(testnet: &Testnet) -> Result<()> {
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
    eprintln!(
        "testnet credentials stored in vault {} as testnet/<venue> (fields api_key, secret, passphrase)",
        path.display()
    );
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
