//! `keyward nonce next`: nonces from a state file, or from the sequence a fleet shares in Redis,
//! one per line, each flushed as printed.

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
    use std::sync::Arc;

    use anyhow::Context;
    use keyward::signing::{FileNonce, NonceSource, NonceUnit, SystemClock};

    use crate::cli::NonceUnitArg;

    let unit = match args.unit {
        NonceUnitArg::Ms => NonceUnit::Millis,
        NonceUnitArg::Us => NonceUnit::Micros,
    };
    if let Some(url) = &args.store {
        let key = args.key.as_deref().context("--store needs --key NAME")?;
        return shared::next(args, url, key, unit);
    }
    let state = args
        .state
        .as_ref()
        .context("keyward nonce next needs --state FILE or --store URL")?;
    let nonces = FileNonce::open(state, unit, Arc::new(SystemClock))?.with_block(args.block);
    print(args, || Ok(nonces.next_nonce()?))
}

/// Prints `args.count` nonces from `draw` in `args.format`, each flushed as it is issued.
#[cfg(unix)]
fn print(args: &NonceNextArgs, mut draw: impl FnMut() -> Result<u64>) -> Result<()> {
    use std::io::Write;

    use anyhow::Context;

    use crate::cli::Format;

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
            let nonce = draw()?;
            let sep = if i == 0 { "" } else { "," };
            write(&mut out, &format!("{sep}{nonce}"))?;
        }
        return write(&mut out, "]}\n");
    }
    for _ in 0..args.count {
        let nonce = draw()?;
        // Flushed line by line, so a run that is killed has printed only whole nonces that
        // were issued (and persisted) before it died.
        writeln!(out, "{nonce}")
            .and_then(|()| out.flush())
            .context("could not write standard output")?;
    }
    Ok(())
}

/// `--store redis://...`: the fleet's shared sequence.
#[cfg(unix)]
mod shared {
    use std::sync::Arc;

    use anyhow::{Context, Result, bail};
    use keyward::exchange::fleet::FleetConfig;
    use keyward::signing::redis::RedisNonce;
    use keyward::signing::{NonceUnit, SystemClock};

    use crate::cli::NonceNextArgs;

    pub(super) fn next(args: &NonceNextArgs, url: &str, key: &str, unit: NonceUnit) -> Result<()> {
        let config = if url == "env" {
            FleetConfig::from_env()?
        } else {
            shown_url(url)?;
            let config = FleetConfig::from_url(url)?;
            if config.has_password() {
                bail!(
                    "a Redis password on the command line can be read by anyone on this machine; \
                     put the URL in KEYWARD_REDIS_URL and give --store env"
                );
            }
            config
        };
        // The fleet's rules: plain redis:// only to loopback, rediss:// always verified.
        let config = config.with_prefix(args.prefix.as_str())?;
        let shown = config.to_string();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("could not start the async runtime")?;
        // The error names the server (never the password) and why.
        let fleet = runtime.block_on(config.connect())?;
        let mut nonces = RedisNonce::new(
            fleet.connection(),
            fleet.prefix(),
            key,
            unit,
            Arc::new(SystemClock),
        )
        .with_lease(args.block)
        .with_timeout(fleet.timeout());
        if let Some(state) = &args.state {
            nonces = nonces.with_floor_file(state)?;
        }
        super::print(args, || {
            runtime
                .block_on(nonces.next_nonce_async())
                .with_context(|| format!("Redis at {shown}"))
        })
    }

    /// `scheme://host:port` of a `redis://` or `rediss://` URL, without the user, the password,
    /// the database or anything else; any other scheme is refused (its URL is not echoed).
    pub(super) fn shown_url(url: &str) -> Result<String> {
        let Some((scheme, rest)) = url.split_once("://") else {
            bail!("--store must be a redis:// or rediss:// URL");
        };
        if scheme != "redis" && scheme != "rediss" {
            bail!(
                "--store must be a redis:// or rediss:// URL (TLS: rediss://), not {}://",
                if scheme.len() <= 16
                    && scheme
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'+')
                {
                    scheme
                } else {
                    "another scheme"
                }
            );
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        Ok(format!("{scheme}://{host}"))
    }

    #[cfg(test)]
    mod tests {
        use super::shown_url;

        #[test]
        fn the_url_shown_has_no_password_and_other_schemes_are_refused() {
            assert_eq!(
                shown_url("redis://:s3cret@10.0.0.1:6380/2").unwrap(),
                "redis://10.0.0.1:6380"
            );
            assert_eq!(
                shown_url("rediss://user:p@ss@redis.example:6379?x=1").unwrap(),
                "rediss://redis.example:6379"
            );
            assert_eq!(shown_url("redis://127.0.0.1").unwrap(), "redis://127.0.0.1");
            for bad in [
                "http://:pw@h",
                "redis+unix:///tmp/s",
                "127.0.0.1:6379",
                "valkey://h",
            ] {
                let err = shown_url(bad).unwrap_err().to_string();
                assert!(err.contains("redis:// or rediss://"), "{err}");
                assert!(!err.contains("pw"), "{err}");
            }
        }
    }
}

/// The state file is locked with `flock`, which this build of keyward does not have.
#[cfg(not(unix))]
fn next(_args: &NonceNextArgs) -> Result<()> {
    anyhow::bail!("keyward nonce needs a Unix system (it locks the state file with flock)")
}
