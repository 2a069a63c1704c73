//! `read_key`: what a secret text holds, by its declared form (see the module docs).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pkcs8::der::asn1::ObjectIdentifier;
use pkcs8::der::pem;
use pkcs8::spki::SubjectPublicKeyInfoRef;
use pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, PrivateKeyInfo};
use sec1::der::Decode as _;
use zeroize::Zeroizing;

use super::{KeyError, KeyKind, PrivateKey, PublicKey};

/// Ed25519 (RFC 8410).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-ecPublicKey (RFC 5480).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1 / NIST P-256.
const P256_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// rsaEncryption (RFC 8017).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// What a secret text holds.
pub(crate) enum KeyText {
    /// Not an asymmetric key: the text is an HMAC secret, used as before.
    Hmac,
    /// A private key.
    Private(PrivateKey),
    /// A public key (SPKI or PKCS#1 PEM).
    Public(PublicKey),
}

impl fmt::Debug for KeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hmac => f.write_str("Hmac"),
            Self::Private(key) => f.debug_tuple("Private").field(key).finish(),
            Self::Public(key) => f.debug_tuple("Public").field(key).finish(),
        }
    }
}

/// Reads a secret text by the rules in the module docs: a PEM key by its label, Coinbase's
/// base64 Ed25519 form, or else an HMAC secret.
pub(crate) fn read_key(text: &str) -> Result<KeyText, KeyError> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        // Coinbase's JSON key files carry the PEM with literal `\n` for its newlines.
        let pem_text = Zeroizing::new(text.replace("\\n", "\n"));
        return read_pem(&pem_text);
    }
    if let Some(key) = coinbase_ed25519(text) {
        return Ok(KeyText::Private(PrivateKey::Ed25519(key)));
    }
    Ok(KeyText::Hmac)
}

/// Coinbase CDP's Ed25519 secret: standard base64 of the 32-byte seed followed by the 32-byte
/// public key. Only a text whose second half is the public key of its first half is taken:
/// other 64-byte base64 secrets (Kraken's HMAC secrets are exactly that) stay HMAC.
///
/// coinbase-advanced-py 1.8.4 (`coinbase/jwt_generator.py`, `_load_private_key`) takes any
/// non-PEM text that is base64 of 32 or 64 bytes and uses the first 32 as the seed, without
/// checking the second half; ccxt 4.5.90 (`coinbase.py`, `create_auth_token`) treats an
/// 88-character secret as this form and also signs with `base64(secret)[0:32]`. keyward
/// declares the form by its checkable structure instead, so that an HMAC secret is never
/// mistaken for a key.
fn coinbase_ed25519(text: &str) -> Option<ed25519_dalek::SigningKey> {
    if text.len() != 88 {
        return None;
    }
    let raw = Zeroizing::new(STANDARD.decode(text).ok()?);
    let (seed, public) = raw.split_at_checked(32)?;
    if public.len() != 32 {
        return None;
    }
    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(seed.try_into().ok()?);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    (key.verifying_key().as_bytes() == public).then_some(key)
}

/// The label of a PEM block, for an error: shown only when short.
fn shown_label(label: &str) -> Option<String> {
    (label.len() <= 40).then(|| label.to_owned())
}

/// Maps a PEM decoding failure to a fixed reason (pem-rfc7468's errors carry no input bytes,
/// but are not echoed anyway).
fn pem_error(error: pem::Error) -> KeyError {
    let reason = match error {
        pem::Error::HeaderDisallowed => return KeyError::EncryptedKey,
        pem::Error::Base64(_) => "its body is not valid base64",
        pem::Error::Label => "its BEGIN and END labels differ or are invalid",
        pem::Error::PreEncapsulationBoundary => "its -----BEGIN line is malformed",
        pem::Error::PostEncapsulationBoundary => "its -----END line is missing or malformed",
        pem::Error::CharacterEncoding => "it holds characters that are not ASCII",
        _ => "it is truncated or malformed",
    };
    KeyError::MalformedPem { reason }
}

