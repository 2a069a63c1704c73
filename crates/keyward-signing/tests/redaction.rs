//! The secret never appears in `Debug`, errors or signed-request `Debug`: canary test over every
//! scheme.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_signing::{Credentials, Request, Scheme, SignOptions, Signer};

const CANARY: &str = "CANARY-SECRET-d41d8cd98f00b204";
const CANARY_PASS: &str = "CANARY-PASSPHRASE";

fn assert_clean(text: &str) {
    let b64 = STANDARD.encode(CANARY);
    for needle in [CANARY, "CANARY", &b64[..16], CANARY_PASS] {
        assert!(!text.contains(needle), "{needle:?} leaked in: {text}");
    }
}

fn creds(scheme: Scheme) -> Credentials {
    let secret = match scheme {
        Scheme::Kraken | Scheme::CoinbaseExchange => STANDARD.encode(CANARY),
        _ => CANARY.to_owned(),
    };
    Credentials::new("key-id", secret.into()).with_passphrase(CANARY_PASS.into())
}

#[test]
fn no_scheme_prints_its_secret() {
    for scheme in Scheme::ALL {
        let creds = creds(scheme);
        let signer = Signer::new(scheme, &creds).unwrap();
        assert_clean(&format!("{creds:?} {creds:#?} {signer:?} {signer:#?}"));
        let opts = SignOptions {
            nonce: Some("1".into()),
            ..SignOptions::at(1_700_000_000_000)
        };
        match signer.sign(
            Request::post("/p").with_query("a=1").with_body("b=2"),
            &opts,
        ) {
            // The signed request's Debug hides values (the signature, and the passphrase
            // header of OKX and Coinbase).
            Ok(sent) => assert_clean(&format!("{sent:?}")),
            Err(e) => assert_clean(&format!("{e} {e:?}")),
        }
        if let Err(e) = signer.ws_auth(&Default::default(), &opts) {
            assert_clean(&format!("{e} {e:?}"));
        }
    }
}

#[test]
fn errors_never_echo_the_secret() {
    let bad = Credentials::new("k", format!("{CANARY}!!").into());
    for scheme in [Scheme::Kraken, Scheme::CoinbaseExchange] {
        let err = Signer::new(scheme, &bad).unwrap_err();
        assert_clean(&format!("{err} {err:?}"));
    }
    let no_pass = Credentials::new("k", CANARY.into());
    let err = Signer::new(Scheme::Okx, &no_pass)
        .unwrap()
        .sign(Request::get("/x"), &SignOptions::default())
        .unwrap_err();
    assert_clean(&format!("{err} {err:?}"));
}

#[test]
fn verifier_errors_and_debug_carry_no_secret() {
    use keyward_signing::verify::{StaticKeys, Verifier};
    use std::sync::Arc;
    for scheme in Scheme::ALL {
        let keys = StaticKeys::new().with(creds(scheme));
        let verifier = Verifier::new(scheme, Arc::new(keys.clone()));
        assert_clean(&format!("{keys:?} {verifier:?}"));
        let opts = SignOptions {
            nonce: Some("1".into()),
            ..SignOptions::at(1_700_000_000_000)
        };
        let Ok(signer) = Signer::new(scheme, &creds(scheme)) else {
            continue;
        };
        if let Ok(sent) = signer.sign(Request::post("/p").with_body("b=2"), &opts) {
            let mut tampered = sent.clone();
            tampered.body.push(b'x');
            for req in [sent, tampered] {
                if let Err(e) = verifier.verify(&req) {
                    assert_clean(&format!("{e} {e:?}"));
                }
            }
        }
    }
}
