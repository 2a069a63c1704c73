//! Broker sessions: what a broker login needs besides an API key. The TOTP codes of a login's
//! second factor ([`Totp`]), with a window-edge guard so that a slow login never submits a code
//! that expires in flight, and the [`TokenProvider`] trait that a broker login flow implements,
//! ending with an [`AccessToken`]; [`UpstoxLogin`] is Upstox's TOTP login.

mod code_source;
mod login_error;
mod login_fields;
mod login_http;
mod provider;
mod token;
mod totp;
mod totp_error;
mod totp_seed;
mod upstox;

pub use code_source::{CodePrompt, CodeSource};
pub use login_error::LoginError;
pub use provider::TokenProvider;
pub use token::{AccessToken, ExpiryRule};
pub use totp::{Totp, TotpAlgorithm, TotpCode};
pub use totp_error::TotpError;
pub use totp_seed::TOTP_SECRET_FIELD;
pub use upstox::{UPSTOX_API, UPSTOX_SERVICE, UpstoxLogin};
