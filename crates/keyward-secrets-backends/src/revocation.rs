//! Revocation: a secret marked compromised in its store, refused by every read of the version
//! it names until a new value replaces it.
//!
//! A revocation is store metadata beside the secret, never a change to its value: the vault
//! keeps a `revocations` row, the encrypted file store a `revoked` entry in its document, AWS
//! Secrets Manager tags on the secret (`keyward-revoked-version`, `keyward-revoked-at`,
//! `keyward-revoked-reason`). Each records the version that was current when it was revoked,
//! the time and an optional reason. Reads of that version (by any selector) fail with
//! [`Error::Revoked`]; a `put` (or a `promote` of another version)
//! replaces it and clears the mark. Stores that cannot be written (env, `.env`) answer
//! [`Error::Unsupported`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// The longest reason kept, in bytes (AWS tag values hold 256 characters; the reason is kept
/// there base64-encoded).
pub const MAX_REASON: usize = 180;

/// A secret marked compromised and not yet replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The secret's name.
    pub name: String,
    /// The version that was current when it was revoked: reads of it are refused.
    pub version: String,
    /// When it was revoked.
    pub at: SystemTime,
    /// Why, as the operator said (never a value).
    pub reason: Option<String>,
}

impl Revocation {
    /// The time as milliseconds since the Unix epoch.
    pub fn at_ms(&self) -> u64 {
        self.at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// The error a read of the revoked version answers.
    pub fn refusal(&self) -> Error {
        Error::Revoked {
            name: self.name.clone(),
            version: self.version.clone(),
            at_ms: self.at_ms(),
            reason: self.reason.clone(),
        }
    }
}

/// A time from milliseconds since the Unix epoch.
pub(crate) fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// Checks a revocation reason: at most [`MAX_REASON`] bytes, printable (no control
/// characters), and not blank; an empty reason is no reason.
pub fn validate_reason(reason: Option<&str>) -> Result<Option<String>> {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let why = if reason.len() > MAX_REASON {
        Some("it must be at most 180 bytes")
    } else if reason.chars().any(char::is_control) {
        Some("it may not hold control characters")
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::InvalidReason {
            length: reason.len(),
            reason: why,
        }),
        None => Ok(Some(reason.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_checked() {
        assert_eq!(validate_reason(None).unwrap(), None);
        assert_eq!(validate_reason(Some("  ")).unwrap(), None);
        assert_eq!(
            validate_reason(Some(" leaked in a CI log "))
                .unwrap()
                .as_deref(),
            Some("leaked in a CI log")
        );
        assert!(validate_reason(Some(&"x".repeat(181))).is_err());
        let err = validate_reason(Some("a\nb")).unwrap_err();
        assert!(!err.to_string().contains("a\nb"), "{err}");
    }

    #[test]
    fn the_refusal_names_the_secret_and_the_reason() {
        let r = Revocation {
            name: "bot".into(),
            version: "3".into(),
            at: from_ms(1_700_000_000_000),
            reason: Some("leaked".into()),
        };
        let text = r.refusal().to_string();
        assert!(
            text.contains("bot") && text.contains("revoked") && text.contains("leaked"),
            "{text}"
        );
        assert_eq!(r.at_ms(), 1_700_000_000_000);
    }
}
