//! Asymmetric key material: Ed25519, ECDSA P-256 and (feature `rsa`) RSA keys, read from the
//! texts venues hand out, generated, and used to sign and verify.
//!
//! # Forms a secret text is read in
//! [`read_key`] reads a secret by its declared form, never by guessing:
//! 1. The text is trimmed. If it starts with `-----BEGIN` and contains the two characters `\`
//!    `n` (Coinbase's JSON key files carry the PEM with literal `\n`), each is turned into a
//!    newline first.
//! 2. A PEM block is read by its label:
//!    - `PRIVATE KEY`: PKCS#8, by its algorithm OID: Ed25519 (1.3.101.112), id-ecPublicKey
//!      (1.2.840.10045.2.1) on P-256 (1.2.840.10045.3.1.7; any other curve is
//!      [`KeyError::UnsupportedCurve`]), or rsaEncryption (1.2.840.113549.1.1.1; without the
//!      `rsa` feature [`KeyError::RsaNotCompiled`]).
//!    - `EC PRIVATE KEY`: SEC1, what Coinbase hands out; must be P-256.
//!    - `RSA PRIVATE KEY`: PKCS#1.
//!    - `PUBLIC KEY`: an SPKI public key (Ed25519, P-256 or RSA), read as a public key.
//!    - `RSA PUBLIC KEY`: a PKCS#1 public key.
//!    - `ENCRYPTED PRIVATE KEY` (or a legacy OpenSSL PEM with `Proc-Type` headers):
//!      [`KeyError::EncryptedKey`].
//!    - any other label: [`KeyError::UnsupportedLabel`].
//!
//!    The decoded DER is held in `Zeroizing`.
//! 3. Coinbase CDP's Ed25519 secret: standard base64 (88 characters) of exactly 64 bytes whose
//!    last 32 bytes are the Ed25519 public key of the first 32 (seed || public key). A 64-byte
//!    base64 text whose halves do not match in that way (a Kraken HMAC secret, for one) is an
//!    HMAC secret.
//! 4. Anything else is an HMAC secret ([`KeyText::Hmac`]), used exactly as before.
//!
//! No error made from a key-looking text carries any of its bytes: messages name the form, a
//! PEM label (when short), an algorithm or curve OID, and a fixed reason.
//!
//! # RSA and RUSTSEC-2023-0071
//! RSA support (the `rsa` feature, off by default) uses the `rsa` crate, which carries
//! RUSTSEC-2023-0071: the Marvin attack, a timing side channel in its private-key operations,
//! with no fixed release. keyward blinds each RSA signature with the OS RNG, which the advisory
//! does not count as a fix. Prefer Ed25519 wherever the venue accepts it (Binance does, and its
//! WebSocket `session.logon` takes nothing else); use RSA only where it is the venue's only
//! asymmetric option.

mod error;
mod generate;
mod kind;
mod private;
mod public;
mod read;

use secrecy::{ExposeSecret as _, SecretString};

pub use error::KeyError;
pub use generate::{GeneratedKey, generate};
pub use kind::KeyKind;
pub(crate) use private::PrivateKey;
pub(crate) use public::PublicKey;
pub(crate) use read::{KeyText, read_key};

/// What a secret text holds, for `keyward doctor` and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// The kind of key ([`KeyKind::Hmac`] for any text that is not an asymmetric key).
    pub kind: KeyKind,
    /// The modulus size in bits of an RSA key; `None` for other kinds.
    pub rsa_bits: Option<usize>,
    /// Whether the text is a public key (a `PUBLIC KEY` or `RSA PUBLIC KEY` PEM) rather than a
    /// private key or an HMAC secret.
    pub public: bool,
}

/// What `secret` holds: its kind, RSA size and whether it is a public key.
///
/// # Errors
/// A [`KeyError`] when the text looks like a key (a PEM block) but cannot be read; an HMAC
/// secret is not an error.
pub fn inspect(secret: &SecretString) -> Result<KeyInfo, KeyError> {
    Ok(match read_key(secret.expose_secret())? {
        KeyText::Hmac => KeyInfo {
            kind: KeyKind::Hmac,
            rsa_bits: None,
            public: false,
        },
        KeyText::Private(key) => {
            let public = key.public_key();
            KeyInfo {
                kind: key.kind(),
                rsa_bits: public.rsa_bits(),
                public: false,
            }
        }
        KeyText::Public(key) => KeyInfo {
            kind: key.kind(),
            rsa_bits: key.rsa_bits(),
            public: true,
        },
    })
}

/// The SPKI `PUBLIC KEY` PEM of the key in `secret`, in any form [`read_key`] accepts (a public
/// key text gives its own key back in SPKI form): what to register with the venue.
///
/// # Errors
/// [`KeyError::NotAsymmetric`] for an HMAC secret, or the reason the key cannot be read.
pub fn public_pem(secret: &SecretString) -> Result<String, KeyError> {
    match read_key(secret.expose_secret())? {
        KeyText::Hmac => Err(KeyError::NotAsymmetric),
        KeyText::Private(key) => key.public_key().to_pem(),
        KeyText::Public(key) => key.to_pem(),
    }
}
