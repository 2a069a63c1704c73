//! Broker sessions: what a broker login needs besides an API key. The TOTP codes of a login's
//! second factor ([`Totp`]), with a window-edge guard so that a slow login never submits a code
//! that expires in flight, and the [`TokenProvider`] trait that a broker login flow implements,
//! ending with an [`AccessToken`]; the generic OAuth 2.0 login with a TOTP step
//! ([`OAuth2Login`]); when a token dies ([`ExpiryRule`], [`JwtClaims`]); the [`TokenCache`]
//! that keeps tokens per identity, refreshed ahead of expiry, one login at a time; and the
//! [`TokenGuard`] that rate-limits logins, reports unusual activity and audits them. A
//! [`SessionSupervisor`] keeps a session alive (keepalive calls on the venue's schedule,
//! re-authentication, a new login on expiry, and a typed event when it gives up) through a
//! venue's [`SessionVenue`], such as [`IbkrGateway`]. [`UpstoxLogin`] is Upstox's TOTP login.

mod code_source;
mod expiry;
mod expiry_error;
mod guard;
pub mod ibkr;
mod jwt_claims;
mod login_error;
mod login_fields;
mod login_http;
mod oauth2;
mod oauth2_flow;
mod oauth2_http;
mod provider;
mod supervisor;
mod supervisor_event;
#[cfg(test)]
mod supervisor_tests;
mod supervisor_venue;
mod token;
mod token_cache;
mod token_cache_error;
mod totp;
mod totp_error;
mod totp_seed;
mod upstox;

pub use code_source::{CodePrompt, CodeSource};
pub use expiry_error::ExpiryError;
pub use guard::{GuardConfig, GuardEvent, GuardedProvider, TokenGuard};
pub use ibkr::IbkrGateway;
pub use jwt_claims::{JwtClaims, MAX_JWT_LEN};
pub use login_error::LoginError;
pub use oauth2::{ClientAuth, FormFields, MAX_ANSWER, OAuth2Login, OAuth2LoginBuilder};
pub use provider::TokenProvider;
pub use supervisor::{
    DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_DELAY, EVENT_CAPACITY, MAX_ATTEMPTS_CEILING, MAX_WAIT,
    SessionSupervisor,
};
pub use supervisor_event::{GiveUpReason, SupervisorEvent};
pub use supervisor_venue::{SessionCallError, SessionState, SessionVenue};
pub use token::{AccessToken, ExpiryRule};
pub use token_cache::{
    DEFAULT_REFRESH_AHEAD, EXPIRES_AT_FIELD, TOKEN_FIELD, TokenCache, token_secret_name,
};
pub use token_cache_error::TokenCacheError;
pub use totp::{Totp, TotpAlgorithm, TotpCode};
pub use totp_error::TotpError;
pub use totp_seed::TOTP_SECRET_FIELD;
pub use upstox::{UPSTOX_API, UPSTOX_SERVICE, UpstoxLogin};
