//! `keyward_v1`: the keyward-v1 signature parameters: the `Signature-Input` parser, the
//! `Signature` lookup, verification of a request carrying them, and the round trips
//! parse → serialize → parse and sign → parse → verify.
//!
//! Input: text; its first line is a `Signature-Input` value, the second a `Signature` value,
//! the third a `Content-Digest` value, the rest the query of the request they are attached to.
//! The private parser is reached through `keyward_signing::fuzzing` (feature `fuzzing`).
//!
//! Invariants: nothing panics; an entry that parses and covers the derived components parses
//! again, from its own serialisation, to the same parameters; a request signed with the input's
//! first line as its nonce (when the signer takes it) carries a `Signature-Input` that parses to
//! that nonce and key, and verifies.
#![no_main]

use std::sync::Arc;

use keyward_signing::fuzzing::{parse_signature_input, signature_for};
use keyward_signing::schemes::keyward_v1::content_digest;
use keyward_signing::verify::{ShardedReplayCache, StaticKeys, Verifier};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};
use libfuzzer_sys::fuzz_target;

/// The fuzzer's clock: 2023-11-14T22:13:20Z, in milliseconds.
const NOW_MS: u64 = 1_700_000_000_000;
/// The key id of the fixed credential.
const KEY_ID: &str = "svc-fuzz";

/// The fixed credential.
fn credentials() -> Credentials {
    Credentials::new(KEY_ID, "fuzz-shared-secret".into())
}

/// A fresh verifier (empty replay cache) at the fuzzer's clock.
fn verifier() -> Verifier {
    Verifier::new(
        Scheme::KeywardV1,
        Arc::new(StaticKeys::new().with(credentials())),
    )
    .with_clock(Arc::new(FixedClock::new(NOW_MS)))
    .with_cache(Arc::new(ShardedReplayCache::new(64)))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(4, '\n');
    let inputs = lines.next().unwrap_or_default();
    let signatures = lines.next().unwrap_or_default();
    let digest = lines.next().unwrap_or_default();
    let query = lines.next().unwrap_or_default();

    // The parser, and parse → serialize → parse.
    for entry in parse_signature_input(inputs).unwrap_or_default() {
        let _ = signature_for(signatures, &entry.label);
        if entry.derived_ok {
            let again = format!("{}={}", entry.label, entry.params.serialize());
            let reparsed = parse_signature_input(&again)
                .unwrap_or_else(|| panic!("its own serialisation does not parse: {again:?}"));
            assert_eq!(reparsed.len(), 1, "{again:?}");
            assert_eq!(reparsed[0].params, entry.params, "{again:?}");
            assert_eq!(reparsed[0].label, entry.label, "{again:?}");
        }
    }

    // A request carrying the three headers.
    let request = Request::get("/v1/orders")
        .with_query(query)
        .with_header("Signature-Input", inputs)
        .with_header("Signature", signatures)
        .with_header("Content-Digest", digest);
    let _ = verifier().verify(&request);

    // Sign (the first line as the nonce, the rest as the query), parse, verify.
    let signer = Signer::new(Scheme::KeywardV1, &credentials())
        .expect("the fixed credential signs")
        .with_clock(Arc::new(FixedClock::new(NOW_MS)));
    let options = SignOptions {
        nonce: Some(inputs.to_owned()),
        ..SignOptions::default()
    };
    let unsigned = Request::post("/v1/orders")
        .with_query(query)
        .with_body(signatures.as_bytes().to_vec());
    let Ok(signed) = signer.sign(unsigned, &options) else {
        return;
    };
    assert_eq!(
        signed.header("Content-Digest"),
        Some(content_digest(&signed.body).as_str())
    );
    let header = signed.header("Signature-Input").expect("signed");
    let entries = parse_signature_input(header)
        .unwrap_or_else(|| panic!("the signer's Signature-Input does not parse: {header:?}"));
    assert_eq!(entries.len(), 1, "{header:?}");
    assert_eq!(entries[0].params.nonce, inputs);
    assert_eq!(entries[0].params.keyid, KEY_ID);
    assert!(entries[0].derived_ok);
    if let Err(error) = verifier().verify(&signed) {
        panic!("the verifier refuses what the signer signed: {error}\n{signed:?}");
    }
});
