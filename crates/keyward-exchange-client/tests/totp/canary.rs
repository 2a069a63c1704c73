//! Canaries: a seed and its codes never appear in a `Debug` of the generator or a code, in an
//! error's Display or Debug (what a panic on `unwrap()` would print), or in a log line at TRACE.

use std::sync::Arc;
use std::time::Duration;

use keyward_exchange_client::session::Totp;
use keyward_resilience::{Sleep, SleepFuture};
use keyward_secrets_backends::VarStore;
use keyward_signing::FixedClock;

/// A base32 canary seed, recognisable in any output.
const CANARY: &str = "KEYWARDCANARYSEEDQQQQQQQQQQQQQQQ";
const CANARY_LOWER: &str = "keywardcanaryseedqqqqqqqqqqqqqqq";

#[derive(Debug)]
struct MoveClock(Arc<FixedClock>);

impl Sleep for MoveClock {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        self.0.advance(u64::try_from(duration.as_millis()).unwrap());
        Box::pin(std::future::ready(()))
    }
}

fn assert_clean(what: &str, text: &str, codes: &[String]) {
    for needle in [CANARY, CANARY_LOWER, "KEYWARDCANARY", "CANARYSEED"] {
        assert!(!text.contains(needle), "{what} carries the seed: {text}");
    }
    for code in codes {
        assert!(
            !text.contains(code.as_str()),
            "{what} carries a code {code}: {text}"
        );
    }
}

#[tokio::test]
async fn seed_and_codes_never_in_debug_errors_or_logs() {
    let (capture, _guard) = crate::trace::capture_trace();

    let clock = Arc::new(FixedClock::new(1_700_000_010_000 + 28_000));
    let totp = Totp::parse(CANARY)
        .unwrap()
        .with_clock(clock.clone())
        .with_sleep(Arc::new(MoveClock(clock.clone())));
    let waited = totp.code_for_login(Duration::from_secs(5)).await.unwrap();
    let before = totp.code_at_ms(1_700_000_010_000);
    let codes = vec![waited.expose().to_owned(), before.expose().to_owned()];
    // 8-digit codes are long enough not to match by chance in the texts checked.
    let long = Totp::parse(&format!("otpauth://totp/x?secret={CANARY}&digits=8"))
        .unwrap()
        .with_clock(clock.clone());
    let long_code = long.current();
    let codes_8: Vec<String> = vec![long_code.expose().to_owned()];

    let mut shown = vec![
        ("Totp Debug", format!("{totp:?} {long:?} {totp:#?}")),
        (
            "TotpCode Debug",
            format!("{waited:?} {before:?} {long_code:#?}"),
        ),
    ];

    // Seeds that are wrong in every way the parser can tell, each carrying the canary.
    let bad = [
        format!("{CANARY}!"),
        format!("{CANARY_LOWER}1"),
        format!("{CANARY}Q"),
        format!("otpauth://hotp/x?secret={CANARY}"),
        format!("otpauth://totp/{CANARY}?issuer={CANARY}"),
        format!("otpauth://totp/x?secret={CANARY}&algorithm={CANARY}"),
        format!("otpauth://totp/x?secret={CANARY}&digits={CANARY}"),
        format!("otpauth://totp/x?secret={CANARY}&period={CANARY}"),
        format!("otpauth://totp/x?secret={CANARY}&digits=9"),
        format!("otpauth://totp/x?secret={CANARY}1"),
        format!("otpauth://[{CANARY}"),
    ];
    for seed in &bad {
        let err = Totp::parse(seed).unwrap_err();
        shown.push(("parse error", format!("{err} | {err:?}")));
    }
    let store = VarStore::from_vars(
        "KEYWARD",
        [
            ("KEYWARD_BAD".to_owned(), format!("{CANARY}!")),
            ("KEYWARD_NOFIELD_PASSWORD".to_owned(), CANARY.to_owned()),
        ],
    );
    for name in ["bad", "nofield", "absent"] {
        let err = Totp::from_store(&store, name).await.unwrap_err();
        let mut chain = format!("{err} | {err:?}");
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            chain.push_str(&format!(" | {s}"));
            source = s.source();
        }
        shown.push(("store error", chain));
    }

    let logs = capture.text();
    assert!(
        logs.contains("waiting for the next step"),
        "the guard's wait is logged: {logs}"
    );
    shown.push(("log lines", logs));
    for (what, text) in &shown {
        assert_clean(what, text, &codes_8);
        if what.contains("Debug") {
            assert_clean(what, text, &codes);
            assert!(text.contains("[redacted]"), "{what}: {text}");
        }
    }
}
