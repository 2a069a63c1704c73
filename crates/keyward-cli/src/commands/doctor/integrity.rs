//! The `integrity` check: files recorded in `<project>/.keyward/integrity.json` that changed
//! since their digest was recorded, and `--record-integrity`, which records them.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use keyward::secrets::integrity::{Change, FileState, IntegrityRecord, probe};

use super::files::{self, Kind};
use super::finding::{Finding, Severity, shell_quote};

/// Records the digests of the project's `.env` files and of every file the record already
/// holds (a recorded file now gone is dropped), and saves the record. Returns the record
/// file and how many files it holds.
pub fn record(root: &Path, all: &[PathBuf]) -> Result<(PathBuf, usize)> {
    let mut record = IntegrityRecord::for_project(root)
        .context("the integrity record cannot be read; remove it to record afresh")?;
    let mut paths: Vec<PathBuf> = record.entries().into_iter().map(|(p, _)| p).collect();
    paths.extend(
        all.iter()
            .filter(|rel| files::classify(rel) == Some(Kind::DotEnv))
            .map(|rel| root.join(rel)),
    );
    for path in paths {
        match probe(&path) {
            FileState::File(digest) => {
                record.insert(&path, digest);
            }
            _ => record.remove(&path),
        }
    }
    record.save()?;
    Ok((record.path().to_owned(), record.entries().len()))
}

/// Compares the files recorded for the project with what is there now.
pub fn check(root: &Path, out: &mut Vec<Finding>) {
    let record = match IntegrityRecord::for_project(root) {
        Ok(record) => record,
        Err(e) => {
            out.push(
                Finding::new(
                    "integrity",
                    Severity::High,
                    format!("the integrity record cannot be used: {e}"),
                    format!(
                        "check who wrote it, then record afresh: rm {} && keyward doctor {} --record-integrity",
                        shell_quote(&root.join(".keyward/integrity.json")),
                        shell_quote(root)
                    ),
                )
                .at(root.join(".keyward/integrity.json")),
            );
            return;
        }
    };
    let absolute_root = std::path::absolute(root).ok();
    for event in record.compare() {
        // Shown as the other findings are: under the directory as it was given.
        let path = absolute_root
            .as_deref()
            .and_then(|abs| event.path.strip_prefix(abs).ok())
            .map_or_else(|| event.path.clone(), |rel| root.join(rel));
        let severity = match event.change {
            Change::Modified(_) | Change::Disappeared => Severity::Medium,
            _ => Severity::High,
        };
        out.push(
            Finding::new(
                "integrity",
                severity,
                format!("{} since its digest was recorded", event.change.describe()),
                format!(
                    "check the change; if it is yours, record it: keyward doctor {} --record-integrity",
                    shell_quote(root)
                ),
            )
            .at(path),
        );
    }
}
