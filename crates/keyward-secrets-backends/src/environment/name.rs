//! The checked name of an environment.

use std::fmt;

use crate::error::{Error, Result};

/// The process variable that selects the environment (`KEYWARD_ENV=staging` reads
/// `.env.staging`). The CLI's `--environment NAME` wins over it.
pub const ENV_VAR: &str = "KEYWARD_ENV";

/// The longest environment name accepted, in bytes.
pub const MAX_ENVIRONMENT_LEN: usize = 64;

/// An environment's name: letters, digits, `-` and `_`, 1 to [`MAX_ENVIRONMENT_LEN`] bytes.
/// No path separator and no dot can appear, so `.env.<NAME>` always names a file in the
/// directory given, never `..` or another directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Environment(String);

impl Environment {
    /// Checks `name`.
    pub fn new(name: &str) -> Result<Self> {
        let reason = if name.is_empty() {
            Some("an environment name cannot be empty")
        } else if name.len() > MAX_ENVIRONMENT_LEN {
            Some("an environment name is at most 64 bytes")
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            Some("an environment name is letters, digits, '-' and '_' (no '/', '\\' or '.')")
        } else {
            None
        };
        match reason {
            // A refused name is shown only when it is short and printable: it may be a value
            // pasted by mistake.
            Some(reason) => Err(Error::InvalidName {
                name: shown(name),
                reason,
            }),
            None => Ok(Self(name.to_owned())),
        }
    }

    /// The environment [`ENV_VAR`] selects, `None` when it is unset or empty. A value that is
    /// not UTF-8 or not a valid name is an error.
    pub fn from_process() -> Result<Option<Self>> {
        match std::env::var_os(ENV_VAR) {
            None => Ok(None),
            Some(value) if value.is_empty() => Ok(None),
            Some(value) => match value.to_str() {
                Some(text) => Self::new(text).map(Some),
                None => Err(Error::InvalidName {
                    name: ENV_VAR.to_owned(),
                    reason: "the variable's value is not UTF-8",
                }),
            },
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a production environment: `prod` or `production`, in any case.
    pub fn is_production(&self) -> bool {
        self.0.eq_ignore_ascii_case("prod") || self.0.eq_ignore_ascii_case("production")
    }

    /// The file name of the environment's `.env` file: `.env.<NAME>`.
    pub fn file_name(&self) -> String {
        format!(".env.{}", self.0)
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a refused name appears in an error: itself when short and printable, else its length.
fn shown(name: &str) -> String {
    if name.len() <= MAX_ENVIRONMENT_LEN && name.chars().all(|c| c.is_ascii_graphic()) {
        name.to_owned()
    } else {
        format!("<{} bytes>", name.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["staging", "prod", "eu-west_2", "A", &"x".repeat(64)] {
            assert!(Environment::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../etc",
            "a/b",
            "a\\b",
            "a.b",
            "prod ",
            "é",
            &"x".repeat(65),
        ] {
            let err = Environment::new(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidName { .. }), "{bad}: {err:?}");
        }
    }

    #[test]
    fn production_is_prod_or_production_in_any_case() {
        for name in ["prod", "PROD", "production", "Production"] {
            assert!(Environment::new(name).unwrap().is_production(), "{name}");
        }
        for name in ["staging", "preprod", "production2", "dev"] {
            assert!(!Environment::new(name).unwrap().is_production(), "{name}");
        }
        assert_eq!(
            Environment::new("staging").unwrap().file_name(),
            ".env.staging"
        );
    }

    #[test]
    fn long_or_odd_refused_names_are_not_echoed() {
        let err = Environment::new("has a SECRET-CANARY in it").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("CANARY"), "{err}");
    }
}
