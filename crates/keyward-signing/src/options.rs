//! Per-request signing options: everything a caller may fix instead of the clock or a nonce
//! source.

/// Values a caller may fix for one request; anything left `None` comes from the signer's clock
/// or nonce source. Times are always given in the unit named here; each scheme converts to its
/// venue's unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignOptions {
    /// The timestamp, in milliseconds since the Unix epoch.
    pub timestamp_ms: Option<u64>,
    /// The nonce (Kraken, Deribit, keyward-v1).
    pub nonce: Option<String>,
    /// When the signature expires, in seconds since the Unix epoch (BitMEX, Bybit WS, keyward-v1).
    pub expires: Option<u64>,
    /// The receive window in milliseconds (Binance: added only when given; Bybit: 5000 if not).
    pub recv_window_ms: Option<u64>,
    /// Header names the signature covers (hmac-newline-v0, keyward-v1). hmac-newline-v0 signs
    /// each name exactly as written here (its case kept, as the Python pattern does); keyward-v1
    /// lower-cases them.
    pub signed_headers: Vec<String>,
    /// Deribit `client_signature`: the optional data part (empty if not given).
    pub data: Option<String>,
    /// hmac-newline-v0: sign the absolute URL `origin + path?query` (for example
    /// `https://api.example.com`) instead of `path?query`, as Python clients that sign
    /// `request.url` do. Coinbase Advanced with a CDP key: the origin whose host the JWT's
    /// `uri` claim names (default `https://api.coinbase.com`; see [`crate::Scheme::signs_host`]).
    pub origin: Option<String>,
    /// Binance WebSocket API: the method the parameters are signed for. `session.logon` takes
    /// Ed25519 keys only, so any other key is refused before anything is signed.
    pub method: Option<String>,
}

impl SignOptions {
    /// Options that fix the timestamp.
    pub fn at(timestamp_ms: u64) -> Self {
        Self {
            timestamp_ms: Some(timestamp_ms),
            ..Self::default()
        }
    }
}
