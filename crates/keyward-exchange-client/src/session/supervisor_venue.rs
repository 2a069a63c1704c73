//! [`SessionVenue`]: what a [`SessionSupervisor`](super::SessionSupervisor) asks of a broker to
//! keep its session alive: a keepalive call, a status check and a re-authentication.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;

use super::token::AccessToken;

/// The state of a broker session, as the broker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// The session is alive and authenticated.
    Active,
    /// The outer session is alive but the trading (brokerage) session inside it dropped, as
    /// after a competing login: a re-authentication may bring it back.
    Dropped,
    /// The session is over (timed out, logged out, its token expired): only a new login
    /// brings it back.
    Expired,
}

/// Why a session call to the broker did not give an answer. Never a token or a body.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionCallError {
    /// The request could not be sent or its answer not read.
    #[error("{venue} {call} failed in transport: {detail}")]
    Transport {
        /// The broker.
        venue: &'static str,
        /// The call (`tickle`, `auth status`, `reauthenticate`).
        call: &'static str,
        /// What failed (never a header or a body).
        detail: String,
    },
    /// The answer was not what the broker documents.
    #[error("{venue} {call} got an unexpected answer: {detail}")]
    Protocol {
        /// The broker.
        venue: &'static str,
        /// The call.
        call: &'static str,
        /// What was unexpected (a status, a missing field; never a value).
        detail: String,
    },
}

/// A broker's session calls, one implementation per broker ([`IbkrGateway`](super::IbkrGateway)
/// for Interactive Brokers' Client Portal gateway). The broker's facts (paths, answers, the
/// keepalive interval) live in the implementation; the supervisor only schedules.
///
/// `token` is the access token of a token-based session (from the supervisor's
/// [`TokenProvider`](super::TokenProvider)); a gateway session with no token gets `None`.
#[async_trait]
pub trait SessionVenue: Send + Sync + fmt::Debug {
    /// The broker's name, for events, logs and audit entries.
    fn name(&self) -> &'static str;

    /// How often the broker wants a keepalive call.
    fn keepalive_interval(&self) -> Duration;

    /// The keepalive call; answers the session's state.
    async fn keepalive(
        &self,
        token: Option<&AccessToken>,
    ) -> Result<SessionState, SessionCallError>;

    /// Asks the session's state without anything else.
    async fn status(&self, token: Option<&AccessToken>) -> Result<SessionState, SessionCallError>;

    /// Asks the broker to re-authenticate a [`SessionState::Dropped`] session. It may work
    /// asynchronously: the supervisor checks [`status`](Self::status) afterwards.
    async fn reauthenticate(&self, token: Option<&AccessToken>) -> Result<(), SessionCallError>;
}
