//! The key a [`Signer`](crate::Signer) signs with, and the text of its signatures.
//!
//! A venue's module asks for "the signature of these bytes, written as the venue writes its
//! MACs"; the key decides what that is:
//! - an HMAC secret gives the MAC in the scheme's encoding (hex or base64),
//! - an Ed25519 or RSA key (Binance, Bybit) gives standard base64 of its signature, as both
//!   venues document for those keys,
//! - a verifier's public key ([`SigningKey::Check`]) cannot sign: it checks a received
//!   signature over the same bytes and answers with that signature when it verifies, or with
//!   an empty text when it does not, so the verifier's constant-time comparison of "what the
//!   request carries" with "what the key produces" decides for every key type alike.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::error::{Error, Result};
use crate::key::{KeyKind, PrivateKey, PublicKey};
use crate::mac::{HexMac, PreparedMac};

/// How a signature is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Standard base64 with padding.
    Base64,
    /// Lowercase hex (HMAC only: asymmetric signatures are written in base64 instead).
    Hex,
    /// Base64url without padding (JWS, RFC 7515).
    Base64Url,
}

/// What a signer signs with.
pub(crate) enum SigningKey {
    /// An HMAC secret, its keyed state prepared once.
    Hmac(PreparedMac),
    /// A private key (Ed25519, ECDSA P-256, RSA).
    Private(PrivateKey),
    /// A public key checking a received signature (the verifier's side).
    Check(Check),
}

/// A public key and the signature a received request carries.
pub(crate) struct Check {
    pub(crate) public: PublicKey,
    /// The signature as the venue writes it (after undoing any transport encoding).
    pub(crate) provided: String,
}

/// A signature's text: on the stack for HMAC hex (the hot path), else on the heap.
pub(crate) enum SignatureText {
    Mac(HexMac),
    Text(String),
}

impl SignatureText {
    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            SignatureText::Mac(mac) => mac.as_str(),
            SignatureText::Text(text) => text,
        }
    }
}

impl SigningKey {
    /// The kind of key.
    pub(crate) fn kind(&self) -> KeyKind {
        match self {
            SigningKey::Hmac(_) => KeyKind::Hmac,
            SigningKey::Private(key) => key.kind(),
            SigningKey::Check(check) => check.public.kind(),
        }
    }

    /// The HMAC state, for schemes that sign with HMAC keys only.
    pub(crate) fn hmac(&self) -> Option<&PreparedMac> {
        match self {
            SigningKey::Hmac(mac) => Some(mac),
            _ => None,
        }
    }

    /// The signature of the concatenation of `parts`, as text: an HMAC in `encoding`; an
    /// asymmetric signature in standard base64 (base64url for [`Encoding::Base64Url`]).
    pub(crate) fn text(&self, parts: &[&[u8]], encoding: Encoding) -> Result<String> {
        Ok(match self.text_buf(parts, encoding)? {
            SignatureText::Mac(mac) => mac.as_str().to_owned(),
            SignatureText::Text(text) => text,
        })
    }

    /// [`Self::text`], on the stack for an HMAC in hex.
    pub(crate) fn text_buf(&self, parts: &[&[u8]], encoding: Encoding) -> Result<SignatureText> {
        let asymmetric = |bytes: &[u8]| match encoding {
            Encoding::Base64Url => URL_SAFE_NO_PAD.encode(bytes),
            Encoding::Base64 | Encoding::Hex => STANDARD.encode(bytes),
        };
        Ok(match self {
            SigningKey::Hmac(mac) => match encoding {
                Encoding::Hex => SignatureText::Mac(mac.hex_buf(parts)),
                Encoding::Base64 => SignatureText::Text(mac.base64(parts)),
                Encoding::Base64Url => SignatureText::Text(URL_SAFE_NO_PAD.encode(mac.sign(parts))),
            },
            SigningKey::Private(key) => {
                let signature = key.sign(&parts.concat()).map_err(Error::Key)?;
                SignatureText::Text(asymmetric(&signature))
            }
            SigningKey::Check(check) => SignatureText::Text(check.answer(parts, encoding)),
        })
    }
}

impl Check {
    /// The provided signature if it verifies over `parts` with the public key, else "".
    fn answer(&self, parts: &[&[u8]], encoding: Encoding) -> String {
        let decoded = match encoding {
            Encoding::Base64Url => URL_SAFE_NO_PAD.decode(&self.provided),
            Encoding::Base64 | Encoding::Hex => STANDARD.decode(&self.provided),
        };
        match decoded {
            Ok(signature) if self.public.verify(&parts.concat(), &signature) => {
                self.provided.clone()
            }
            _ => String::new(),
        }
    }
}
