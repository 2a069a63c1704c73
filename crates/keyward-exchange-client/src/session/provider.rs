//! [`TokenProvider`]: one broker login flow, run once per call.

use async_trait::async_trait;

use super::login_error::LoginError;
use super::token::{AccessToken, ExpiryRule};

/// A broker login flow that ends with an [`AccessToken`].
///
/// [`login`](TokenProvider::login) runs the flow once. It never retries a step the broker
/// rejected: after one refused TOTP code or PIN it returns a [`LoginError`] for which
/// [`LoginError::is_lockout_risk`] is true, because brokers lock an account after a few
/// failures. Whoever calls it (a token cache, a supervisor, a person at the CLI) decides
/// whether to try again.
#[async_trait]
pub trait TokenProvider: Send + Sync {
    /// The identity this provider logs in as: the name of its credentials secret. Caches key
    /// their tokens by it and audit entries name it; it never holds a secret.
    fn identity(&self) -> &str;

    /// When this broker's tokens stop working, beyond an expiry stated in the login answer.
    fn expiry_rule(&self) -> ExpiryRule {
        ExpiryRule::JwtExp
    }

    /// Runs the login flow once and returns the token it issued.
    async fn login(&self) -> Result<AccessToken, LoginError>;
}
