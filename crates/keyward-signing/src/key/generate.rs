//! `generate`: a fresh key pair, the private half as PKCS#8 PEM.

use std::fmt;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::{KeyError, KeyKind, PrivateKey};

/// RSA keys are made with a 2048-bit modulus, the size Binance and Bybit document.
#[cfg(feature = "rsa")]
const RSA_BITS: usize = 2048;

/// A freshly generated key pair: the private half to store as a secret, the public half to
/// register with the venue. `Debug` shows the kind and the public key only.
pub struct GeneratedKey {
    private_pem: SecretString,
    public_pem: String,
    kind: KeyKind,
}

impl GeneratedKey {
    /// The private key as an unencrypted PKCS#8 `PRIVATE KEY` PEM.
    pub fn private_pem(&self) -> &SecretString {
        &self.private_pem
    }

    /// The public key as an SPKI `PUBLIC KEY` PEM.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The key's kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("kind", &self.kind)
            .field("private_pem", &"[REDACTED]")
            .field("public_pem", &self.public_pem)
            .finish()
    }
}

/// Generates a key of `kind` from the operating system's RNG: Ed25519, ECDSA P-256, or RSA
/// with a 2048-bit modulus (only with the `rsa` feature, whose `rsa` crate carries the unfixed
/// timing advisory RUSTSEC-2023-0071: prefer Ed25519).
///
/// # Errors
/// [`KeyError::NotAsymmetric`] for [`KeyKind::Hmac`], [`KeyError::RsaNotCompiled`] for RSA
/// without the `rsa` feature, [`KeyError::Rng`] when the OS RNG fails.
pub fn generate(kind: KeyKind) -> Result<GeneratedKey, KeyError> {
    let key = private_key(kind)?;
    let private_pem = key.to_pkcs8_pem()?;
    let public_pem = key.public_key().to_pem()?;
    Ok(GeneratedKey {
        private_pem: SecretString::from(private_pem.as_str()),
        public_pem,
        kind,
    })
}

/// 32 bytes from the OS RNG, zeroized on drop.
fn random_32() -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(bytes.as_mut()).map_err(|_| KeyError::Rng)?;
    Ok(bytes)
}

/// A new private key of `kind`.
pub(crate) fn private_key(kind: KeyKind) -> Result<PrivateKey, KeyError> {
    match kind {
        KeyKind::Ed25519 => Ok(PrivateKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(
            &*random_32()?,
        ))),
        KeyKind::P256 => {
            // A random 256-bit string is a valid scalar unless it is zero or at least the group
            // order (odds about 2^-32); draw again in that case.
            for _ in 0..8 {
                if let Ok(key) = p256::ecdsa::SigningKey::from_slice(random_32()?.as_ref()) {
                    return Ok(PrivateKey::P256(key));
                }
            }
            Err(KeyError::Rng)
        }
        KeyKind::Rsa => rsa_key(),
        KeyKind::Hmac => Err(KeyError::NotAsymmetric),
    }
}

#[cfg(feature = "rsa")]
fn rsa_key() -> Result<PrivateKey, KeyError> {
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, RSA_BITS).map_err(|_| {
        KeyError::RsaUnusable {
            reason: "generating a 2048-bit key failed",
        }
    })?;
    Ok(super::read::rsa_private_key(key))
}

#[cfg(not(feature = "rsa"))]
fn rsa_key() -> Result<PrivateKey, KeyError> {
    Err(KeyError::RsaNotCompiled)
}
