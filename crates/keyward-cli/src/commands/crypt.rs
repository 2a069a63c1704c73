//! `keyward encrypt`, `keyward decrypt` and `keyward rotate-token`.

use std::time::Duration;

use anyhow::{Context, Result};
use keyward::crypto::secrecy::ExposeSecret;

use crate::cli::{DecryptArgs, RingArgs};
use crate::keys;
use crate::stdio::{read_stdin, write_stdout};

/// Encrypts standard input under the primary key.
pub fn encrypt(args: &RingArgs) -> Result<()> {
    let ring = keys::ring(args)?;
    let data = read_stdin()?;
    let mut token = ring.encrypt(&data);
    token.push('\n');
    write_stdout(token.as_bytes())
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
    write_stdout(plain.expose_secret())
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
