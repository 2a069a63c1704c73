//! `keyward audit verify`.

use anyhow::{Context, Result, bail};
use keyward::secrets::audit::{AuditKey, Summary, verify, verify_with_store};
use serde_json::json;

use crate::cli::{AuditCommand, AuditVerifyArgs, Format};
use crate::stdio::write_stdout;

/// Runs a `keyward audit` subcommand.
pub fn run(cmd: AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Verify(args) => run_verify(&args),
    }
}

fn run_verify(args: &AuditVerifyArgs) -> Result<()> {
    if let Some(vault) = &args.vault {
        return verify_vault(args, vault);
    }
    let summary = match &args.key_name {
        None => {
            if args.store.store.is_some() || !args.store.ring.key_files.is_empty() {
                bail!("--store and --key-file name where the MAC key is: give --key-name too");
            }
            verify(&args.file)?
        }
        Some(name) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("could not start the async runtime")?;
            runtime.block_on(async {
                let store = super::secret::open(&args.store).await?;
                anyhow::Ok(verify_with_store(&args.file, &*store, name).await?)
            })?
        }
    };
    let out = match args.store.format {
        Format::Json => format!("{}\n", report_json(&summary)),
        Format::Text => report_text(&summary),
    };
    write_stdout(out.as_bytes())
}

/// `--vault PATH`: the log (with the key when `--key-name` is given) and the vault's chained
/// audit rows against it.
fn verify_vault(args: &AuditVerifyArgs, vault: &std::path::Path) -> Result<()> {
    if args.key_name.is_none()
        && (args.store.store.is_some() || !args.store.ring.key_files.is_empty())
    {
        bail!("--store and --key-file name where the MAC key is: give --key-name too");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let check = runtime.block_on(async {
        let opened = super::vault::open(Some(vault.to_owned()))?;
        let Some(name) = &args.key_name else {
            return anyhow::Ok(opened.verify_audit_chain(&args.file, None)?);
        };
        let store = super::secret::open(&args.store).await?;
        let key = AuditKey::load(&*store, name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("there is no audit key {name:?} in the store"))?;
        let head = key.head(&*store).await?;
        anyhow::Ok(opened.verify_audit_chain(&args.file, Some((&key, head.as_ref())))?)
    })?;
    let out = match args.store.format {
        Format::Json => {
            let mut doc = report_json(&check.log);
            doc["vault_rows_checked"] = json!(check.rows_checked);
            doc["vault_rows_unchained"] = json!(check.rows_unchained);
            format!("{doc}\n")
        }
        Format::Text => format!(
            "{}vault {}: {} audit rows match their log entries, {} not in the chain\n",
            report_text(&check.log),
            vault.display(),
            check.rows_checked,
            check.rows_unchained
        ),
    };
    write_stdout(out.as_bytes())
}

fn report_json(summary: &Summary) -> serde_json::Value {
    json!({
        "ok": true,
        "entries": summary.entries,
        "chain_id": summary.chain_id,
        "last_seq": summary.last.as_ref().map(|h| h.seq),
        "last_hash": summary.last.as_ref().map(|h| h.hash.as_str()),
        "macs_checked": summary.keyed,
    })
}

fn report_text(summary: &Summary) -> String {
    let checked = if summary.keyed {
        "JSON, sequence, hash chain, MACs and stored head"
    } else {
        "JSON, sequence and hash chain (no key: MACs and a cut tail not checked)"
    };
    let chain = summary
        .chain_id
        .as_deref()
        .map(|id| format!(", chain {id}"))
        .unwrap_or_default();
    format!(
        "ok: {} entries{chain}; checked {checked}\n",
        summary.entries
    )
}
