//! [`Totp`]: RFC 6238 time-based one-time passwords (on totp-rs) at an injected time, with a
//! window-edge guard for logins.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use keyward_resilience::{Sleep, TokioSleep};
use keyward_secrets_backends::SecretStore;
use keyward_signing::{Clock, SystemClock};
use zeroize::Zeroizing;

use super::totp_error::TotpError;
use super::totp_seed::{self, SeedParams};

/// The HMAC a TOTP uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TotpAlgorithm {
    /// HMAC-SHA-1: the default of RFC 6238 and of authenticator apps.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl TotpAlgorithm {
    /// The name `otpauth://` URIs use: `SHA1`, `SHA256` or `SHA512`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    fn library(self) -> totp_rs::Algorithm {
        match self {
            Self::Sha1 => totp_rs::Algorithm::SHA1,
            Self::Sha256 => totp_rs::Algorithm::SHA256,
            Self::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

impl FromStr for TotpAlgorithm {
    type Err = TotpError;

    /// `SHA1`, `SHA256` or `SHA512`, in any case, with or without a dash (`sha-256`).
    fn from_str(name: &str) -> Result<Self, TotpError> {
        let name: String = name
            .chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        match name.as_str() {
            "SHA1" => Ok(Self::Sha1),
            "SHA256" => Ok(Self::Sha256),
            "SHA512" => Ok(Self::Sha512),
            _ => Err(TotpError::Algorithm),
        }
    }
}

/// How many times [`Totp::code_for_login`] waits for a step before deciding the clock stalled:
/// once to the window edge, once more if the sleep woke just before the wall clock crossed it.
const MAX_WAITS: usize = 2;

/// A TOTP generator: a secret seed, its algorithm, digits and period, and the clock and sleep
/// it reads time with (the system clock and tokio's sleep unless injected).
///
/// The seed never leaves it: it is wiped when the generator is dropped, `Debug` shows only the
/// parameters, and no error carries it.
///
/// ```
/// use keyward_exchange_client::session::Totp;
///
/// let totp = Totp::parse("otpauth://totp/acme:bot?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8")?;
/// let code = totp.code_at_ms(59_000); // RFC 6238 appendix B, T = 59 s
/// assert_eq!(code.expose(), "94287082");
/// assert_eq!(code.remaining().as_secs(), 1);
/// # Ok::<(), keyward_exchange_client::session::TotpError>(())
/// ```
pub struct Totp {
    /// totp-rs's generator; it holds the seed and zeroizes it on drop (feature `zeroize`).
    inner: totp_rs::TOTP,
    algorithm: TotpAlgorithm,
    digits: u32,
    period: u64,
    clock: Arc<dyn Clock>,
    sleep: Arc<dyn Sleep>,
}

impl Totp {
    /// A generator over the raw `seed` bytes. Digits are 6, 7 or 8; the period is in seconds.
    pub fn new(
        seed: &[u8],
        algorithm: TotpAlgorithm,
        digits: u32,
        period: u64,
    ) -> Result<Self, TotpError> {
        if seed.is_empty() {
            return Err(TotpError::EmptySeed);
        }
        if !(6..=8).contains(&digits) {
            return Err(TotpError::Digits { digits });
        }
        if period == 0 {
            return Err(TotpError::Period);
        }
        // Unchecked: totp-rs's checked constructor refuses seeds under 128 bits, and
        // authenticator seeds of 80 bits are common; the checks above are RFC 6238's.
        let inner = totp_rs::TOTP::new_unchecked(
            algorithm.library(),
            digits as usize,
            0,
            period,
            seed.to_vec(),
        );
        Ok(Self {
            inner,
            algorithm,
            digits,
            period,
            clock: Arc::new(SystemClock),
            sleep: Arc::new(TokioSleep),
        })
    }

    /// A generator from a seed's text: an `otpauth://totp/` URI (its `secret`, `algorithm`,
    /// `digits` and `period`), or else a base32 seed (SHA-1, 6 digits, 30 s). Base32 may be in
    /// lower case, in groups separated by spaces or dashes, and without its `=` padding.
    pub fn parse(seed: &str) -> Result<Self, TotpError> {
        Self::from_params(&totp_seed::parse(seed)?)
    }

    /// A generator from the secret `name` of `store`: its whole value, or its
    /// [`TOTP_SECRET_FIELD`](super::TOTP_SECRET_FIELD) field, read as [`Totp::parse`] reads.
    pub async fn from_store(store: &dyn SecretStore, name: &str) -> Result<Self, TotpError> {
        Self::from_params(&totp_seed::from_store(store, name).await?)
    }

    fn from_params(params: &SeedParams) -> Result<Self, TotpError> {
        Self::new(&params.seed, params.algorithm, params.digits, params.period)
    }

    /// Reads wall time from `clock` (tests: a `FixedClock`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Waits with `sleep` in [`Totp::code_for_login`] (tests: a sleep that moves the clock).
    pub fn with_sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.sleep = sleep;
        self
    }

    /// The HMAC algorithm.
    pub fn algorithm(&self) -> TotpAlgorithm {
        self.algorithm
    }

    /// The number of digits of a code.
    pub fn digits(&self) -> u32 {
        self.digits
    }

    /// The time step, in seconds.
    pub fn period(&self) -> u64 {
        self.period
    }

    /// The code valid at `unix_ms` milliseconds since the Unix epoch, and the time it has left.
    pub fn code_at_ms(&self, unix_ms: u64) -> TotpCode {
        let period_ms = self.period.saturating_mul(1000);
        let step = unix_ms / period_ms;
        let remaining = Duration::from_millis(period_ms - unix_ms % period_ms);
        TotpCode {
            code: Zeroizing::new(self.inner.generate(unix_ms / 1000)),
            step,
            remaining,
        }
    }

    /// The code valid now, by the generator's clock.
    pub fn current(&self) -> TotpCode {
        self.code_at_ms(self.clock.now_ms())
    }

    /// A code to submit to a login: the current one when at least `min_remaining` of its step is
    /// left, else, after waiting (with the generator's sleep) for the next step, that step's
    /// code. A slow login then never submits a code that expires in flight.
    ///
    /// Errors: a `min_remaining` not shorter than the period ([`TotpError::GuardTooLong`]), or a
    /// clock that does not move past the step's end while waiting ([`TotpError::ClockStalled`]).
    pub async fn code_for_login(&self, min_remaining: Duration) -> Result<TotpCode, TotpError> {
        if min_remaining >= Duration::from_secs(self.period) {
            return Err(TotpError::GuardTooLong {
                guard_ms: min_remaining.as_millis(),
                period_s: self.period,
            });
        }
        let mut code = self.current();
        let mut waits = 0;
        while code.remaining < min_remaining {
            if waits == MAX_WAITS {
                return Err(TotpError::ClockStalled);
            }
            waits += 1;
            tracing::debug!(
                wait_ms = u64::try_from(code.remaining.as_millis()).unwrap_or(u64::MAX),
                guard_ms = u64::try_from(min_remaining.as_millis()).unwrap_or(u64::MAX),
                "TOTP code too close to the end of its step; waiting for the next step"
            );
            self.sleep.sleep(code.remaining).await;
            code = self.current();
        }
        Ok(code)
    }
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("seed", &"[redacted]")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

/// One TOTP code and the time it has left. The code is wiped on drop and redacted in `Debug`;
/// [`TotpCode::expose`] is the one way to read it.
pub struct TotpCode {
    code: Zeroizing<String>,
    step: u64,
    remaining: Duration,
}

impl TotpCode {
    /// The code's digits, to submit.
    pub fn expose(&self) -> &str {
        &self.code
    }

    /// The time step it belongs to (Unix time divided by the period).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The time left until the step ends and the code expires.
    pub fn remaining(&self) -> Duration {
        self.remaining
    }
}

impl fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpCode")
            .field("code", &"[redacted]")
            .field("step", &self.step)
            .field("remaining", &self.remaining)
            .finish()
    }
}
