//! Expiry: a JWT's `exp` (RFC 7519's example and pyjwt's tokens), and a daily cutoff in
//! `Asia/Kolkata` (no DST) and `America/New_York` (across both DST changes), against Python's
//! zoneinfo.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward_exchange_client::session::{AccessToken, ExpiryError, ExpiryRule, JwtClaims};
use serde_json::Value;

fn at_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn cases(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(super::data(file)).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

#[test]
fn jwt_exp_is_read_without_verification() {
    let cases = cases("jwt.json");
    assert!(cases.len() >= 4);
    for case in cases {
        let token = case["token"].as_str().unwrap();
        let source = case["source"].as_str().unwrap();
        let claims = JwtClaims::decode_unverified(token).unwrap();
        assert_eq!(claims.header()["alg"], case["alg"], "{source}");
        let expected = case["exp"].as_u64().map(|s| at_ms(s * 1000));
        assert_eq!(claims.expires_at().unwrap(), expected, "{source}");
        let iat = case["iat"].as_u64().map(|s| at_ms(s * 1000));
        assert_eq!(claims.issued_at().unwrap(), iat, "{source}");
        let rule = ExpiryRule::JwtExp.expiry_of(token, at_ms(0));
        match expected {
            Some(exp) => assert_eq!(rule.unwrap(), exp, "{source}"),
            None => assert_eq!(rule, Err(ExpiryError::NoExp), "{source}"),
        }
    }
}

#[test]
fn an_opaque_token_under_the_jwt_rule_is_a_typed_error() {
    let err = ExpiryRule::JwtExp
        .expiry_of("opaque-CANARY-token", at_ms(0))
        .unwrap_err();
    assert!(matches!(err, ExpiryError::NotJwt(_)));
    assert!(!err.to_string().contains("CANARY"), "{err}");
}

#[test]
fn daily_cutoff_across_day_boundaries_and_dst_changes() {
    let cases = cases("daily_cutoff.json");
    let zones: std::collections::BTreeSet<&str> =
        cases.iter().map(|c| c["zone"].as_str().unwrap()).collect();
    assert!(zones.contains("Asia/Kolkata") && zones.contains("America/New_York"));
    for case in &cases {
        let what = case["what"].as_str().unwrap();
        // ExpiryRule's zone is &'static str: the data's names are leaked, once per case.
        let zone: &'static str = case["zone"].as_str().unwrap().to_owned().leak();
        let rule = ExpiryRule::DailyCutoff {
            hour: u8::try_from(case["hour"].as_u64().unwrap()).unwrap(),
            minute: u8::try_from(case["minute"].as_u64().unwrap()).unwrap(),
            zone,
        };
        let issued = at_ms(case["issued_ms"].as_u64().unwrap());
        let expected = at_ms(case["expires_ms"].as_u64().unwrap());
        assert_eq!(
            rule.expiry_of("opaque", issued).unwrap(),
            expected,
            "{zone}: {what}"
        );
        // An expiry the broker stated later than the cutoff loses; an earlier one wins.
        let later =
            AccessToken::new("opaque".into()).with_expiry(expected + Duration::from_secs(60));
        assert_eq!(rule.resolve(&later, issued).unwrap(), expected, "{what}");
        let earlier =
            AccessToken::new("opaque".into()).with_expiry(expected - Duration::from_secs(1));
        assert_eq!(
            rule.resolve(&earlier, issued).unwrap(),
            expected - Duration::from_secs(1),
            "{what}"
        );
    }
}

#[test]
fn the_earlier_of_exp_and_the_stated_expiry_wins() {
    let token = super::fake::jwt(2_000, "x");
    let stated = AccessToken::new(token.clone().into()).with_expiry(at_ms(1_500_000));
    assert_eq!(
        ExpiryRule::JwtExp.resolve(&stated, at_ms(0)).unwrap(),
        at_ms(1_500_000)
    );
    let stated = AccessToken::new(token.into()).with_expiry(at_ms(2_500_000));
    assert_eq!(
        ExpiryRule::JwtExp.resolve(&stated, at_ms(0)).unwrap(),
        at_ms(2_000_000)
    );
}
