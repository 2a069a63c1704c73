//! The schemes keyward signs with: venue presets and service schemes, by name.

use std::fmt;
use std::str::FromStr;

use crate::descriptor::Descriptor;
use crate::{presets, schemes};

/// A signing scheme: a venue's rules or one of the service schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Binance spot REST and WebSocket API.
    Binance,
    /// Bybit v5 REST and WebSocket `auth`.
    Bybit,
    /// OKX v5 REST and WebSocket `login`.
    Okx,
    /// Coinbase Exchange REST and WebSocket subscribe auth.
    CoinbaseExchange,
    /// Coinbase Advanced Trade with legacy HMAC API keys.
    CoinbaseAdvanced,
    /// Kraken spot REST.
    Kraken,
    /// BitMEX REST and WebSocket `authKeyExpires`.
    Bitmex,
    /// Deribit `deri-hmac-sha256` REST header and `public/auth` `client_signature`.
    Deribit,
    /// BitMart WebSocket `login`.
    Bitmart,
    /// `hmac-newline-v0`: compatible with a widespread Python pattern (see its module).
    HmacNewlineV0,
    /// `hmac-concat`: timestamp + METHOD + path + body (see its module).
    HmacConcat,
    /// `keyward-v1`: keyward's unambiguous scheme modelled on RFC 9421.
    KeywardV1,
}

impl Scheme {
    /// Every scheme.
    pub const ALL: [Scheme; 12] = [
        Scheme::Binance,
        Scheme::Bybit,
        Scheme::Okx,
        Scheme::CoinbaseExchange,
        Scheme::CoinbaseAdvanced,
        Scheme::Kraken,
        Scheme::Bitmex,
        Scheme::Deribit,
        Scheme::Bitmart,
        Scheme::HmacNewlineV0,
        Scheme::HmacConcat,
        Scheme::KeywardV1,
    ];

    /// The scheme's name, as the CLI spells it.
    pub fn name(self) -> &'static str {
        self.descriptor().name
    }

    /// Whether the scheme signs REST requests.
    pub fn has_rest(self) -> bool {
        self.descriptor().rest.is_some()
    }

    /// Whether the scheme builds a WebSocket auth message (or signed WebSocket parameters).
    pub fn has_ws(self) -> bool {
        self.descriptor().ws.is_some()
    }

    /// Whether the venue accepts keys of `kind` (for REST or WebSocket auth), as it documents:
    /// every scheme takes HMAC secrets; Binance also Ed25519 and RSA, Bybit RSA, Coinbase
    /// Advanced CDP keys (P-256 and Ed25519).
    pub fn accepts_key(self, kind: crate::keys::KeyKind) -> bool {
        self.descriptor().keys.accepts(kind)
    }

    /// Whether the signature covers the host a request is sent to (Coinbase Advanced with a
    /// CDP key: the JWT's `uri` claim): a client passes its origin as
    /// [`SignOptions::origin`](crate::SignOptions::origin).
    pub fn signs_host(self) -> bool {
        self.descriptor().signs_host
    }

    /// The scheme's descriptor, declared in its module: the one place that picks a scheme's
    /// rules by its name.
    pub(crate) fn descriptor(self) -> &'static Descriptor {
        match self {
            Scheme::Binance => &presets::binance::DESCRIPTOR,
            Scheme::Bybit => &presets::bybit::DESCRIPTOR,
            Scheme::Okx => &presets::okx::DESCRIPTOR,
            Scheme::CoinbaseExchange => &presets::coinbase::EXCHANGE,
            Scheme::CoinbaseAdvanced => &presets::coinbase::ADVANCED,
            Scheme::Kraken => &presets::kraken::DESCRIPTOR,
            Scheme::Bitmex => &presets::bitmex::DESCRIPTOR,
            Scheme::Deribit => &presets::deribit::DESCRIPTOR,
            Scheme::Bitmart => &presets::bitmart::DESCRIPTOR,
            Scheme::HmacNewlineV0 => &schemes::hmac_newline_v0::DESCRIPTOR,
            Scheme::HmacConcat => &schemes::hmac_concat::DESCRIPTOR,
            Scheme::KeywardV1 => &schemes::keyward_v1::DESCRIPTOR,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scheme name that keyward does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signing scheme {name:?}; known: {}", known())]
pub struct UnknownScheme {
    /// The name given.
    pub name: String,
}

fn known() -> String {
    Scheme::ALL.map(Scheme::name).join(", ")
}

impl FromStr for Scheme {
    type Err = UnknownScheme;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.name() == s)
            .ok_or_else(|| UnknownScheme { name: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for scheme in Scheme::ALL {
            assert_eq!(scheme.name().parse::<Scheme>().unwrap(), scheme);
        }
        let err = "nope".parse::<Scheme>().unwrap_err();
        assert!(err.to_string().contains("binance"));
    }
}
