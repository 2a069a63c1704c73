//! Standard input and output for secret-bearing data.

use std::io::{Read, Write};

use anyhow::{Context, Result, bail};
use zeroize::Zeroizing;

/// The most a command reads from standard input.
const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// Reads all of standard input into zeroizing memory, up to 64 MiB.
pub fn read_stdin() -> Result<Zeroizing<Vec<u8>>> {
    let mut data = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(MAX_INPUT + 1)
        .read_to_end(&mut data)
        .context("could not read standard input")?;
    if data.len() as u64 > MAX_INPUT {
        bail!("standard input is larger than {} MiB", MAX_INPUT >> 20);
    }
    Ok(data)
}

/// Writes `data` to standard output and flushes it.
pub fn write_stdout(data: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(data)
        .and_then(|()| out.flush())
        .context("could not write standard output")
}
