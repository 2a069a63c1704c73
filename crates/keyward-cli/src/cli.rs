//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Exit code for any failure at run time (bad token, bad key, loose key file, I/O).
pub const EXIT_FAILURE: u8 = 1;

/// The environment variable holding the master key ring: comma-separated keys, primary first.
pub const MASTER_KEY_ENV: &str = "KEYWARD_MASTER_KEY";

const AFTER_HELP: &str = "\
Keys and secrets are never taken from argument values: a key ring comes from --key-file (repeatable,
the first is the primary) or from KEYWARD_MASTER_KEY (comma-separated keys, the first is the primary);
data comes from standard input.

Exit codes: 0 success, 1 failure (the reason is one sentence on stderr), 2 usage error.

Examples:
  keyward key generate --out master.key
  echo -n 'my api secret' | keyward encrypt --key-file master.key > secret.token
  keyward decrypt --key-file master.key --ttl 3600 < secret.token
  keyward key generate --out new.key
  keyward rotate-token --key-file new.key --key-file master.key < secret.token > rotated.token";

/// keyward: credential encryption, request signing and resilience for exchange integrations.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate and inspect Fernet keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Encrypt standard input into a Fernet token on standard output.
    #[command(
        after_help = "Example:\n  echo -n 'my api secret' | keyward encrypt --key-file master.key"
    )]
    Encrypt(RingArgs),
    /// Decrypt a Fernet token on standard input to standard output.
    #[command(
        after_help = "Example:\n  keyward decrypt --key-file master.key --ttl 3600 < secret.token"
    )]
    Decrypt(DecryptArgs),
    /// Re-encrypt a token on standard input under the primary key, keeping its timestamp.
    #[command(
        name = "rotate-token",
        after_help = "Example (new key first, old key after it):\n  keyward rotate-token --key-file new.key --key-file old.key < old.token > new.token"
    )]
    RotateToken(RingArgs),
}

/// `keyward key ...`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print a new key, or write it to a file with mode 0600.
    #[command(
        after_help = "Examples:\n  keyward key generate\n  keyward key generate --out master.key"
    )]
    Generate {
        /// Write the key to this file (mode 0600, atomically) instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace FILE if it exists (the old key is lost).
        #[arg(long, requires = "out")]
        force: bool,
    },
    /// Print the non-secret ids of the key ring's keys, primary first.
    #[command(after_help = "Example:\n  keyward key id --key-file master.key")]
    Id(RingArgs),
}

/// Where the key ring comes from.
#[derive(Debug, Args)]
pub struct RingArgs {
    /// A key file (mode 0600); repeat for a ring, the first is the primary.
    /// Without it, keys come from KEYWARD_MASTER_KEY.
    #[arg(long = "key-file", value_name = "FILE")]
    pub key_files: Vec<PathBuf>,
}

/// `keyward decrypt`
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The key ring.
    #[command(flatten)]
    pub ring: RingArgs,
    /// Refuse tokens older than this many seconds (and more than 60 s in the future).
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
