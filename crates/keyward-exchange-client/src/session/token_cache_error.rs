//! [`TokenCacheError`]: why the token cache has no token to give. Never a token.

use thiserror::Error;

use super::expiry_error::ExpiryError;
use super::login_error::LoginError;

/// Why [`TokenCache::get`](super::TokenCache::get) has no token to give.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TokenCacheError {
    /// The login the cache ran failed.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// An earlier login for this identity was refused in a way that risks a lockout (a wrong
    /// TOTP code or PIN, refused credentials, a locked account): the cache does not log in
    /// again until [`TokenCache::clear_block`](super::TokenCache::clear_block) is called, a
    /// person's decision.
    #[error(
        "logins for {identity} are stopped after a refusal that risks a lockout ({reason}); fix the credentials, then clear the block"
    )]
    Blocked {
        /// The identity.
        identity: String,
        /// The refusal's message (it carries no secret).
        reason: String,
    },
    /// The login issued a token whose expiry cannot be worked out; the token is not used.
    #[error("the token issued for {identity} has no usable expiry: {source}")]
    Expiry {
        /// The identity.
        identity: String,
        /// What is wrong.
        #[source]
        source: ExpiryError,
    },
}

impl TokenCacheError {
    /// Whether logging in again could lock the account: a refusal of that kind now, or a block
    /// from an earlier one.
    pub fn is_lockout_risk(&self) -> bool {
        match self {
            Self::Login(e) => e.is_lockout_risk(),
            Self::Blocked { .. } => true,
            Self::Expiry { .. } => false,
        }
    }
}
