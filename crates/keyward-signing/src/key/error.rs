//! `KeyError`: why a key could not be read, made or used.

use super::KeyKind;

/// Why a key could not be read, generated or used.
///
/// No variant carries any part of the key text: a PEM label, an algorithm or curve OID and a
/// fixed reason are the most any message shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text starts like a PEM block but is not one.
    #[error(
        "the key is not valid PEM ({reason}); give the whole key, from its -----BEGIN line to its -----END line"
    )]
    MalformedPem {
        /// What is wrong with the PEM framing or its base64.
        reason: &'static str,
    },

    /// The PEM block's label is not one of the key forms keyward reads.
    #[error(
        "a PEM block labelled {} is not a key keyward reads; give a PRIVATE KEY, EC PRIVATE KEY, RSA PRIVATE KEY, PUBLIC KEY or RSA PUBLIC KEY block",
        label.as_deref().map_or_else(|| "(a long label)".to_owned(), |l| format!("\"{l}\""))
    )]
    UnsupportedLabel {
        /// The label, when it is short enough to show.
        label: Option<String>,
    },

    /// The private key is encrypted with a passphrase.
    #[error(
        "the private key is encrypted; keyward reads unencrypted keys only (it keeps them in an encrypted store instead): decrypt it with `openssl pkcs8 -in key.pem -out plain.pem` and store the result"
    )]
    EncryptedKey,

    /// The key's algorithm is not Ed25519, EC (P-256) or RSA.
    #[error(
        "the key's algorithm (OID {oid}) is not supported; use an Ed25519, ECDSA P-256 or RSA key"
    )]
    UnsupportedAlgorithm {
        /// The algorithm identifier's OID.
        oid: String,
    },

    /// The EC key is on a curve other than P-256.
    #[error(
        "the EC key is on curve {oid}, not P-256 (1.2.840.10045.3.1.7); keyward signs with P-256 (ES256) only"
    )]
    UnsupportedCurve {
        /// The named curve's OID, or "unnamed" for explicit curve parameters.
        oid: String,
    },

    /// The key is an RSA key and this build has no RSA support.
    #[error(
        "this is an RSA key and this build has no RSA support: enable the `rsa` feature of keyward-signing (the rsa crate carries the unfixed timing advisory RUSTSEC-2023-0071), or use an Ed25519 key"
    )]
    RsaNotCompiled,

    /// The text is an HMAC secret, not an asymmetric key.
    #[error(
        "the secret is not an asymmetric key (it reads as an HMAC secret); give a PEM private key or Coinbase's base64 Ed25519 key"
    )]
    NotAsymmetric,

    /// The key's encoding was recognised but its contents are not a valid key of that kind.
    #[error("the {kind} key is not valid: {reason}")]
    InvalidKey {
        /// The kind the text declared.
        kind: KeyKind,
        /// What is wrong; never the key.
        reason: &'static str,
    },

    /// The RSA key parsed but cannot be used (inconsistent numbers, unsupported size or form).
    #[error("the RSA key cannot be used: {reason}")]
    RsaUnusable {
        /// What is wrong; never the key.
        reason: &'static str,
    },

    /// A key-type name was not one of hmac, ed25519, rsa or p256.
    #[error(
        "unknown key type{}; use hmac, ed25519, rsa or p256",
        given.as_deref().map_or_else(String::new, |g| format!(" \"{g}\""))
    )]
    UnknownKind {
        /// The name given, when it is a short word.
        given: Option<String>,
    },

    /// Signing failed inside the crypto library.
    #[error("signing with the {kind} key failed")]
    SignFailed {
        /// The key's kind.
        kind: KeyKind,
    },

    /// Writing the key as PEM failed.
    #[error("the {kind} key could not be written as PEM")]
    Encode {
        /// The key's kind.
        kind: KeyKind,
    },

    /// The operating system's random number generator failed while making a key.
    #[error("the operating system's random number generator failed while generating a key")]
    Rng,
}
