//! The generic OAuth2 login with a TOTP step against the loopback authorization server:
//! success (Basic and body client authentication), prompt-only mode, a wrong TOTP code and a
//! wrong password each stopping after one attempt, a forged state and a redirect elsewhere
//! refused before the token request, RFC 6749 5.2 errors, a capped answer, the URL policy.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_exchange_client::session::{
    ClientAuth, CodePrompt, CodeSource, LoginError, OAuth2Login, OAuth2LoginBuilder, TokenProvider,
    Totp,
};
use keyward_secrets_backends::{FileStore, SecretStore, SecretValue};
use keyward_signing::FixedClock;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::auth_server::{self, CLIENT_ID, CLIENT_SECRET, Fault, PASSWORD, SEED, Server, USERNAME};

/// 2026-01-01T00:00:00Z: the start of a TOTP step (30 s left).
pub const START_MS: u64 = 1_767_225_600_000;

pub fn builder(server: &Server, clock: Arc<FixedClock>) -> OAuth2LoginBuilder {
    OAuth2Login::builder("broker-bot")
        .venue("testbroker")
        .login_url(format!("{}/login", server.base))
        .totp_url(format!("{}/totp", server.base))
        .authorize_url(format!("{}/authorize", server.base))
        .token_url(format!("{}/token", server.base))
        .redirect_uri(server.redirect_uri.clone())
        .client(CLIENT_ID, SecretString::from(CLIENT_SECRET))
        .clock(clock)
}

pub fn seeded(seed: &str, clock: Arc<FixedClock>) -> CodeSource {
    CodeSource::Totp {
        totp: Arc::new(Totp::parse(seed).unwrap().with_clock(clock)),
        min_remaining: Duration::from_secs(5),
    }
}

pub fn with_user(b: OAuth2LoginBuilder, password: &str) -> OAuth2LoginBuilder {
    b.user(USERNAME, SecretString::from(password))
}

async fn setup() -> (Arc<Server>, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(START_MS));
    (auth_server::start(clock.clone()).await, clock)
}

#[tokio::test]
async fn logs_in_through_the_four_steps() {
    let (server, clock) = setup().await;
    let login = with_user(builder(&server, clock.clone()), PASSWORD)
        .code_source(seeded(SEED, clock.clone()))
        .build()
        .unwrap();
    let token = login.login().await.unwrap();
    assert_eq!(token.expose(), server.token);
    // expires_in counted from the injected clock.
    assert_eq!(
        token.expires_at(),
        Some(UNIX_EPOCH + Duration::from_millis(START_MS + auth_server::EXPIRES_IN * 1000))
    );
    assert_eq!(server.hits(), ["login", "totp", "authorize", "token"]);
    assert_eq!(
        *server.secret_in_body.lock().unwrap(),
        Some(false),
        "Basic by default"
    );
    assert_eq!(login.identity(), "broker-bot");
}

#[tokio::test]
async fn the_client_secret_can_go_in_the_body() {
    let (server, clock) = setup().await;
    let login = with_user(builder(&server, clock.clone()), PASSWORD)
        .code_source(seeded(SEED, clock.clone()))
        .client_auth(ClientAuth::Body)
        .build()
        .unwrap();
    login.login().await.unwrap();
    assert_eq!(*server.secret_in_body.lock().unwrap(), Some(true));
}

/// A person at a prompt, played by the test: answers `code` and records what was asked.
#[derive(Debug)]
struct Person {
    code: String,
    asked: Mutex<Vec<String>>,
}

#[async_trait]
impl CodePrompt for Person {
    async fn ask(&self, what: &str) -> Result<Zeroizing<String>, LoginError> {
        self.asked.lock().unwrap().push(what.to_owned());
        Ok(Zeroizing::new(self.code.clone()))
    }
}

#[tokio::test]
async fn prompt_only_mode_takes_the_code_a_person_types() {
    let (server, clock) = setup().await;
    let code = Totp::parse(SEED).unwrap().code_at_ms(START_MS);
    let person = Arc::new(Person {
        code: code.expose().to_owned(),
        asked: Mutex::new(Vec::new()),
    });
    let login = with_user(builder(&server, clock.clone()), PASSWORD)
        .code_source(CodeSource::Prompt(person.clone()))
        .build()
        .unwrap();
    let token = login.login().await.unwrap();
    assert_eq!(token.expose(), server.token);
    let asked = person.asked.lock().unwrap().clone();
    assert_eq!(asked, ["testbroker TOTP for broker-bot"]);
}

#[tokio::test]
async fn an_empty_prompt_answer_ends_the_login_before_the_totp_step() {
    let (server, clock) = setup().await;
    let person = Arc::new(Person {
        code: "  ".into(),
        asked: Mutex::new(Vec::new()),
    });
    let login = with_user(builder(&server, clock.clone()), PASSWORD)
        .code_source(CodeSource::Prompt(person))
        .build()
        .unwrap();
    let err = login.login().await.unwrap_err();
    assert!(matches!(err, LoginError::Prompt(_)), "{err}");
    assert_eq!(server.hits(), ["login"]);
}

