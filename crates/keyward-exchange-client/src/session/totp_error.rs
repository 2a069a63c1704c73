//! [`TotpError`]: what is wrong with a TOTP seed or its parameters, never the seed itself.

use thiserror::Error;

/// Why a TOTP seed could not be used. The messages say what is wrong with the seed (its form,
/// a parameter, where it was looked for) and never echo the seed, a code or any part of them.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TotpError {
    /// The seed is empty (after removing spaces and padding).
    #[error("the TOTP seed is empty")]
    EmptySeed,
    /// A character of the seed is not in the base32 alphabet (A-Z, 2-7; case, spaces, dashes
    /// and `=` padding are accepted).
    #[error("the TOTP seed is not base32: character {position} is not A-Z or 2-7")]
    NotBase32 {
        /// The 1-based position of the first bad character, counted after removing spaces.
        position: usize,
    },
    /// The seed has a number of base32 characters no byte string encodes to.
    #[error("the TOTP seed is not base32: {chars} characters cannot encode whole bytes")]
    Base32Length {
        /// The number of base32 characters (without spaces and padding).
        chars: usize,
    },
    /// An `otpauth://` URI could not be read, or is not a TOTP URI.
    #[error("the TOTP seed is not a valid otpauth://totp/ URI: {reason}")]
    Uri {
        /// What is wrong with it (never any part of the URI).
        reason: &'static str,
    },
    /// The algorithm is not SHA1, SHA256 or SHA512.
    #[error("unsupported TOTP algorithm: use SHA1, SHA256 or SHA512")]
    Algorithm,
    /// The number of digits is not 6, 7 or 8.
    #[error("unsupported TOTP digits {digits}: use 6, 7 or 8")]
    Digits {
        /// The number asked for.
        digits: u32,
    },
    /// The time step is zero.
    #[error("the TOTP period must be at least one second")]
    Period,
    /// The window-edge guard is as long as the period or longer, so no code could satisfy it.
    #[error("the TOTP guard of {guard_ms} ms is not shorter than the period of {period_s} s")]
    GuardTooLong {
        /// The guard asked for, in milliseconds.
        guard_ms: u128,
        /// The period, in seconds.
        period_s: u64,
    },
    /// After waiting for the next step the clock still showed less time left than the guard: a
    /// clock that does not move with the sleep.
    #[error("the clock did not move past the TOTP window edge while waiting")]
    ClockStalled,
    /// A secret of named fields has no `totp_secret` field.
    #[error("the secret {name:?} has no totp_secret field")]
    MissingField {
        /// The secret's name.
        name: String,
    },
    /// The secret's value is not UTF-8 text.
    #[error("the secret {name:?} is not text")]
    NotText {
        /// The secret's name.
        name: String,
    },
    /// The secret store could not give the secret.
    #[error("could not read the TOTP seed {name:?} from the store")]
    Store {
        /// The secret's name.
        name: String,
        /// The store's error.
        #[source]
        source: keyward_secrets_backends::Error,
    },
}
