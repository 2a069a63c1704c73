//! The Fernet specification's published vectors (tests/data, copied from fernet/spec), run through
//! the public API.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use keyward_core_crypto::secrecy::ExposeSecret;
use keyward_core_crypto::{Error, FernetKey, KeyRing};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Deserialize)]
struct Generate {
    token: String,
    now: String,
    src: String,
    secret: String,
}

#[derive(Deserialize)]
struct Verify {
    token: String,
    now: String,
    ttl_sec: u64,
    src: String,
    secret: String,
}

#[derive(Deserialize)]
struct Invalid {
    desc: String,
    token: String,
    now: String,
    ttl_sec: u64,
    secret: String,
}

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<T> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let vectors: Vec<T> = serde_json::from_str(&text).unwrap();
    assert!(!vectors.is_empty(), "{path} holds no vectors");
    vectors
}

fn unix(rfc3339: &str) -> u64 {
    OffsetDateTime::parse(rfc3339, &Rfc3339)
        .unwrap()
        .unix_timestamp()
        .try_into()
        .unwrap()
}

fn ring(secret: &str) -> KeyRing {
    KeyRing::new(FernetKey::parse(secret).unwrap())
}

/// Version byte and big-endian timestamp: the first 9 bytes of a decoded token.
fn header(token: &str) -> (u8, u64) {
    let raw = URL_SAFE.decode(token).unwrap();
    (raw[0], u64::from_be_bytes(raw[1..9].try_into().unwrap()))
}

#[test]
fn generate_vectors() {
    for v in load::<Generate>("generate.json") {
        let ring = ring(&v.secret);
        let now = unix(&v.now);
        // The published token decrypts, and its timestamp is `now`.
        let plain = ring.decrypt_at(&v.token, None, now).unwrap();
        assert_eq!(plain.expose_secret().as_slice(), v.src.as_bytes());
        assert_eq!(ring.extract_timestamp(&v.token).unwrap(), now);
        // The IV cannot be fixed through the public API: a token made at `now` decrypts to the
        // same plaintext and carries the same version, timestamp and length.
        let ours = ring.encrypt_at(v.src.as_bytes(), now);
        assert_eq!(header(&ours), header(&v.token));
        assert_eq!(ours.len(), v.token.len());
        let plain = ring.decrypt_at(&ours, None, now).unwrap();
        assert_eq!(plain.expose_secret().as_slice(), v.src.as_bytes());
    }
}

#[test]
fn verify_vectors() {
    for v in load::<Verify>("verify.json") {
        let ttl = Some(Duration::from_secs(v.ttl_sec));
        let plain = ring(&v.secret)
            .decrypt_at(&v.token, ttl, unix(&v.now))
            .unwrap();
        assert_eq!(plain.expose_secret().as_slice(), v.src.as_bytes());
    }
}

#[test]
fn invalid_vectors() {
    let vectors = load::<Invalid>("invalid.json");
    assert_eq!(vectors.len(), 8);
    for v in vectors {
        let ttl = Some(Duration::from_secs(v.ttl_sec));
        let err = ring(&v.secret)
            .decrypt_at(&v.token, ttl, unix(&v.now))
            .expect_err(&v.desc);
        // Only an authentic token past its TTL is "expired"; everything else is opaque.
        if v.desc == "expired TTL" {
            assert!(matches!(err, Error::Expired), "{}: {err:?}", v.desc);
        } else {
            assert!(matches!(err, Error::InvalidToken), "{}: {err:?}", v.desc);
        }
    }
}
