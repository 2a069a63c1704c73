//! [`ExpiryError`]: why a token's expiry could not be worked out. Never the token.

use thiserror::Error;

/// Why a token's expiry could not be worked out from its [`ExpiryRule`](super::ExpiryRule).
///
/// The messages say what is wrong with the token's shape or the rule, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ExpiryError {
    /// The rule reads a JWT's `exp`, and the token is not a JWT.
    #[error("the token is not a JWT: {0}")]
    NotJwt(String),
    /// The token is a JWT without an `exp` claim.
    #[error("the JWT has no exp claim, so its expiry is unknown")]
    NoExp,
    /// A time claim is not a non-negative number of seconds since the Unix epoch.
    #[error("the JWT's {claim} claim is not a NumericDate (seconds since the Unix epoch)")]
    BadClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// The daily cutoff's zone is not in the bundled IANA time zone database.
    #[error("{zone:?} is not an IANA time zone name this keyward knows")]
    UnknownZone {
        /// The zone name given (a zone name is not secret).
        zone: String,
    },
    /// The daily cutoff's hour or minute is out of range.
    #[error("a daily cutoff at {hour}:{minute:02} is not a time of day (hour 0-23, minute 0-59)")]
    BadCutoff {
        /// The hour given.
        hour: u8,
        /// The minute given.
        minute: u8,
    },
    /// The time is outside the range the calendar arithmetic supports.
    #[error("the issue time is outside the supported calendar range")]
    OutOfRange,
}
