//! The replay cache's identity of a request, and the bounds on how long it remembers one.
//!
//! - A request is one request whatever key verified it: a keyward-v1 request signed under
//!   several keys is accepted once, however its signatures are reordered or dropped, and no
//!   scheme lets a replay through by naming another key with the same secret.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;

use serde_json::Value;

use keyward_signing::verify::{StaticKeys, Verifier, VerifyError};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};

const T0: u64 = 1_700_000_000_000;

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(T0))
}

fn v1_keys() -> (Credentials, Credentials) {
    (
        Credentials::new("key-new", "secret-new".into()),
        Credentials::new("key-old", "secret-old".into()),
    )
}

/// A keyward-v1 request signed under `key-new` and `key-old` (`sig1`, `sig2`).
fn v1_twice_signed(clock: &Arc<FixedClock>) -> Request {
    let (new, old) = v1_keys();
    Signer::new(Scheme::KeywardV1, &new)
        .unwrap()
        .with_clock(clock.clone())
        .with_additional_key(&old)
        .unwrap()
        .sign(
            Request::post("/v1/orders")
                .with_query("b=2&a=1")
                .with_header("X-Request-Id", "r-1")
                .with_body("{\"qty\":1}"),
            &SignOptions {
                signed_headers: vec!["x-request-id".into()],
                ..SignOptions::default()
            },
        )
        .unwrap()
}

/// The entries of a `Signature-Input` or `Signature` header (`sig1=...`, `sig2=...`).
fn entries(header: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in header.split(", ") {
        if part.starts_with("sig") && part.contains('=') {
            out.push(part.to_owned());
        } else {
            let last = out.last_mut().unwrap();
            last.push_str(", ");
            last.push_str(part);
        }
    }
    out
}

/// The request with its `Signature-Input` entries replaced by `inputs`.
fn with_inputs(req: &Request, inputs: &[String]) -> Request {
    let mut out = req.clone();
    out.set_header("Signature-Input", inputs.join(", "));
    out
}

fn v1_verifier(keys: StaticKeys, clock: &Arc<FixedClock>) -> Verifier {
    Verifier::new(Scheme::KeywardV1, Arc::new(keys)).with_clock(clock.clone())
}

/// Finding 2: the replay identity of a keyward-v1 request is the request, not the key whose
/// signature happened to verify first.
#[test]
fn a_keyward_v1_request_signed_twice_is_accepted_once_however_its_signatures_are_shuffled() {
    let clock = clock();
    let (new, old) = v1_keys();
    let verifier = v1_verifier(StaticKeys::new().with(new).with(old), &clock);
    let sent = v1_twice_signed(&clock);
    let inputs = entries(sent.header("Signature-Input").unwrap());
    assert_eq!(inputs.len(), 2);
    assert_eq!(entries(sent.header("Signature").unwrap()).len(), 2);

    assert_eq!(verifier.verify(&sent).unwrap().key_id, "key-new");
    assert_eq!(verifier.verify(&sent), Err(VerifyError::Replayed));
    // Reordered: the old key's entry comes first and verifies first.
    let reordered = with_inputs(&sent, &[inputs[1].clone(), inputs[0].clone()]);
    assert_eq!(verifier.verify(&reordered), Err(VerifyError::Replayed));
    // Each entry alone.
    for kept in &inputs {
        let dropped = with_inputs(&sent, std::slice::from_ref(kept));
        assert_eq!(verifier.verify(&dropped), Err(VerifyError::Replayed), "{kept}");
    }
    // The same, with the Signature header trimmed to the entry kept.
    let sigs = entries(sent.header("Signature").unwrap());
    let mut only_old = with_inputs(&sent, &[inputs[1].clone()]);
    only_old.set_header("Signature", sigs[1].clone());
    assert_eq!(verifier.verify(&only_old), Err(VerifyError::Replayed));
}

/// Verifiers that know one key each accept the request once each (they share nothing), and a
/// verifier that knows both accepts it once, whichever entry it checks first.
#[test]
fn a_keyward_v1_request_is_one_request_for_a_verifier_knowing_either_key() {
    let clock = clock();
    let (new, old) = v1_keys();
    let sent = v1_twice_signed(&clock);
    for keys in [StaticKeys::new().with(new), StaticKeys::new().with(old)] {
        let verifier = v1_verifier(keys, &clock);
        assert!(verifier.verify(&sent).is_ok());
        let inputs = entries(sent.header("Signature-Input").unwrap());
        let reordered = with_inputs(&sent, &[inputs[1].clone(), inputs[0].clone()]);
        assert_eq!(verifier.verify(&reordered), Err(VerifyError::Replayed));
    }
}

