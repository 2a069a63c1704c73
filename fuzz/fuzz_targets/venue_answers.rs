//! Venue answers (keyward-exchange-client and keyward-resilience): what a venue or a broker
//! sends back. The first byte picks the reader:
//! - 0: an answer's body and status through each venue's error mapping (`Venue::interpret`,
//!   feature `fuzzing`), then its server-time reading; byte 1 picks the venue, bytes 2-3 the
//!   status (100 to 999, as HTTP allows), the rest is the body.
//! - 1: usage headers (`name: value` lines) through the rate limiter's resync with the venue's
//!   own limits (byte 1 picks the venue), and any `Retry-After` among them.
//! - 2: a `Retry-After` value (`parse_retry_after`).
//! - 3: a broker token's JWT claims (`JwtClaims`, `ExpiryRule`): bytes 1-9 give the daily
//!   cutoff's hour, minute, zone and the issue time, the rest is the token.
//!
//! Invariants: no panic; a 429 is a rate-limit error, a 5xx an error, a success a 2xx; an
//! all-digit `Retry-After` is that many seconds; a JWT error never quotes the token.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use keyward_exchange_client::fuzzing::{default_limits, interpret, parse_time};
use keyward_exchange_client::session::{ExpiryRule, JwtClaims};
use keyward_exchange_client::{ErrorKind, Scheme};
use keyward_resilience::limiter::RateLimiter;
use keyward_resilience::retry::{clamp_retry_after, parse_retry_after};
use libfuzzer_sys::fuzz_target;

/// The zones a daily cutoff is given in (the brokers' own, and zones with DST gaps).
const ZONES: [&str; 5] = [
    "Asia/Kolkata",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "UTC",
];

fn scheme(b: u8) -> Scheme {
    Scheme::ALL[usize::from(b) % Scheme::ALL.len()]
}

fn answer(data: &[u8]) {
    let [venue, hi, lo, body @ ..] = data else {
        return;
    };
    let scheme = scheme(*venue);
    let status = 100 + u16::from_be_bytes([*hi, *lo]) % 900;
    let read = interpret(scheme, status, Some(Duration::from_secs(1)), body);
    match &read {
        Ok(_) => assert!(
            (200..=299).contains(&status),
            "HTTP {status} read as success"
        ),
        Err(e) => {
            if status == 429 {
                assert_eq!(
                    e.kind(),
                    ErrorKind::RateLimited,
                    "HTTP 429 is {:?}",
                    e.kind()
                );
            }
            let _ = format!("{e} {e:?}");
        }
    }
    if status == 429 || status >= 500 {
        assert!(read.is_err(), "HTTP {status} read as success");
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let _ = parse_time(scheme, &value);
    }
}

fn usage_headers(data: &[u8]) {
    let [venue, rest @ ..] = data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let scheme = scheme(*venue);
    let headers: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v))
        .collect();
    if let Ok(limiter) = RateLimiter::<&'static str>::with_system_clock(default_limits(scheme)) {
        let updated = limiter.resync(&"fuzz", headers.iter().copied());
        assert!(updated <= limiter.limits().len());
        let _ = limiter.check(&"fuzz", &[("weight", 1), ("orders", 1)]);
    }
    for (_, v) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
    {
        retry_after(v);
    }
}

fn retry_after(value: &str) {
    for now in [UNIX_EPOCH, UNIX_EPOCH + Duration::from_secs(1_773_000_000)] {
        let wait = parse_retry_after(value, now);
        let trimmed = value.trim_matches([' ', '\t']);
        if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            let secs = trimmed.parse::<u64>().unwrap_or(u64::MAX);
            assert_eq!(wait, Some(Duration::from_secs(secs)));
        }
        if let Some(wait) = wait {
            let clamped =
                clamp_retry_after(wait, Duration::from_millis(100), Duration::from_secs(60));
            assert!(clamped <= Duration::from_secs(60));
        }
    }
}

fn jwt(data: &[u8]) {
    if data.len() < 9 {
        return;
    }
    let (head, token) = data.split_at(9);
    let Ok(token) = std::str::from_utf8(token) else {
        return;
    };
    let (hour, minute, zone) = (head[0], head[1], head[2]);
    let mut ms = [0u8; 8];
    ms[2..].copy_from_slice(&head[3..9]);
    let issued = UNIX_EPOCH + Duration::from_millis(u64::from_be_bytes(ms));
    // The same token with every letter and digit moved on by one (its structure, dots and
    // length kept): an error that quotes the token shows the shifted one for it, while a
    // constant sentence (which the fuzzer can make the token match) reads the same for both.
    let shifted: String = token.chars().map(shift).collect();
    let quoted = |shown: &str, shown_shifted: &str| {
        let t = token.trim();
        t.len() >= 16 && shown.contains(t) && !shown_shifted.contains(t)
    };
    let decode_error = |token: &str| {
        JwtClaims::decode_unverified(token)
            .err()
            .map(|e| format!("{e} {e:?}"))
            .unwrap_or_default()
    };
    let expiry_error = |token: &str| {
        ExpiryRule::JwtExp
            .expiry_of(token, issued)
            .err()
            .map(|e| format!("{e} {e:?}"))
            .unwrap_or_default()
    };
    match JwtClaims::decode_unverified(token) {
        Ok(claims) => {
            let exp = claims.expires_at();
            let iat = claims.issued_at();
            if let Ok(Some(at)) = exp {
                assert!(at >= UNIX_EPOCH);
            }
            let _ = format!("{claims:?} {exp:?} {iat:?}");
        }
        Err(e) => assert!(
            !quoted(&format!("{e} {e:?}"), &decode_error(&shifted)),
            "a JWT error quotes the token"
        ),
    }
    if let Err(e) = ExpiryRule::JwtExp.expiry_of(token, issued) {
        assert!(
            !quoted(&format!("{e} {e:?}"), &expiry_error(&shifted)),
            "an expiry error quotes the token"
        );
    }
    let rule = ExpiryRule::DailyCutoff {
        hour: hour % 25,
        minute: minute % 61,
        zone: ZONES[usize::from(zone) % ZONES.len()],
    };
    if let Ok(at) = rule.expiry_of(token, issued) {
        assert!(at > issued, "a daily cutoff at or before the issue time");
    }
}

/// `c` moved on by one within its class (a-z, A-Z, 0-9, wrapping); anything else as it is.
fn shift(c: char) -> char {
    let next = |first: u8, last: u8| {
        let b = c as u8;
        char::from(if b == last { first } else { b + 1 })
    };
    match c {
        'a'..='z' => next(b'a', b'z'),
        'A'..='Z' => next(b'A', b'Z'),
        '0'..='9' => next(b'0', b'9'),
        _ => c,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => answer(rest),
        1 => usage_headers(rest),
        2 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                retry_after(text);
            }
        }
        _ => jwt(rest),
    }
});
