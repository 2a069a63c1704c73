//! keyward's `UpstoxLogin` against the testnet's Upstox-shaped flow (issue 16): a login whose
//! token the profile endpoint accepts, a refused TOTP code and a refused PIN that each stop after
//! exactly one attempt with their typed errors, the lockout, an expired token, the prompt-only
//! mode, and a canary run where no password, PIN, seed, code or token reaches a log line or an
//! error.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use keyward::exchange as keyward_exchange_client;
use keyward::secrets::VarStore;
use keyward_exchange_client::session::{
    CodePrompt, CodeSource, LoginError, TokenProvider, Totp, UpstoxLogin,
};
use keyward_testnet::{BrokerCredentials, Testnet, TestnetConfig};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use zeroize::Zeroizing;

const VERIFY: &str = "/service/login/open/v4/auth/1fa/otp-totp/verify";
const TWO_FA: &str = "/service/login/open/v3/auth/2fa";
const TOKEN: &str = "/api/v2/login/authorization/token";
const PROFILE: &str = "/api/v2/user/profile";

/// The login secret's JSON for `c`, with `pin` instead of the right one when given.
fn secret_json(c: &BrokerCredentials, pin: Option<&str>) -> String {
    json!({
        "username": c.username,
        "password": c.password.expose_secret(),
        "pin": pin.unwrap_or(c.pin.expose_secret()),
        "totp_secret": c.totp_secret.expose_secret(),
        "client_id": c.client_id,
        "client_secret": c.client_secret.expose_secret(),
        "redirect_uri": c.redirect_uri,
    })
    .to_string()
}

/// A store holding the login secret `upstox`.
fn store(json: String) -> Arc<VarStore> {
    Arc::new(VarStore::from_vars("KW", [("KW_UPSTOX".to_owned(), json)]))
}

async fn testnet(creds: Option<BrokerCredentials>) -> Testnet {
    let config = match creds {
        Some(c) => TestnetConfig::default().with_broker_credentials(vec![c]),
        None => TestnetConfig::default(),
    };
    Testnet::start(config).await.unwrap()
}

fn login(t: &Testnet, secret: String) -> UpstoxLogin {
    UpstoxLogin::new(store(secret), "upstox")
        .base_url(t.url("upstox").unwrap())
        .unwrap()
}

/// What the profile endpoint says to `token`: the status and the body.
async fn profile(t: &Testnet, token: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}{PROFILE}", t.url("upstox").unwrap()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn the_login_gets_a_token_the_profile_endpoint_accepts() {
    let t = testnet(None).await;
    let c = t.broker_credentials("upstox").unwrap().clone();
    let provider = login(&t, secret_json(&c, None));
    assert_eq!(provider.identity(), "upstox");
    let token = provider.login().await.unwrap();
    let (status, body) = profile(&t, token.expose()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    // The JWT's exp is the next 03:30 Asia/Kolkata (22:00 UTC).
    let exp = token
        .expires_at()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(exp % 86_400, 22 * 3600, "03:30 IST is 22:00 UTC");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(exp > now && exp <= now + 86_400);
    assert_eq!(t.hits("upstox", "POST", VERIFY), 1);
    assert_eq!(t.hits("upstox", "POST", TOKEN), 1);
    t.shutdown().await;
}

