//! The `shared-credential` check: one credential value in the `.env` files of two
//! environments, compared by keyed hash (keyward::secrets::environment::shared_values).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use keyward::secrets::environment::shared_values;

use super::files::{self, Kind};
use super::finding::{Finding, Severity};

/// The variable prefix of keyward's env and dotenv stores.
const PREFIX: &str = "KEYWARD";

/// Every directory of the project holding a `.env` file is compared within itself.
pub fn check(root: &Path, all: &[PathBuf], out: &mut Vec<Finding>) {
    let dirs: BTreeSet<PathBuf> = all
        .iter()
        .filter(|rel| files::classify(rel) == Some(Kind::DotEnv))
        .map(|rel| root.join(rel.parent().unwrap_or(Path::new(""))))
        .collect();
    for dir in dirs {
        let Ok(scan) = shared_values(&dir, PREFIX) else {
            continue;
        };
        for shared in scan.shared {
            let places: Vec<String> = shared
                .occurrences
                .iter()
                .map(|o| {
                    let file = o
                        .file
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    format!("{} ({file})", o.variable)
                })
                .collect();
            let Some(first) = shared.occurrences.first() else {
                continue;
            };
            out.push(
                Finding::new(
                    "shared-credential",
                    Severity::Medium,
                    format!(
                        "the same credential value is used in more than one environment: {}",
                        places.join(", ")
                    ),
                    "issue a separate credential for each environment, store each in its own .env.NAME (or vault), and rotate the shared one",
                )
                .at(&first.file),
            );
        }
    }
}
