//! The verifier keeps prepared HMAC signers per key, but the resolver stays the authority: a
//! secret it stops returning never verifies again, and the secret it returns instead does at once.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::{Arc, Mutex};

use keyward_signing::verify::{KeyResolver, Verifier, VerifyError};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};

const NOW: u64 = 1_700_000_000_000;

/// A resolver whose one key's secrets can be replaced at any time.
#[derive(Debug, Default)]
struct Swappable(Mutex<Vec<Credentials>>);

impl Swappable {
    fn set(&self, secrets: &[&str]) {
        *self.0.lock().unwrap() = secrets
            .iter()
            .map(|s| Credentials::new("key-1", (*s).into()))
            .collect();
    }
}

impl KeyResolver for Swappable {
    fn resolve(&self, key_id: &str) -> Vec<Credentials> {
        let all = self.0.lock().unwrap().clone();
        all.into_iter().filter(|c| c.api_key() == key_id).collect()
    }

    fn all(&self) -> Vec<Credentials> {
        self.0.lock().unwrap().clone()
    }
}

fn signed(scheme: Scheme, secret: &str, n: u32) -> Request {
    let clock = Arc::new(FixedClock::new(NOW));
    let signer = Signer::new(scheme, &Credentials::new("key-1", secret.into()))
        .unwrap()
        .with_clock(clock);
    let request = if scheme == Scheme::Binance {
        Request::get("/api/v3/order").with_query(format!("symbol=BTCUSDT&n={n}"))
    } else {
        Request::post("/orders").with_body(format!("{{\"n\":{n}}}"))
    };
    signer.sign(request, &SignOptions::default()).unwrap()
}

#[test]
fn a_replaced_secret_is_refused_though_its_signer_was_cached() {
    for scheme in [Scheme::Binance, Scheme::HmacConcat, Scheme::KeywardV1] {
        let keys = Arc::new(Swappable::default());
        keys.set(&["old-secret"]);
        let verifier =
            Verifier::new(scheme, keys.clone()).with_clock(Arc::new(FixedClock::new(NOW)));
        // Verified twice with the old secret: its signer is cached.
        assert!(
            verifier.verify(&signed(scheme, "old-secret", 1)).is_ok(),
            "{scheme}"
        );
        assert!(
            verifier.verify(&signed(scheme, "old-secret", 2)).is_ok(),
            "{scheme}"
        );
        keys.set(&["new-secret"]);
        assert_eq!(
            verifier.verify(&signed(scheme, "old-secret", 3)),
            Err(VerifyError::BadSignature),
            "{scheme}: the replaced secret"
        );
        assert!(
            verifier.verify(&signed(scheme, "new-secret", 4)).is_ok(),
            "{scheme}"
        );
        // Rotation: both active, then the old one revoked.
        keys.set(&["new-secret", "old-secret"]);
        assert!(
            verifier.verify(&signed(scheme, "old-secret", 5)).is_ok(),
            "{scheme}"
        );
        keys.set(&["new-secret"]);
        assert_eq!(
            verifier.verify(&signed(scheme, "old-secret", 6)),
            Err(VerifyError::BadSignature),
            "{scheme}: the revoked secret"
        );
        keys.set(&[]);
        assert_eq!(
            verifier.verify(&signed(scheme, "new-secret", 7)),
            Err(VerifyError::UnknownKey),
            "{scheme}: the removed key"
        );
    }
}
