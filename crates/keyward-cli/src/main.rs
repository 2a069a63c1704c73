//! `keyward`: the command-line tool of the keyward SDK.

mod cli;
mod commands;
mod environment;
mod harden;
mod keys;
mod logging;
mod metrics_endpoint;
mod private_dir;
mod prompt;
mod stdio;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    logging::init(args.verbose);
    match commands::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // One sentence per cause; errors of keyward never carry key material or plaintext.
            let mut text = err.to_string();
            for cause in err.chain().skip(1) {
                // Library errors often name their cause in their own message already.
                let cause = cause.to_string();
                if !text.contains(&cause) {
                    text.push_str(": ");
                    text.push_str(&cause);
                }
            }
            eprintln!("keyward: error: {text}");
            ExitCode::from(cli::EXIT_FAILURE)
        }
    }
}
