//! [`CodeSource`]: where a login's one-time code comes from, a TOTP seed or a person.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use zeroize::Zeroizing;

use super::login_error::LoginError;
use super::totp::Totp;

/// Asks a person for a one-time code: the prompt-only mode, for brokers whose terms forbid
/// automating the second factor.
#[async_trait]
pub trait CodePrompt: Send + Sync + fmt::Debug {
    /// Asks for the code that `what` (such as "Upstox TOTP for bot1") needs, and returns what
    /// the person typed. An error or an empty answer ends the login with
    /// [`LoginError::Prompt`].
    async fn ask(&self, what: &str) -> Result<Zeroizing<String>, LoginError>;
}

/// Where a login's one-time code comes from.
#[derive(Debug, Clone)]
pub enum CodeSource {
    /// Generated from a seed, with at least `min_remaining` of the code's step left when it is
    /// handed over (see [`Totp::code_for_login`]).
    Totp {
        /// The generator.
        totp: Arc<Totp>,
        /// The window-edge guard.
        min_remaining: Duration,
    },
    /// Typed by a person at each login.
    Prompt(Arc<dyn CodePrompt>),
}

impl CodeSource {
    /// The code for one login step: generated (waiting for the next step near a window edge)
    /// or asked for. `what` says which login wants it, for the prompt.
    pub async fn code(&self, what: &str) -> Result<Zeroizing<String>, LoginError> {
        match self {
            Self::Totp {
                totp,
                min_remaining,
            } => {
                let code = totp.code_for_login(*min_remaining).await?;
                Ok(Zeroizing::new(code.expose().to_owned()))
            }
            Self::Prompt(prompt) => {
                let code = prompt.ask(what).await?;
                if code.trim().is_empty() {
                    return Err(LoginError::Prompt("the code entered is empty".into()));
                }
                Ok(code)
            }
        }
    }
}
