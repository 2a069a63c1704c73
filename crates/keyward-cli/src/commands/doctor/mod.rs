//! `keyward doctor [DIR]`: an automated security checklist for a project directory, the local
//! vault, the fleet's Redis when one is configured and, when asked, this machine's clock
//! against a venue's. Each finding has a severity
//! and the command that fixes it; the exit code is that of the worst finding.

mod checks;
mod clock;
mod environments;
mod files;
mod finding;
mod git;
mod integrity;
mod keys;
mod redis;
mod scan;
mod stores;
mod vault;

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use serde_json::json;

use crate::cli::{DoctorArgs, Format};
pub use finding::{Finding, Severity, shell_quote};

/// Runs the checks and prints the findings; returns the exit code.
pub fn run(args: &DoctorArgs) -> Result<u8> {
    let root = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let meta = std::fs::metadata(&root)
        .with_context(|| format!("cannot read the project directory {}", root.display()))?;
    anyhow::ensure!(meta.is_dir(), "{} is not a directory", root.display());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // A bad --clock-skew target is refused before any check runs.
    let skew = match &args.clock_skew {
        Some(target) => {
            let (venue, url) = clock::target(target, args.venue.as_deref())?;
            Some((runtime.block_on(clock::client(venue, &url))?, url))
        }
        None => None,
    };

    let mut findings = Vec::new();
    let all = files::walk(&root);
    if args.record_integrity {
        let (record, count) = integrity::record(&root, &all)?;
        eprintln!(
            "recorded the digests of {count} files in {}",
            record.display()
        );
    }
    let repo = git::Repo::discover(&root);
    let vault_path = match &args.vault {
        Some(path) => Some(path.clone()),
        None => super::vault::default_path().ok(),
    };
    let vault_in_project = all
        .iter()
        .any(|rel| files::classify(rel) == Some(files::Kind::Vault))
        || vault_path
            .as_deref()
            .is_some_and(|vault| files::is_inside(vault, &root));
    checks::permissions(&root, &all, &mut findings);
    checks::gitignore(&root, repo.as_ref(), vault_in_project, &mut findings);
    checks::tracked(&root, repo.as_ref(), &all, &mut findings);
    checks::environment(&mut findings);
    environments::check(&root, &all, &mut findings);
    integrity::check(&root, &mut findings);
    let mut key_checks = keys::KeyChecks::default();
    key_checks.plain_files(&root, &all, &mut findings);
    let policy = stores::policy(args.rotation_days);
    runtime.block_on(async {
        if let Some(path) = &vault_path {
            vault::check(path, &policy, &mut key_checks, &mut findings).await;
            stores::vault_revocations(path, &mut findings).await;
        }
        stores::check(&args.stores, &args.ring, &policy, &mut findings).await;
        if let Some(config) = redis::configured(args.redis.as_deref()) {
            redis::check(config, &mut findings).await;
        }
        if let Some((client, url)) = &skew {
            clock::check(client, url, &mut findings).await;
        }
    });
    key_checks.advisory(&mut findings);
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.location().cmp(&b.location()))
    });

    let worst = findings.iter().map(|f| f.severity).max();
    match args.format {
        Format::Json => print_json(&findings, worst)?,
        Format::Text => print_text(&findings)?,
    }
    Ok(worst.map_or(0, Severity::exit_code))
}

fn print_json(findings: &[Finding], worst: Option<Severity>) -> Result<()> {
    let doc = json!({
        "findings": findings.iter().map(Finding::to_json).collect::<Vec<_>>(),
        "worst": worst.map(|s| s.to_string()),
        "exit_code": worst.map_or(0, Severity::exit_code),
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    Ok(())
}

fn print_text(findings: &[Finding]) -> Result<()> {
    let stdout = std::io::stdout();
    let colour = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut out = stdout.lock();
    if findings.is_empty() {
        writeln!(out, "no findings")?;
        return Ok(());
    }
    for f in findings {
        let label = format!("{:<8}", f.severity.to_string().to_uppercase());
        let label = if colour {
            format!("{}{label}\x1b[0m", f.severity.colour())
        } else {
            label
        };
        writeln!(
            out,
            "{label} {:<14} {}: {}",
            f.check,
            f.location(),
            f.message
        )?;
        writeln!(out, "{:<8} {:<14} fix: {}", "", "", f.fix)?;
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    writeln!(
        out,
        "{} findings: {} critical, {} high, {} medium, {} low, {} info",
        findings.len(),
        count(Severity::Critical),
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low),
        count(Severity::Info)
    )?;
    Ok(())
}
