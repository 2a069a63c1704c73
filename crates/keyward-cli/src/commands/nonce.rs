//! `keyward nonce next`: nonces from a state file, one per line, each flushed as printed.

use anyhow::Result;

use crate::cli::{NonceCommand, NonceNextArgs};

/// Runs a `keyward nonce` subcommand.
pub fn run(cmd: NonceCommand) -> Result<()> {
    match cmd {
        NonceCommand::Next(args) => next(&args),
    }
}

#[cfg(unix)]
fn next(args: &NonceNextArgs) -> Result<()> {
    use std::io::Write;
    use std::sync::Arc;

    use anyhow::Context;
    use keyward::signing::{FileNonce, NonceSource, NonceUnit, SystemClock};

    use crate::cli::{Format, NonceUnitArg};

    let unit = match args.unit {
        NonceUnitArg::Ms => NonceUnit::Millis,
        NonceUnitArg::Us => NonceUnit::Micros,
    };
    let nonces = FileNonce::open(&args.state, unit, Arc::new(SystemClock))?.with_block(args.block);
    let mut out = std::io::stdout().lock();
    if args.format == Format::Json {
        // Streamed: `{"nonces":[` then each nonce as it is issued, flushed like the lines
        // below, so a large --count never holds its nonces in memory.
        let write = |out: &mut std::io::StdoutLock<'_>, text: &str| {
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("could not write standard output")
        };
        write(&mut out, "{\"nonces\":[")?;
        for i in 0..args.count {
            let nonce = nonces.next_nonce()?;
            let sep = if i == 0 { "" } else { "," };
            write(&mut out, &format!("{sep}{nonce}"))?;
        }
        return write(&mut out, "]}\n");
    }
    for _ in 0..args.count {
        let nonce = nonces.next_nonce()?;
        // Flushed line by line, so a run that is killed has printed only whole nonces that
        // were issued (and persisted) before it died.
        writeln!(out, "{nonce}")
            .and_then(|()| out.flush())
            .context("could not write standard output")?;
    }
    Ok(())
}

/// The state file is locked with `flock`, which this build of keyward does not have.
#[cfg(not(unix))]
fn next(_args: &NonceNextArgs) -> Result<()> {
    anyhow::bail!("keyward nonce needs a Unix system (it locks the state file with flock)")
}
