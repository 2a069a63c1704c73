//! Keyed HMAC states prepared once per credential and cloned per request.
//!
//! `Hmac::new_from_slice` hashes the key's inner and outer pad blocks; cloning the prepared
//! state skips that work on every request (two SHA-256 compressions out of the four or five a
//! typical order needs).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::{Sha256, Sha512};

/// A keyed HMAC state.
#[derive(Clone)]
pub(crate) enum PreparedMac {
    /// HMAC-SHA256.
    Sha256(Hmac<Sha256>),
    /// HMAC-SHA512.
    Sha512(Hmac<Sha512>),
}

/// Which hash a scheme uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl PreparedMac {
    /// Prepares the keyed state. HMAC accepts keys of any length, so this cannot fail.
    pub(crate) fn new(algorithm: Algorithm, key: &[u8]) -> Self {
        // `new_from_slice` only fails for MACs with a fixed key size; HMAC has none.
        #[allow(clippy::expect_used)] // reason: HMAC takes keys of any length
        match algorithm {
            Algorithm::Sha256 => {
                Self::Sha256(Hmac::new_from_slice(key).expect("HMAC takes any key length"))
            }
            Algorithm::Sha512 => {
                Self::Sha512(Hmac::new_from_slice(key).expect("HMAC takes any key length"))
            }
        }
    }

    /// Calls `f` with the MAC of the concatenation of `parts` (on the stack, no allocation).
    fn with_mac<T>(&self, parts: &[&[u8]], f: impl FnOnce(&[u8]) -> T) -> T {
        match self {
            Self::Sha256(m) => {
                let mut m = m.clone();
                parts.iter().for_each(|p| m.update(p));
                f(&m.finalize().into_bytes())
            }
            Self::Sha512(m) => {
                let mut m = m.clone();
                parts.iter().for_each(|p| m.update(p));
                f(&m.finalize().into_bytes())
            }
        }
    }

    /// The MAC of the concatenation of `parts`.
    pub(crate) fn sign(&self, parts: &[&[u8]]) -> Vec<u8> {
        self.with_mac(parts, <[u8]>::to_vec)
    }

    /// The lowercase hex of the MAC of `parts`, on the stack.
    pub(crate) fn hex_buf(&self, parts: &[&[u8]]) -> HexMac {
        self.with_mac(parts, |mac| {
            let mut out = HexMac {
                buf: [0; 128],
                len: mac.len() * 2,
            };
            // A nibble table: `hex::encode_to_slice` goes through a generic iterator and costs
            // several times as much on this hot path.
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            for (pair, byte) in out.buf.chunks_exact_mut(2).zip(mac) {
                pair[0] = DIGITS[usize::from(byte >> 4)];
                pair[1] = DIGITS[usize::from(byte & 0x0f)];
            }
            out
        })
    }

    /// Standard base64 (with padding) of the MAC of `parts`.
    pub(crate) fn base64(&self, parts: &[&[u8]]) -> String {
        self.with_mac(parts, |mac| STANDARD.encode(mac))
    }
}

/// A MAC in lowercase hex, held on the stack.
pub(crate) struct HexMac {
    buf: [u8; 128],
    len: usize,
}

impl HexMac {
    /// The hex digits.
    pub(crate) fn as_str(&self) -> &str {
        // Hex digits are ASCII; the fallback is unreachable.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_state_matches_a_fresh_hmac() {
        let parts: [&[u8]; 2] = [b"what do ya want ", b"for nothing?"];
        let mut fresh = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        fresh.update(&parts.concat());
        let mac = PreparedMac::new(Algorithm::Sha256, b"Jefe");
        assert_eq!(mac.sign(&parts), fresh.finalize().into_bytes().to_vec());
        let mut fresh = Hmac::<Sha512>::new_from_slice(b"Jefe").unwrap();
        fresh.update(&parts.concat());
        let mac = PreparedMac::new(Algorithm::Sha512, b"Jefe");
        assert_eq!(mac.sign(&parts), fresh.finalize().into_bytes().to_vec());
        // The prepared state is cloned per call: a second call gives the same answer.
        assert_eq!(mac.hex_buf(&[b"x"]).as_str(), mac.hex_buf(&[b"x"]).as_str());
    }
}
