//! `KeyKind`: what kind of key a credential holds.

use std::fmt;
use std::str::FromStr;

use super::KeyError;

/// What kind of key a credential holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// A shared HMAC secret (any text that is not an asymmetric key).
    Hmac,
    /// An Ed25519 key (EdDSA).
    Ed25519,
    /// An RSA key (RSASSA-PKCS1-v1_5 with SHA-256); needs the `rsa` feature.
    Rsa,
    /// An ECDSA key on NIST P-256 (ES256).
    P256,
}

impl KeyKind {
    /// The kind's display name: "HMAC", "Ed25519", "RSA" or "ECDSA P-256".
    pub fn name(self) -> &'static str {
        match self {
            Self::Hmac => "HMAC",
            Self::Ed25519 => "Ed25519",
            Self::Rsa => "RSA",
            Self::P256 => "ECDSA P-256",
        }
    }
}

impl KeyKind {
    /// The kind's word on a command line and in key names: "hmac", "ed25519", "rsa" or
    /// "p256" (what [`FromStr`] reads back).
    pub fn word(self) -> &'static str {
        WORDS
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("hmac", |(word, _)| word)
    }
}

/// Each kind's word.
const WORDS: [(&str, KeyKind); 4] = [
    ("hmac", KeyKind::Hmac),
    ("ed25519", KeyKind::Ed25519),
    ("rsa", KeyKind::Rsa),
    ("p256", KeyKind::P256),
];

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyKind {
    type Err = KeyError;

    /// Reads "hmac", "ed25519", "rsa" or "p256", in any case.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        WORDS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|&(_, kind)| kind)
            .ok_or_else(|| KeyError::UnknownKind {
                // A short word is echoed so the user sees the typo; anything longer might be a
                // key pasted into the wrong place and is not repeated.
                given: (s.len() <= 16 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
                    .then(|| s.to_owned()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_parsing() {
        for (text, kind, name) in [
            ("hmac", KeyKind::Hmac, "HMAC"),
            ("ED25519", KeyKind::Ed25519, "Ed25519"),
            ("Rsa", KeyKind::Rsa, "RSA"),
            ("p256", KeyKind::P256, "ECDSA P-256"),
        ] {
            assert_eq!(text.parse::<KeyKind>().unwrap(), kind);
            assert_eq!(kind.name(), name);
            assert_eq!(kind.to_string(), name);
        }
    }

    #[test]
    fn unknown_kind_is_an_error_that_echoes_only_short_words() {
        let e = "p384".parse::<KeyKind>().unwrap_err();
        assert!(e.to_string().contains("\"p384\""), "{e}");
        let long = "MHcCAQEEIDl5ZqkSbKyd0bEnoPSWBfWiSoR1";
        let e = long.parse::<KeyKind>().unwrap_err();
        assert!(!e.to_string().contains("MHcC"), "{e}");
        assert!(!format!("{e:?}").contains("MHcC"), "{e:?}");
    }
}
