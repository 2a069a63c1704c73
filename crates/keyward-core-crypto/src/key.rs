//! Fernet key material: generation, parsing, environment loading and non-secret key ids.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, KeyFormatError, Result};

/// Length of a Fernet key in its textual form: 32 bytes of url-safe base64 with one '='.
pub(crate) const KEY_TEXT_LEN: usize = 44;
/// Length of a Fernet key in bytes: 16 bytes of HMAC-SHA256 key, then 16 bytes of AES-128 key.
pub(crate) const KEY_LEN: usize = 32;

/// A Fernet key: 32 secret bytes, zeroized on drop, `[REDACTED]` in `Debug`.
///
/// Build one with [`FernetKey::generate`], [`FernetKey::parse`], [`FernetKey::from_env`] or
/// [`crate::keyfile::load_key_file`]. The only way to see the key is the explicit
/// [`FernetKey::expose_base64`].
pub struct FernetKey {
    bytes: SecretBox<[u8; KEY_LEN]>,
    /// The `fernet` crate's cipher, built once. It zeroizes its own copy on drop.
    cipher: fernet::Fernet,
    id: KeyId,
}

impl FernetKey {
    /// Generates a new key from the operating system's random number generator.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::getrandom(bytes.as_mut()).map_err(|e| Error::Rng(e.to_string()))?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Parses the 44-character url-safe base64 form (as Python `cryptography` prints it).
    ///
    /// The error says what is wrong (length, the position of a bad character) and never echoes
    /// the input. Surrounding whitespace is not accepted here; [`FernetKey::from_env`] and the key
    /// file loader trim it.
    pub fn parse(text: &str) -> Result<Self> {
        decode_key(text)
            .map(|bytes| Self::from_bytes(&bytes))
            .map_err(|reason| Error::InvalidKey { reason })
    }

    /// Reads a key from the environment variable `var` (surrounding whitespace ignored).
    pub fn from_env(var: &str) -> Result<Self> {
        let value = read_env(var)?;
        decode_key(value.trim())
            .map(|bytes| Self::from_bytes(&bytes))
            .map_err(|reason| Error::InvalidEnvKey {
                var: var.to_owned(),
                index: 1,
                reason,
            })
    }

    /// Builds a key from its 32 raw bytes (signing key first, then encryption key).
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        let text = Zeroizing::new(URL_SAFE.encode(bytes));
        // `fernet::Fernet::new` only fails on a bad length or alphabet, which cannot happen for
        // text we just encoded from 32 bytes; the `expect` documents that invariant.
        #[allow(clippy::expect_used)] // reason: infallible for 32 bytes, see above
        let cipher = fernet::Fernet::new(&text).expect("32 bytes always form a valid Fernet key");
        let secret = SecretBox::<[u8; KEY_LEN]>::init_with_mut(|b| b.copy_from_slice(bytes));
        Self {
            bytes: secret,
            cipher,
            id: KeyId::of(bytes),
        }
    }

    /// The key's non-secret, stable identifier.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The key in its 44-character url-safe base64 form. Handle with care: this is the secret.
    pub fn expose_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE.encode(self.bytes.expose_secret()))
    }

    /// The `fernet` crate's cipher for this key.
    pub(crate) fn cipher(&self) -> &fernet::Fernet {
        &self.cipher
    }
}

impl Clone for FernetKey {
    fn clone(&self) -> Self {
        Self::from_bytes(self.bytes.expose_secret())
    }
}

impl fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FernetKey")
            .field("id", &self.id)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// Checks and decodes the 44-character form of a key.