/// Signatures of one request must agree on everything but the key: otherwise each entry would be
/// a different request to the replay cache.
#[test]
fn keyward_v1_signatures_that_disagree_on_the_request_are_malformed() {
    let clock = clock();
    let (new, old) = v1_keys();
    let sign = |creds: &Credentials, nonce: &str| {
        Signer::new(Scheme::KeywardV1, creds)
            .unwrap()
            .with_clock(clock.clone())
            .sign(
                Request::get("/v1/items"),
                &SignOptions {
                    nonce: Some(nonce.into()),
                    ..SignOptions::default()
                },
            )
            .unwrap()
    };
    let a = sign(&new, "nonce-a");
    let b = sign(&old, "nonce-b");
    let mut spliced = a.clone();
    spliced.set_header(
        "Signature-Input",
        format!(
            "{}, {}",
            a.header("Signature-Input").unwrap(),
            b.header("Signature-Input").unwrap().replacen("sig1", "sig2", 1)
        ),
    );
    spliced.set_header(
        "Signature",
        format!(
            "{}, {}",
            a.header("Signature").unwrap(),
            b.header("Signature").unwrap().replacen("sig1", "sig2", 1)
        ),
    );
    let verifier = v1_verifier(StaticKeys::new().with(new).with(old), &clock);
    assert!(matches!(
        verifier.verify(&spliced),
        Err(VerifyError::Malformed(_))
    ));
    // Each request alone is fine.
    assert!(verifier.verify(&a).is_ok());
    assert!(verifier.verify(&b).is_ok());
}

/// A request signed under key-a, re-sent naming key-b.
fn rename_key(req: &Request) -> Request {
    let mut out = req.clone();
    for (_, value) in &mut out.headers {
        *value = value.replace("key-a", "key-b");
    }
    out
}

/// For every scheme whose key id is not signed, renaming the key to another key holding the same
/// secret never gets a replay through: the replay identity does not depend on the key that
/// verified. (Kraken is left out: its documented rule is a nonce that grows per API key.)
#[test]
fn naming_another_key_with_the_same_secret_is_still_a_replay() {
    let secret = |scheme: Scheme| -> String {
        if scheme == Scheme::CoinbaseExchange {
            "c2FtZS1zZWNyZXQ=".into()
        } else {
            "same-secret".into()
        }
    };
    let schemes = [
        Scheme::Binance,
        Scheme::Bybit,
        Scheme::Okx,
        Scheme::CoinbaseExchange,
        Scheme::CoinbaseAdvanced,
        Scheme::Bitmex,
        Scheme::Deribit,
        Scheme::HmacNewlineV0,
        Scheme::HmacConcat,
    ];
    for scheme in schemes {
        let clock = clock();
        let creds = |key: &str| {
            Credentials::new(key, secret(scheme).into()).with_passphrase("pass".into())
        };
        let keys = StaticKeys::new().with(creds("key-a")).with(creds("key-b"));
        let verifier = Verifier::new(scheme, Arc::new(keys)).with_clock(clock.clone());
        let sent = Signer::new(scheme, &creds("key-a"))
            .unwrap()
            .with_clock(clock.clone())
            .sign(
                Request::post("/api/x").with_body("side=BUY&qty=1"),
                &SignOptions::default(),
            )
            .unwrap();
        assert!(verifier.verify(&sent).is_ok(), "{scheme}");
        let renamed = rename_key(&sent);
        let again = verifier.verify(&renamed);
        assert!(
            matches!(again, Err(VerifyError::Replayed | VerifyError::BadSignature)),
            "{scheme}: {again:?}"
        );
    }
}

/// The same for WebSocket auth messages.
#[test]
fn a_websocket_auth_message_naming_another_key_is_still_a_replay() {
    let schemes = [
        Scheme::Binance,
        Scheme::Bybit,
        Scheme::Okx,
        Scheme::Bitmex,
        Scheme::Deribit,
        Scheme::Bitmart,
        Scheme::HmacConcat,
    ];
    for scheme in schemes {
        let clock = clock();
        let creds =
            |key: &str| Credentials::new(key, "same-secret".into()).with_passphrase("pass".into());
        let keys = StaticKeys::new().with(creds("key-a")).with(creds("key-b"));
        let verifier = Verifier::new(scheme, Arc::new(keys)).with_clock(clock.clone());
        let message = Signer::new(scheme, &creds("key-a"))
            .unwrap()
            .with_clock(clock.clone())
            .ws_auth(&Default::default(), &SignOptions::default())
            .unwrap();
        assert!(verifier.verify_ws(&message).is_ok(), "{scheme}");
        let renamed: Value =
            serde_json::from_str(&message.to_string().replace("key-a", "key-b")).unwrap();
        let again = verifier.verify_ws(&renamed);
        assert!(
            matches!(again, Err(VerifyError::Replayed | VerifyError::BadSignature)),
            "{scheme}: {again:?}"
        );
    }
}
