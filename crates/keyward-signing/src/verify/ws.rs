//! Verifying WebSocket auth messages: the receiving side of [`Signer::ws_auth`].
//!
//! Each scheme's message is taken apart, re-signed with each candidate secret exactly as
//! [`Signer::ws_auth`] builds it, and the signatures compared in constant time. The checks run
//! in the same order as for REST requests (malformed, unknown key, signature, time, replay), and
//! only a message whose signature verified enters the replay cache.
//!
//! Time rules: Binance `timestamp` within `recvWindow` (default 5000 ms) past and 1000 ms ahead;
//! OKX and Coinbase Exchange `timestamp` (seconds) within 30 s either way; Bybit and BitMEX
//! `expires` in the future and no further ahead than the verifier's past window (at most
//! [`Window::MAX`]'s); Deribit, BitMart and hmac-concat `timestamp` (ms) within the verifier's
//! window (capped at [`Window::MAX`]).

use keyward_core_crypto::ct::ct_eq;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::options::SignOptions;
use crate::presets::okx::VENUE_WINDOW;
use crate::scheme::Scheme;
use crate::signer::Signer;
use crate::verify::{TimeRule, Verified, Verifier, VerifyError, Window, parse_u64};

/// Binance's default `recvWindow`, in milliseconds.
const BINANCE_RECV_DEFAULT_MS: u64 = 5000;

/// A WebSocket auth message taken apart.
struct WsClaim {
    key_id: String,
    provided: String,
    passphrase: Option<String>,
    time: TimeRule,
    /// The parameters and options that re-sign the message identically.
    params: Map<String, Value>,
    options: SignOptions,
}

impl Verifier {
    /// Verifies a WebSocket auth message as [`Signer::ws_auth`] builds it for this verifier's
    /// scheme: Binance (a WebSocket API request, or its `params`), Bybit `auth`, OKX `login`,
    /// Coinbase Exchange `subscribe`, BitMEX `authKeyExpires`, Deribit `public/auth`, BitMart
    /// `login` and hmac-concat `auth`. Other schemes have no auth message and are `Malformed`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use keyward_signing::verify::{StaticKeys, Verifier, VerifyError};
    /// use keyward_signing::{Credentials, FixedClock, Scheme, SignOptions, Signer};
    ///
    /// let creds = Credentials::new("key", "secret".into());
    /// let clock = Arc::new(FixedClock::new(1_700_000_000_000));
    /// let verifier = Verifier::new(Scheme::Bybit, Arc::new(StaticKeys::new().with(creds.clone())))
    ///     .with_clock(clock.clone());
    /// let message = Signer::new(Scheme::Bybit, &creds)?
    ///     .with_clock(clock)
    ///     .ws_auth(&Default::default(), &SignOptions::default())?;
    /// assert_eq!(verifier.verify_ws(&message).unwrap().key_id, "key");
    /// assert_eq!(verifier.verify_ws(&message), Err(VerifyError::Replayed));
    /// # Ok::<(), keyward_signing::Error>(())
    /// ```
    pub fn verify_ws(&self, message: &Value) -> Result<Verified, VerifyError> {
        let claim = ws_claim(self.scheme(), message, self.window())?;
        let candidates = self.keys().resolve(&claim.key_id);
        if candidates.is_empty() {
            return Err(VerifyError::UnknownKey);
        }
        let matched = candidates.iter().any(|creds| {
            let Ok(signer) = Signer::new(self.scheme(), creds) else {
                return false;
            };
            let Some(expected) = resign(&signer, &claim) else {
                return false;
            };
            if !ct_eq(expected.as_bytes(), claim.provided.as_bytes()) {
                return false;
            }
            match &claim.passphrase {
                None => true,
                Some(given) => creds
                    .passphrase()
                    .is_some_and(|p| ct_eq(p.expose_secret().as_bytes(), given.as_bytes())),
            }
        });
        if !matched {
            return Err(VerifyError::BadSignature);
        }
        let now = self.now_ms();
        if let Some(until) = claim.time.check(now)? {
            self.remember(&claim.provided, until, now)?;
        }
        Ok(Verified {
            key_id: claim.key_id,
            scheme: self.scheme(),
        })
    }
}

