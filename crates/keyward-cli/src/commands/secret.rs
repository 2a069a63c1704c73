//! `keyward secret put|get|list|rm|versions`.

use std::io::{BufRead, IsTerminal, Read};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result, bail};
use keyward::crypto::secrecy::ExposeSecret;
use keyward::secrets::{
    AwsStore, DotenvStore, EnvStore, FileStore, Metadata, SecretStore, SecretValue, Selector,
};
use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::{Format, SecretCommand, SecretGetArgs, SecretPutArgs, StoreArgs};
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
                open(&args.store).await?.delete(&args.name).await?;
                eprintln!("deleted {}", args.name);
                Ok(())
            }
            SecretCommand::Versions(args) => {
                let versions = open(&args.store).await?.versions(&args.name).await?;
                print_meta(&versions, args.store.format)
            }
        }
    })
}

/// Opens the store a `--store` URL names.
async fn open(args: &StoreArgs) -> Result<Arc<dyn SecretStore>> {
    let Some(url) = args.store.as_deref() else {
        return Ok(Arc::new(super::vault::open(None)?));
    };
    Ok(match url.split_once(':') {
        None if url == "env" => Arc::new(EnvStore::from_process(PREFIX)),
        // Region, credentials and endpoint (AWS_ENDPOINT_URL) from the standard AWS chain.
        None if url == "aws" => Arc::new(AwsStore::from_env().await),
        Some(("sqlite", path)) => Arc::new(super::vault::open(Some(path.into()))?),
        Some(("dotenv", path)) => Arc::new(DotenvStore::open(path, PREFIX)?),
        Some(("file", path)) => Arc::new(FileStore::new(path, keys::ring(&args.ring)?)),
        _ => bail!("unknown store {url:?}: use sqlite:PATH, aws, env, dotenv:PATH or file:PATH"),
    })
}

async fn put(args: &SecretPutArgs) -> Result<()> {
    let store = open(&args.target.store).await?;
    let value = read_value(&args.fields)?;
    let meta = store.put(&args.target.name, &value).await?;
    eprintln!("stored {} version {}", meta.name, meta.version);
    Ok(())
}

/// The value to store: one prompt or stdin line per field, or all of stdin as bytes.
fn read_value(fields: &[String]) -> Result<SecretValue> {
    let terminal = std::io::stdin().is_terminal();
    if fields.is_empty() {
        if terminal {
            let typed = Zeroizing::new(rpassword::prompt_password("value (not echoed): ")?);
            return Ok(SecretValue::bytes(typed.as_bytes().to_vec()));
        }
        let mut data = Zeroizing::new(Vec::new());
        std::io::stdin()
            .lock()
            .take(16 * 1024 * 1024)
            .read_to_end(&mut data)
            .context("could not read standard input")?;
        return Ok(SecretValue::bytes(data.to_vec()));
    }
    let mut values = Vec::with_capacity(fields.len());
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    for field in fields {
        let value = if terminal {
            Zeroizing::new(rpassword::prompt_password(format!(
                "{field} (not echoed): "
            ))?)
        } else {
            match lines.next() {
                Some(line) => Zeroizing::new(line.context("could not read standard input")?),
                None => {
                    bail!("standard input ended before field {field}: give one line per --field")
                }
            }
        };
        values.push((field.as_str(), value));
    }
    Ok(SecretValue::fields(
        values.iter().map(|(k, v)| (*k, v.as_str())),
    ))
}

async fn get(args: &SecretGetArgs) -> Result<()> {
    let store = open(&args.target.store).await?;
    let which = match (&args.version, &args.stage) {
        (Some(v), _) => Selector::Version(v.clone()),
        (None, Some(s)) => Selector::Stage(s.clone()),
        (None, None) => Selector::Current,
    };
    let secret = store.get(&args.target.name, &which).await?;
    if !args.reveal {
        return print_meta(std::slice::from_ref(&secret.meta), args.target.store.format);
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

fn print_meta(versions: &[Metadata], format: Format) -> Result<()> {
    let row = |m: &Metadata| {
        let created = m
            .created
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        json!({"name": m.name, "version": m.version, "stages": m.stages, "created": created, "rotation_due": m.rotation_due})
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
                    m.stages.join(","),
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
