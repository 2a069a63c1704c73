//! `keyward secret put|get|list|rm|versions|revoke`.

use std::io::{IsTerminal, Read};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result, bail};
use keyward::crypto::secrecy::ExposeSecret;
use keyward::secrets::audit::AuditLog;
use keyward::secrets::{
    AuditedStore, AwsStore, EnvStore, FileStore, Metadata, SecretStore, SecretValue, Selector,
    SystemClock,
};
use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::{
    Format, SecretCommand, SecretGetArgs, SecretNameArgs, SecretPutArgs, SecretRevokeArgs,
    StoreArgs,
};
use crate::keys;
use crate::stdio::write_stdout;

/// The variable prefix of the env and dotenv stores.
const PREFIX: &str = "KEYWARD";

/// Runs a `keyward secret` subcommand.
pub fn run(cmd: SecretCommand) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async {
        match cmd {
            SecretCommand::Put(args) => put(&args).await,
            SecretCommand::Get(args) => get(&args).await,
            SecretCommand::List(store) => {
                let names = open(&store).await?.list().await?;
                match store.format {
                    Format::Json => write_stdout(format!("{}\n", json!(names)).as_bytes()),
                    Format::Text => write_stdout(lines(&names).as_bytes()),
                }
            }
            SecretCommand::Rm(args) => {
                open_named(&args).await?.delete(&args.name).await?;
                eprintln!("deleted {}", args.name);
                Ok(())
            }
            SecretCommand::Versions(args) => {
                let store = open_named(&args).await?;
                let versions = store.versions(&args.name).await?;
                print_meta(&*store, &versions, args.store.format)
            }
            SecretCommand::Revoke(args) => revoke(&args).await,
        }
    })
}

/// Opens the store a `--store` URL names.
pub(super) async fn open(args: &StoreArgs) -> Result<Arc<dyn SecretStore>> {
    let Some(url) = args.store.as_deref() else {
        return Ok(Arc::new(super::vault::open(None)?));
    };
    Ok(match url.split_once(':') {
        None if url == "env" => Arc::new(EnvStore::from_process(PREFIX)),
        // Region, credentials and endpoint (AWS_ENDPOINT_URL) from the standard AWS chain.
        None if url == "aws" => Arc::new(AwsStore::from_env().await),
        Some(("sqlite", path)) => Arc::new(super::vault::open(Some(path.into()))?),
        // `.env.<NAME>` when an environment is selected (--environment, KEYWARD_ENV).
        None if url == "dotenv" => Arc::new(crate::environment::dotenv(".", PREFIX).await?),
        Some(("dotenv", path)) => Arc::new(crate::environment::dotenv(path, PREFIX).await?),
        Some(("file", path)) => Arc::new(FileStore::new(path, keys::ring(&args.ring)?)),
        _ => bail!("unknown store {url:?}: use sqlite:PATH, aws, env, dotenv[:PATH] or file:PATH"),
    })
}

/// Opens the store of a named secret, behind an [`AuditedStore`] when `--audit-log` is given
/// (its MAC key kept in the same store).
async fn open_named(args: &SecretNameArgs) -> Result<Arc<dyn SecretStore>> {
    let store = open(&args.store).await?;
    let Some(path) = &args.audit.audit_log else {
        return Ok(store);
    };
    let log = AuditLog::open(
        path,
        store.clone(),
        &args.audit.audit_key,
        Arc::new(SystemClock),
    )
    .await
    .with_context(|| format!("could not open the audit log {}", path.display()))?;
    Ok(Arc::new(AuditedStore::new(store, Arc::new(log))))
}

/// `keyward secret revoke`: marks the current version compromised.
async fn revoke(args: &SecretRevokeArgs) -> Result<()> {
    let store = open_named(&args.target).await?;
    let revocation = store
        .revoke(&args.target.name, args.reason.as_deref())
        .await?;
    let at = revocation
        .at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match args.target.store.format {
        Format::Json => write_stdout(
            format!(
                "{}\n",
                json!({"name": revocation.name, "version": revocation.version, "revoked_at": at, "reason": revocation.reason})
            )
            .as_bytes(),
        ),
        Format::Text => {
            eprintln!(
                "revoked {} version {} (clients refuse it until a new value is stored: keyward secret put {})",
                revocation.name, revocation.version, revocation.name
            );
            Ok(())
        }
    }
}

async fn put(args: &SecretPutArgs) -> Result<()> {
    let store = open_named(&args.target).await?;
    let value = read_value(&args.fields)?;
    let meta = store.put(&args.target.name, &value).await?;
    eprintln!("stored {} version {}", meta.name, meta.version);
    Ok(())
}

/// The most standard input `secret put` reads; more is an error, never cut silently.
const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// The value to store: one prompt per field at a terminal, else standard input: `FIELD=VALUE`
/// lines, one per `--field`, or without `--field` all of it as bytes.
fn read_value(fields: &[String]) -> Result<SecretValue> {
    let terminal = std::io::stdin().is_terminal();
    if terminal {
        if fields.is_empty() {
            let typed = Zeroizing::new(rpassword::prompt_password("value (not echoed): ")?);
            return Ok(SecretValue::bytes(typed.as_bytes().to_vec()));
        }
        let mut values = Vec::with_capacity(fields.len());
        for field in fields {
            let typed = Zeroizing::new(rpassword::prompt_password(format!(
                "{field} (not echoed): "
            ))?);
            values.push((field.as_str(), typed));
        }
        return Ok(SecretValue::fields(
            values.iter().map(|(k, v)| (*k, v.as_str())),
        ));
    }
    let data = read_input(std::io::stdin().lock())?;
    if fields.is_empty() {
        return Ok(SecretValue::bytes(data.to_vec()));
    }
    parse_fields(&data, fields)
}

