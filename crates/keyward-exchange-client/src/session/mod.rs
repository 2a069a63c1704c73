//! Broker sessions: what a broker login needs besides an API key. The TOTP codes of a login's
//! second factor ([`Totp`]), with a window-edge guard so that a slow login never submits a code
//! that expires in flight, and the [`TokenProvider`] trait that a broker login flow implements,
//! ending with an [`AccessToken`]. A [`SessionSupervisor`] keeps a session alive (keepalive
//! calls on the venue's schedule, re-authentication, a new login on expiry, and a typed event
//! when it gives up) through a venue's [`SessionVenue`], such as [`IbkrGateway`].

mod code_source;
pub mod ibkr;
mod login_error;
mod provider;
mod supervisor;
mod supervisor_event;
#[cfg(test)]
mod supervisor_tests;
mod supervisor_venue;
mod token;
mod totp;
mod totp_error;
mod totp_seed;

pub use code_source::{CodePrompt, CodeSource};
pub use ibkr::IbkrGateway;
pub use login_error::LoginError;
pub use provider::TokenProvider;
pub use supervisor::{
    DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_DELAY, EVENT_CAPACITY, MAX_ATTEMPTS_CEILING, MAX_WAIT,
    SessionSupervisor,
};
pub use supervisor_event::{GiveUpReason, SupervisorEvent};
pub use supervisor_venue::{SessionCallError, SessionState, SessionVenue};
pub use token::{AccessToken, ExpiryRule};
pub use totp::{Totp, TotpAlgorithm, TotpCode};
pub use totp_error::TotpError;
pub use totp_seed::TOTP_SECRET_FIELD;
