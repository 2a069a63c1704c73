//! Helpers for the unit tests: a signer on a fixed clock, and independent HMACs to check
//! against (computed with the `hmac` crate directly, not through the code under test).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::descriptor::SecretEncoding;
use crate::{Credentials, FixedClock, Scheme, Signer};

/// The secret every unit test signs with.
pub(crate) const SECRET: &str = "test-secret";

/// A signer for `scheme` over `test-key` / [`SECRET`] (base64 of it where the venue wants
/// base64), with `passphrase`, on a clock stopped at 1_700_000_000_000 ms.
pub(crate) fn signer(scheme: Scheme, passphrase: Option<&str>) -> Signer {
    let secret = match scheme.descriptor().secret {
        SecretEncoding::Base64 => STANDARD.encode(SECRET),
        SecretEncoding::Raw => SECRET.to_owned(),
    };
    let mut creds = Credentials::new("test-key", secret.into());
    if let Some(p) = passphrase {
        creds = creds.with_passphrase(p.into());
    }
    Signer::new(scheme, &creds)
        .unwrap()
        .with_clock(Arc::new(FixedClock::new(1_700_000_000_000)))
}

fn hmac256(message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Lowercase hex HMAC-SHA256 of `message` under [`SECRET`].
pub(crate) fn hmac256_hex(message: &str) -> String {
    hex::encode(hmac256(message.as_bytes()))
}

/// Base64 HMAC-SHA256 of `message` under [`SECRET`].
pub(crate) fn hmac256_b64(message: &str) -> String {
    STANDARD.encode(hmac256(message.as_bytes()))
}
