//! What a fleet login keeps in Redis, sealed with the fleet's Fernet key: the token with its
//! expiry, and the marker of a failed login. Anything that does not open under the key or does
//! not parse (another program's value, another fleet's key) is an [`EntryError`], never a panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward_core_crypto::KeyRing;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::session::AccessToken;

/// Why a stored value could not be used. Never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EntryError {
    /// The value does not open under the fleet key (another key, or not a Fernet token).
    #[error("it does not decrypt under the fleet key")]
    Decrypt,
    /// The value opened but is not what a fleet login writes.
    #[error("it decrypts but is not a fleet login entry")]
    Format,
}

/// The plaintext of a token entry. Its `token` is moved into a [`SecretString`] at once.
#[derive(Serialize, Deserialize)]
struct TokenPlain<T> {
    kind: String,
    token: T,
    expires_at_ms: u64,
}

/// The plaintext of a failure marker: the refusal's message (which never carries a secret) and
/// whether another attempt could lock the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FailureMarker {
    kind: String,
    /// The failed login's message.
    pub(crate) reason: String,
    /// Whether trying again could lock the account.
    pub(crate) lockout_risk: bool,
}

const TOKEN_KIND: &str = "fleet-login-token-v1";
const FAILURE_KIND: &str = "fleet-login-failure-v1";

/// Milliseconds since the Unix epoch of `at` (0 before the epoch, saturating far after).
pub(crate) fn millis_of(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Seals `token`, which dies at `expires_at`, for the shared entry.
pub(crate) fn seal_token(ring: &KeyRing, token: &AccessToken, expires_at: SystemTime) -> String {
    let plain = TokenPlain {
        kind: TOKEN_KIND.to_owned(),
        token: token.expose(),
        expires_at_ms: millis_of(expires_at),
    };
    // Serialising a struct of strings and an integer cannot fail; the fallback is only to
    // avoid a panic path, and an empty plaintext never opens as an entry.
    let json = Zeroizing::new(serde_json::to_vec(&plain).unwrap_or_default());
    ring.encrypt(&json)
}

/// Opens a shared entry: the token, carrying its expiry.
pub(crate) fn open_token(ring: &KeyRing, raw: &str) -> Result<AccessToken, EntryError> {
    let plain = ring.decrypt(raw).map_err(|_| EntryError::Decrypt)?;
    let parsed: TokenPlain<String> =
        serde_json::from_slice(plain.expose_secret()).map_err(|_| EntryError::Format)?;
    let token = SecretString::from(parsed.token);
    if parsed.kind != TOKEN_KIND || token.expose_secret().is_empty() {
        return Err(EntryError::Format);
    }
    let expires_at = UNIX_EPOCH
        .checked_add(Duration::from_millis(parsed.expires_at_ms))
        .ok_or(EntryError::Format)?;
    Ok(AccessToken::new(token).with_expiry(expires_at))
}

/// Seals a failure marker.
pub(crate) fn seal_failure(ring: &KeyRing, reason: &str, lockout_risk: bool) -> String {
    let marker = FailureMarker {
        kind: FAILURE_KIND.to_owned(),
        reason: reason.to_owned(),
        lockout_risk,
    };
    ring.encrypt(&serde_json::to_vec(&marker).unwrap_or_default())
}

/// Opens a failure marker.
pub(crate) fn open_failure(ring: &KeyRing, raw: &str) -> Result<FailureMarker, EntryError> {
    let plain = ring.decrypt(raw).map_err(|_| EntryError::Decrypt)?;
    let marker: FailureMarker =
        serde_json::from_slice(plain.expose_secret()).map_err(|_| EntryError::Format)?;
    if marker.kind != FAILURE_KIND {
        return Err(EntryError::Format);
    }
    Ok(marker)
}

#[cfg(test)]
mod tests {
    use keyward_core_crypto::FernetKey;

    use super::*;

    fn ring() -> KeyRing {
        KeyRing::new(FernetKey::generate().unwrap())
    }

    #[test]
    fn a_token_round_trips_with_its_expiry() {
        let ring = ring();
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let token = AccessToken::new(SecretString::from("tok-1".to_owned()));
        let raw = seal_token(&ring, &token, at);
        assert!(!raw.contains("tok-1"));
        let opened = open_token(&ring, &raw).unwrap();
        assert_eq!(opened.expose(), "tok-1");
        assert_eq!(opened.expires_at(), Some(at));
    }

    #[test]
    fn foreign_values_are_typed_errors() {
        let ring = ring();
        assert_eq!(
            open_token(&ring, "not fernet").unwrap_err(),
            EntryError::Decrypt
        );
        let other = seal_token(
            &self::ring(),
            &AccessToken::new(SecretString::from("x".to_owned())),
            UNIX_EPOCH,
        );
        assert_eq!(open_token(&ring, &other).unwrap_err(), EntryError::Decrypt);
        assert_eq!(
            open_token(&ring, &ring.encrypt(b"{\"a\":1}")).unwrap_err(),
            EntryError::Format
        );
        // A failure marker is not a token, nor the other way round.
        let marker = seal_failure(&ring, "refused", true);
        assert_eq!(open_token(&ring, &marker).unwrap_err(), EntryError::Format);
        let entry = seal_token(
            &ring,
            &AccessToken::new(SecretString::from("x".to_owned())),
            UNIX_EPOCH,
        );
        assert_eq!(open_failure(&ring, &entry).unwrap_err(), EntryError::Format);
        let opened = open_failure(&ring, &marker).unwrap();
        assert_eq!(opened.reason, "refused");
        assert!(opened.lockout_risk);
    }
}
