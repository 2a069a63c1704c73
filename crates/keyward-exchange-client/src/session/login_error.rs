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
    /// The fleet's shared login state (Redis) could not be used, so this process did not log
    /// in: logging in alone in every process of a fleet is the login storm the shared login
    /// exists to prevent. (`FleetLogin::with_local_fallback` chooses otherwise.)
    #[error(
        "the fleet's shared login for {identity} is unavailable ({detail}); not logging in alone, so that the fleet does not storm the broker"
    )]
    SharedStateUnavailable {
        /// The identity.
        identity: String,
        /// What failed (a timeout, a refused connection; never a key's secret part or a value).
        detail: String,
    },
    /// Another process of the fleet logged in for this identity and failed; this process did
    /// not try again while the fleet's failure marker lasts.
    #[error(
        "another process of the fleet logged in as {identity} and failed ({reason}); not trying again"
    )]
    FleetLoginFailed {
        /// The identity.
        identity: String,
        /// The failed login's message (it carries no secret).
        reason: String,
        /// Whether that failure risks a lockout (then so would trying again).
        lockout_risk: bool,
    },
    /// Another process of the fleet held the login lock for longer than this process waits.
    #[error(
        "waited {waited:?} for another process of the fleet to log in as {identity}; no token came"
    )]
    FleetWaitTimedOut {
        /// The identity.
        identity: String,
        /// How long this process waited.
        waited: Duration,
    },
}

impl LoginError {
    /// Whether trying again could lock the account: a refused TOTP code, PIN or credentials,
    /// or a lock already reported (also when another process of the fleet got one of these).
    /// Callers must not retry these without a person's decision.
    pub fn is_lockout_risk(&self) -> bool {
        matches!(
            self,
            Self::TotpRejected { .. }
                | Self::PinRejected { .. }
                | Self::CredentialsRejected { .. }
                | Self::Locked { .. }
                | Self::FleetLoginFailed {
                    lockout_risk: true,
                    ..
                }
        )
    }
}
