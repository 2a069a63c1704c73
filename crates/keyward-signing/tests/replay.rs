//! The replay cache's identity of a request, and the bounds on how long it remembers one.
//!
//! - A request is one request whatever key verified it: a keyward-v1 request signed under
//!   several keys is accepted once, however its signatures are reordered or dropped, and no
//!   scheme lets a replay through by naming another key with the same secret.
//! - Every window is capped (whether the request or the operator supplies it), and no entry is
//!   remembered past a global ceiling; a full cache refuses requests until its entries expire.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;

use serde_json::Value;

use keyward_signing::verify::{
    MAX_ENTRY_LIFETIME_MS, ReplayCache, ReplayRefusal, ShardedReplayCache, StaticKeys, Verifier,
    VerifyError, Window,
};
use keyward_signing::{Clock, Credentials, FixedClock, Request, Scheme, SignOptions, Signer};

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
        assert_eq!(
            verifier.verify(&dropped),
            Err(VerifyError::Replayed),
            "{kept}"
        );
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
            b.header("Signature-Input")
                .unwrap()
                .replacen("sig1", "sig2", 1)
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
        let creds =
            |key: &str| Credentials::new(key, secret(scheme).into()).with_passphrase("pass".into());
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
            matches!(
                again,
                Err(VerifyError::Replayed | VerifyError::BadSignature)
            ),
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
            matches!(
                again,
                Err(VerifyError::Replayed | VerifyError::BadSignature)
            ),
            "{scheme}: {again:?}"
        );
    }
}

// ---- Finding 7: every window a request (or an operator) supplies is capped, and no replay
// ---- entry outlives the global ceiling.

/// Bybit documents no largest `X-BAPI-RECV-WINDOW`; the verifier caps it at 60 s (Binance's
/// documented maximum), as the Bybit preset's docs and the crate README say.
const BYBIT_MAX_RECV_WINDOW_MS: u64 = 60_000;

/// 2001-01-01T00:00:00Z.
const Y2001: u64 = 978_307_200_000;

fn bybit_creds() -> Credentials {
    Credentials::new("bybit-key", "bybit-secret".into())
}

/// A Bybit GET signed at `at_ms` with `X-BAPI-RECV-WINDOW: recv_ms`.
fn bybit_request(at_ms: u64, recv_ms: u64, query: &str) -> Request {
    Signer::new(Scheme::Bybit, &bybit_creds())
        .unwrap()
        .sign(
            Request::get("/v5/account/wallet-balance").with_query(query),
            &SignOptions {
                recv_window_ms: Some(recv_ms),
                ..SignOptions::at(at_ms)
            },
        )
        .unwrap()
}

fn bybit_verifier(clock: &Arc<FixedClock>, cache: Arc<ShardedReplayCache>) -> Verifier {
    Verifier::new(
        Scheme::Bybit,
        Arc::new(StaticKeys::new().with(bybit_creds())),
    )
    .with_clock(clock.clone())
    .with_cache(cache)
}

#[test]
fn a_bybit_request_dated_2001_with_a_huge_recv_window_is_expired() {
    let clock = clock();
    let verifier = bybit_verifier(&clock, Arc::new(ShardedReplayCache::new(100)));
    let old = bybit_request(Y2001, 1_000_000_000_000_000, "accountType=UNIFIED");
    assert!(
        matches!(verifier.verify(&old), Err(VerifyError::Expired { .. })),
        "{:?}",
        verifier.verify(&old)
    );
}

#[test]
fn a_bybit_recv_window_above_the_cap_counts_as_the_cap() {
    let cap = BYBIT_MAX_RECV_WINDOW_MS;
    let clock = clock();
    let verifier = bybit_verifier(&clock, Arc::new(ShardedReplayCache::new(100)));
    let at_edge = bybit_request(T0 - cap, 10 * cap, "a=1");
    assert!(verifier.verify(&at_edge).is_ok());
    let past_edge = bybit_request(T0 - cap - 1, 10 * cap, "a=2");
    assert_eq!(
        verifier.verify(&past_edge),
        Err(VerifyError::Expired { age_ms: 1 })
    );
    // A window within the cap is honoured as given.
    let within = bybit_request(T0 - 20_000, 20_000, "a=3");
    assert!(verifier.verify(&within).is_ok());
}

/// One key holder cannot fill the cache for good: a full cache refuses (503) until its entries
/// expire, and they expire within the capped window whatever the request asked for.
#[test]
fn a_full_cache_fails_closed_until_its_entries_expire_within_the_cap() {
    let clock = clock();
    let verifier = bybit_verifier(&clock, Arc::new(ShardedReplayCache::with_shards(2, 1)));
    let huge = 1_000_000_000_000_000;
    assert!(verifier.verify(&bybit_request(T0, huge, "n=1")).is_ok());
    assert!(verifier.verify(&bybit_request(T0, huge, "n=2")).is_ok());
    let refused = verifier.verify(&bybit_request(T0, huge, "n=3"));
    assert_eq!(refused, Err(VerifyError::CacheFull));
    assert_eq!(refused.unwrap_err().status(), 503);
    // Still full one millisecond before the entries expire (at T0 + cap + 1)...
    clock.set(T0 + BYBIT_MAX_RECV_WINDOW_MS);
    let at = clock.now_ms();
    assert_eq!(
        verifier.verify(&bybit_request(at, huge, "n=4")),
        Err(VerifyError::CacheFull)
    );
    // ...and open again once they have.
    clock.set(T0 + BYBIT_MAX_RECV_WINDOW_MS + 1);
    let at = clock.now_ms();
    assert!(verifier.verify(&bybit_request(at, huge, "n=5")).is_ok());
    assert!(verifier.verify(&bybit_request(at, huge, "n=6")).is_ok());
    assert_eq!(
        verifier.verify(&bybit_request(at, huge, "n=7")),
        Err(VerifyError::CacheFull)
    );
}

