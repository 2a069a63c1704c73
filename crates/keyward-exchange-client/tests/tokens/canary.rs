//! Canaries: the password, client secret, TOTP seed and codes, the authorization code and the
//! access token never reach a log line (at TRACE, every crate), an error's Display or Debug,
//! an audit entry, the token cache's file, or a `Debug` of the login, the cache, the guard or
//! the token.

use std::sync::Arc;

use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_exchange_client::session::{GuardConfig, TokenCache, TokenGuard, TokenProvider, Totp};
use keyward_secrets_backends::audit::AuditLog;
use keyward_secrets_backends::{FileStore, SecretStore};

use super::auth_server::{self, AUTH_CODE, CLIENT_SECRET, PASSWORD, SEED, SEED_B32};
use super::oauth2::{START_MS, builder, seeded, with_user};

#[tokio::test]
async fn secrets_never_in_logs_errors_audit_or_debug() {
    let (capture, _guard) = crate::trace::capture_trace();

    let clock = Arc::new(keyward_signing::FixedClock::new(START_MS));
    let server = auth_server::start(clock.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(FernetKey::generate().unwrap());
    let store: Arc<dyn SecretStore> =
        Arc::new(FileStore::new(dir.path().join("store.fernet"), ring));
    let log_path = dir.path().join("audit.log");
    let log = Arc::new(
        AuditLog::open(&log_path, store.clone(), "audit/mac", clock.clone())
            .await
            .unwrap(),
    );
    let guard = Arc::new(
        TokenGuard::new(clock.clone())
            .with_audit(log)
            .with_config(GuardConfig {
                max_logins: 3,
                ..GuardConfig::default()
            }),
    );
    let cache = TokenCache::new(store.clone(), clock.clone());
    let code = Totp::parse(SEED).unwrap().code_at_ms(START_MS);

    let good: Arc<dyn TokenProvider> = Arc::new(
        with_user(builder(&server, clock.clone()), PASSWORD)
            .code_source(seeded(SEED, clock.clone()))
            .build()
            .unwrap(),
    );
    let good = guard.guard(good);
    let token = cache.get(&good).await.unwrap();
    assert_eq!(token.expose(), server.token);

    let bad_seed: Arc<dyn TokenProvider> = Arc::new(
        with_user(builder(&server, clock.clone()), PASSWORD)
            .code_source(seeded("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", clock.clone()))
            .build()
            .unwrap(),
    );
    let bad = guard.guard(bad_seed.clone());
    let mut errors = Vec::new();
    // Through the guard: refused twice (the TOTP), then over its limit of 3 logins.
    for _ in 0..3 {
        let e = bad.login().await.unwrap_err();
        errors.push(format!("{e} {e:?}"));
    }
    assert!(errors[2].contains("guard"), "{}", errors[2]);
    // Through a cache over a store without a token: refused, then blocked.
    let other: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        dir.path().join("other.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    ));
    let blocked_cache = TokenCache::new(other, clock.clone());
    for _ in 0..2 {
        let e = blocked_cache.get(&*bad_seed).await.unwrap_err();
        errors.push(format!("{e} {e:?}"));
    }
    // The token endpoint refusing the client.
    server.set_fault(auth_server::Fault::InvalidClient);
    let plain = with_user(builder(&server, clock.clone()), PASSWORD)
        .code_source(seeded(SEED, clock.clone()))
        .build()
        .unwrap();
    let e = plain.login().await.unwrap_err();
    errors.push(format!("{e} {e:?}"));

    let shown = [
        ("errors", errors.join("\n")),
        (
            "Debug",
            format!(
                "{good:?} {bad:?} {plain:?} {cache:?} {blocked_cache:?} {guard:?} {token:?} {token:#?}"
            ),
        ),
        ("logs", capture.text()),
        ("audit", std::fs::read_to_string(&log_path).unwrap()),
        (
            "token store",
            String::from_utf8_lossy(&std::fs::read(dir.path().join("store.fernet")).unwrap())
                .into_owned(),
        ),
    ];
    let token_text = server.token.clone();
    let needles = [
        PASSWORD,
        CLIENT_SECRET,
        SEED_B32,
        "keywardcanaryoauthseed",
        code.expose(),
        AUTH_CODE,
        token_text.as_str(),
        // The token's claims segment.
        token_text.split('.').nth(1).unwrap(),
        "CANARY",
    ];
    assert!(!shown[2].1.is_empty(), "the capture saw the log lines");
    for (what, text) in &shown {
        for needle in needles {
            assert!(
                !text.contains(needle),
                "{what} carries a secret ({needle}): {text}"
            );
        }
    }
}
