//! A scripted [`TokenProvider`]: counts its logins and answers with the next of its results.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_exchange_client::session::{AccessToken, ExpiryRule, LoginError, TokenProvider};

/// A JWT (unsigned: nothing here verifies it) with `exp` and a distinguishing `jti`.
pub fn jwt(exp_s: u64, jti: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp_s},"jti":"{jti}"}}"#));
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

/// What one login answers.
pub enum Answer {
    Token(String),
    TotpRejected,
    Transport,
}

#[derive(Debug)]
pub struct Fake {
    identity: String,
    rule: ExpiryRule,
    answers: Mutex<Vec<Answer>>,
    /// The token issued when the script is used up: a JWT expiring at `exp_s`, `jti` = count.
    exp_s: u64,
    pub logins: AtomicUsize,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Answer")
    }
}

impl Fake {
    /// Issues JWTs expiring at `exp_s` (seconds since the epoch).
    pub fn jwts(identity: &str, exp_s: u64) -> Self {
        Self {
            identity: identity.into(),
            rule: ExpiryRule::JwtExp,
            answers: Mutex::new(Vec::new()),
            exp_s,
            logins: AtomicUsize::new(0),
        }
    }

    /// Answers with `answers` in order, then with JWTs.
    pub fn scripted(identity: &str, rule: ExpiryRule, answers: Vec<Answer>) -> Self {
        let mut answers = answers;
        answers.reverse();
        Self {
            identity: identity.into(),
            rule,
            answers: Mutex::new(answers),
            exp_s: 4_000_000_000,
            logins: AtomicUsize::new(0),
        }
    }

    pub fn count(&self) -> usize {
        self.logins.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl TokenProvider for Fake {
    fn identity(&self) -> &str {
        &self.identity
    }

    fn expiry_rule(&self) -> ExpiryRule {
        self.rule
    }

    async fn login(&self) -> Result<AccessToken, LoginError> {
        let n = self.logins.fetch_add(1, Ordering::SeqCst) + 1;
        // Let every other task run (and pile up on the cache's lock) before answering.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let answer = self.answers.lock().unwrap().pop();
        match answer {
            Some(Answer::Token(t)) => Ok(AccessToken::new(t.into())),
            Some(Answer::TotpRejected) => Err(LoginError::TotpRejected {
                venue: "fake",
                step: "totp",
            }),
            Some(Answer::Transport) => Err(LoginError::Transport {
                venue: "fake",
                step: "token",
                detail: "connection refused".into(),
            }),
            None => Ok(AccessToken::new(jwt(self.exp_s, &n.to_string()).into())),
        }
    }
}
