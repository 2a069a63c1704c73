//! One audit entry: what happened, to which name, with what outcome, and never a value.
//!
//! The only text an entry holds is a [`Subject`], a name in the store's name alphabet (letters,
//! digits and `/ _ + = . @ -`, at most 256 characters): there is no free-form field a value, a
//! token or an error message could be put in.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::AuditError;

/// What happened. Serialised as its snake_case word; new kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A secret was read from a store.
    SecretRead,
    /// A secret was written (a new version stored, promoted or deleted).
    SecretWrite,
    /// A login succeeded.
    Login,
    /// A login failed (wrong code, unknown user, locked out).
    LoginFailure,
    /// A session or API token was generated.
    TokenGeneration,
    /// A secret or key was rotated.
    Rotation,
    /// A token, session or key was revoked.
    Revocation,
    /// An integrity check failed (a MAC, a chain, a file's permissions).
    IntegrityAlert,
    /// A verifier refused a request (a bad signature, a replayed nonce, an expired token).
    VerifierRefusal,
    /// A secret's value was handed to another program (`keyward run`: in its environment).
    SecretHandover,
}

impl EventKind {
    /// The kind's word, as written in the log.
    pub fn word(self) -> &'static str {
        match self {
            Self::SecretRead => "secret_read",
            Self::SecretWrite => "secret_write",
            Self::Login => "login",
            Self::LoginFailure => "login_failure",
            Self::TokenGeneration => "token_generation",
            Self::Rotation => "rotation",
            Self::Revocation => "revocation",
            Self::IntegrityAlert => "integrity_alert",
            Self::VerifierRefusal => "verifier_refusal",
            Self::SecretHandover => "secret_handover",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// It was done.
    Success,
    /// It was attempted and failed.
    Failure,
    /// It was refused before being attempted (a policy, a check, a lockout).
    Refused,
}

impl Outcome {
    /// The outcome's word, as written in the log.
    pub fn word(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Refused => "refused",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// The name an event is about (a secret's, a user's, a token's id): letters, digits and
/// `/ _ + = . @ -`, 1 to 256 characters, the alphabet of secret names. Anything else is refused,
/// so a value with spaces, quotes or other punctuation cannot be logged by mistake.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Subject(String);

impl Subject {
    /// Checks `name` and wraps it.
    pub fn new(name: &str) -> Result<Self, AuditError> {
        crate::store::validate_name(name)
            .map_err(|_| AuditError::InvalidSubject { length: name.len() })?;
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Subject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(&s).map_err(|_| serde::de::Error::custom("subject is not a valid name"))
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An event to log: its kind, the name it is about, and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The name it is about.
    pub subject: Subject,
    /// How it ended.
    pub outcome: Outcome,
}

impl Event {
    /// An event about `subject`; fails when `subject` is not a valid name.
    pub fn new(kind: EventKind, subject: &str, outcome: Outcome) -> Result<Self, AuditError> {
        Ok(Self {
            kind,
            subject: Subject::new(subject)?,
            outcome,
        })
    }
}

/// One line of the log, as read back by verification (the `mac` field is checked on the raw
/// line, not through this type). The event kind and outcome are kept as words so that a log
/// written by a newer keyward, with kinds this build does not know, still verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The entry's position in the chain, from 0.
    pub seq: u64,
    /// Hex SHA-256 of the previous line (without its newline); for the first entry, the chain's
    /// random id.
    pub prev: String,
    /// When it was logged, in milliseconds since the Unix epoch (from the log's clock).
    pub time_ms: u64,
    /// The event kind's word ([`EventKind::word`]).
    pub event: String,
    /// The name the event is about.
    pub subject: Subject,
    /// The outcome's word ([`Outcome::word`]).
    pub outcome: String,
    /// Hex HMAC-SHA256, under the log's key, of the line up to this field.
    pub mac: String,
}

/// The body of a line, everything but the MAC, serialised in this field order.
#[derive(Serialize)]
pub(super) struct Body<'a> {
    pub(super) seq: u64,
    pub(super) prev: &'a str,
    pub(super) time_ms: u64,
    pub(super) event: EventKind,
    pub(super) subject: &'a Subject,
    pub(super) outcome: Outcome,
}

/// The text that follows the body on every line: `,"mac":"` then 64 hex digits then `"}`.
pub(super) const MAC_PREFIX: &str = ",\"mac\":\"";
/// The length of the MAC suffix of a line.
pub(super) const MAC_SUFFIX_LEN: usize = MAC_PREFIX.len() + 64 + 2;

/// Splits a line into the bytes the MAC covers (the body, closed with `}`) and the hex MAC.
/// `None` when the line does not end with a MAC field in the form this module writes.
pub(super) fn split_mac(line: &str) -> Option<(String, &str)> {
    let cut = line.len().checked_sub(MAC_SUFFIX_LEN)?;
    let (body, suffix) = (line.get(..cut)?, line.get(cut..)?);
    let hex = suffix.strip_prefix(MAC_PREFIX)?.strip_suffix("\"}")?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((format!("{body}}}"), hex))
}

/// Joins a serialised body (ending in `}`) and its hex MAC into a line.
pub(super) fn join_mac(body: &str, mac_hex: &str) -> String {
    let open = body.strip_suffix('}').unwrap_or(body);
    format!("{open}{MAC_PREFIX}{mac_hex}\"}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_names_only() {
        assert!(Subject::new("binance-testnet/prod_1").is_ok());
        assert!(Subject::new("a value with spaces").is_err());
        assert!(Subject::new("{\"api_secret\":\"x\"}").is_err());
        assert!(Subject::new("").is_err());
        assert!(Subject::new(&"x".repeat(257)).is_err());
    }

    #[test]
    fn mac_split_round_trips() {
        let body = r#"{"seq":0}"#;
        let mac = "ab".repeat(32);
        let line = join_mac(body, &mac);
        assert_eq!(line, format!(r#"{{"seq":0,"mac":"{mac}"}}"#));
        assert_eq!(split_mac(&line), Some((body.to_owned(), mac.as_str())));
        assert_eq!(split_mac(r#"{"seq":0}"#), None);
    }

    #[test]
    fn words_match_serde() {
        for kind in [
            EventKind::SecretRead,
            EventKind::SecretWrite,
            EventKind::Login,
            EventKind::LoginFailure,
            EventKind::TokenGeneration,
            EventKind::Rotation,
            EventKind::Revocation,
            EventKind::IntegrityAlert,
            EventKind::VerifierRefusal,
            EventKind::SecretHandover,
        ] {
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.word())
            );
        }
        for outcome in [Outcome::Success, Outcome::Failure, Outcome::Refused] {
            assert_eq!(
                serde_json::to_string(&outcome).unwrap(),
                format!("\"{}\"", outcome.word())
            );
        }
    }
}
