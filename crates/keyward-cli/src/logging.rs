//! The CLI's log subscriber: keyward's `tracing` events on stderr. `RUST_LOG` (an
//! `EnvFilter` directive list, `keyward_exchange_client=debug,info`) decides when it is set;
//! otherwise `-v` shows info, `-vv` debug and `-vvv` trace of keyward's own crates, and with
//! neither nothing is logged (the commands' own output is unchanged). keyward's events carry
//! no secret value (a canary test checks each command that holds one).

use tracing_subscriber::EnvFilter;

/// Installs the subscriber for `verbose` (`-v` counted) and `RUST_LOG`.
pub fn install(verbose: u8) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(directives)
            .unwrap_or_else(|e| {
                eprintln!("keyward: RUST_LOG is not a filter ({e}); logging warnings only");
                EnvFilter::new("warn")
            }),
        _ => {
            let level = match verbose {
                0 => return,
                1 => "info",
                2 => "debug",
                _ => "trace",
            };
            EnvFilter::new(format!(
                "warn,keyward={level},keyward_cli={level},keyward_exchange_client={level},keyward_signing={level},keyward_secrets_backends={level},keyward_resilience={level},keyward_testnet={level},keyward_core_crypto={level}"
            ))
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(true)
        .try_init();
}
