//! The verifier's span fields and counters (docs/guides/observability.md).
//!
//! Every verification runs in a `keyward.verify` span (scheme; outcome recorded here as
//! `accepted` or the refusal's [`VerifyError::kind`]). With the feature `metrics`:
//! `keyward_verifications_total{scheme,outcome}`, `keyward_verifier_refusals_total{scheme,kind}`
//! and the gauge `keyward_replay_cache_entries` (live entries of this process's in-memory
//! replay caches). Labels come from closed sets (scheme names, refusal kinds), never from the
//! request; no field carries a key id, signature or secret.

use tracing::Span;

use super::{Verified, VerifyError};
use crate::scheme::Scheme;

/// The span of one verification by `scheme`'s verifier.
pub(crate) fn span(scheme: Scheme) -> Span {
    tracing::debug_span!(
        "keyward.verify",
        scheme = scheme.name(),
        outcome = tracing::field::Empty
    )
}

/// Records a verification's outcome on the current span and in the counters.
pub(crate) fn verified(scheme: Scheme, result: &Result<Verified, VerifyError>) {
    let outcome = match result {
        Ok(_) => "accepted",
        Err(error) => error.kind(),
    };
    Span::current().record("outcome", outcome);
    tracing::debug!(scheme = scheme.name(), outcome, "verification");
    #[cfg(feature = "metrics")]
    {
        metrics::counter!("keyward_verifications_total",
            "scheme" => scheme.name(), "outcome" => outcome)
        .increment(1);
        if result.is_err() {
            metrics::counter!("keyward_verifier_refusals_total",
                "scheme" => scheme.name(), "kind" => outcome)
            .increment(1);
        }
    }
}

/// A replay-cache shard went from `before` to `after` live entries (feature `metrics`:
/// the gauge `keyward_replay_cache_entries` moves by the difference).
pub(crate) fn replay_fill(before: usize, after: usize) {
    #[cfg(feature = "metrics")]
    {
        let gauge = metrics::gauge!("keyward_replay_cache_entries");
        if after >= before {
            gauge.increment((after - before) as f64);
        } else {
            gauge.decrement((before - after) as f64);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (before, after);
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use std::sync::Arc;

    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use crate::verify::{StaticKeys, Verifier, VerifyError};
    use crate::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};

    /// An accepted request, its replay and a bad signature: counted by scheme and outcome,
    /// refusals by kind, and the replay cache holds the one entry; no key id nor secret in a
    /// label.
    #[test]
    fn verifications_refusals_and_replay_fill_are_counted() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let creds = Credentials::new("CANARY-key-id", "CANARY-secret".into());
            let clock = Arc::new(FixedClock::new(1_700_000_000_000));
            let verifier = Verifier::new(
                Scheme::KeywardV1,
                Arc::new(StaticKeys::new().with(creds.clone())),
            )
            .with_clock(clock.clone());
            let signer = Signer::new(Scheme::KeywardV1, &creds)
                .unwrap_or_else(|e| panic!("{e}"))
                .with_clock(clock.clone());
            let sent = signer
                .sign(
                    Request::post("/orders").with_body("{}"),
                    &SignOptions::default(),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(verifier.verify(&sent).is_ok());
            assert_eq!(verifier.verify(&sent), Err(VerifyError::Replayed));
            let wrong = Credentials::new("CANARY-key-id", "other".into());
            let forged = Signer::new(Scheme::KeywardV1, &wrong)
                .unwrap_or_else(|e| panic!("{e}"))
                .with_clock(clock)
                .sign(
                    Request::post("/orders").with_body("{}"),
                    &SignOptions::default(),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(verifier.verify(&forged), Err(VerifyError::BadSignature));
        });
        let mut seen = Vec::new();
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(_) => continue,
            };
            seen.push((key.name().to_owned(), labels.join(","), value));
        }
        let has = |name: &str, labels: &str, value: f64| {
            seen.iter()
                .any(|(n, l, v)| n == name && l == labels && (*v - value).abs() < f64::EPSILON)
        };
        let scheme = Scheme::KeywardV1.name();
        assert!(
            has(
                "keyward_verifications_total",
                &format!("scheme={scheme},outcome=accepted"),
                1.0
            ),
            "{seen:?}"
        );
        assert!(
            has(
                "keyward_verifier_refusals_total",
                &format!("scheme={scheme},kind=replayed"),
                1.0
            ),
            "{seen:?}"
        );
        assert!(
            has(
                "keyward_verifier_refusals_total",
                &format!("scheme={scheme},kind=bad_signature"),
                1.0
            ),
            "{seen:?}"
        );
        assert!(has("keyward_replay_cache_entries", "", 1.0), "{seen:?}");
        assert!(!format!("{seen:?}").contains("CANARY"));
    }
}
