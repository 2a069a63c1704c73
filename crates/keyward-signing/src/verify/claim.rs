//! What a received request claims: its key, signature, time and how to recompute the signature.
//! Each scheme's module builds a [`Claim`] from a received request (`claim` functions next to
//! each scheme's `sign`); the verifier checks it the same way for every scheme.

use crate::options::SignOptions;
use crate::request::Request;
use crate::signature::Encoding;
use crate::verify::VerifyError;

/// The freshness window of the service schemes, and the default for schemes whose venue
/// documents none: how far into the past and the future a request's time may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// How old a request may be, in milliseconds (inclusive).
    pub past_ms: u64,
    /// How far ahead of the server's clock a request may be, in milliseconds (inclusive).
    pub future_ms: u64,
}

impl Window {
    /// 300 s into the past, 5 s into the future.
    pub const DEFAULT: Window = Window {
        past_ms: 300_000,
        future_ms: 5_000,
    };

    /// The widest window any request is judged by: 1 hour into the past, 1 minute into the
    /// future. A wider window, whether configured ([`crate::verify::Verifier::with_window`]) or
    /// carried by the request (Bybit's `X-BAPI-RECV-WINDOW`), counts as this one, so every
    /// replay-cache entry expires within [`crate::verify::MAX_ENTRY_LIFETIME_MS`].
    pub const MAX: Window = Window {
        past_ms: 3_600_000,
        future_ms: 60_000,
    };

    /// This window, each side capped at [`Window::MAX`].
    pub fn capped(self) -> Window {
        Window {
            past_ms: self.past_ms.min(Window::MAX.past_ms),
            future_ms: self.future_ms.min(Window::MAX.future_ms),
        }
    }
}

impl Default for Window {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The time rule a request must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeRule {
    /// `timestamp` must lie in `[now - past, now + future]` (the window capped at
    /// [`Window::MAX`]); with `expires_ms`, `now` must also be before it.
    Window {
        timestamp_ms: u64,
        window: Window,
        expires_ms: Option<u64>,
    },
    /// `now < expires <= now + max_ahead` (`max_ahead` capped at [`Window::MAX`]'s past).
    Expires { expires_ms: u64, max_ahead_ms: u64 },
    /// A nonce that must exceed the last one accepted for the key (Kraken).
    Nonce(u64),
}

impl TimeRule {
    /// `timestamp_ms` within `window`.
    pub(crate) fn at(timestamp_ms: u64, window: Window) -> TimeRule {
        TimeRule::Window {
            timestamp_ms,
            window,
            expires_ms: None,
        }
    }

    /// The earliest time at which a verifier could have accepted a request under this rule:
    /// `timestamp - future` for a window (capped at [`Window::MAX`]), `expires - max_ahead` for
    /// an expiry rule (capped likewise); 0 for a nonce rule (never remembered).
    pub(crate) fn valid_from_ms(&self) -> u64 {
        match *self {
            TimeRule::Window {
                timestamp_ms,
                window,
                ..
            } => timestamp_ms.saturating_sub(window.capped().future_ms),
            TimeRule::Expires {
                expires_ms,
                max_ahead_ms,
            } => expires_ms.saturating_sub(max_ahead_ms.min(Window::MAX.past_ms)),
            TimeRule::Nonce(_) => 0,
        }
    }

