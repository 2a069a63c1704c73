//! One module per group of subcommands.

mod audit;
mod broker;
mod completions;
mod crypt;
mod doctor;
mod key;
mod nonce;
mod proxy;
mod quickstart;
mod run;
mod secret;
mod shared_state;
mod sign;
mod testnet;
mod token;
mod totp;
mod vault;

use anyhow::{Context as _, Result};

use crate::cli::{Cli, Command};

/// Runs the parsed command line and returns the exit code of a successful run (0, or a
/// doctor's worst finding).
pub fn run(cli: Cli) -> Result<u8> {
    crate::environment::set_flag(cli.environment);
    let done = match cli.command {
        Command::Doctor(args) => return doctor::run(&args),
        Command::Quickstart(args) => quickstart::run(&args),
        Command::Key(cmd) => key::run(cmd),
        Command::Encrypt(args) => crypt::encrypt(&args),
        Command::Decrypt(args) => crypt::decrypt(&args),
        Command::RotateToken(ring) => crypt::rotate(&ring),
        Command::Sign(args) => sign::run(&args),
        Command::Nonce(cmd) => nonce::run(cmd),
        Command::Secret(cmd) => secret::run(cmd),
        Command::Vault(cmd) => vault::run(cmd),
        Command::Testnet(cmd) => testnet::run(cmd),
        Command::Totp(args) => totp::run(&args),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Token(cmd) => token::run(cmd),
        Command::Broker(cmd) => broker::run(cmd),
        Command::Proxy(args) => proxy::run(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => completions::man(&args),
        Command::Run(args) => return run::run(args),
    };
    done.map(|()| 0)
}

/// The runtime of a command that serves or copies while it watches signals (proxy, run,
/// quickstart): two worker threads, I/O and timers on.
pub(crate) fn two_worker_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")
}
