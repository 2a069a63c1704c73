//! A verifier's refusals reach the audit log as `verifier_refusal` entries naming the scheme and
//! the reason, never the request, key or signature; the chain verifies.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;

use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_exchange_client::RefusalAudit;
use keyward_secrets_backends::audit::{AuditLog, AuditSink, verify_with_store};
use keyward_secrets_backends::{FileStore, SecretStore};
use keyward_signing::verify::{StaticKeys, Verifier, VerifyError};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};

const CANARY: &str = "CANARY-verifier-secret-7d1f";

#[tokio::test(flavor = "current_thread")]
async fn refusals_are_audited_by_scheme_and_kind_without_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        dir.path().join("store.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    ));
    let clock = Arc::new(FixedClock::new(1_700_000_000_000));
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path, store.clone(), "audit/mac", clock.clone())
        .await
        .unwrap();
    let (sink, task) = AuditSink::spawn(Arc::new(log), 16);

    let creds = Credentials::new("svc-a", CANARY.into());
    let verifier = Verifier::new(
        Scheme::HmacConcat,
        Arc::new(StaticKeys::new().with(creds.clone())),
    )
    .with_clock(clock.clone())
    .with_observer(Arc::new(RefusalAudit::new(sink)));
    let signer = Signer::new(Scheme::HmacConcat, &creds)
        .unwrap()
        .with_clock(clock);
    let sent = signer
        .sign(
            Request::post("/orders").with_body(CANARY),
            &SignOptions::default(),
        )
        .unwrap();
    verifier.verify(&sent).unwrap();
    assert_eq!(verifier.verify(&sent), Err(VerifyError::Replayed));
    let forged = Credentials::new("svc-a", "another".into());
    let forged = Signer::new(Scheme::HmacConcat, &forged)
        .unwrap()
        .sign(Request::post("/orders"), &SignOptions::default())
        .unwrap();
    assert_eq!(verifier.verify(&forged), Err(VerifyError::BadSignature));
    drop(verifier);
    task.await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let subjects: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["event"], "verifier_refusal");
            assert_eq!(v["outcome"], "refused");
            v["subject"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        subjects,
        [
            "verifier/hmac-concat/replayed",
            "verifier/hmac-concat/bad_signature"
        ]
    );
    assert!(!text.contains(CANARY) && !text.contains("svc-a"));
    let summary = verify_with_store(&path, &*store, "audit/mac")
        .await
        .unwrap();
    assert_eq!(summary.entries, 2);
}
