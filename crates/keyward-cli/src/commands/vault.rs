//! `keyward vault init|rotate-key|audit`, and where the default vault lives.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use keyward::secrets::SqliteVault;
use serde_json::json;

use crate::cli::{Format, VaultCommand};
use crate::stdio::write_stdout;

/// The default vault: `vault.db` in `$KEYWARD_HOME`, else in the platform data directory.
pub fn default_path() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("KEYWARD_HOME") {
        return Ok(PathBuf::from(home).join("vault.db"));
    }
    let data = dirs::data_dir()
        .context("no data directory is known for this platform; set KEYWARD_HOME")?;
    Ok(data.join("keyward").join("vault.db"))
}

/// Opens the vault at `path` (or the default one) with its key file beside it.
pub fn open(path: Option<PathBuf>) -> Result<SqliteVault> {
    let path = match path {
        Some(p) => p,
        None => default_path()?,
    };
    if !path.exists() {
        anyhow::bail!(
            "no vault at {}; create one with `keyward vault init {}`",
            path.display(),
            path.display()
        );
    }
    let key = SqliteVault::key_path(&path);
    Ok(SqliteVault::open_with_key_file(&path, &key)?)
}

/// Runs a `keyward vault` subcommand.
pub fn run(cmd: VaultCommand) -> Result<()> {
    match cmd {
        VaultCommand::Init(args) => {
            let path = match args.path {
                Some(p) => p,
                None => default_path()?,
            };
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            crate::private_dir::create_private_dir_all(dir)?;
            let (_, key) = SqliteVault::create(&path)?;
            eprintln!(
                "created vault {} with master key {} (both mode 0600); keep a copy of the key: without it the vault cannot be read",
                path.display(),
                key.display()
            );
            Ok(())
        }
        VaultCommand::RotateKey(args) => {
            let vault = open(args.path)?;
            let key = SqliteVault::key_path(vault.path());
            // indicatif draws only when stderr is a terminal.
            let bar = ProgressBar::new(0).with_style(
                ProgressStyle::with_template("re-encrypting {bar:40} {pos}/{len} rows")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let rows = vault.rotate_key_file(&key, |p| {
                bar.set_length(p.total);
                bar.set_position(p.done);
                ControlFlow::Continue(())
            })?;
            bar.finish_and_clear();
            eprintln!(
                "re-encrypted {rows} rows under a new master key in {}",
                key.display()
            );
            Ok(())
        }
        VaultCommand::Audit(args) => {
            let vault = open(args.path)?;
            let log = vault.audit_log()?;
            let secs = |e: &keyward::secrets::sqlite::AuditEntry| {
                e.at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
            };
            let text = match args.format {
                Format::Json => format!(
                    "{}\n",
                    json!(log.iter().map(|e| json!({"at": secs(e), "name": e.name, "operation": e.operation, "pid": e.pid, "chain_seq": e.chain_seq, "chain_hash": e.chain_hash})).collect::<Vec<_>>())
                ),
                Format::Text => log
                    .iter()
                    .map(|e| {
                        let chain = e.chain_seq.map(|seq| format!(" chain {seq}")).unwrap_or_default();
                        format!("{} {} {} pid {}{chain}\n", secs(e), e.operation, e.name.as_deref().unwrap_or("-"), e.pid)
                    })
                    .collect(),
            };
            write_stdout(text.as_bytes())
        }
    }
}