fn read_pem(text: &str) -> Result<KeyText, KeyError> {
    let label = pem::decode_label(text.as_bytes()).map_err(pem_error)?;
    match label {
        "PRIVATE KEY" | "EC PRIVATE KEY" | "RSA PRIVATE KEY" | "PUBLIC KEY" | "RSA PUBLIC KEY" => {}
        "ENCRYPTED PRIVATE KEY" => return Err(KeyError::EncryptedKey),
        other => {
            return Err(KeyError::UnsupportedLabel {
                label: shown_label(other),
            });
        }
    }
    let (label, der) = pem::decode_vec(text.as_bytes()).map_err(pem_error)?;
    let der = Zeroizing::new(der);
    match label {
        "PRIVATE KEY" => read_pkcs8(&der).map(KeyText::Private),
        "EC PRIVATE KEY" => read_sec1(&der).map(|k| KeyText::Private(PrivateKey::P256(k))),
        "RSA PRIVATE KEY" => read_pkcs1_private(&der).map(KeyText::Private),
        "PUBLIC KEY" => read_spki(&der).map(KeyText::Public),
        _ => read_pkcs1_public(&der).map(KeyText::Public),
    }
}

fn invalid(kind: KeyKind) -> impl Fn(pkcs8::Error) -> KeyError {
    move |_| KeyError::InvalidKey {
        kind,
        reason: "its encoding does not hold a valid key of this kind",
    }
}

/// The named curve of an EC algorithm identifier must be P-256.
fn check_curve(parameters: Option<ObjectIdentifier>) -> Result<(), KeyError> {
    match parameters {
        Some(P256_CURVE) => Ok(()),
        Some(other) => Err(KeyError::UnsupportedCurve {
            oid: other.to_string(),
        }),
        None => Err(KeyError::UnsupportedCurve {
            oid: "unnamed".to_owned(),
        }),
    }
}

fn read_pkcs8(der: &[u8]) -> Result<PrivateKey, KeyError> {
    let info = PrivateKeyInfo::try_from(der).map_err(|_| KeyError::MalformedPem {
        reason: "its body is not a PKCS#8 private key",
    })?;
    match info.algorithm.oid {
        ED25519 => ed25519_dalek::SigningKey::from_pkcs8_der(der)
            .map(PrivateKey::Ed25519)
            .map_err(invalid(KeyKind::Ed25519)),
        EC_PUBLIC_KEY => {
            check_curve(info.algorithm.parameters_oid().ok())?;
            p256::ecdsa::SigningKey::from_pkcs8_der(der)
                .map(PrivateKey::P256)
                .map_err(invalid(KeyKind::P256))
        }
        RSA_ENCRYPTION => rsa_pkcs8(der),
        other => Err(KeyError::UnsupportedAlgorithm {
            oid: other.to_string(),
        }),
    }
}

fn read_sec1(der: &[u8]) -> Result<p256::ecdsa::SigningKey, KeyError> {
    let sec1 = sec1::EcPrivateKey::from_der(der).map_err(|_| KeyError::InvalidKey {
        kind: KeyKind::P256,
        reason: "the EC PRIVATE KEY block is not a SEC1 private key",
    })?;
    // A SEC1 key without parameters says nothing of its curve: a 32-byte scalar is read as P-256.
    if let Some(params) = sec1.parameters {
        check_curve(params.named_curve())?;
    }
    p256::SecretKey::from_sec1_der(der)
        .map(p256::ecdsa::SigningKey::from)
        .map_err(|_| KeyError::InvalidKey {
            kind: KeyKind::P256,
            reason: "its scalar is not a valid P-256 private key",
        })
}

fn read_spki(der: &[u8]) -> Result<PublicKey, KeyError> {
    let spki = SubjectPublicKeyInfoRef::try_from(der).map_err(|_| KeyError::MalformedPem {
        reason: "its body is not a SubjectPublicKeyInfo public key",
    })?;
    let bad = |kind| {
        move |_| KeyError::InvalidKey {
            kind,
            reason: "its encoding does not hold a valid public key of this kind",
        }
    };
    match spki.algorithm.oid {
        ED25519 => ed25519_dalek::VerifyingKey::from_public_key_der(der)
            .map(PublicKey::Ed25519)
            .map_err(bad(KeyKind::Ed25519)),
        EC_PUBLIC_KEY => {
            check_curve(spki.algorithm.parameters_oid().ok())?;
            p256::ecdsa::VerifyingKey::from_public_key_der(der)
                .map(PublicKey::P256)
                .map_err(bad(KeyKind::P256))
        }
        RSA_ENCRYPTION => rsa_spki(der),
        other => Err(KeyError::UnsupportedAlgorithm {
            oid: other.to_string(),
        }),
    }
}

