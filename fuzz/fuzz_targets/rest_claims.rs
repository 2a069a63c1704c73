//! `rest_claims`: every REST scheme's claim (what its verifier reads from a signed request's
//! headers, query and body) under arbitrary requests, and the round trip sign → verify.
//!
//! Input: the first byte picks the scheme (among the schemes that sign REST requests, in
//! `Scheme::ALL`'s order, modulo their count); the rest is split at NUL bytes into method, path,
//! query, body, then header name, header value, ... (a separator rather than the `arbitrary`
//! crate's encoding, so that the seed corpus can be the repository's request vectors written
//! as they are; see fuzz/README.md).
//!
//! For every input:
//! 1. the request as given is verified: any result, never a panic;
//! 2. the request without the given headers, its query and body parameters renamed `fz...` (so
//!    that it sets none of the scheme's own, see `namespaced`), is signed with a fixed
//!    credential and verified by a fresh verifier: when the signer accepts it, the verifier must
//!    accept it; signed as given, it is verified without a verdict;
//! 3. the signed request with the given headers laid over its own is verified: any result,
//!    never a panic (this reaches the claim's parsers with well-formed neighbours).
#![no_main]

use std::sync::Arc;

use keyward_signing::verify::{ShardedReplayCache, StaticKeys, Verifier};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};
use libfuzzer_sys::fuzz_target;

/// The fuzzer's clock: 2023-11-14T22:13:20Z, in milliseconds.
const NOW_MS: u64 = 1_700_000_000_000;
/// The API key of the fixed credential.
const API_KEY: &str = "fuzz-key";
/// The secret: standard base64 (of "fuzz-secret-1"), as Kraken and Coinbase Exchange issue
/// theirs; the other schemes use the text as it is.
const SECRET: &str = "ZnV6ei1zZWNyZXQtMQ==";
/// The origin the signer is given and the verifier accepts (hmac-newline-v0, Coinbase).
const ORIGIN: &str = "https://api.example.com";

/// The fixed credential, with a passphrase for the schemes that need one (OKX, Coinbase
/// Exchange).
fn credentials() -> Credentials {
    Credentials::new(API_KEY, SECRET.into()).with_passphrase("fuzz-pass".into())
}

/// A fresh verifier (empty replay cache) for `scheme` at the fuzzer's clock.
fn verifier(scheme: Scheme) -> Verifier {
    Verifier::new(scheme, Arc::new(StaticKeys::new().with(credentials())))
        .with_clock(Arc::new(FixedClock::new(NOW_MS)))
        .with_cache(Arc::new(ShardedReplayCache::new(64)))
        .with_origins([ORIGIN])
}

/// `form` with every `&`-separated pair's name prefixed with `fz`: a parameter name no scheme
/// reads. A signer keeps the scheme's own parameters when the caller sets them (Binance keeps a
/// given `timestamp`, Kraken a given `nonce`), and the verifier then judges the caller's values;
/// the strict round trip is over requests that leave those to the signer.
fn namespaced(form: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(form.len() + 8);
    out.extend_from_slice(b"fz");
    for &byte in form {
        out.push(byte);
        if byte == b'&' {
            out.extend_from_slice(b"fz");
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let schemes: Vec<Scheme> = Scheme::ALL.into_iter().filter(|s| s.has_rest()).collect();
    let scheme = schemes[usize::from(selector) % schemes.len()];

    let mut fields = rest.split(|&b| b == 0);
    let mut text = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let method = text();
    let path = text();
    let query = text();
    let body = fields.next().unwrap_or_default().to_vec();
    let headers: Vec<(String, String)> = {
        let rest: Vec<&[u8]> = fields.collect();
        rest.chunks(2)
            .map(|pair| {
                let name = String::from_utf8_lossy(pair[0]).into_owned();
                let value = String::from_utf8_lossy(pair.get(1).copied().unwrap_or_default());
                (name, value.into_owned())
            })
            .collect()
    };
    let unsigned = Request {
        method,
        path,
        query,
        body,
        headers: Vec::new(),
    };

    // 1. The request as given.
    let given = Request {
        headers: headers.clone(),
        ..unsigned.clone()
    };
    let _ = verifier(scheme).verify(&given);

    // 2. Sign, then verify: strictly for the namespaced request, without a verdict as given.
    let Ok(signer) = Signer::new(scheme, &credentials()) else {
        panic!("{scheme}: the fixed credential is refused");
    };
    let signer = signer.with_clock(Arc::new(FixedClock::new(NOW_MS)));
    let options = SignOptions {
        origin: Some(ORIGIN.to_owned()),
        ..SignOptions::default()
    };
    let strict = Request {
        query: String::from_utf8_lossy(&namespaced(unsigned.query.as_bytes())).into_owned(),
        body: namespaced(&unsigned.body),
        ..unsigned.clone()
    };
    if let Ok(signed) = signer.sign(strict, &options)
        && let Err(error) = verifier(scheme).verify(&signed)
    {
        panic!("{scheme}: the verifier refuses what the signer signed: {error}\n{signed:?}");
    }
    let Ok(signed) = signer.sign(unsigned, &options) else {
        return;
    };
    let _ = verifier(scheme).verify(&signed);

    // 3. The signed request with the given headers laid over its own.
    let mut tampered = signed;
    for (name, value) in headers {
        tampered.set_header(&name, value);
    }
    let _ = verifier(scheme).verify(&tampered);
});
