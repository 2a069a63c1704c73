//! No key material or plaintext in `Debug`, `Display` or errors: checked with canary secrets.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use keyward_core_crypto::{Error, Fernet, FernetKey, KeyRing};

/// A recognisable key: 32 bytes spelling a canary.
const CANARY_BYTES: &[u8; 32] = b"CANARY-KEY-0123456789abcdefghijk";
const CANARY_PLAINTEXT: &[u8] = b"CANARY-PLAINTEXT-api-secret";

/// Every way the canary key could show up in text.
fn leaks(shown: &str) -> Vec<String> {
    let b64 = URL_SAFE.encode(CANARY_BYTES);
    let hex: String = CANARY_BYTES.iter().map(|b| format!("{b:02x}")).collect();
    let list = format!("{:?}", &CANARY_BYTES[..]);
    let half_b64 = URL_SAFE.encode(&CANARY_BYTES[16..]);
    [
        "CANARY".to_owned(),
        b64[..20].to_owned(),
        hex[..20].to_owned(),
        list[..30].to_owned(),
        half_b64[..12].to_owned(),
    ]
    .into_iter()
    .filter(|needle| shown.contains(needle.as_str()))
    .collect()
}

#[test]
fn debug_of_keys_rings_ciphers_and_plaintexts_is_redacted() {
    let key = FernetKey::from_bytes(CANARY_BYTES);
    let other = FernetKey::generate().unwrap();
    let ring = KeyRing::from_keys([key.clone(), other]).unwrap();
    let fernet = Fernet::new(key.clone());
    let token = ring.encrypt(CANARY_PLAINTEXT);
    let plain = ring.decrypt(&token).unwrap();

    let shown = [
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{ring:?}"),
        format!("{ring:#?}"),
        format!("{fernet:?}"),
        format!("{fernet:#?}"),
        format!("{plain:?}"),
        format!("{:?}", key.id()),
        key.id().to_string(),
    ];
    for text in &shown {
        assert!(leaks(text).is_empty(), "leak in {text}: {:?}", leaks(text));
    }
    assert!(shown[0].contains("[REDACTED]"));
    assert!(shown[2].contains("[REDACTED]"));
    assert!(shown[6].contains("REDACTED"));
}

#[test]
fn errors_carry_no_secret() {
    let key = FernetKey::from_bytes(CANARY_BYTES);
    let ring = KeyRing::new(key.clone());
    let token = ring.encrypt_at(CANARY_PLAINTEXT, 100);
    let stranger = KeyRing::new(FernetKey::generate().unwrap());
    let errors: Vec<Error> = vec![
        stranger.decrypt(&token).unwrap_err(),
        ring.decrypt_at(&token, Some(std::time::Duration::from_secs(1)), 1000)
            .unwrap_err(),
        FernetKey::parse(&format!("{}!", &key.expose_base64()[..43])).unwrap_err(),
        FernetKey::parse(&key.expose_base64()[..40]).unwrap_err(),
    ];
    for err in errors {
        let shown = format!("{err} | {err:?}");
        assert!(leaks(&shown).is_empty(), "leak in {shown}");
    }
}