    /// Checks the rule at `now_ms`; on success, until when the request must be remembered to
    /// refuse a replay (None for nonce rules, which refuse replays by themselves).
    pub(crate) fn check(&self, now_ms: u64) -> Result<Option<u64>, VerifyError> {
        match *self {
            TimeRule::Window {
                timestamp_ms,
                window,
                expires_ms,
            } => {
                let window = window.capped();
                let latest = now_ms.saturating_add(window.future_ms);
                if timestamp_ms > latest {
                    return Err(VerifyError::TooFarInFuture {
                        ahead_ms: timestamp_ms - latest,
                    });
                }
                let oldest = timestamp_ms.saturating_add(window.past_ms);
                if now_ms > oldest {
                    return Err(VerifyError::Expired {
                        age_ms: now_ms - oldest,
                    });
                }
                let mut remember_until = oldest.saturating_add(1);
                if let Some(expires) = expires_ms {
                    if now_ms >= expires {
                        return Err(VerifyError::Expired {
                            age_ms: now_ms - expires,
                        });
                    }
                    remember_until = remember_until.min(expires);
                }
                Ok(Some(remember_until))
            }
            TimeRule::Expires {
                expires_ms,
                max_ahead_ms,
            } => {
                if now_ms >= expires_ms {
                    return Err(VerifyError::Expired {
                        age_ms: now_ms - expires_ms,
                    });
                }
                let latest = now_ms.saturating_add(max_ahead_ms.min(Window::MAX.past_ms));
                if expires_ms > latest {
                    return Err(VerifyError::TooFarInFuture {
                        ahead_ms: expires_ms - latest,
                    });
                }
                Ok(Some(expires_ms))
            }
            TimeRule::Nonce(_) => Ok(None),
        }
    }
}

/// A received request, taken apart by its scheme.
#[derive(Debug)]
pub(crate) struct Claim {
    /// The key the request names (None: try every key, `hmac-newline-v0`).
    pub(crate) key_id: Option<String>,
    /// The signature as received.
    pub(crate) provided: String,
    /// The passphrase header as received (OKX, Coinbase Exchange), compared with the key's.
    pub(crate) passphrase: Option<String>,
    /// The time rule.
    pub(crate) time: TimeRule,
    /// The request without its signature, and the options that re-sign it identically.
    pub(crate) unsigned: Request,
    pub(crate) options: SignOptions,
    /// Where the signature sits in a re-signed request.
    pub(crate) signature_at: SignatureAt,
    /// What identifies the request for the replay cache when it is not the signature (a nonce).
    pub(crate) replay_basis: Option<String>,
}

/// Where a scheme puts the signature in a signed request.
#[derive(Debug, Clone)]
pub(crate) enum SignatureAt {
    /// The whole value of this header.
    Header(&'static str),
    /// Read by the scheme (inside a header, or a parameter).
    Read(fn(&Request) -> Option<String>),
    /// The signature covers these bytes exactly as received (a JWT's signing input), so the
    /// request is not re-signed: the key checks the signature over them.
    Covers(Vec<u8>, Encoding),
}

impl SignatureAt {
    /// The signature in a re-signed `request`, if there is one.
    pub(crate) fn read(&self, request: &Request) -> Option<String> {
        match self {
            SignatureAt::Header(name) => request.header(name).map(str::to_owned),
            SignatureAt::Read(read) => read(request),
            SignatureAt::Covers(..) => None,
        }
    }
}

/// The value of a header that must be present.
pub(crate) fn required_header<'a>(req: &'a Request, name: &str) -> Result<&'a str, VerifyError> {
    req.header(name)
        .ok_or_else(|| VerifyError::malformed(format!("header {name} is missing")))
}

/// A header or parameter holding a decimal integer.
pub(crate) fn parse_u64(what: &str, text: &str) -> Result<u64, VerifyError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::malformed(format!(
            "{what} is not a whole number"
        )));
    }
    text.parse()
        .map_err(|_| VerifyError::malformed(format!("{what} is out of range")))
}

