//! The CLI's `tracing` subscriber: `-v` (info), `-vv` (debug), `-vvv` (trace) for keyward's own
//! crates, or `RUST_LOG` (tracing-subscriber's `EnvFilter` syntax, which wins over `-v`), to
//! standard error. With neither, none is installed and stderr shows what it always did.
//! keyward's events and spans carry no secret values (keys, secrets, signatures, signed URLs):
//! see docs/guides/observability.md.

use tracing_subscriber::EnvFilter;

/// The directive for `-v` repeated `verbose` times: every target of keyward's crates
/// (`keyward`, `keyward_cli`, `keyward_exchange_client`, ... all start with `keyward`).
fn directive(verbose: u8) -> Option<&'static str> {
    match verbose {
        0 => None,
        1 => Some("keyward=info"),
        2 => Some("keyward=debug"),
        _ => Some("keyward=trace"),
    }
}

/// Installs the subscriber for `verbose` and the environment's `RUST_LOG`, if either asks for
/// one. A `RUST_LOG` that does not parse is reported on stderr and ignored.
pub fn init(verbose: u8) {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|value| !value.trim().is_empty());
    let filter = match (from_env, directive(verbose)) {
        (Some(value), fallback) => match EnvFilter::try_new(&value) {
            Ok(filter) => filter,
            Err(error) => {
                eprintln!("keyward: warning: RUST_LOG is not a valid filter ({error}); ignored");
                match fallback {
                    Some(directive) => EnvFilter::new(directive),
                    None => return,
                }
            }
        },
        (None, Some(directive)) => EnvFilter::new(directive),
        (None, None) => return,
    };
    // try_init: a second subscriber (none today) would be an error, not a panic.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::directive;

    #[test]
    fn each_v_raises_the_level() {
        assert_eq!(directive(0), None);
        assert_eq!(directive(1), Some("keyward=info"));
        assert_eq!(directive(2), Some("keyward=debug"));
        assert_eq!(directive(9), Some("keyward=trace"));
    }
}
