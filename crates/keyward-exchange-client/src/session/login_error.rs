//! [`LoginError`]: why a broker login did not end with a token. Never a password, PIN, seed,
//! code or token.

use std::time::Duration;

use thiserror::Error;

use super::totp_error::TotpError;

/// Why a broker login did not end with a token.
///
/// The messages name the step and the broker's documented reason and never carry a password,
/// PIN, TOTP seed or code, or token.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The broker refused the TOTP code. The login stopped without trying another code.
    #[error(
        "{venue} refused the TOTP code at step {step}; stopped after one attempt to avoid a lockout"
    )]
    TotpRejected {
        /// The broker.
        venue: &'static str,
        /// The step of the flow that refused it.
        step: &'static str,
    },
    /// The broker refused the PIN. The login stopped without trying again.
    #[error("{venue} refused the PIN at step {step}; stopped after one attempt to avoid a lockout")]
    PinRejected {
        /// The broker.
        venue: &'static str,
        /// The step of the flow that refused it.
        step: &'static str,
    },
    /// The broker refused the user id, password or client credentials.
    #[error("{venue} refused the credentials at step {step}: {reason}")]
    CredentialsRejected {
        /// The broker.
        venue: &'static str,
        /// The step of the flow that refused them.
        step: &'static str,
        /// The broker's documented reason (its error code and message, never a value sent).
        reason: String,
    },
    /// The broker says the account is locked.
    #[error("{venue} reports the account locked at step {step}: {reason}")]
    Locked {
        /// The broker.
        venue: &'static str,
        /// The step that reported it.
        step: &'static str,
        /// The broker's reason.
        reason: String,
    },
    /// Too many logins or token generations for this identity in the guard's window.
    #[error("login for {identity} refused by the token-generation guard: retry in {} s", retry_after.as_secs())]
    RateLimited {
        /// The identity whose logins are limited.
        identity: String,
        /// How long until the guard lets a login through.
        retry_after: Duration,
    },
    /// A login field is missing from, or unreadable in, the credentials secret.
    #[error("the login credentials are unusable: {0}")]
    Credentials(String),
    /// The TOTP seed is unusable.
    #[error(transparent)]
    Totp(#[from] TotpError),
    /// Nobody typed a code in prompt-only mode, or the prompt failed.
    #[error("no code was entered at the prompt: {0}")]
    Prompt(String),
    /// The request for a step could not be sent or its answer not read.
    #[error("{venue} login step {step} failed in transport: {detail}")]
    Transport {
        /// The broker.
        venue: &'static str,
        /// The step.
        step: &'static str,
        /// What failed (never a URL with a query, a header or a body).
        detail: String,
    },
    /// A step's answer was not what the broker documents.
    #[error("{venue} login step {step} got an unexpected answer: {detail}")]
    Protocol {
        /// The broker.
        venue: &'static str,
        /// The step.
        step: &'static str,
        /// What was unexpected (a status, a missing field; never a value).
        detail: String,
    },
}

impl LoginError {
    /// Whether trying again could lock the account: a refused TOTP code, PIN or credentials,
    /// or a lock already reported. Callers must not retry these without a person's decision.
    pub fn is_lockout_risk(&self) -> bool {
        matches!(
            self,
            Self::TotpRejected { .. }
                | Self::PinRejected { .. }
                | Self::CredentialsRejected { .. }
                | Self::Locked { .. }
        )
    }
}