/// The same with the default window (hmac-concat): the 503 lasts until the entries expire.
#[test]
fn a_full_cache_recovers_when_the_window_has_passed() {
    let clock = clock();
    let creds = Credentials::new("svc", "svc-secret".into());
    let verifier = Verifier::new(
        Scheme::HmacConcat,
        Arc::new(StaticKeys::new().with(creds.clone())),
    )
    .with_clock(clock.clone())
    .with_cache(Arc::new(ShardedReplayCache::with_shards(1, 1)));
    let sign = |path: &str| {
        Signer::new(Scheme::HmacConcat, &creds)
            .unwrap()
            .with_clock(clock.clone())
            .sign(Request::post(path), &SignOptions::default())
            .unwrap()
    };
    let first = sign("/a");
    assert!(verifier.verify(&first).is_ok());
    assert_eq!(verifier.verify(&sign("/b")), Err(VerifyError::CacheFull));
    clock.advance(Window::DEFAULT.past_ms + 1);
    assert!(verifier.verify(&sign("/c")).is_ok());
    // The first request is stale now, not a replay and not let through.
    assert!(matches!(
        verifier.verify(&first),
        Err(VerifyError::Expired { .. })
    ));
}

/// An operator's window is capped at `Window::MAX` too: no configuration makes the verifier
/// accept a request from 2001 or remember one for years.
#[test]
fn a_configured_window_is_capped_at_window_max() {
    let creds = Credentials::new("svc", "svc-secret".into());
    let clock = clock();
    let verifier = Verifier::new(
        Scheme::HmacConcat,
        Arc::new(StaticKeys::new().with(creds.clone())),
    )
    .with_clock(clock.clone())
    .with_window(Window {
        past_ms: u64::MAX,
        future_ms: u64::MAX,
    });
    let at = |ms: u64| {
        Signer::new(Scheme::HmacConcat, &creds)
            .unwrap()
            .sign(Request::post("/x"), &SignOptions::at(ms))
            .unwrap()
    };
    assert!(matches!(
        verifier.verify(&at(Y2001)),
        Err(VerifyError::Expired { .. })
    ));
    assert!(matches!(
        verifier.verify(&at(T0 + 86_400_000)),
        Err(VerifyError::TooFarInFuture { .. })
    ));
    assert!(verifier.verify(&at(T0 - Window::MAX.past_ms)).is_ok());
    assert_eq!(
        verifier.verify(&at(T0 - Window::MAX.past_ms - 1)),
        Err(VerifyError::Expired { age_ms: 1 })
    );
    assert!(verifier.verify(&at(T0 + Window::MAX.future_ms)).is_ok());
}

/// BitMEX (and Bybit's WebSocket auth) carry an expiry instead of a window: it may lie no
/// further ahead than the verifier's window, itself capped.
#[test]
fn an_expiry_far_ahead_is_refused_whatever_the_configured_window() {
    let creds = Credentials::new("mex", "mex-secret".into());
    let clock = clock();
    let verifier = Verifier::new(
        Scheme::Bitmex,
        Arc::new(StaticKeys::new().with(creds.clone())),
    )
    .with_clock(clock.clone())
    .with_window(Window {
        past_ms: u64::MAX,
        future_ms: 0,
    });
    let expiring = |secs: u64| {
        Signer::new(Scheme::Bitmex, &creds)
            .unwrap()
            .sign(
                Request::get("/api/v1/position"),
                &SignOptions {
                    expires: Some(secs),
                    ..SignOptions::default()
                },
            )
            .unwrap()
    };
    let year_2100 = 4_102_444_800;
    assert!(matches!(
        verifier.verify(&expiring(year_2100)),
        Err(VerifyError::TooFarInFuture { .. })
    ));
    assert!(
        verifier
            .verify(&expiring((T0 + Window::MAX.past_ms) / 1000))
            .is_ok()
    );
    assert!(matches!(
        verifier.verify(&expiring((T0 + Window::MAX.past_ms) / 1000 + 1)),
        Err(VerifyError::TooFarInFuture { .. })
    ));
}

/// The cache itself refuses to remember anything past the global ceiling, whoever asks.
#[test]
fn the_cache_never_remembers_past_the_ceiling() {
    let cache = ShardedReplayCache::new(10);
    assert_eq!(
        cache.check_and_insert(1, T0 + MAX_ENTRY_LIFETIME_MS + 1, T0),
        Err(ReplayRefusal::TooLong)
    );
    assert!(cache.is_empty());
    assert_eq!(
        cache.check_and_insert(1, T0 + MAX_ENTRY_LIFETIME_MS, T0),
        Ok(())
    );
    // Every capped window fits under the ceiling.
    const {
        assert!(Window::MAX.past_ms + Window::MAX.future_ms < MAX_ENTRY_LIFETIME_MS);
        assert!(BYBIT_MAX_RECV_WINDOW_MS <= Window::MAX.past_ms);
    }
}