#[tokio::test]
async fn a_wrong_totp_stops_after_one_attempt() {
    let (server, clock) = setup().await;
    let login = with_user(builder(&server, clock.clone()), PASSWORD)
        .code_source(seeded("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", clock.clone()))
        .build()
        .unwrap();
    let err = login.login().await.unwrap_err();
    assert!(
        matches!(
            err,
            LoginError::TotpRejected {
                venue: "testbroker",
                step: "totp"
            }
        ),
        "{err}"
    );
    assert!(err.is_lockout_risk());
    assert_eq!(
        server.hits(),
        ["login", "totp"],
        "one TOTP attempt, nothing after"
    );
}

#[tokio::test]
async fn a_wrong_password_stops_at_the_login_form() {
    let (server, clock) = setup().await;
    let login = with_user(builder(&server, clock.clone()), "wrong")
        .code_source(seeded(SEED, clock.clone()))
        .build()
        .unwrap();
    let err = login.login().await.unwrap_err();
    assert!(
        matches!(err, LoginError::CredentialsRejected { step: "login", .. }),
        "{err}"
    );
    assert!(err.is_lockout_risk());
    assert_eq!(server.hits(), ["login"]);
}

#[tokio::test]
async fn a_forged_state_or_a_foreign_redirect_never_reaches_the_token_endpoint() {
    for fault in [Fault::ForgedState, Fault::RedirectElsewhere] {
        let (server, clock) = setup().await;
        server.set_fault(fault);
        let login = with_user(builder(&server, clock.clone()), PASSWORD)
            .code_source(seeded(SEED, clock.clone()))
            .build()
            .unwrap();
        let err = login.login().await.unwrap_err();
        assert!(
            matches!(
                err,
                LoginError::Protocol {
                    step: "authorize",
                    ..
                }
            ),
            "{fault:?}: {err}"
        );
        assert_eq!(server.hits(), ["login", "totp", "authorize"], "{fault:?}");
    }
}

#[tokio::test]
async fn token_endpoint_errors_are_typed_and_answers_capped() {
    let (server, clock) = setup().await;
    server.set_fault(Fault::InvalidClient);
    let login = with_user(builder(&server, clock.clone()), PASSWORD)
        .code_source(seeded(SEED, clock.clone()))
        .build()
        .unwrap();
    let err = login.login().await.unwrap_err();
    assert!(
        matches!(&err, LoginError::CredentialsRejected { step: "token", reason, .. } if reason == "invalid_client"),
        "{err}"
    );
    server.set_fault(Fault::HugeTokenAnswer);
    let err = login.login().await.unwrap_err();
    assert!(
        matches!(err, LoginError::Protocol { step: "token", .. }),
        "{err}"
    );
}

#[tokio::test]
async fn urls_off_the_policy_are_refused_when_built() {
    let (server, clock) = setup().await;
    for (what, b) in [
        (
            "login",
            builder(&server, clock.clone()).login_url("http://broker.example/login"),
        ),
        (
            "redirect",
            builder(&server, clock.clone()).redirect_uri("http://broker.example/cb"),
        ),
    ] {
        let err = with_user(b, PASSWORD)
            .code_source(seeded(SEED, clock.clone()))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("loopback"), "{what}: {err}");
    }
    // A missing piece is named.
    let err = builder(&server, clock.clone()).build().unwrap_err();
    assert!(err.to_string().contains("username"), "{err}");
}

#[tokio::test]
async fn credentials_and_seed_come_from_a_store() {
    let (server, clock) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(FernetKey::generate().unwrap());
    let store = FileStore::new(dir.path().join("a.fernet"), ring.clone());
    store
        .put(
            "broker-bot",
            &SecretValue::fields([
                ("username", USERNAME),
                ("password", PASSWORD),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("redirect_uri", server.redirect_uri.as_str()),
                ("totp_secret", SEED),
            ]),
        )
        .await
        .unwrap();
    let login = OAuth2Login::builder("broker-bot")
        .login_url(format!("{}/login", server.base))
        .totp_url(format!("{}/totp", server.base))
        .authorize_url(format!("{}/authorize", server.base))
        .token_url(format!("{}/token", server.base))
        .clock(clock.clone())
        .credentials_from_store(&store, "broker-bot", Duration::from_secs(5))
        .await
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(login.login().await.unwrap().expose(), server.token);

    let empty = FileStore::new(dir.path().join("b.fernet"), ring);
    empty
        .put("broker-bot", &SecretValue::fields([("username", USERNAME)]))
        .await
        .unwrap();
    let err = OAuth2Login::builder("broker-bot")
        .credentials_from_store(&empty, "broker-bot", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LoginError::Credentials(m) if m.contains("password")),
        "{err}"
    );
}
