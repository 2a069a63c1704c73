//! [`RefusalObserver`]: told of every request or message a [`Verifier`](super::Verifier)
//! refuses, for monitoring (an audit log, a metric, an alert).

use std::fmt;

use super::VerifyError;
use crate::scheme::Scheme;

/// What a verifier refused: the scheme and the typed reason, never the request.
///
/// The observer runs inside [`Verifier::verify`](super::Verifier::verify) and
/// [`Verifier::verify_ws`](super::Verifier::verify_ws), on the caller's thread, after the refusal
/// is decided and before it is returned: it must not block (queue the event, do not write it
/// there) and cannot change the outcome.
pub trait RefusalObserver: Send + Sync + fmt::Debug {
    /// `scheme`'s verifier refused a request or WebSocket message with `error`.
    fn refused(&self, scheme: Scheme, error: &VerifyError);
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use crate::verify::{StaticKeys, Verifier, VerifyError};
    use crate::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};

    use super::RefusalObserver;

    /// Records what it is told.
    #[derive(Debug, Default)]
    struct Seen(Mutex<Vec<(Scheme, &'static str)>>);

    impl RefusalObserver for Seen {
        fn refused(&self, scheme: Scheme, error: &VerifyError) {
            self.0.lock().unwrap().push((scheme, error.kind()));
        }
    }

    fn verifier(scheme: Scheme, seen: &Arc<Seen>) -> (Verifier, Credentials, Arc<FixedClock>) {
        let creds = Credentials::new("key", "secret".into());
        let clock = Arc::new(FixedClock::new(1_700_000_000_000));
        let verifier = Verifier::new(scheme, Arc::new(StaticKeys::new().with(creds.clone())))
            .with_clock(clock.clone())
            .with_observer(seen.clone());
        (verifier, creds, clock)
    }

    #[test]
    fn every_rest_refusal_is_observed_and_an_acceptance_is_not() {
        let seen = Arc::new(Seen::default());
        let (verifier, creds, clock) = verifier(Scheme::HmacConcat, &seen);
        let signer = Signer::new(Scheme::HmacConcat, &creds)
            .unwrap()
            .with_clock(clock);
        let sent = signer
            .sign(
                Request::post("/orders").with_body("{}"),
                &SignOptions::default(),
            )
            .unwrap();
        verifier.verify(&sent).unwrap();
        assert!(
            seen.0.lock().unwrap().is_empty(),
            "an acceptance is not a refusal"
        );
        assert_eq!(verifier.verify(&sent), Err(VerifyError::Replayed));
        let _ = verifier.verify(&Request::post("/orders"));
        assert_eq!(
            *seen.0.lock().unwrap(),
            vec![
                (Scheme::HmacConcat, "replayed"),
                (Scheme::HmacConcat, "malformed")
            ]
        );
    }

    #[tokio::test]
    async fn the_async_paths_decide_and_observe_as_the_sync_ones() {
        let seen = Arc::new(Seen::default());
        let (verifier, creds, clock) = verifier(Scheme::HmacConcat, &seen);
        let signer = Signer::new(Scheme::HmacConcat, &creds)
            .unwrap()
            .with_clock(clock);
        let sent = signer
            .sign(
                Request::post("/orders").with_body("{}"),
                &SignOptions::default(),
            )
            .unwrap();
        verifier.verify_async(&sent).await.unwrap();
        // One memory for both paths.
        assert_eq!(verifier.verify(&sent), Err(VerifyError::Replayed));
        assert_eq!(
            verifier.verify_async(&sent).await,
            Err(VerifyError::Replayed)
        );
        let _ = verifier.verify_async(&Request::post("/orders")).await;
        let message = signer
            .ws_auth(&Default::default(), &SignOptions::default())
            .unwrap();
        verifier.verify_ws_async(&message).await.unwrap();
        assert_eq!(verifier.verify_ws(&message), Err(VerifyError::Replayed));
        assert_eq!(
            verifier.verify_ws_async(&message).await,
            Err(VerifyError::Replayed)
        );
        assert!(
            verifier
                .verify_ws_async(&json!({"op": "auth"}))
                .await
                .is_err()
        );
        let kinds: Vec<_> = seen.0.lock().unwrap().iter().map(|(_, k)| *k).collect();
        assert_eq!(
            kinds,
            [
                "replayed",
                "replayed",
                "malformed",
                "replayed",
                "replayed",
                "malformed"
            ]
        );
    }

    #[test]
    fn a_websocket_refusal_is_observed() {
        let seen = Arc::new(Seen::default());
        let (verifier, _, _) = verifier(Scheme::Bybit, &seen);
        assert!(verifier.verify_ws(&json!({"op": "auth"})).is_err());
        assert_eq!(*seen.0.lock().unwrap(), vec![(Scheme::Bybit, "malformed")]);
    }
}
