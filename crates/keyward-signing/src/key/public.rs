//! `PublicKey`: the verifying half of an asymmetric key.

use std::fmt;

use pkcs8::EncodePublicKey as _;
use pkcs8::LineEnding;

use super::{KeyError, KeyKind};

/// The public half of an Ed25519, P-256 or RSA key: verifies what [`super::PrivateKey::sign`]
/// makes.
#[derive(Clone)]
pub(crate) enum PublicKey {
    /// Ed25519 (EdDSA, strict verification).
    Ed25519(ed25519_dalek::VerifyingKey),
    /// ECDSA P-256 over SHA-256 (ES256).
    P256(p256::ecdsa::VerifyingKey),
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[cfg(feature = "rsa")]
    Rsa(Box<rsa::pkcs1v15::VerifyingKey<sha2::Sha256>>),
}

impl PublicKey {
    /// The key's kind.
    pub(crate) fn kind(&self) -> KeyKind {
        match self {
            Self::Ed25519(_) => KeyKind::Ed25519,
            Self::P256(_) => KeyKind::P256,
            #[cfg(feature = "rsa")]
            Self::Rsa(_) => KeyKind::Rsa,
        }
    }

    /// Whether `signature` is this key's signature over `message`: Ed25519 (64 bytes, strict),
    /// ES256 as the 64-byte r||s (JWS) form, or RSASSA-PKCS1-v1_5 with SHA-256. A malformed
    /// signature is `false`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        // The `signature` crate's trait, which all three key crates implement.
        use ed25519_dalek::Verifier as _;
        match self {
            Self::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_strict(message, &sig).is_ok()),
            Self::P256(key) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
            #[cfg(feature = "rsa")]
            Self::Rsa(key) => rsa::pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
        }
    }

    /// The key as an SPKI `PUBLIC KEY` PEM (LF line endings), the form venues ask to register.
    pub(crate) fn to_pem(&self) -> Result<String, KeyError> {
        let encoded = match self {
            Self::Ed25519(key) => key.to_public_key_pem(LineEnding::LF),
            Self::P256(key) => key.to_public_key_pem(LineEnding::LF),
            #[cfg(feature = "rsa")]
            Self::Rsa(key) => {
                let key: &rsa::RsaPublicKey = key.as_ref().as_ref();
                key.to_public_key_pem(LineEnding::LF)
            }
        };
        encoded.map_err(|_| KeyError::Encode { kind: self.kind() })
    }

    /// The modulus size in bits of an RSA key; `None` for other kinds.
    pub(crate) fn rsa_bits(&self) -> Option<usize> {
        match self {
            #[cfg(feature = "rsa")]
            Self::Rsa(key) => {
                use rsa::traits::PublicKeyParts as _;
                let key: &rsa::RsaPublicKey = key.as_ref().as_ref();
                Some(key.n().bits())
            }
            _ => None,
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PublicKey");
        d.field("kind", &self.kind());
        if let Some(bits) = self.rsa_bits() {
            d.field("rsa_bits", &bits);
        }
        d.finish_non_exhaustive()
    }
}
