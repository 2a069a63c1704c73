//! What a venue's refusal of a WebSocket authentication means, from the error code the venue
//! documents for it: a timestamp outside the venue's window, a rate limit, or (any other code,
//! or none) a refusal of the credentials. Each venue's codes are declared in its own module;
//! a message's words are never read.

use super::Venue;
use crate::error::ErrorKind;

/// How a WebSocket authentication refusal reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WsRefusal {
    /// The signed time was outside the venue's window: resync the clock and try again.
    Timestamp,
    /// Too many requests: wait and try again.
    RateLimited,
    /// The credentials (key, secret, passphrase or permissions) were refused.
    Credentials,
}

impl Venue {
    /// What the venue meant by refusing a WebSocket authentication with `code`. Bybit,
    /// Coinbase Exchange, Kraken, BitMart and the service schemes document no code that tells
    /// a transient refusal of a WebSocket login from a bad key.
    pub(crate) fn ws_auth_refusal(self, code: Option<&str>) -> WsRefusal {
        match code.and_then(|code| self.rules.ws_auth_refusal(code)) {
            Some(ErrorKind::Timestamp) => WsRefusal::Timestamp,
            Some(ErrorKind::RateLimited) => WsRefusal::RateLimited,
            _ => WsRefusal::Credentials,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_signing::Scheme;

    fn refusal(scheme: Scheme, code: Option<&str>) -> WsRefusal {
        Venue::new(scheme).ws_auth_refusal(code)
    }

    #[test]
    fn each_venue_declares_its_own_codes() {
        use WsRefusal::*;
        let cases = [
            (Scheme::Binance, Some("-1021"), Timestamp),
            (Scheme::Binance, Some("-1003"), RateLimited),
            (Scheme::Binance, Some("-1022"), Credentials),
            (Scheme::Binance, Some("-2015"), Credentials),
            (Scheme::Okx, Some("60004"), Timestamp),
            (Scheme::Okx, Some("60006"), Timestamp),
            (Scheme::Okx, Some("60014"), RateLimited),
            (Scheme::Okx, Some("60009"), Credentials),
            (Scheme::Deribit, Some("10028"), RateLimited),
            (Scheme::Deribit, Some("13004"), Credentials),
            (Scheme::Bitmex, Some("429"), RateLimited),
            (Scheme::Bitmex, Some("401"), Credentials),
            // Another venue's code means nothing here.
            (Scheme::Bybit, Some("-1021"), Credentials),
            (Scheme::Binance, Some("60004"), Credentials),
            (Scheme::Binance, None, Credentials),
        ];
        for (scheme, code, want) in cases {
            assert_eq!(refusal(scheme, code), want, "{scheme} {code:?}");
        }
    }
}
