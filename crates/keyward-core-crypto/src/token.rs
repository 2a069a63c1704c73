//! Fernet token handling shared by [`crate::Fernet`] and [`crate::KeyRing`]: header parsing,
//! verification and the time policy of Python `cryptography`.
//!
//! Two traps of the `fernet` crate (0.2.2) are avoided here rather than patched around later:
//! - `decrypt_with_ttl` computes `timestamp + ttl` before the MAC is checked, which overflows (a
//!   panic in debug builds) for a crafted token whose timestamp is near `u64::MAX`. We never hand
//!   it a TTL: the time policy is applied here, after the MAC, with checked arithmetic.
//! - It refuses tokens more than 60 s in the future even without a TTL; Python `cryptography`
//!   checks clock skew only when a TTL is given. We call it at a time that makes its own skew
//!   check pass, and apply Python's rule ourselves.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretBox;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::key::{FernetKey, KeyId};

/// How far into the future a token's timestamp may be when a TTL is checked (as in Python).
pub(crate) const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// Decrypted data: zeroized on drop (the whole allocation), `[REDACTED]` in `Debug`.
pub type Plaintext = SecretBox<Vec<u8>>;

/// Fernet's version byte.
const VERSION: u8 = 0x80;
/// Base64 characters that encode exactly the 9 header bytes (version + timestamp).
const HEADER_CHARS: usize = 12;

/// The current time as whole seconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A token as text, with surrounding ASCII whitespace removed (Python's decoder skips it too).
/// Anything that is not ASCII is an invalid token.
fn token_text(token: &[u8]) -> Result<&str> {
    let text = std::str::from_utf8(token).map_err(|_| Error::InvalidToken)?;
    let text = text.trim_ascii();
    if text.is_ascii() {
        Ok(text)
    } else {
        Err(Error::InvalidToken)
    }
}

/// The version check and the timestamp of a token, before any verification.
pub(crate) fn unverified_timestamp(token: &str) -> Result<u64> {
    let head = token.get(..HEADER_CHARS).ok_or(Error::InvalidToken)?;
    let mut bytes = [0u8; 9];
    match URL_SAFE_NO_PAD.decode_slice(head, &mut bytes) {
        Ok(9) if bytes[0] == VERSION => {}
        _ => return Err(Error::InvalidToken),
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&bytes[1..]);
    Ok(u64::from_be_bytes(ts))
}

/// A verified and decrypted token.
pub(crate) struct Opened {
    pub(crate) plaintext: Zeroizing<Vec<u8>>,
    pub(crate) timestamp: u64,
    pub(crate) key_id: KeyId,
}

/// Verifies the MAC and decrypts with each key in turn; no time policy.
pub(crate) fn open(keys: &[FernetKey], token: &[u8]) -> Result<Opened> {
    let text = token_text(token)?;
    let timestamp = unverified_timestamp(text)?;
    // At this "current time" the crate's own future-skew check always passes and, with no TTL,
    // nothing else depends on time; `timestamp - 60 + 60` cannot overflow.
    let at = timestamp.saturating_sub(MAX_CLOCK_SKEW.as_secs());
    keys.iter()
        .find_map(|key| {
            key.cipher()
                .decrypt_at_time(text, None, at)
                .ok()
                .map(|plaintext| Opened {
                    plaintext: Zeroizing::new(plaintext),
                    timestamp,
                    key_id: key.id(),
                })
        })
        .ok_or(Error::InvalidToken)
}

/// Python `cryptography`'s time rule for an authentic token, checked with a TTL only:
/// expired if `timestamp + ttl < now`, invalid if `now + 60 < timestamp`.
pub(crate) fn check_time(timestamp: u64, ttl: Option<Duration>, now: u64) -> Result<()> {
    let Some(ttl) = ttl else { return Ok(()) };
    // A sum past u64::MAX is later than any `now`: not expired.
    if timestamp
        .checked_add(ttl.as_secs())
        .is_some_and(|expiry| expiry < now)
    {
        return Err(Error::Expired);
    }
    if now.saturating_add(MAX_CLOCK_SKEW.as_secs()) < timestamp {
        return Err(Error::InvalidToken);
    }
    Ok(())
}

/// Opens a token and applies the time policy.
pub(crate) fn decrypt(
    keys: &[FernetKey],
    token: &[u8],
    ttl: Option<Duration>,
    now: u64,
) -> Result<Opened> {
    let opened = open(keys, token)?;
    check_time(opened.timestamp, ttl, now)?;
    Ok(opened)
}

/// Encrypts under `key` with the given timestamp and a fresh random IV.
pub(crate) fn encrypt(key: &FernetKey, data: &[u8], at: u64) -> String {
    key.cipher().encrypt_at_time(data, at)
}

/// Wraps decrypted bytes as a [`Plaintext`] without copying them.
pub(crate) fn into_plaintext(mut data: Zeroizing<Vec<u8>>) -> Plaintext {
    SecretBox::new(Box::new(std::mem::take(&mut *data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rule_matches_python() {
        let ttl = Some(Duration::from_secs(60));
        assert!(check_time(1000, ttl, 1060).is_ok());
        assert!(matches!(check_time(1000, ttl, 1061), Err(Error::Expired)));
        assert!(check_time(1060, ttl, 1000).is_ok());
        assert!(matches!(
            check_time(1061, ttl, 1000),
            Err(Error::InvalidToken)
        ));
        // Without a TTL, time is not looked at (Python: no skew check either).
        assert!(check_time(u64::MAX, None, 0).is_ok());
        // No overflow at the extremes.
        assert!(matches!(
            check_time(u64::MAX, ttl, 5),
            Err(Error::InvalidToken)
        ));
        assert!(check_time(u64::MAX, Some(Duration::MAX), u64::MAX).is_ok());
    }

    #[test]
    fn header_needs_version_and_length() {
        assert!(unverified_timestamp("gAAAAAAdwJ6w").is_ok());
        assert!(unverified_timestamp("gAAAAAAdwJ6").is_err());
        assert!(unverified_timestamp("AAAAAAAdwJ6w").is_err());
        assert!(unverified_timestamp("é").is_err());
    }

    #[test]
    fn non_ascii_token_is_invalid_not_a_panic() {
        assert!(token_text(&[0xff, 0xfe]).is_err());
        assert!(token_text("gAAAAAAdwJ6wé".as_bytes()).is_err());
        assert_eq!(token_text(b"  abc\n").unwrap(), "abc");
    }
}
