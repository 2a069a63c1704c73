//! `fernet`: Fernet token decryption under a fixed key ring, key and key-ring text parsing, key
//! ids, and the round trip encrypt → decrypt.
//!
//! Every input goes through every parser (they are cheap) as a token, as key text and as a
//! plaintext. The key ring is the Fernet specification's key from the repository's vectors
//! (`crates/keyward-core-crypto/tests/data/generate.json`) followed by a second key, so that the
//! specification's tokens in the seed corpus verify and the fuzzer starts past the MAC check.
//!
//! Invariants checked for every input: nothing panics; a key that parses prints back as the
//! same text and its `Debug` never holds it; a key id that parses prints back in lower case;
//! `rotate` and `extract_timestamp` agree with `decrypt`; encrypting the input then decrypting
//! gives the input back.
#![no_main]

use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use keyward_core_crypto::fuzzing::parse_key_ring;
use keyward_core_crypto::secrecy::ExposeSecret;
use keyward_core_crypto::{FernetKey, KeyId, KeyRing};
use libfuzzer_sys::fuzz_target;

/// The specification's vectors, kept in the repository.
const GENERATE: &str = include_str!("../../crates/keyward-core-crypto/tests/data/generate.json");

/// The "now" of the specification's vectors: 1985-10-26T01:20:00-07:00, in Unix seconds.
const SPEC_NOW: u64 = 499_162_800;

/// The ring every token is decrypted under: the specification's key, then a second key.
fn ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| {
        let vectors: serde_json::Value =
            serde_json::from_str(GENERATE).expect("generate.json is JSON");
        let secret = vectors[0]["secret"]
            .as_str()
            .expect("generate.json names a secret");
        let spec = FernetKey::parse(secret).expect("the specification's key parses");
        KeyRing::from_keys([FernetKey::from_bytes(&[7; 32]), spec]).expect("two keys")
    })
}

fuzz_target!(|data: &[u8]| {
    let ring = ring();

    // Tokens: decryption with and without a TTL, at the vectors' time and far from it.
    for (ttl, now) in [
        (None, SPEC_NOW),
        (Some(Duration::from_secs(60)), SPEC_NOW + 1),
        (Some(Duration::from_secs(u64::MAX)), u64::MAX),
    ] {
        let _ = ring.decrypt_at(data, ttl, now);
    }
    if let Ok((plain, id)) = ring.decrypt_identified(data, None, SPEC_NOW) {
        assert!(ring.key_ids().contains(&id));
        let rotated = ring.rotate(data).expect("a token that decrypts rotates");
        let (again, again_id) = ring
            .decrypt_identified(&rotated, None, SPEC_NOW)
            .expect("a rotated token decrypts");
        assert_eq!(again.expose_secret(), plain.expose_secret());
        assert_eq!(again_id, ring.primary_id());
        assert_eq!(
            ring.extract_timestamp(&rotated).ok(),
            ring.extract_timestamp(data).ok()
        );
    }

    // Key text, key-ring text (KEYWARD_MASTER_KEY's comma-separated form) and key ids.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = FernetKey::parse(text) {
            assert_eq!(key.expose_base64().as_str(), text);
            assert!(!format!("{key:?}").contains(text));
        }
        if let Ok(parsed) = parse_key_ring(text) {
            let debug = format!("{parsed:?}");
            for key in parsed.keys() {
                assert!(!debug.contains(key.expose_base64().as_str()));
            }
        }
        if let Ok(id) = KeyId::from_str(text) {
            assert_eq!(id.to_string(), text.to_ascii_lowercase());
        }
    }

    // Round trip: the input as a plaintext.
    let at = data.len() as u64 * 1_000_003;
    let token = ring.encrypt_at(data, at);
    let plain = ring
        .decrypt_at(&token, None, at)
        .expect("a token just made decrypts");
    assert_eq!(plain.expose_secret().as_slice(), data);
    assert_eq!(ring.extract_timestamp(&token).ok(), Some(at));
});