#[cfg(feature = "rsa")]
mod rsa_forms {
    use pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
    use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _};
    use rsa::{RsaPrivateKey, RsaPublicKey};

    use super::{KeyError, KeyKind, PrivateKey, PublicKey};

    const UNUSABLE: &str = "its numbers are inconsistent, it has more than two primes, or its size is outside what the rsa crate accepts (at most 4096 bits)";

    fn private(key: RsaPrivateKey) -> PrivateKey {
        PrivateKey::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(key)))
    }

    fn public(key: RsaPublicKey) -> PublicKey {
        PublicKey::Rsa(Box::new(rsa::pkcs1v15::VerifyingKey::new(key)))
    }

    fn pkcs8_error(error: pkcs8::Error) -> KeyError {
        match error {
            pkcs8::Error::KeyMalformed | pkcs8::Error::PublicKey(_) => {
                KeyError::RsaUnusable { reason: UNUSABLE }
            }
            _ => KeyError::InvalidKey {
                kind: KeyKind::Rsa,
                reason: "its encoding does not hold an RSA private key",
            },
        }
    }

    fn spki_error(error: pkcs8::spki::Error) -> KeyError {
        match error {
            pkcs8::spki::Error::KeyMalformed => KeyError::RsaUnusable { reason: UNUSABLE },
            _ => KeyError::InvalidKey {
                kind: KeyKind::Rsa,
                reason: "its encoding does not hold an RSA public key",
            },
        }
    }

    fn pkcs1_error(error: rsa::pkcs1::Error) -> KeyError {
        match error {
            rsa::pkcs1::Error::Pkcs8(e) => pkcs8_error(e),
            rsa::pkcs1::Error::Version => KeyError::RsaUnusable { reason: UNUSABLE },
            _ => KeyError::InvalidKey {
                kind: KeyKind::Rsa,
                reason: "its encoding does not hold a PKCS#1 RSA key",
            },
        }
    }

    pub(super) fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, KeyError> {
        RsaPrivateKey::from_pkcs8_der(der)
            .map(private)
            .map_err(pkcs8_error)
    }

    pub(super) fn from_pkcs1_private(der: &[u8]) -> Result<PrivateKey, KeyError> {
        RsaPrivateKey::from_pkcs1_der(der)
            .map(private)
            .map_err(pkcs1_error)
    }

    pub(super) fn from_spki(der: &[u8]) -> Result<PublicKey, KeyError> {
        RsaPublicKey::from_public_key_der(der)
            .map(public)
            .map_err(spki_error)
    }

    pub(super) fn from_pkcs1_public(der: &[u8]) -> Result<PublicKey, KeyError> {
        RsaPublicKey::from_pkcs1_der(der)
            .map(public)
            .map_err(pkcs1_error)
    }

    /// A generated key, for `generate`.
    pub(crate) fn from_private(key: RsaPrivateKey) -> PrivateKey {
        private(key)
    }
}

#[cfg(feature = "rsa")]
pub(crate) use rsa_forms::from_private as rsa_private_key;

#[cfg(feature = "rsa")]
fn rsa_pkcs8(der: &[u8]) -> Result<PrivateKey, KeyError> {
    rsa_forms::from_pkcs8(der)
}
#[cfg(feature = "rsa")]
fn read_pkcs1_private(der: &[u8]) -> Result<PrivateKey, KeyError> {
    rsa_forms::from_pkcs1_private(der)
}
#[cfg(feature = "rsa")]
fn rsa_spki(der: &[u8]) -> Result<PublicKey, KeyError> {
    rsa_forms::from_spki(der)
}
#[cfg(feature = "rsa")]
fn read_pkcs1_public(der: &[u8]) -> Result<PublicKey, KeyError> {
    rsa_forms::from_pkcs1_public(der)
}

#[cfg(not(feature = "rsa"))]
fn rsa_pkcs8(_: &[u8]) -> Result<PrivateKey, KeyError> {
    Err(KeyError::RsaNotCompiled)
}
#[cfg(not(feature = "rsa"))]
fn read_pkcs1_private(_: &[u8]) -> Result<PrivateKey, KeyError> {
    Err(KeyError::RsaNotCompiled)
}
#[cfg(not(feature = "rsa"))]
fn rsa_spki(_: &[u8]) -> Result<PublicKey, KeyError> {
    Err(KeyError::RsaNotCompiled)
}
#[cfg(not(feature = "rsa"))]
fn read_pkcs1_public(_: &[u8]) -> Result<PublicKey, KeyError> {
    Err(KeyError::RsaNotCompiled)
}
