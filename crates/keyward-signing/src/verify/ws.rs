//! Verifying WebSocket auth messages: the receiving side of [`Signer::ws_auth`].
//!
//! Each scheme's `ws_claim`, next to its `ws_auth` in its module, takes its message apart: the
//! key, the signature, the time rule, and how to re-sign it. Here the shared flow re-signs the
//! message with each candidate secret exactly as [`Signer::ws_auth`] builds it and compares the
//! signatures in constant time. The checks run in the same order as for REST requests
//! (malformed, unknown key, signature, time, replay), and only a message whose signature
//! verified enters the replay cache.
//!
//! Time rules, declared in each scheme's descriptor: Binance `timestamp` within `recvWindow`
//! (default 5000 ms) past and 1000 ms ahead; OKX and Coinbase Exchange `timestamp` (seconds)
//! within 30 s either way; Bybit and BitMEX `expires` in the future and no further ahead than
//! the verifier's past window (at most [`Window::MAX`]'s); Deribit, BitMart and hmac-concat
//! `timestamp` (ms) within the verifier's window (capped at [`Window::MAX`]).

use keyward_core_crypto::ct::ct_eq;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::descriptor::Context;
use crate::options::SignOptions;
use crate::signer::Signer;
#[cfg(doc)]
use crate::verify::Window;
use crate::verify::{Checked, TimeRule, Verified, Verifier, VerifyError, parse_u64};

/// A WebSocket auth message taken apart by its scheme.
#[derive(Debug)]
pub(crate) struct WsClaim {
    /// The key the message names.
    pub(crate) key_id: String,
    /// The signature as received.
    pub(crate) provided: String,
    /// The passphrase as received (OKX, Coinbase Exchange), compared with the key's.
    pub(crate) passphrase: Option<String>,
    /// The time rule.
    pub(crate) time: TimeRule,
    /// The parameters and options that re-sign the message identically.
    pub(crate) params: Map<String, Value>,
    pub(crate) options: SignOptions,
    /// How the expected signature is computed.
    pub(crate) resign: Resign,
}

/// How the verifier computes the signature a message should carry.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Resign {
    /// Rebuild the message with [`Signer::ws_auth`] from the claim's parameters and options,
    /// and read the signature at this JSON pointer.
    Rebuilt(&'static str),
    /// The scheme computes it from the claim (when the options cannot carry what was signed).
    Computed(fn(&Signer, &WsClaim) -> Option<String>),
}

impl WsClaim {
    /// A claim with no passphrase, parameters or options.
    pub(crate) fn new(key_id: &str, provided: &str, time: TimeRule, resign: Resign) -> Self {
        Self {
            key_id: key_id.to_owned(),
            provided: provided.to_owned(),
            passphrase: None,
            time,
            params: Map::new(),
            options: SignOptions::default(),
            resign,
        }
    }