/// The request without the header `name`.
pub(crate) fn without_header(req: &Request, name: &str) -> Request {
    let mut out = req.clone();
    out.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Window = Window {
        past_ms: 100,
        future_ms: 10,
    };

    fn at(ts: u64) -> TimeRule {
        TimeRule::Window {
            timestamp_ms: ts,
            window: W,
            expires_ms: None,
        }
    }

    #[test]
    fn window_edges_are_inclusive() {
        assert_eq!(at(1010).check(1000), Ok(Some(1111)));
        assert_eq!(
            at(1011).check(1000),
            Err(VerifyError::TooFarInFuture { ahead_ms: 1 })
        );
        assert!(at(900).check(1000).is_ok());
        assert_eq!(at(899).check(1000), Err(VerifyError::Expired { age_ms: 1 }));
        assert!(at(u64::MAX).check(0).is_err());
        assert!(at(0).check(u64::MAX).is_err());
    }

    #[test]
    fn expiry_rules() {
        let rule = TimeRule::Expires {
            expires_ms: 2000,
            max_ahead_ms: 1000,
        };
        assert_eq!(rule.check(1999), Ok(Some(2000)));
        assert_eq!(rule.check(2000), Err(VerifyError::Expired { age_ms: 0 }));
        assert_eq!(
            rule.check(999),
            Err(VerifyError::TooFarInFuture { ahead_ms: 1 })
        );
        assert!(rule.check(1000).is_ok());
        let both = TimeRule::Window {
            timestamp_ms: 1000,
            window: W,
            expires_ms: Some(1050),
        };
        assert_eq!(both.check(1049), Ok(Some(1050)));
        assert!(both.check(1050).is_err());
    }

    #[test]
    fn windows_are_capped_at_the_maximum() {
        let wide = TimeRule::Window {
            timestamp_ms: 0,
            window: Window {
                past_ms: u64::MAX,
                future_ms: u64::MAX,
            },
            expires_ms: None,
        };
        let max = Window::MAX;
        assert_eq!(wide.check(max.past_ms), Ok(Some(max.past_ms + 1)));
        assert_eq!(
            wide.check(max.past_ms + 1),
            Err(VerifyError::Expired { age_ms: 1 })
        );
        let ahead = TimeRule::Window {
            timestamp_ms: 1_000_000 + max.future_ms + 1,
            window: Window {
                past_ms: 0,
                future_ms: u64::MAX,
            },
            expires_ms: None,
        };
        assert_eq!(
            ahead.check(1_000_000),
            Err(VerifyError::TooFarInFuture { ahead_ms: 1 })
        );
        let far = TimeRule::Expires {
            expires_ms: max.past_ms + 1,
            max_ahead_ms: u64::MAX,
        };
        assert_eq!(
            far.check(0),
            Err(VerifyError::TooFarInFuture { ahead_ms: 1 })
        );
        assert_eq!(Window::DEFAULT.capped(), Window::DEFAULT);
    }

    #[test]
    fn valid_from_is_the_first_instant_of_acceptance() {
        // A window: the earliest `now` that passes is `timestamp - future`.
        assert_eq!(at(1010).valid_from_ms(), 1000);
        assert!(at(1010).check(1000).is_ok());
        assert!(at(1010).check(999).is_err());
        // An expiry: the earliest `now` that passes is `expires - max_ahead`.
        let rule = TimeRule::Expires {
            expires_ms: 2000,
            max_ahead_ms: 1000,
        };
        assert_eq!(rule.valid_from_ms(), 1000);
        assert!(rule.check(1000).is_ok());
        assert!(rule.check(999).is_err());
        let capped = TimeRule::Expires {
            expires_ms: u64::MAX,
            max_ahead_ms: u64::MAX,
        };
        assert_eq!(capped.valid_from_ms(), u64::MAX - Window::MAX.past_ms);
        assert_eq!(at(3).valid_from_ms(), 0);
        assert_eq!(TimeRule::Nonce(5).valid_from_ms(), 0);
    }

    #[test]
    fn numbers_are_strict() {
        assert_eq!(parse_u64("x", "12"), Ok(12));
        assert!(parse_u64("x", "").is_err());
        assert!(parse_u64("x", "+1").is_err());
        assert!(parse_u64("x", "99999999999999999999999").is_err());
    }
}
