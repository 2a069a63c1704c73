//! keyward's project tasks, run as `cargo xtask <command>` (matklad's cargo-xtask convention;
//! the alias lives in `.cargo/config.toml`).
//!
//! - `ci`: the whole CI pipeline (`.ci/run` calls nothing else): the Python virtualenv for the
//!   interop tests, `cargo fmt --check`, clippy with `-D warnings`, the tests and doctests (with a
//!   local `moto_server` for the AWS backend and a `redis-server` for the fleets, installed from
//!   Debian's package when missing), the docs with `-D warnings`, and a short run of every fuzz
//!   target.
//! - `docsrs`, `msrv`: the `ci` steps of those names alone (`docsrs.rs`, `msrv.rs`).
//! - `python`: create or update the virtualenv the interop tests use and print its interpreter.
//! - `bench [-- <filter>...]`: run the criterion benchmarks and write `docs/BENCHMARKS.md`.
//! - `fuzz [--time S] [--cpu-time S] [--list] [TARGET...]`: build the cargo-fuzz targets of
//!   `fuzz/`, write their seed corpora and run them (`fuzz.rs`).
//!
//! The repository rules (crate layers, member manifests) are ordinary `#[test]`s in `tidy.rs`,
//! as in rust-analyzer's xtask: xtask is a workspace member, so the `ci` test step runs them.

mod bench;
mod bench_ratios;
mod ci;
mod cmd;
#[cfg(test)]
mod completeness;
mod docsrs;
mod fuzz;
mod fuzz_seeds;
mod fuzz_seeds_io;
mod local_server;
mod moto;
mod msrv;
#[cfg(test)]
mod packaging;
mod python;
mod redis;
#[cfg(test)]
mod tidy;

use std::ffi::OsString;
use std::process::ExitCode;

/// The help text, printed for `help` and, on standard error, for an unknown command.
const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                     python set-up, fmt --check, clippy -D warnings, tests, doctests, docs,
                         docs.rs, msrv, fuzz smoke (every fuzz target for 10 s)
  python                 create/update .venv for the interop tests and print its python path
  bench [-- <filter>]    run the criterion benchmarks and write docs/BENCHMARKS.md
  fuzz [--time S] [--cpu-time S] [--list] [TARGET...]
                         run the cargo-fuzz targets (all when none named) for S seconds of
                         wall time or S CPU-seconds each (default --time 60), with their seed
                         corpora; report in fuzz/target/report.md; --list names the targets
  docsrs                 build one crate's docs as docs.rs does and check a feature note
  msrv                   check the declared minimum Rust version and build on it
  help                   print this text
";

/// A command line that parsed.
#[derive(Debug, PartialEq, Eq)]
enum Task {
    /// `cargo xtask ci`.
    Ci,
    /// `cargo xtask python`.
    Python,
    /// `cargo xtask bench [-- <filter>...]`, with the words after `--`.
    Bench {
        /// Passed to the benchmark binaries after `--` (criterion's name filter).
        filter: Vec<OsString>,
    },
    /// `cargo xtask fuzz [...]`, with the words after `fuzz` (read by `fuzz::parse_args`).
    Fuzz {
        /// The options and target names.
        words: Vec<String>,
    },
    /// `cargo xtask docsrs`: the `docs.rs` step of `ci` alone.
    Docsrs,
    /// `cargo xtask msrv`: the `msrv` step of `ci` alone.
    Msrv,
    /// `cargo xtask help`, `-h` or `--help`.
    Help,
}

/// Parses the arguments after the program name; `None` means "print usage and exit 2".
fn parse(args: &[OsString]) -> Option<Task> {
    let (first, rest) = args.split_first()?;
    match (first.to_str()?, rest) {
        ("ci", []) => Some(Task::Ci),
        ("python", []) => Some(Task::Python),
        ("docsrs", []) => Some(Task::Docsrs),
        ("msrv", []) => Some(Task::Msrv),
        ("bench", []) => Some(Task::Bench { filter: Vec::new() }),
        ("bench", [dashes, filter @ ..]) if dashes == "--" => Some(Task::Bench {
            filter: filter.to_vec(),
        }),
        ("fuzz", words) => Some(Task::Fuzz {
            words: words
                .iter()
                .map(|word| word.to_str().map(str::to_owned))
                .collect::<Option<_>>()?,
        }),
        ("help" | "-h" | "--help", []) => Some(Task::Help),
        _ => None,
    }
}

/// Runs the task named on the command line; exit status 2 for a usage error, 1 for a failure.
fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some(task) = parse(&args) else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match task {
        Task::Ci => ci::run(),
        Task::Docsrs => docsrs::run(),
        Task::Msrv => msrv::run(),
        Task::Python => python::setup().map(|python| println!("{}", python.display())),
        Task::Bench { filter } => bench::run(&filter),
        Task::Fuzz { words } => {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            fuzz::parse_args(&words).and_then(|options| fuzz::run(&options))
        }
        Task::Help => {
            print!("{USAGE}");
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Task, parse};
    use std::ffi::OsString;

    /// Turns string literals into an argument vector.
    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_the_commands() {
        assert_eq!(parse(&args(&["ci"])), Some(Task::Ci));
        assert_eq!(parse(&args(&["python"])), Some(Task::Python));
        assert_eq!(parse(&args(&["docsrs"])), Some(Task::Docsrs));
        assert_eq!(parse(&args(&["msrv"])), Some(Task::Msrv));
        assert_eq!(
            parse(&args(&["bench"])),
            Some(Task::Bench { filter: vec![] })
        );
        assert_eq!(
            parse(&args(&["bench", "--", "fernet/encrypt"])),
            Some(Task::Bench {
                filter: args(&["fernet/encrypt"])
            })
        );
        assert_eq!(
            parse(&args(&["fuzz", "--time", "10", "fernet"])),
            Some(Task::Fuzz {
                words: vec!["--time".into(), "10".into(), "fernet".into()]
            })
        );
        assert_eq!(parse(&args(&["--help"])), Some(Task::Help));
    }

    #[test]
    fn rejects_anything_else() {
        assert_eq!(parse(&args(&[])), None);
        assert_eq!(parse(&args(&["tidy"])), None);
        assert_eq!(parse(&args(&["ci", "--fast"])), None);
        assert_eq!(parse(&args(&["bench", "fernet"])), None);
    }
}
