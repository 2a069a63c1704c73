//! [`SupervisorEvent`]: what a [`SessionSupervisor`](super::SessionSupervisor) reports, and
//! [`GiveUpReason`], why it stopped.

use std::fmt;

/// Something a supervisor did or saw. Sent on its channel
/// ([`subscribe`](super::SessionSupervisor::subscribe)) and returned by each
/// [`tick`](super::SessionSupervisor::tick). Never carries a token or a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SupervisorEvent {
    /// A keepalive call found the session alive.
    KeptAlive {
        /// The broker.
        venue: &'static str,
    },
    /// The brokerage session dropped; re-authentication attempt `attempt` was asked for.
    SessionDropped {
        /// The broker.
        venue: &'static str,
        /// The attempt just made, from 1.
        attempt: u32,
    },
    /// The session is authenticated again after `attempts` re-authentications.
    Reauthenticated {
        /// The broker.
        venue: &'static str,
        /// How many attempts it took.
        attempts: u32,
    },
    /// The session is over (timed out, logged out, or its token expired).
    SessionExpired {
        /// The broker.
        venue: &'static str,
    },
    /// A new login through the token provider succeeded.
    ReloggedIn {
        /// The broker.
        venue: &'static str,
        /// The provider's identity (a secret's name, never a secret).
        identity: String,
    },
    /// A login through the token provider failed.
    LoginFailed {
        /// The broker.
        venue: &'static str,
        /// The login error's message (which never carries a secret).
        error: String,
    },
    /// A session call failed (transport or an unexpected answer).
    CallFailed {
        /// The broker.
        venue: &'static str,
        /// The error's message.
        error: String,
    },
    /// The supervisor stopped: it makes no more calls. Also logged with `tracing::error!`.
    GaveUp {
        /// The broker.
        venue: &'static str,
        /// Why.
        reason: GiveUpReason,
    },
}

/// Why a supervisor gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The brokerage session stayed dropped after this many re-authentications.
    ReauthenticationFailed {
        /// The attempts made.
        attempts: u32,
    },
    /// The session expired and the supervisor has no token provider to log in again (an
    /// IBKR gateway session needs a person at the gateway's login page).
    ExpiredWithoutLogin,
    /// The session stayed expired, or the logins failed, after this many logins.
    LoginFailed {
        /// The logins tried.
        attempts: u32,
    },
    /// The login was refused in a way that could lock the account (a rejected TOTP code, PIN
    /// or password, or a lock): never retried without a person.
    LockoutRisk {
        /// The login error's message.
        error: String,
    },
    /// The broker could not be reached, or answered unexpectedly, this many times in a row.
    Unreachable {
        /// The failed calls.
        attempts: u32,
        /// The last error's message.
        last_error: String,
    },
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReauthenticationFailed { attempts } => write!(
                f,
                "the brokerage session stayed dropped after {attempts} re-authentications"
            ),
            Self::ExpiredWithoutLogin => f.write_str(
                "the session expired and there is no token provider to log in again; log in \
                 at the broker (for IBKR, the gateway's login page)",
            ),
            Self::LoginFailed { attempts } => {
                write!(f, "the session stayed expired after {attempts} logins")
            }
            Self::LockoutRisk { error } => write!(
                f,
                "the login was refused and retrying could lock the account: {error}"
            ),
            Self::Unreachable {
                attempts,
                last_error,
            } => write!(
                f,
                "the broker failed {attempts} session calls in a row; last: {last_error}"
            ),
        }
    }
}