#[tokio::test]
async fn a_refused_totp_stops_after_one_attempt() {
    let t = testnet(None).await;
    let c = t.broker_credentials("upstox").unwrap().clone();
    // The right code, refused by the fault: one attempt, then the typed error.
    t.faults()
        .apply(&"reject_totp=1,venue=upstox".parse().unwrap());
    let err = login(&t, secret_json(&c, None)).login().await.unwrap_err();
    assert!(
        matches!(
            err,
            LoginError::TotpRejected {
                venue: "upstox",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_lockout_risk());
    assert_eq!(t.hits("upstox", "POST", VERIFY), 1);
    assert_eq!(t.hits("upstox", "POST", TWO_FA), 0);
    // A wrong seed: a code the testnet really refuses, once.
    let wrong = Totp::parse("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
    let err = login(&t, secret_json(&c, None))
        .code_source(CodeSource::Totp {
            totp: Arc::new(wrong),
            min_remaining: std::time::Duration::ZERO,
        })
        .login()
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::TotpRejected { .. }), "{err:?}");
    assert_eq!(t.hits("upstox", "POST", VERIFY), 2);
    assert_eq!(t.hits("upstox", "POST", TWO_FA), 0);
    t.shutdown().await;
}

#[tokio::test]
async fn a_refused_pin_stops_after_one_attempt() {
    let t = testnet(None).await;
    let c = t.broker_credentials("upstox").unwrap().clone();
    let err = login(&t, secret_json(&c, Some("000000x")))
        .login()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LoginError::PinRejected {
                venue: "upstox",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_lockout_risk());
    assert_eq!(t.hits("upstox", "POST", VERIFY), 1);
    assert_eq!(t.hits("upstox", "POST", TWO_FA), 1);
    assert_eq!(t.hits("upstox", "POST", TOKEN), 0);
    // The right PIN refused by the fault: the same.
    t.faults()
        .apply(&"reject_pin=1,venue=upstox".parse().unwrap());
    let err = login(&t, secret_json(&c, None)).login().await.unwrap_err();
    assert!(matches!(err, LoginError::PinRejected { .. }), "{err:?}");
    assert_eq!(t.hits("upstox", "POST", TWO_FA), 2);
    t.shutdown().await;
}

#[tokio::test]
async fn the_account_locks_after_n_refusals_and_the_error_says_so() {
    let t = testnet(None).await;
    let c = t.broker_credentials("upstox").unwrap().clone();
    t.faults()
        .apply(&"lockout_after=2,venue=upstox".parse().unwrap());
    for _ in 0..2 {
        let err = login(&t, secret_json(&c, Some("999999")))
            .login()
            .await
            .unwrap_err();
        assert!(matches!(err, LoginError::PinRejected { .. }), "{err:?}");
    }
    // Locked: even the right credentials are refused, at the first login step that checks.
    let err = login(&t, secret_json(&c, None)).login().await.unwrap_err();
    assert!(
        matches!(
            err,
            LoginError::Locked {
                venue: "upstox",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_lockout_risk());
    assert!(err.to_string().contains("1017069"), "{err}");
    assert_eq!(t.hits("upstox", "POST", TWO_FA), 2);
    // Clearing the fault unlocks it.
    t.faults().clear();
    login(&t, secret_json(&c, None)).login().await.unwrap();
    t.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_is_refused_with_upstox_error_shape() {
    let t = testnet(None).await;
    let c = t.broker_credentials("upstox").unwrap().clone();
    let token = login(&t, secret_json(&c, None)).login().await.unwrap();
    assert_eq!(profile(&t, token.expose()).await.0, 200);
    t.faults()
        .apply(&"expire_tokens=true,venue=upstox".parse().unwrap());
    let (status, body) = profile(&t, token.expose()).await;
    assert_eq!(status, 401);
    assert_eq!(body["status"], "error");
    assert_eq!(body["errors"][0]["errorCode"], "UDAPI100050");
    // A token issued after the fault works; past its 03:30 cutoff on the testnet's clock it
    // does not.
    let fresh = login(&t, secret_json(&c, None)).login().await.unwrap();
    assert_eq!(profile(&t, fresh.expose()).await.0, 200);
    t.faults()
        .apply(&"clock_offset_ms=90000000,venue=upstox".parse().unwrap());
    assert_eq!(profile(&t, fresh.expose()).await.0, 401);
    t.shutdown().await;
}

/// A person typing the code: here, the code of the account's seed.
#[derive(Debug)]
struct Typed(Arc<Totp>, Arc<Mutex<Vec<String>>>);

#[async_trait]
impl CodePrompt for Typed {
    async fn ask(&self, what: &str) -> Result<Zeroizing<String>, LoginError> {
        self.1.lock().unwrap().push(what.to_owned());
        Ok(Zeroizing::new(self.0.current().expose().to_owned()))
    }
}

#[tokio::test]
async fn prompt_mode_asks_once_and_needs_no_seed_in_the_secret() {
    let t = testnet(None).await;
    let c = t.broker_credentials("upstox").unwrap().clone();
    let seed = Arc::new(Totp::parse(c.totp_secret.expose_secret()).unwrap());
    let mut secret: Value = serde_json::from_str(&secret_json(&c, None)).unwrap();
    secret.as_object_mut().unwrap().remove("totp_secret");
    let asked = Arc::new(Mutex::new(Vec::new()));
    let token = login(&t, secret.to_string())
        .code_source(CodeSource::Prompt(Arc::new(Typed(seed, asked.clone()))))
        .login()
        .await
        .unwrap();
    assert_eq!(profile(&t, token.expose()).await.0, 200);
    assert_eq!(*asked.lock().unwrap(), ["Upstox TOTP for upstox"]);
    // Without a code source or a seed, the login says what is missing before sending anything.
    let err = login(&t, secret.to_string()).login().await.unwrap_err();
    assert!(matches!(err, LoginError::Credentials(_)), "{err:?}");
    assert!(err.to_string().contains("totp_secret"), "{err}");
    t.shutdown().await;
}

#[tokio::test]
async fn no_password_pin_seed_code_or_token_reaches_a_log_line_or_an_error() {
    let (capture, _guard) = crate::trace::capture_trace();

    let mut c = BrokerCredentials::generate("upstox").unwrap();
    c.password = SecretString::from("CANARY-PASSWORD-7f3a");
    c.pin = SecretString::from("CANARY-PIN-7f3a");
    c.totp_secret = SecretString::from("CANARYSEEDCANARY");
    c.client_secret = SecretString::from("CANARY-CLIENT-SECRET-7f3a");
    let t = testnet(Some(c.clone())).await;
    let code = Totp::parse("CANARYSEEDCANARY").unwrap().current();
    let provider = login(&t, secret_json(&c, None));
    let token = provider.login().await.unwrap();
    let mut shown = vec![
        format!("{provider:?}"),
        format!("{token:?}"),
        format!("{c:?}"),
    ];
    let refused = [
        login(&t, secret_json(&c, Some("CANARY-WRONG-PIN")))
            .login()
            .await,
        {
            t.faults()
                .apply(&"reject_totp=1,venue=upstox".parse().unwrap());
            login(&t, secret_json(&c, None)).login().await
        },
    ];
    for r in refused {
        let e = r.unwrap_err();
        shown.push(e.to_string());
        shown.push(format!("{e:?}"));
    }
    let logs = capture.text();
    assert!(logs.contains("login step"), "{logs}");
    shown.extend(logs.lines().map(str::to_owned));
    for line in &shown {
        for secret in [
            "CANARY",
            "Q0FOQVJZ", // "CANARY" in base64, as the PIN is sent
            c.client_secret.expose_secret(),
            token.expose(),
            code.expose(),
        ] {
            assert!(!line.contains(secret), "{secret:?} in {line}");
        }
    }
    t.shutdown().await;
}

/// Issue 16's canary across the whole broker session stack: the Upstox login behind the
/// token-generation guard (with its audit log) and the token cache (over an encrypted file
/// store), a success and a refused PIN. No password, PIN, seed, code or token reaches a log
/// line at TRACE, an error, an audit entry, the store's file or a `Debug`.
#[tokio::test]
async fn the_session_stack_keeps_every_secret_out_of_logs_errors_audit_and_debug() {
    use keyward::SecretStore;
    use keyward::crypto::{FernetKey, KeyRing, SystemClock};
    use keyward::secrets::FileStore;
    use keyward::secrets::audit::AuditLog;
    use keyward_exchange_client::session::{TokenCache, TokenGuard};

    let (capture, _guard) = crate::trace::capture_trace();

    let mut c = BrokerCredentials::generate("upstox").unwrap();
    c.password = SecretString::from("CANARY-PASSWORD-91c2");
    c.pin = SecretString::from("CANARY-PIN-91c2");
    c.totp_secret = SecretString::from("CANARYSEEDCANARY");
    c.client_secret = SecretString::from("CANARY-CLIENT-SECRET-91c2");
    let t = testnet(Some(c.clone())).await;

    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("tokens.fernet");
    let store: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        &store_path,
        KeyRing::new(FernetKey::generate().unwrap()),
    ));
    let audit_path = dir.path().join("audit.log");
    let audit = Arc::new(
        AuditLog::open(
            &audit_path,
            store.clone(),
            "audit/mac",
            Arc::new(SystemClock),
        )
        .await
        .unwrap(),
    );
    let guard = Arc::new(TokenGuard::new(Arc::new(SystemClock)).with_audit(audit.clone()));
    let cache = TokenCache::new(store.clone(), Arc::new(SystemClock));

    let good = guard.guard(Arc::new(login(&t, secret_json(&c, None))));
    let token = cache.get(&good).await.unwrap();
    assert_eq!(profile(&t, token.expose()).await.0, 200);
    assert!(
        token.expires_at().is_some(),
        "the cache scheduled an expiry"
    );
    let code = Totp::parse("CANARYSEEDCANARY").unwrap().current();

    // A second identity whose PIN is wrong: one refusal, audited, cached as a block.
    let bad_store = Arc::new(VarStore::from_vars(
        "KW",
        [(
            "KW_UPSTOX_BAD".to_owned(),
            secret_json(&c, Some("CANARY-WRONG-PIN")),
        )],
    ));
    let bad = guard.guard(Arc::new(
        UpstoxLogin::new(bad_store, "upstox-bad")
            .base_url(t.url("upstox").unwrap())
            .unwrap(),
    ));
    let refused = cache.get(&bad).await.unwrap_err();
    assert!(refused.is_lockout_risk(), "{refused}");
    let blocked = cache.get(&bad).await.unwrap_err();

    let audit_text = std::fs::read_to_string(&audit_path).unwrap();
    assert!(audit_text.contains("token_generation"), "{audit_text}");
    assert!(audit_text.contains("login_failure"), "{audit_text}");
    let store_bytes = String::from_utf8_lossy(&std::fs::read(&store_path).unwrap()).into_owned();
    let logs = capture.text();
    let mut shown = vec![
        format!("{good:?}"),
        format!("{bad:?}"),
        format!("{cache:?}"),
        format!("{guard:?}"),
        format!("{token:?}"),
        format!("{audit:?}"),
        refused.to_string(),
        format!("{refused:?}"),
        blocked.to_string(),
        format!("{blocked:?}"),
        store_bytes,
    ];
    shown.extend(audit_text.lines().map(str::to_owned));
    shown.extend(logs.lines().map(str::to_owned));
    for line in &shown {
        for secret in [
            "CANARY",
            "Q0FOQVJZ", // "CANARY" in base64, as the PIN is sent
            token.expose(),
            code.expose(),
        ] {
            assert!(!line.contains(secret), "{secret:?} in {line}");
        }
    }
    t.shutdown().await;
}