/// The signature `signer` computes for the claim's message, read out of the re-built message.
fn resign(signer: &Signer, claim: &WsClaim) -> Option<String> {
    if signer.scheme() == Scheme::Bybit {
        // Bybit's expires is in milliseconds, which `SignOptions::expires` (seconds) cannot carry.
        let expires = claim.params.get("expires").map(number_text)?;
        return Some(signer.mac.hex(&[b"GET/realtime", expires.as_bytes()]));
    }
    let rebuilt = signer.ws_auth(&claim.params, &claim.options).ok()?;
    let text = match signer.scheme() {
        Scheme::Binance | Scheme::CoinbaseExchange => rebuilt.get("signature"),
        Scheme::Okx => rebuilt.pointer("/args/0/sign"),
        Scheme::Bitmex | Scheme::Bitmart | Scheme::HmacConcat => rebuilt.pointer("/args/2"),
        Scheme::Deribit => rebuilt.pointer("/params/signature"),
        _ => None,
    }?;
    text.as_str().map(str::to_owned)
}

/// A number or a string of digits as text, exactly as signed.
fn number_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn malformed(what: &str) -> VerifyError {
    VerifyError::malformed(what.to_owned())
}

/// A string field.
fn text<'a>(value: Option<&'a Value>, what: &str) -> Result<&'a str, VerifyError> {
    value
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(&format!("{what} is missing or not a string")))
}

/// A whole number given as a JSON number or a string of digits.
fn whole(value: Option<&Value>, what: &str) -> Result<u64, VerifyError> {
    match value {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| malformed(&format!("{what} is not a whole number"))),
        Some(Value::String(s)) => parse_u64(what, s),
        _ => Err(malformed(&format!("{what} is missing"))),
    }
}

/// Seconds to milliseconds, refusing overflow.
fn secs_to_ms(secs: u64, what: &str) -> Result<u64, VerifyError> {
    secs.checked_mul(1000)
        .ok_or_else(|| malformed(&format!("{what} is out of range")))
}

/// `[key, time, signature]` from an `args` array.
fn triple(message: &Value) -> Result<(&str, &Value, &str), VerifyError> {
    let args = message
        .get("args")
        .and_then(Value::as_array)
        .filter(|a| a.len() == 3)
        .ok_or_else(|| malformed("args must be [key, time, signature]"))?;
    Ok((
        text(args.first(), "args[0]")?,
        &args[1],
        text(args.get(2), "args[2]")?,
    ))
}

fn window_rule(timestamp_ms: u64, window: Window) -> TimeRule {
    TimeRule::Window {
        timestamp_ms,
        window,
        expires_ms: None,
    }
}