pub(crate) fn decode_key(text: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyFormatError> {
    if text.is_empty() {
        return Err(KeyFormatError::Empty);
    }
    let found = text.chars().count();
    if found != KEY_TEXT_LEN || text.len() != KEY_TEXT_LEN {
        return Err(KeyFormatError::WrongLength { found });
    }
    for (i, c) in text.bytes().enumerate() {
        let ok = if i == KEY_TEXT_LEN - 1 {
            c == b'='
        } else {
            c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
        };
        if !ok {
            return Err(KeyFormatError::BadCharacter { position: i + 1 });
        }
    }
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    // The standard engine rejects non-zero trailing bits, so only the canonical text decodes.
    match URL_SAFE.decode_slice(text, out.as_mut()) {
        Ok(KEY_LEN) => Ok(out),
        _ => Err(KeyFormatError::NotCanonical),
    }
}

/// Reads an environment variable into zeroizing memory.
pub(crate) fn read_env(var: &str) -> Result<Zeroizing<String>> {
    std::env::var(var)
        .map(Zeroizing::new)
        .map_err(|_| Error::MissingEnv {
            var: var.to_owned(),
        })
}

/// A key's stable, non-secret identifier: the first 8 bytes of
/// SHA-256("keyward-key-id-v1" || 0x00 || key), shown as 16 lowercase hex digits.
///
/// Stores record it next to each sealed record so that they know which key sealed it. It is a
/// one-way digest of a 256-bit key: it reveals nothing usable about the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    const DOMAIN: &'static [u8] = b"keyward-key-id-v1\0";

    fn of(key: &[u8; KEY_LEN]) -> Self {
        let digest = Sha256::new()
            .chain_update(Self::DOMAIN)
            .chain_update(key)
            .finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        Self(id)
    }

    /// The id's 8 bytes.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A key id that is not 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a key id is 16 hexadecimal digits")]
pub struct ParseKeyIdError;

impl FromStr for KeyId {
    type Err = ParseKeyIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Digits only: `from_str_radix` alone would also take a sign, so "+a" read as 0x0a.
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseKeyIdError);
        }
        let mut id = [0u8; 8];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| ParseKeyIdError)?;
        }
        Ok(Self(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

    #[test]
    fn parses_and_round_trips() {
        let key = FernetKey::parse(SPEC_KEY).unwrap();
        assert_eq!(key.expose_base64().as_str(), SPEC_KEY);
        assert_eq!(key.clone().id(), key.id());
    }

    #[test]
    fn rejects_wrong_length_without_echoing() {
        let err = FernetKey::parse("c2VjcmV0LXNob3J0").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("found 16 characters"), "{text}");
        assert!(!text.contains("c2VjcmV0"));
    }

    #[test]
    fn rejects_bad_alphabet_with_position() {
        let bad = SPEC_KEY.replacen('_', "/", 1);
        match FernetKey::parse(&bad).unwrap_err() {
            Error::InvalidKey {
                reason: KeyFormatError::BadCharacter { position },
            } => assert_eq!(position, 3),
            other => panic!("unexpected {other:?}"),
        }
        let no_pad = format!("{}A", &SPEC_KEY[..43]);
        assert!(matches!(
            FernetKey::parse(&no_pad),
            Err(Error::InvalidKey {
                reason: KeyFormatError::BadCharacter { position: 44 }
            })
        ));
    }

    #[test]
    fn rejects_non_canonical_trailing_bits() {
        // 'e' -> 'f' changes only the unused low bits of the last character.
        let bad = SPEC_KEY.replace("e4=", "e5=");
        assert!(matches!(
            FernetKey::parse(&bad),
            Err(Error::InvalidKey {
                reason: KeyFormatError::NotCanonical
            })
        ));
    }

    #[test]
    fn rejects_multibyte_text_of_44_chars() {
        let bad = format!("{}é=", &SPEC_KEY[..42]);
        assert!(FernetKey::parse(&bad).is_err());
    }

    #[test]
    fn generated_keys_differ_and_parse_back() {
        let a = FernetKey::generate().unwrap();
        let b = FernetKey::generate().unwrap();
        assert_ne!(a.id(), b.id());
        let again = FernetKey::parse(&a.expose_base64()).unwrap();
        assert_eq!(again.id(), a.id());
    }

    #[test]
    fn key_id_is_stable_hex_and_parses() {
        let key = FernetKey::parse(SPEC_KEY).unwrap();
        let shown = key.id().to_string();
        assert_eq!(shown.len(), 16);
        assert_eq!(shown.parse::<KeyId>().unwrap(), key.id());
        assert!("xyz".parse::<KeyId>().is_err());
        assert!("zzzzzzzzzzzzzzzz".parse::<KeyId>().is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let key = FernetKey::parse(SPEC_KEY).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("[REDACTED]"));
        assert!(!shown.contains("cw_0x"));
    }
}
