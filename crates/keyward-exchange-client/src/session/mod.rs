//! Broker sessions: what a broker login needs besides an API key. The TOTP codes of a login's
//! second factor ([`Totp`]), with a window-edge guard so that a slow login never submits a code
//! that expires in flight, and the [`TokenProvider`] trait that a broker login flow implements,
//! ending with an [`AccessToken`]; the generic OAuth 2.0 login with a TOTP step
//! ([`OAuth2Login`]); when a token dies ([`ExpiryRule`], [`JwtClaims`]); the [`TokenCache`]
//! that keeps tokens per identity, refreshed ahead of expiry, one login at a time; and the
//! [`TokenGuard`] that rate-limits logins, reports unusual activity and audits them.

mod code_source;
mod expiry;
mod expiry_error;
mod guard;
mod jwt_claims;
mod login_error;
mod oauth2;
mod oauth2_flow;
mod oauth2_http;
mod provider;
mod token;
mod token_cache;
mod token_cache_error;
mod totp;
mod totp_error;
mod totp_seed;

pub use code_source::{CodePrompt, CodeSource};
pub use expiry_error::ExpiryError;
pub use guard::{GuardConfig, GuardEvent, GuardedProvider, TokenGuard};
pub use jwt_claims::{JwtClaims, MAX_JWT_LEN};
pub use login_error::LoginError;
pub use oauth2::{ClientAuth, FormFields, MAX_ANSWER, OAuth2Login, OAuth2LoginBuilder};
pub use provider::TokenProvider;
pub use token::{AccessToken, ExpiryRule};
pub use token_cache::{
    DEFAULT_REFRESH_AHEAD, EXPIRES_AT_FIELD, TOKEN_FIELD, TokenCache, token_secret_name,
};
pub use token_cache_error::TokenCacheError;
pub use totp::{Totp, TotpAlgorithm, TotpCode};
pub use totp_error::TotpError;
pub use totp_seed::TOTP_SECRET_FIELD;
