//! `ws_claims`: every scheme's WebSocket auth-message claim (`Verifier::verify_ws`) under
//! arbitrary JSON, and the round trip `Signer::ws_auth` → `verify_ws`.
//!
//! Input: the first byte picks the scheme (among the schemes with a WebSocket auth message, in
//! `Scheme::ALL`'s order, modulo their count); the rest is JSON text (anything else is skipped
//! by step 1 only).
//!
//! For every input:
//! 1. the JSON value is verified as an auth message: any result, never a panic;
//! 2. an auth message is built with a fixed credential, with the value's fields (when it is an
//!    object) renamed `fz...` as the caller's parameters, so that they set none of the scheme's
//!    own, and verified by a fresh verifier: when the signer builds it, the verifier must accept
//!    it; built with the fields as given, it is verified without a verdict;
//! 3. a message built without parameters, with the value's fields laid over its own, is verified: any result,
//!    never a panic (the claim's parsers with well-formed neighbours).
#![no_main]

use std::sync::Arc;

use keyward_signing::verify::{ShardedReplayCache, StaticKeys, Verifier};
use keyward_signing::{Credentials, FixedClock, Scheme, SignOptions, Signer};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// The fuzzer's clock: 2023-11-14T22:13:20Z, in milliseconds.
const NOW_MS: u64 = 1_700_000_000_000;
/// The API key of the fixed credential.
const API_KEY: &str = "fuzz-key";
/// The secret: standard base64 (of "fuzz-secret-1"), as Kraken and Coinbase Exchange issue
/// theirs; the other schemes use the text as it is.
const SECRET: &str = "ZnV6ei1zZWNyZXQtMQ==";

/// The fixed credential, with a passphrase for the schemes that need one.
fn credentials() -> Credentials {
    Credentials::new(API_KEY, SECRET.into()).with_passphrase("fuzz-pass".into())
}

/// A fresh verifier (empty replay cache) for `scheme` at the fuzzer's clock.
fn verifier(scheme: Scheme) -> Verifier {
    Verifier::new(scheme, Arc::new(StaticKeys::new().with(credentials())))
        .with_clock(Arc::new(FixedClock::new(NOW_MS)))
        .with_cache(Arc::new(ShardedReplayCache::new(64)))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let schemes: Vec<Scheme> = Scheme::ALL.into_iter().filter(|s| s.has_ws()).collect();
    let scheme = schemes[usize::from(selector) % schemes.len()];
    let value: Option<Value> = serde_json::from_slice(rest).ok();

    // 1. The message as given.
    if let Some(value) = &value {
        let _ = verifier(scheme).verify_ws(value);
    }

    // 2. Build, then verify: strictly with the fields renamed `fz...` (a signer keeps the
    // scheme's own parameters when the caller gives them, Binance a given `apiKey` or
    // `timestamp`, and the verifier then judges the caller's values), without a verdict as given.
    let fields: Map<String, Value> = match &value {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    let renamed: Map<String, Value> = fields
        .iter()
        .map(|(name, value)| (format!("fz{name}"), value.clone()))
        .collect();
    let Ok(signer) = Signer::new(scheme, &credentials()) else {
        panic!("{scheme}: the fixed credential is refused");
    };
    let signer = signer.with_clock(Arc::new(FixedClock::new(NOW_MS)));
    if let Ok(message) = signer.ws_auth(&renamed, &SignOptions::default())
        && let Err(error) = verifier(scheme).verify_ws(&message)
    {
        panic!("{scheme}: the verifier refuses what the signer built: {error}\n{message}");
    }
    if let Ok(message) = signer.ws_auth(&fields, &SignOptions::default()) {
        let _ = verifier(scheme).verify_ws(&message);
    }

    // 3. A message built without parameters, with the given fields laid over its own.
    if let Ok(Value::Object(mut built)) = signer.ws_auth(&Map::new(), &SignOptions::default()) {
        built.extend(fields);
        let _ = verifier(scheme).verify_ws(&Value::Object(built));
    }
});
