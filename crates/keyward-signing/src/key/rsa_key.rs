//! RSA keys in their PKCS#8, PKCS#1 and SPKI forms (feature `rsa`), or the error that names
//! the feature when it is off. The `rsa` crate carries RUSTSEC-2023-0071 (see the module docs).

#[cfg(feature = "rsa")]
pub(crate) use with_rsa::*;
#[cfg(not(feature = "rsa"))]
pub(crate) use without_rsa::*;

#[cfg(feature = "rsa")]
mod with_rsa {
    use pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
    use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _};
    use rsa::{RsaPrivateKey, RsaPublicKey};

    use super::super::{KeyError, KeyKind, PrivateKey, PublicKey};

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

    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, KeyError> {
        RsaPrivateKey::from_pkcs8_der(der)
            .map(private)
            .map_err(pkcs8_error)
    }

    pub(crate) fn from_pkcs1_private(der: &[u8]) -> Result<PrivateKey, KeyError> {
        RsaPrivateKey::from_pkcs1_der(der)
            .map(private)
            .map_err(pkcs1_error)
    }

    pub(crate) fn from_spki(der: &[u8]) -> Result<PublicKey, KeyError> {
        RsaPublicKey::from_public_key_der(der)
            .map(public)
            .map_err(spki_error)
    }

    pub(crate) fn from_pkcs1_public(der: &[u8]) -> Result<PublicKey, KeyError> {
        RsaPublicKey::from_pkcs1_der(der)
            .map(public)
            .map_err(pkcs1_error)
    }

    /// A key made by `generate`.
    pub(crate) fn from_private(key: RsaPrivateKey) -> PrivateKey {
        private(key)
    }
}

#[cfg(not(feature = "rsa"))]
mod without_rsa {
    use super::super::{KeyError, PrivateKey, PublicKey};

    /// PKCS#8 RSA private key: not compiled in.
    pub(crate) fn from_pkcs8(_: &[u8]) -> Result<PrivateKey, KeyError> {
        Err(KeyError::RsaNotCompiled)
    }

    /// PKCS#1 RSA private key: not compiled in.
    pub(crate) fn from_pkcs1_private(_: &[u8]) -> Result<PrivateKey, KeyError> {
        Err(KeyError::RsaNotCompiled)
    }

    /// SPKI RSA public key: not compiled in.
    pub(crate) fn from_spki(_: &[u8]) -> Result<PublicKey, KeyError> {
        Err(KeyError::RsaNotCompiled)
    }

    /// PKCS#1 RSA public key: not compiled in.
    pub(crate) fn from_pkcs1_public(_: &[u8]) -> Result<PublicKey, KeyError> {
        Err(KeyError::RsaNotCompiled)
    }
}
