//! Property tests: round trips of arbitrary data, and tamper detection for every bit.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use keyward_core_crypto::secrecy::ExposeSecret;
use keyward_core_crypto::{Error, FernetKey, KeyRing};
use proptest::prelude::*;

fn ring() -> KeyRing {
    KeyRing::from_keys([FernetKey::generate().unwrap()]).unwrap()
}

fn flip_raw_bit(token: &str, bit: usize) -> String {
    let mut raw = URL_SAFE.decode(token).unwrap();
    raw[bit / 8] ^= 1 << (bit % 8);
    URL_SAFE.encode(raw)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn round_trip_up_to_64_kib(data in proptest::collection::vec(any::<u8>(), 0..=64 * 1024), at in any::<u64>()) {
        let ring = ring();
        let token = ring.encrypt_at(&data, at);
        let plain = ring.decrypt_at(&token, None, 0).unwrap();
        prop_assert_eq!(plain.expose_secret().as_slice(), data.as_slice());
        prop_assert_eq!(ring.extract_timestamp(&token).unwrap(), at);
    }

    #[test]
    fn any_single_bit_change_of_the_token_bytes_is_rejected(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        pick in any::<prop::sample::Index>(),
    ) {
        let ring = ring();
        let token = ring.encrypt_at(&data, 1_000_000);
        let bits = URL_SAFE.decode(&token).unwrap().len() * 8;
        let tampered = flip_raw_bit(&token, pick.index(bits));
        prop_assert!(matches!(ring.decrypt_at(&tampered, None, 1_000_000), Err(Error::InvalidToken)));
    }

    #[test]
    fn any_single_bit_change_of_the_token_text_is_rejected(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        pick in any::<prop::sample::Index>(),
    ) {
        let ring = ring();
        let mut text = ring.encrypt_at(&data, 1_000_000).into_bytes();
        let bit = pick.index(text.len() * 8);
        text[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(ring.decrypt_at(&text, None, 1_000_000).is_err());
    }
}

/// Every bit of one whole token, not a sample: the MAC covers version, timestamp, IV and
/// ciphertext, and the MAC itself cannot be altered.
#[test]
fn every_bit_of_a_token_is_protected() {
    let ring = ring();
    let token = ring.encrypt_at(b"credential", 1_000_000);
    let bits = URL_SAFE.decode(&token).unwrap().len() * 8;
    for bit in 0..bits {
        let tampered = flip_raw_bit(&token, bit);
        assert!(
            matches!(
                ring.decrypt_at(&tampered, None, 1_000_000),
                Err(Error::InvalidToken)
            ),
            "bit {bit} was not detected"
        );
    }
}

/// Truncations and extensions of a token are rejected, never a panic. (Dropping only the '='
/// padding leaves the same bytes, which stay valid.)
#[test]
fn truncated_and_extended_tokens_are_rejected() {
    let ring = ring();
    let token = ring.encrypt_at(b"credential", 1_000_000);
    for end in 0..token.trim_end_matches('=').len() {
        assert!(ring.decrypt_at(&token[..end], None, 1_000_000).is_err());
    }
    let longer = format!("{token}AAAA");
    assert!(ring.decrypt_at(&longer, None, 1_000_000).is_err());
}
