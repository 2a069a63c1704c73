//! `keyward completions` and `keyward man`: shell completion scripts (clap_complete) and roff
//! man pages (clap_mangen), both generated from the clap definition in `cli.rs`, so that they
//! name exactly the subcommands and options this binary parses.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory as _;
use clap_complete::Shell;
use clap_mangen::Man;

use crate::cli::{Cli, CompletionShell, CompletionsArgs, ManArgs};
use crate::stdio::write_stdout;

/// The program name the scripts complete and the pages document.
const BIN: &str = "keyward";

/// The `.TH` manual name shown in every page's header.
const MANUAL: &str = "keyward manual";

/// Runs `keyward completions SHELL`: the script on standard output.
pub fn completions(args: &CompletionsArgs) -> Result<()> {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    write_stdout(&script)
}

/// Runs `keyward man [--out DIR]`: keyward.1 on standard output, or every page into DIR.
pub fn man(args: &ManArgs) -> Result<()> {
    let command = built_command();
    match &args.out {
        None => write_stdout(&render(&command)?),
        Some(dir) => {
            fs::create_dir_all(dir)
                .with_context(|| format!("could not create the directory {}", dir.display()))?;
            write_pages(&command, dir)
        }
    }
}

/// The command line as clap builds it for `--help`: without the `help` subcommand (a page of
/// its own would only say "print help"), with every subcommand's display name set to its path
/// (`keyward-secret-put`), which names its page.
fn built_command() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// One command's page: clap_mangen's roff, under an upper-case title as man pages have
/// (`.TH KEYWARD-SECRET 1`).
fn render(command: &clap::Command) -> Result<Vec<u8>> {
    let name = page_name(command);
    let mut page = Vec::new();
    Man::new(command.clone())
        .title(name.to_uppercase())
        // A date is required: clap_mangen writes an empty one as nothing at all, and the
        // `.TH` arguments after it slide one place left (the manual name became the source).
        .date(page_date())
        .manual(MANUAL)
        .render(&mut page)
        .with_context(|| format!("could not render the man page of {name}"))?;
    Ok(page)
}

/// The date in the pages' `.TH` line (YYYY-MM-DD, UTC): `SOURCE_DATE_EPOCH` when set to whole
/// seconds (the reproducible-builds convention, for packagers), today otherwise.
fn page_date() -> String {
    date_of(
        std::env::var("SOURCE_DATE_EPOCH").ok().as_deref(),
        jiff::Timestamp::now(),
    )
}

/// The UTC date of `epoch` (whole seconds since 1970), or of `now` when `epoch` is absent or
/// not a time.
fn date_of(epoch: Option<&str>, now: jiff::Timestamp) -> String {
    epoch
        .and_then(|seconds| seconds.trim().parse::<i64>().ok())
        .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok())
        .unwrap_or(now)
        .strftime("%Y-%m-%d")
        .to_string()
}

/// The page's name: the command's path joined with `-` (`keyward-secret-put`).
fn page_name(command: &clap::Command) -> String {
    command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_owned()
}

/// Writes the page of `command` and, depth first, of each visible subcommand into `dir` as
/// NAME.1 (what clap_mangen's `generate_to` does, with the titles, date and manual set above).
fn write_pages(command: &clap::Command, dir: &Path) -> Result<()> {
    let path = dir.join(format!("{}.1", page_name(command)));
    fs::write(&path, render(command)?)
        .with_context(|| format!("could not write {}", path.display()))?;
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{built_command, date_of, page_name, render};

    #[test]
    fn pages_are_named_after_the_command_path() {
        let command = built_command();
        assert_eq!(page_name(&command), "keyward");
        let secret = command
            .get_subcommands()
            .find(|sub| sub.get_name() == "secret")
            .expect("a secret subcommand");
        assert_eq!(page_name(secret), "keyward-secret");
        let put = secret
            .get_subcommands()
            .find(|sub| sub.get_name() == "put")
            .expect("a secret put subcommand");
        assert_eq!(page_name(put), "keyward-secret-put");
        assert!(
            command
                .get_subcommands()
                .all(|sub| sub.get_name() != "help")
        );
    }

    #[test]
    fn the_title_line_has_every_field_in_its_place() {
        let page = String::from_utf8(render(&built_command()).expect("renders")).expect("UTF-8");
        let header = page
            .lines()
            .find(|line| line.starts_with(".TH "))
            .expect("a .TH line");
        // Title (upper case), section, a date, source and manual.
        let date = header.split(' ').nth(3).expect("a date after the section");
        assert_eq!(date.len(), 10, "{header}");
        assert_eq!(
            header,
            format!(
                ".TH KEYWARD 1 {date} \"keyward {}\" \"keyward manual\"",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn the_date_is_source_date_epoch_or_today() {
        let now = jiff::Timestamp::from_second(1_767_225_600).expect("a time"); // 2026-01-01
        assert_eq!(date_of(Some("86400"), now), "1970-01-02");
        assert_eq!(date_of(Some(" 0\n"), now), "1970-01-01");
        assert_eq!(date_of(None, now), "2026-01-01");
        assert_eq!(date_of(Some("yesterday"), now), "2026-01-01");
        assert_eq!(date_of(Some("99999999999999999999"), now), "2026-01-01");
    }
}