    /// The signature `signer` computes for this message.
    fn expected(&self, signer: &Signer) -> Option<String> {
        match self.resign {
            Resign::Rebuilt(pointer) => {
                let rebuilt = signer.ws_auth(&self.params, &self.options).ok()?;
                rebuilt.pointer(pointer)?.as_str().map(str::to_owned)
            }
            Resign::Computed(compute) => compute(signer, self),
        }
    }
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
        let _span = super::observe::span(self.descriptor.scheme).entered();
        self.observed(
            self.check_ws_message(message)
                .and_then(|checked| self.remember(checked)),
        )
    }

    /// [`Self::verify_ws`] for a verifier whose replay cache is shared (say
    /// `keyward_signing::redis::RedisReplayCache`): the same checks in the same order, the
    /// replay step awaited (see [`Verifier::verify_async`]).
    pub async fn verify_ws_async(&self, message: &Value) -> Result<Verified, VerifyError> {
        use tracing::Instrument as _;
        async {
            let result = match self.check_ws_message(message) {
                Ok(checked) => self.remember_shared(checked).await,
                Err(error) => Err(error),
            };
            self.observed(result)
        }
        .instrument(super::observe::span(self.descriptor.scheme))
        .await
    }

    /// Every check of [`Self::verify_ws`] up to the replay step.
    fn check_ws_message(&self, message: &Value) -> Result<Checked, VerifyError> {
        let scheme = self.descriptor.scheme;
        let ws = self.descriptor.ws.as_ref().ok_or_else(|| {
            VerifyError::malformed(format!("{scheme} has no WebSocket auth message"))
        })?;
        let claim = (ws.claim)(message, &self.context(&ws.time))?;
        let candidates = self.keys().resolve(&claim.key_id);
        if candidates.is_empty() {
            return Err(VerifyError::UnknownKey);
        }
        // No key makes an empty signature (a public key that cannot verify one answers "").
        let matched = !claim.provided.is_empty()
            && candidates.iter().any(|creds| {
                let Some(signer) = self
                    .signers
                    .signer(scheme, creds, &candidates, &claim.provided)
                else {
                    return false;
                };
                let Some(expected) = claim.expected(&signer) else {
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
        let replay = match claim.time.check(now)? {
            Some(until) => Some(self.replay_entry(&claim.provided, &claim.time, until, now)?),
            None => None,
        };
        Ok(Checked {
            verified: Verified {
                key_id: claim.key_id,
                scheme,
            },
            replay,
        })
    }
}

/// A number or a string of digits as text, exactly as signed.
pub(crate) fn number_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn malformed(what: &str) -> VerifyError {
    VerifyError::malformed(what.to_owned())
}

/// A string field of an auth message.
pub(crate) fn text<'a>(value: Option<&'a Value>, what: &str) -> Result<&'a str, VerifyError> {
    value
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(&format!("{what} is missing or not a string")))
}

/// A whole number given as a JSON number or a string of digits.
pub(crate) fn whole(value: Option<&Value>, what: &str) -> Result<u64, VerifyError> {
    match value {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| malformed(&format!("{what} is not a whole number"))),
        Some(Value::String(s)) => parse_u64(what, s),
        _ => Err(malformed(&format!("{what} is missing"))),
    }
}

/// The key, the signature and the time (in the scheme's form, as milliseconds) of the object
/// `fields` of an auth message, read from the fields named `names` (key, signature, time) and
/// called `prefix` + name in errors.
pub(crate) fn key_signature_time<'a>(
    fields: &'a Value,
    prefix: &str,
    [key, sign, time]: [&str; 3],
    ctx: &Context<'_>,
) -> Result<(&'a str, &'a str, u64), VerifyError> {
    let named = |name: &str| format!("{prefix}{name}");
    let key = text(fields.get(key), &named(key))?;
    let sign = text(fields.get(sign), &named(sign))?;
    let time_name = named(time);
    let ms = ctx.time_number(&time_name, whole(fields.get(time), &time_name)?)?;
    Ok((key, sign, ms))
}

/// `[key, time, signature]` from an `args` array (Bybit, BitMEX, BitMart, hmac-concat).
pub(crate) fn key_time_signature(message: &Value) -> Result<(&str, &Value, &str), VerifyError> {
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

/// `{"args": [key, timestamp, signature]}` with the timestamp in the scheme's form within its
/// window, re-signed at `/args/2` (BitMart `login`, hmac-concat `auth`).
pub(crate) fn timestamped_claim(
    message: &Value,
    ctx: &Context<'_>,
) -> Result<WsClaim, VerifyError> {
    let (key, ts, sig) = key_time_signature(message)?;
    let ms = ctx.time_number("args[1]", whole(Some(ts), "args[1]")?)?;
    let mut claim = WsClaim::new(
        key,
        sig,
        TimeRule::at(ms, ctx.window),
        Resign::Rebuilt("/args/2"),
    );
    claim.options = SignOptions::at(ms);
    Ok(claim)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Map, Value, json};

    use crate::descriptor::SecretEncoding;
    use crate::verify::{StaticKeys, Verifier, VerifyError};
    use crate::{Credentials, FixedClock, Scheme, SignOptions, Signer};

    const NOW: u64 = 1_700_000_000_000;

    fn creds(scheme: Scheme, secret: &str) -> Credentials {
        let secret = if scheme.descriptor().secret == SecretEncoding::Base64 {
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
        // A signed request any key may make (`session.logon` takes Ed25519 keys only).
        if scheme == Scheme::Binance {
            json!({"id": 1, "method": "userDataStream.subscribe.signature", "params": msg})
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