/// All of `input`, refused past [`MAX_INPUT`] bytes.
fn read_input(input: impl Read) -> Result<Zeroizing<Vec<u8>>> {
    let mut data = Zeroizing::new(Vec::new());
    input
        .take(MAX_INPUT + 1)
        .read_to_end(&mut data)
        .context("could not read standard input")?;
    if data.len() as u64 > MAX_INPUT {
        bail!("standard input is larger than 16 MiB; nothing was stored");
    }
    Ok(data)
}

/// `FIELD=VALUE` lines, one for each of `fields` in any order (a value may hold `=`; a line
/// ends at `\n` or `\r\n`; blank lines are skipped). A line is never echoed in an error: it may
/// hold a secret.
fn parse_fields(data: &[u8], fields: &[String]) -> Result<SecretValue> {
    let text = std::str::from_utf8(data)
        .map_err(|_| anyhow::anyhow!("standard input is not UTF-8; nothing was stored"))?;
    let mut values: Vec<(&str, Zeroizing<String>)> = Vec::with_capacity(fields.len());
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let field = line
            .split_once('=')
            .and_then(|(name, _)| fields.iter().find(|f| f.as_str() == name));
        let Some(field) = field else {
            bail!(
                "line {} of standard input is not FIELD=VALUE for one of the --field names ({}); nothing was stored",
                i + 1,
                fields.join(", ")
            );
        };
        if values.iter().any(|(name, _)| *name == field.as_str()) {
            bail!("field {field} is given twice on standard input; nothing was stored");
        }
        let value = &line[field.len() + 1..];
        values.push((field.as_str(), Zeroizing::new(value.to_owned())));
    }
    if let Some(missing) = fields
        .iter()
        .find(|f| !values.iter().any(|(name, _)| name == f))
    {
        bail!("standard input has no line {missing}=VALUE; give one FIELD=VALUE line per --field");
    }
    Ok(SecretValue::fields(
        values.iter().map(|(k, v)| (*k, v.as_str())),
    ))
}

async fn get(args: &SecretGetArgs) -> Result<()> {
    let store = open_named(&args.target).await?;
    let which = match (&args.version, &args.stage) {
        (Some(v), _) => Selector::Version(v.clone()),
        (None, Some(s)) => Selector::Stage(s.clone()),
        (None, None) => Selector::Current,
    };
    let secret = store.get(&args.target.name, &which).await?;
    if !args.reveal {
        return print_meta(
            &*store,
            std::slice::from_ref(&secret.meta),
            args.target.store.format,
        );
    }
    match &args.field {
        Some(field) => {
            let value = secret.value.require_field(&args.target.name, field)?;
            let mut out = Zeroizing::new(value.expose_secret().as_bytes().to_vec());
            out.push(b'\n');
            write_stdout(&out)
        }
        None => write_stdout(&secret.value.to_stored()),
    }
}

/// Versions as text (stages under the store's own label names, e.g. `AWSCURRENT`) or JSON
/// (`stages` in keyward's names for scripts, `labels` in the store's).
fn print_meta(store: &dyn SecretStore, versions: &[Metadata], format: Format) -> Result<()> {
    let labels = |m: &Metadata| -> Vec<String> {
        m.stages
            .iter()
            .map(|s| store.stage_label(s).into_owned())
            .collect()
    };
    let row = |m: &Metadata| {
        let created = m
            .created
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        json!({"name": m.name, "version": m.version, "stages": m.stages, "labels": labels(m), "created": created, "rotation_due": m.rotation_due})
    };
    let text = match format {
        Format::Json => format!("{}\n", json!(versions.iter().map(row).collect::<Vec<_>>())),
        Format::Text => versions
            .iter()
            .map(|m| {
                format!(
                    "{} version {} [{}]{}\n",
                    m.name,
                    m.version,
                    labels(m).join(","),
                    if m.rotation_due == Some(true) {
                        " rotation due"
                    } else {
                        ""
                    }
                )
            })
            .collect(),
    };
    write_stdout(text.as_bytes())
}

fn lines(names: &[String]) -> String {
    names.iter().map(|n| format!("{n}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_past_the_limit_is_refused() {
        let at_limit = vec![b'x'; MAX_INPUT as usize];
        assert_eq!(read_input(&at_limit[..]).unwrap().len(), at_limit.len());
        let over = vec![b'x'; MAX_INPUT as usize + 1];
        let err = read_input(&over[..]).unwrap_err();
        assert!(err.to_string().contains("16 MiB"), "{err}");
    }

    #[test]
    fn field_lines_are_parsed_and_never_echoed() {
        let fields = ["api_key".to_owned(), "secret".to_owned()];
        let value = parse_fields(b"secret=s=1\r\n\napi_key=k\n", &fields).unwrap();
        assert_eq!(value.field("secret").unwrap().expose_secret(), "s=1");
        assert_eq!(value.field("api_key").unwrap().expose_secret(), "k");
        for bad in [
            &b"api_key=k\nSECRET-LINE\n"[..],
            b"api_key=k\nsecretx=SECRET\n",
        ] {
            let err = parse_fields(bad, &fields).unwrap_err().to_string();
            assert!(err.contains("line 2") && !err.contains("SECRET"), "{err}");
        }
    }
}
