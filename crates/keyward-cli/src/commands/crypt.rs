//! `keyward encrypt`, `keyward decrypt` and `keyward rotate-token`.

use std::time::Duration;

use anyhow::{Context, Result};
use keyward::crypto::private_file::{Overwrite, write_private_file};
use keyward::crypto::secrecy::ExposeSecret;

use crate::cli::{DecryptArgs, EncryptArgs, OutArgs, RingArgs};
use crate::keys;
use crate::stdio::{read_stdin, write_stdout};

/// Encrypts standard input under the primary key.
pub fn encrypt(args: &EncryptArgs) -> Result<()> {
    let ring = keys::ring(&args.ring)?;
    let data = read_stdin()?;
    let mut token = ring.encrypt(&data);
    token.push('\n');
    write_out(&args.out, token.as_bytes())
}

/// Writes `data` to the `--out` file (mode 0600, atomically, never over an existing file
/// without `--force`), or to standard output.
fn write_out(args: &OutArgs, data: &[u8]) -> Result<()> {
    let Some(path) = &args.out else {
        return write_stdout(data);
    };
    let overwrite = if args.force {
        Overwrite::Yes
    } else {
        Overwrite::No
    };
    write_private_file(path, data, overwrite)?;
    Ok(())
}

/// Decrypts the token on standard input.
pub fn decrypt(args: &DecryptArgs) -> Result<()> {
    let ring = keys::ring(&args.ring)?;
    let token = read_stdin()?;
    let plain = match args.ttl {
        Some(secs) => ring.decrypt_with_ttl(&*token, Duration::from_secs(secs)),
        None => ring.decrypt(&*token),
    }
    .context("could not decrypt the token on standard input")?;
    write_out(&args.out, plain.expose_secret())
}

/// Re-encrypts the token on standard input under the primary key.
pub fn rotate(args: &RingArgs) -> Result<()> {
    let ring = keys::ring(args)?;
    let token = read_stdin()?;
    let mut rotated = ring
        .rotate(&*token)
        .context("could not rotate the token on standard input")?;
    rotated.push('\n');
    write_stdout(rotated.as_bytes())
}
