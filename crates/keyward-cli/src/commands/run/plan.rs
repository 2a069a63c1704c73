//! What `keyward run` hands over: `VAR=NAME#FIELD` specifications from `--env` and `--env-file`,
//! checked (POSIX variable names, no duplicates, a size cap on the file) before anything is read
//! from a store.
//!
//! An env file holds names only, never values, so it is safe to commit. Still, a line that is not
//! of the expected form may be a value pasted by mistake: errors name the file, the line number
//! and at most the variable, never the line's text.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The largest env file read; more is an error, never cut silently.
pub const MAX_ENV_FILE: u64 = 64 * 1024;

/// The most variables one run hands over (a cap on the masker's patterns, too).
pub const MAX_VARS: usize = 256;

/// Where a specification came from, for errors and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An `--env` argument (already visible in the command line, so errors may name the secret).
    Arg,
    /// A line of an env file (1-based); errors name the file and line, never the line's text.
    File(PathBuf, usize),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Arg => f.write_str("--env"),
            Self::File(path, line) => write!(f, "{} line {line}", path.display()),
        }
    }
}

/// One variable to set: `var` from the secret `name`, its field `field` when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The environment variable's name (POSIX: a letter or `_`, then letters, digits, `_`).
    pub var: String,
    /// The secret's name in the store.
    pub name: String,
    /// The field of a fields secret; `None` for a secret stored as bytes.
    pub field: Option<String>,
    /// Where it was given.
    pub origin: Origin,
}

/// Whether `var` is a portable environment variable name (POSIX.1-2017, 8.1: upper- and
/// lower-case letters, digits and `_`, not starting with a digit).
pub fn valid_var(var: &str) -> bool {
    let mut bytes = var.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses one `VAR=NAME[#FIELD]`. The error never holds `text`.
fn parse(text: &str, origin: Origin) -> Result<Spec> {
    let Some((var, target)) = text.split_once('=') else {
        bail!("{origin}: expected VAR=NAME#FIELD (or VAR=NAME)");
    };
    let var = var.trim();
    if !valid_var(var) {
        bail!(
            "{origin}: the variable name is not a valid environment variable name (letters, digits and _, not starting with a digit)"
        );
    }
    let target = target.trim();
    let (name, field) = match target.split_once('#') {
        Some((name, field)) => (name, Some(field)),
        None => (target, None),
    };
    if name.is_empty() || field.is_some_and(str::is_empty) {
        bail!("{origin}: {var} needs NAME#FIELD or NAME after '='");
    }
    Ok(Spec {
        var: var.to_owned(),
        name: name.to_owned(),
        field: field.map(str::to_owned),
        origin,
    })
}

/// The specifications of `--env` arguments and then of each `--env-file`, checked for
/// duplicates and the [`MAX_VARS`] cap.
pub fn specs(args: &[String], files: &[PathBuf]) -> Result<Vec<Spec>> {
    let mut all = Vec::new();
    for arg in args {
        all.push(parse(arg, Origin::Arg)?);
    }
    for path in files {
        all.extend(read_file(path)?);
    }
    if all.is_empty() {
        bail!("nothing to hand over: give --env VAR=NAME#FIELD or --env-file FILE");
    }
    if all.len() > MAX_VARS {
        bail!(
            "{} variables requested; at most {MAX_VARS} per run",
            all.len()
        );
    }
    for (i, spec) in all.iter().enumerate() {
        if let Some(first) = all[..i].iter().find(|s| s.var == spec.var) {
            bail!(
                "{}: variable {} is already set by {}",
                spec.origin,
                spec.var,
                first.origin
            );
        }
    }
    Ok(all)
}

/// The specifications of one env file: `VAR=NAME#FIELD` lines, blank lines and lines starting
/// with `#` skipped; at most [`MAX_ENV_FILE`] bytes of UTF-8.
pub fn read_file(path: &Path) -> Result<Vec<Spec>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("could not open the env file {}", path.display()))?;
    let mut data = Vec::new();
    file.take(MAX_ENV_FILE + 1)
        .read_to_end(&mut data)
        .with_context(|| format!("could not read the env file {}", path.display()))?;
    if data.len() as u64 > MAX_ENV_FILE {
        bail!(
            "the env file {} is larger than {} KiB",
            path.display(),
            MAX_ENV_FILE / 1024
        );
    }
    parse_file(path, &data)
}

fn parse_file(path: &Path, data: &[u8]) -> Result<Vec<Spec>> {
    let text = std::str::from_utf8(data)
        .map_err(|_| anyhow::anyhow!("the env file {} is not UTF-8", path.display()))?;
    let mut specs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        specs.push(parse(line, Origin::File(path.to_owned(), i + 1))?);
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(s: &str) -> Result<Spec> {
        parse(s, Origin::Arg)
    }

    #[test]
    fn forms() {
        let s = arg("EXCHANGE_API_SECRET=testnet/binance#secret").unwrap();
        assert_eq!(
            (s.var.as_str(), s.name.as_str(), s.field.as_deref()),
            ("EXCHANGE_API_SECRET", "testnet/binance", Some("secret"))
        );
        let s = arg("_TOKEN=bot-token").unwrap();
        assert_eq!((s.name.as_str(), s.field), ("bot-token", None));
        for bad in ["1X=a#b", "X-Y=a#b", "=a#b", "X", "X=", "X=a#", "X=#f"] {
            assert!(arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn var_names() {
        for ok in ["A", "_", "a_1", "EXCHANGE_API_SECRET"] {
            assert!(valid_var(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "É", "A.B"] {
            assert!(!valid_var(bad), "{bad}");
        }
    }

    #[test]
    fn duplicates_are_refused() {
        let err = specs(&["A=x#f".into(), "A=y#g".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("variable A is already set"), "{err}");
    }

    #[test]
    fn file_lines_comments_and_errors_never_echo_the_line() {
        let path = Path::new("bot.env");
        let specs = parse_file(path, b"# keys\n\nA=s#api_key\r\n  B = s#secret \n").unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[1].var, "B");
        assert_eq!(specs[1].origin, Origin::File(path.into(), 4));
        for bad in [
            &b"A=s#f\nSUPERSECRETVALUE\n"[..],
            b"A=s#f\nSUPER SECRET=x\n",
        ] {
            let err = parse_file(path, bad).unwrap_err().to_string();
            assert!(err.contains("bot.env line 2"), "{err}");
            assert!(!err.contains("SUPER"), "{err}");
        }
    }

    #[test]
    fn an_oversized_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.env");
        std::fs::write(&path, vec![b'#'; MAX_ENV_FILE as usize + 1]).unwrap();
        let err = read_file(&path).unwrap_err().to_string();
        assert!(err.contains("larger than 64 KiB"), "{err}");
    }
}
