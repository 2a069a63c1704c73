//! One module per group of subcommands.

mod crypt;
mod key;
mod nonce;
mod secret;
mod sign;
mod testnet;
mod vault;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Key(cmd) => key::run(cmd),
        Command::Encrypt(ring) => crypt::encrypt(&ring),
        Command::Decrypt(args) => crypt::decrypt(&args),
        Command::RotateToken(ring) => crypt::rotate(&ring),
        Command::Sign(args) => sign::run(&args),
        Command::Nonce(cmd) => nonce::run(cmd),
        Command::Secret(cmd) => secret::run(cmd),
        Command::Vault(cmd) => vault::run(cmd),
        Command::Testnet(cmd) => testnet::run(cmd),
    }
}