fn ws_claim(scheme: Scheme, message: &Value, window: Window) -> Result<WsClaim, VerifyError> {
    let mut claim = WsClaim {
        key_id: String::new(),
        provided: String::new(),
        passphrase: None,
        time: TimeRule::Nonce(0),
        params: Map::new(),
        options: SignOptions::default(),
    };
    match scheme {
        Scheme::Binance => {
            let params = message
                .get("params")
                .unwrap_or(message)
                .as_object()
                .ok_or_else(|| malformed("params must be an object"))?;
            claim.key_id = text(params.get("apiKey"), "params.apiKey")?.to_owned();
            claim.provided = text(params.get("signature"), "params.signature")?.to_owned();
            let timestamp = whole(params.get("timestamp"), "params.timestamp")?;
            let recv = match params.get("recvWindow") {
                Some(Value::Number(n)) => {
                    crate::presets::binance::recv_window_ms("params.recvWindow", &n.to_string())?
                }
                Some(Value::String(s)) => {
                    crate::presets::binance::recv_window_ms("params.recvWindow", s)?
                }
                Some(_) => return Err(malformed("params.recvWindow is not a number")),
                None => BINANCE_RECV_DEFAULT_MS,
            };
            claim.time = window_rule(
                timestamp,
                Window {
                    past_ms: recv,
                    future_ms: 1000,
                },
            );
            claim.params = params.clone();
            claim.params.remove("signature");
        }
        Scheme::Bybit | Scheme::Bitmex => {
            let (key, expires, sig) = triple(message)?;
            let expires_num = whole(Some(expires), "args[1]")?;
            let expires_ms = if scheme == Scheme::Bybit {
                expires_num
            } else {
                claim.options.expires = Some(expires_num);
                secs_to_ms(expires_num, "args[1]")?
            };
            claim.key_id = key.to_owned();
            claim.provided = sig.to_owned();
            claim.time = TimeRule::Expires {
                expires_ms,
                max_ahead_ms: window.past_ms,
            };
            claim.params.insert("expires".into(), expires.clone());
        }
        Scheme::Okx => {
            let arg = message
                .pointer("/args/0")
                .ok_or_else(|| malformed("args[0] is missing"))?;
            claim.key_id = text(arg.get("apiKey"), "apiKey")?.to_owned();
            claim.provided = text(arg.get("sign"), "sign")?.to_owned();
            claim.passphrase = Some(text(arg.get("passphrase"), "passphrase")?.to_owned());
            let ms = secs_to_ms(whole(arg.get("timestamp"), "timestamp")?, "timestamp")?;
            claim.time = window_rule(ms, VENUE_WINDOW);
            claim.options = SignOptions::at(ms);
        }
        Scheme::CoinbaseExchange => {
            claim.key_id = text(message.get("key"), "key")?.to_owned();
            claim.provided = text(message.get("signature"), "signature")?.to_owned();
            claim.passphrase = Some(text(message.get("passphrase"), "passphrase")?.to_owned());
            let ms = secs_to_ms(whole(message.get("timestamp"), "timestamp")?, "timestamp")?;
            claim.time = window_rule(ms, VENUE_WINDOW);
            claim.options = SignOptions::at(ms);
        }
        Scheme::Deribit => {
            let params = message
                .get("params")
                .ok_or_else(|| malformed("params is missing"))?;
            if params.get("grant_type").and_then(Value::as_str) != Some("client_signature") {
                return Err(malformed("params.grant_type must be client_signature"));
            }
            claim.key_id = text(params.get("client_id"), "params.client_id")?.to_owned();
            claim.provided = text(params.get("signature"), "params.signature")?.to_owned();
            let ms = whole(params.get("timestamp"), "params.timestamp")?;
            claim.time = window_rule(ms, window);
            claim.options = SignOptions {
                nonce: Some(text(params.get("nonce"), "params.nonce")?.to_owned()),
                data: params
                    .get("data")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                ..SignOptions::at(ms)
            };
        }
        Scheme::Bitmart | Scheme::HmacConcat => {
            let (key, ts, sig) = triple(message)?;
            let ms = whole(Some(ts), "args[1]")?;
            claim.key_id = key.to_owned();
            claim.provided = sig.to_owned();
            claim.time = window_rule(ms, window);
            claim.options = SignOptions::at(ms);
        }
        _ => {
            return Err(VerifyError::malformed(format!(
                "{scheme} has no WebSocket auth message"
            )));
        }
    }
    Ok(claim)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Map, Value, json};

    use crate::verify::{StaticKeys, Verifier, VerifyError};
    use crate::{Credentials, FixedClock, Scheme, SignOptions, Signer};

    const NOW: u64 = 1_700_000_000_000;

    fn creds(scheme: Scheme, secret: &str) -> Credentials {
        let secret = if scheme == Scheme::CoinbaseExchange {
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, secret)
        } else {
            secret.to_owned()
        };
        Credentials::new("key-1", secret.into()).with_passphrase("pass".into())
    }

    fn setup(scheme: Scheme) -> (Verifier, Arc<FixedClock>) {
        let clock = Arc::new(FixedClock::new(NOW));
        let keys = StaticKeys::new().with(creds(scheme, "right"));
        let verifier = Verifier::new(scheme, Arc::new(keys)).with_clock(clock.clone());
        (verifier, clock)
    }

    fn message(scheme: Scheme, secret: &str, at_ms: u64) -> Value {
        let signer = Signer::new(scheme, &creds(scheme, secret))
            .unwrap()
            .with_clock(Arc::new(FixedClock::new(at_ms)));
        let mut params = Map::new();
        if scheme == Scheme::Binance {
            params.insert("symbol".into(), json!("BTCUSDT"));
        }
        let msg = signer.ws_auth(&params, &SignOptions::default()).unwrap();
        if scheme == Scheme::Binance {
            json!({"id": 1, "method": "session.logon", "params": msg})
        } else {
            msg
        }
    }

    const WS: [Scheme; 8] = [
        Scheme::Binance,
        Scheme::Bybit,
        Scheme::Okx,
        Scheme::CoinbaseExchange,
        Scheme::Bitmex,
        Scheme::Deribit,
        Scheme::Bitmart,
        Scheme::HmacConcat,
    ];

    #[test]
    fn every_scheme_verifies_and_refuses_a_replay() {
        for scheme in WS {
            let (verifier, _) = setup(scheme);
            let msg = message(scheme, "right", NOW);
            assert_eq!(
                verifier.verify_ws(&msg).unwrap().key_id,
                "key-1",
                "{scheme}"
            );
            assert_eq!(
                verifier.verify_ws(&msg),
                Err(VerifyError::Replayed),
                "{scheme}"
            );
        }
    }

    #[test]
    fn a_wrong_secret_is_a_bad_signature_and_is_not_remembered() {
        for scheme in WS {
            let (verifier, _) = setup(scheme);
            let forged = message(scheme, "wrong", NOW);
            assert_eq!(
                verifier.verify_ws(&forged),
                Err(VerifyError::BadSignature),
                "{scheme}"
            );
            assert_eq!(
                verifier.verify_ws(&forged),
                Err(VerifyError::BadSignature),
                "{scheme}"
            );
        }
    }

    #[test]
    fn a_stale_message_is_expired() {
        for scheme in WS {
            let (verifier, _) = setup(scheme);
            let old = message(scheme, "right", NOW - 3_600_000);
            assert!(
                matches!(verifier.verify_ws(&old), Err(VerifyError::Expired { .. })),
                "{scheme}"
            );
        }
    }

    #[test]
    fn unknown_keys_and_garbage_are_typed_errors() {
        let (verifier, _) = setup(Scheme::Bybit);
        let msg = json!({"op": "auth", "args": ["nobody", NOW + 1000, "00"]});
        assert_eq!(verifier.verify_ws(&msg), Err(VerifyError::UnknownKey));
        for garbage in [
            json!(null),
            json!({"op": "auth"}),
            json!({"args": [1, 2, 3]}),
            json!({"args": ["k", "x", "s"]}),
        ] {
            assert!(matches!(
                verifier.verify_ws(&garbage),
                Err(VerifyError::Malformed(_))
            ));
        }
        let (kraken, _) = setup(Scheme::Kraken);
        assert!(matches!(
            kraken.verify_ws(&json!({})),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn a_wrong_passphrase_is_refused() {
        let (verifier, _) = setup(Scheme::Okx);
        let mut msg = message(Scheme::Okx, "right", NOW);
        msg["args"][0]["passphrase"] = json!("other");
        assert_eq!(verifier.verify_ws(&msg), Err(VerifyError::BadSignature));
    }
}
