//! `keyward key generate` and `keyward key id`.

use anyhow::Result;
use keyward::crypto::FernetKey;
use keyward::crypto::keyfile::write_key_file;
use keyward::crypto::private_file::Overwrite;

use crate::cli::{Format, KeyCommand};
use crate::keys;
use crate::stdio::write_stdout;

/// Runs a `keyward key` subcommand.
pub fn run(cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::Generate { out, force } => {
            let key = FernetKey::generate()?;
            match out {
                Some(path) => {
                    let overwrite = if force { Overwrite::Yes } else { Overwrite::No };
                    write_key_file(&path, &key, overwrite)?;
                    eprintln!("wrote key {} to {} (mode 0600)", key.id(), path.display());
                    Ok(())
                }
                None => {
                    let mut text = key.expose_base64();
                    text.push('\n');
                    write_stdout(text.as_bytes())
                }
            }
        }
        KeyCommand::Id(args) => {
            let ring = keys::ring(&args.ring)?;
            let keys: Vec<(String, &str)> = ring
                .key_ids()
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    (
                        id.to_string(),
                        if i == 0 { "primary" } else { "decrypt-only" },
                    )
                })
                .collect();
            let text = match args.format {
                Format::Text => keys
                    .iter()
                    .map(|(id, role)| format!("{id} {role}\n"))
                    .collect::<String>(),
                Format::Json => {
                    let keys: Vec<_> = keys
                        .iter()
                        .map(|(id, role)| serde_json::json!({"id": id, "role": role}))
                        .collect();
                    format!("{}\n", serde_json::json!({ "keys": keys }))
                }
            };
            write_stdout(text.as_bytes())
        }
    }
}
