//! `keyward key generate` and `keyward key id`.

use anyhow::Result;
use keyward_core_crypto::FernetKey;
use keyward_core_crypto::keyfile::write_key_file;
use keyward_core_crypto::private_file::Overwrite;

use crate::cli::KeyCommand;
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
        KeyCommand::Id(ring) => {
            let ring = keys::ring(&ring)?;
            let mut lines = String::new();
            for (i, id) in ring.key_ids().iter().enumerate() {
                let role = if i == 0 { "primary" } else { "decrypt-only" };
                lines.push_str(&format!("{id} {role}\n"));
            }
            write_stdout(lines.as_bytes())
        }
    }
}
