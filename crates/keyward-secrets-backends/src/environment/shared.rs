//! The same credential value in two environments' `.env` files, found by keyed hash.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::name::Environment;
use crate::env::{MAX_DOTENV_LEN, parse_dotenv};
use crate::error::{Error, Result};

/// Words that mark a variable outside the prefix as a credential.
const CREDENTIAL_WORDS: &[&str] = &[
    "KEY",
    "SECRET",
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "PIN",
    "TOTP",
    "PRIVATE",
];

/// `.env.<NAME>` files that are templates, not environments.
const TEMPLATES: &[&str] = &["example", "sample", "template", "dist"];

/// One place a shared value is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The `.env` file.
    pub file: PathBuf,
    /// The environment the file belongs to (`None` for `.env`).
    pub environment: Option<Environment>,
    /// The variable's name.
    pub variable: String,
}

/// A value found in the files of at least two environments: where, never what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedValue {
    /// Every place it is used, in file then variable order.
    pub occurrences: Vec<Occurrence>,
}

/// What [`shared_values`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedScan {
    /// Values used in more than one environment's file.
    pub shared: Vec<SharedValue>,
    /// Files that could not be read or parsed, with the reason (never their content).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Reads `.env` and every `.env.<NAME>` (a valid [`Environment`] name, not a template such as
/// `.env.example`) in `dir`, and reports each credential value that appears in more than one
/// of them. A credential is a variable under `prefix` or one whose name holds `KEY`, `SECRET`,
/// `TOKEN`, `PASSWORD`, `PASSPHRASE`, `PIN`, `TOTP` or `PRIVATE`; empty values are skipped.
///
/// Values are compared by HMAC-SHA256 under a key drawn from the operating system's RNG for
/// this call alone, so neither a value nor a reusable hash of one leaves this function. Files
/// are read without following symbolic links, with no permission check (this is a
/// diagnostic: loose files are `keyward doctor`'s permissions finding).
pub fn shared_values(dir: impl AsRef<Path>, prefix: &str) -> Result<SharedScan> {
    let dir = dir.as_ref();
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        action: "list",
        path: dir.to_owned(),
        source,
    })?;
    let mut files: Vec<(PathBuf, Option<Environment>)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let environment = if name == ".env" {
            None
        } else if let Some(env) = name.strip_prefix(".env.") {
            if TEMPLATES.contains(&env) {
                continue;
            }
            match Environment::new(env) {
                Ok(env) => Some(env),
                Err(_) => continue,
            }
        } else {
            continue;
        };
        files.push((entry.path(), environment));
    }
    files.sort();

    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(&mut *key).map_err(|e| Error::Backend {
        store: "dotenv",
        message: format!("the operating system's random number generator failed: {e}"),
    })?;
    let prefix_ = format!("{prefix}_");
    let mut scan = SharedScan::default();
    let mut by_hash: BTreeMap<[u8; 32], Vec<Occurrence>> = BTreeMap::new();
    for (file, environment) in files {
        let vars = match read_no_follow(&file).and_then(|data| parse_dotenv(&file, &data)) {
            Ok(vars) => vars,
            Err(e) => {
                scan.skipped.push((file, e.to_string()));
                continue;
            }
        };
        for (variable, value) in vars.iter() {
            if value.is_empty() || !(variable.starts_with(&prefix_) || is_credential(variable)) {
                continue;
            }
            let mut mac =
                <Hmac<Sha256> as Mac>::new_from_slice(&*key).map_err(|_| Error::Backend {
                    store: "dotenv",
                    message: "HMAC key of the wrong length".to_owned(),
                })?;
            mac.update(value.as_bytes());
            let tag: [u8; 32] = mac.finalize().into_bytes().into();
            by_hash.entry(tag).or_default().push(Occurrence {
                file: file.clone(),
                environment: environment.clone(),
                variable: variable.clone(),
            });
        }
    }
    for occurrences in by_hash.into_values() {
        let first = &occurrences[0].file;
        if occurrences.iter().any(|o| &o.file != first) {
            scan.shared.push(SharedValue { occurrences });
        }
    }
    scan.shared.sort_by(|a, b| {
        a.occurrences
            .first()
            .map(|o| (&o.file, &o.variable))
            .cmp(&b.occurrences.first().map(|o| (&o.file, &o.variable)))
    });
    Ok(scan)
}

/// Whether a variable outside the prefix is named like a credential.
fn is_credential(variable: &str) -> bool {
    let upper = variable.to_ascii_uppercase();
    CREDENTIAL_WORDS.iter().any(|w| upper.contains(w))
}

/// The file's bytes, read without following a symbolic link, at most [`MAX_DOTENV_LEN`].
fn read_no_follow(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let io = |source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        options.custom_flags(flags.bits() as i32);
    }
    let file = options.open(path).map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let mut data = Zeroizing::new(Vec::new());
    file.take(MAX_DOTENV_LEN + 1)
        .read_to_end(&mut data)
        .map_err(io)?;
    if data.len() as u64 > MAX_DOTENV_LEN {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "larger than 1 MiB",
        )));
    }
    Ok(data)
}
