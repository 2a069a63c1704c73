//! Regression: a token whose timestamp is near `u64::MAX` is rejected with a typed error, never
//! an overflow panic (the `fernet` crate's `decrypt_with_ttl` adds the TTL before checking the MAC).
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::time::Duration;

use keyward_core_crypto::secrecy::ExposeSecret;
use keyward_core_crypto::{Error, Fernet, FernetKey, KeyRing};

const KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

#[test]
fn the_trap_exists_in_the_dependency() {
    // Shows the regression test below guards something real: with overflow checks (debug
    // builds), the dependency itself panics on such a token.
    let token = KeyRing::new(FernetKey::parse(KEY).unwrap()).encrypt_at(b"x", u64::MAX);
    let raw = fernet::Fernet::new(KEY).unwrap();
    let outcome = std::panic::catch_unwind(|| raw.decrypt_at_time(&token, Some(60), 1_000));
    if cfg!(debug_assertions) {
        assert!(
            outcome.is_err(),
            "fernet no longer panics: the guard may be simplified"
        );
    }
}

#[test]
fn authentic_token_at_u64_max_is_refused_with_a_ttl() {
    let ring = KeyRing::new(FernetKey::parse(KEY).unwrap());
    let token = ring.encrypt_at(b"x", u64::MAX);
    for ttl in [Duration::from_secs(60), Duration::MAX] {
        assert!(matches!(
            ring.decrypt_at(&token, Some(ttl), 1_000),
            Err(Error::InvalidToken)
        ));
        assert!(matches!(
            ring.decrypt_with_ttl(&token, ttl),
            Err(Error::InvalidToken)
        ));
    }
    // Without a TTL, time is not checked (as in Python): the token is authentic.
    let plain = ring.decrypt(&token).unwrap();
    assert_eq!(plain.expose_secret().as_slice(), b"x");
    assert_eq!(ring.extract_timestamp(&token).unwrap(), u64::MAX);
    assert!(ring.rotate(&token).is_ok());
}

#[test]
fn forged_token_at_u64_max_is_invalid() {
    let token = KeyRing::new(FernetKey::generate().unwrap()).encrypt_at(b"x", u64::MAX);
    let fernet = Fernet::new(FernetKey::parse(KEY).unwrap());
    assert!(matches!(
        fernet.decrypt_with_ttl(&token, Duration::from_secs(60)),
        Err(Error::InvalidToken)
    ));
}

#[test]
fn future_tokens_follow_python() {
    let ring = KeyRing::new(FernetKey::parse(KEY).unwrap());
    let now = 1_000_000;
    let future = ring.encrypt_at(b"x", now + 3_600);
    // The fernet crate refuses this without a TTL; Python (and keyward) accept it.
    assert!(ring.decrypt_at(&future, None, now).is_ok());
    assert!(matches!(
        ring.decrypt_at(&future, Some(Duration::from_secs(60)), now),
        Err(Error::InvalidToken)
    ));
    let near = ring.encrypt_at(b"x", now + 60);
    assert!(
        ring.decrypt_at(&near, Some(Duration::from_secs(60)), now)
            .is_ok()
    );
}
