//! `PrivateKey`: the signing half of an asymmetric key.

use std::fmt;

use pkcs8::LineEnding;
use zeroize::Zeroizing;

use super::{KeyError, KeyKind, PublicKey};

/// An Ed25519, P-256 or RSA private key, read by [`super::read_key`] or made by
/// [`super::generate`]. Each inner key zeroizes itself on drop; `Debug` shows the kind only.
#[derive(Clone)]
pub(crate) enum PrivateKey {
    /// Ed25519 (EdDSA).
    Ed25519(ed25519_dalek::SigningKey),
    /// ECDSA P-256 over SHA-256 (ES256).
    P256(p256::ecdsa::SigningKey),
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[cfg(feature = "rsa")]
    Rsa(Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>),
}

impl PrivateKey {
    /// The key's kind.
    pub(crate) fn kind(&self) -> KeyKind {
        match self {
            Self::Ed25519(_) => KeyKind::Ed25519,
            Self::P256(_) => KeyKind::P256,
            #[cfg(feature = "rsa")]
            Self::Rsa(_) => KeyKind::Rsa,
        }
    }

    /// Signs `message`: Ed25519 gives its 64-byte signature; P-256 gives ES256, ECDSA over
    /// SHA-256(message) with an RFC 6979 nonce, as the fixed 64-byte r||s (JWS) form; RSA gives
    /// RSASSA-PKCS1-v1_5 with SHA-256 (deterministic bytes; the private operation is blinded
    /// with the OS RNG).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        use ed25519_dalek::Signer as _;
        let failed = |_| KeyError::SignFailed { kind: self.kind() };
        match self {
            Self::Ed25519(key) => Ok(key.try_sign(message).map_err(failed)?.to_bytes().to_vec()),
            Self::P256(key) => {
                let sig: p256::ecdsa::Signature = key.try_sign(message).map_err(failed)?;
                Ok(sig.to_bytes().to_vec())
            }
            #[cfg(feature = "rsa")]
            Self::Rsa(key) => {
                use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
                let sig = key
                    .try_sign_with_rng(&mut rand_core::OsRng, message)
                    .map_err(failed)?;
                Ok(sig.to_vec())
            }
        }
    }

    /// The key's public half.
    pub(crate) fn public_key(&self) -> PublicKey {
        match self {
            Self::Ed25519(key) => PublicKey::Ed25519(key.verifying_key()),
            Self::P256(key) => PublicKey::P256(*key.verifying_key()),
            #[cfg(feature = "rsa")]
            Self::Rsa(key) => {
                use rsa::signature::Keypair as _;
                PublicKey::Rsa(Box::new(key.verifying_key()))
            }
        }
    }

    /// The key as an unencrypted PKCS#8 `PRIVATE KEY` PEM (LF line endings), held in
    /// `Zeroizing`. Ed25519 is written as PKCS#8 v1 (seed only), as OpenSSL and Python
    /// `cryptography` write it.
    pub(crate) fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        use pkcs8::EncodePrivateKey as _;
        let encoded = match self {
            Self::Ed25519(key) => {
                let pair = ed25519_dalek::pkcs8::KeypairBytes {
                    secret_key: key.to_bytes(),
                    public_key: None,
                };
                let pem = pair.to_pkcs8_pem(LineEnding::LF);
                drop(pair); // KeypairBytes zeroizes its secret on drop
                pem
            }
            Self::P256(key) => key.to_pkcs8_pem(LineEnding::LF),
            #[cfg(feature = "rsa")]
            Self::Rsa(key) => {
                let key: &rsa::RsaPrivateKey = key.as_ref().as_ref();
                key.to_pkcs8_pem(LineEnding::LF)
            }
        };
        encoded.map_err(|_| KeyError::Encode { kind: self.kind() })
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PrivateKey");
        d.field("kind", &self.kind());
        if let Some(bits) = self.public_key().rsa_bits() {
            d.field("rsa_bits", &bits);
        }
        d.finish_non_exhaustive()
    }
}
