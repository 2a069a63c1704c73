//! What keyward-signing knows about one scheme, as one value.
//!
//! Each venue preset (`presets/<venue>.rs`) and service scheme (`schemes/*.rs`) declares its
//! `DESCRIPTOR`: its name, HMAC algorithm and secret encoding, its REST signing and the claim
//! that takes a received request apart, its WebSocket auth message and the claim that takes it
//! apart, and the forms and windows of its times. [`Scheme::descriptor`](crate::Scheme) picks a
//! scheme's descriptor (the crate's only `match` on a scheme); `Signer` and `Verifier` hold it
//! and call through it. What a scheme cannot do is an absent entry, so `Scheme::has_rest` and
//! `Scheme::has_ws` are read from it and cannot disagree with what signing does.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::key::KeyKind;
use crate::mac::Algorithm;
use crate::options::SignOptions;
use crate::request::Request;
use crate::scheme::Scheme;
use crate::signer::Signer;
use crate::timestamp::TimeForm;
use crate::verify::{Checked, Claim, Verifier, VerifyError, Window, WsClaim};

/// One scheme's signing rules.
#[derive(Debug)]
pub(crate) struct Descriptor {
    /// The scheme this describes.
    pub(crate) scheme: Scheme,
    /// Its name, as the CLI spells it.
    pub(crate) name: &'static str,
    /// The HMAC's hash.
    pub(crate) algorithm: Algorithm,
    /// How the secret text becomes the HMAC key.
    pub(crate) secret: SecretEncoding,
    /// The kinds of key the venue accepts, for REST and for WebSocket auth.
    pub(crate) keys: Keys,
    /// REST signing and verifying; None if the venue signs no REST requests (BitMart).
    pub(crate) rest: Option<Rest>,
    /// The WebSocket auth message and its verification; None if there is none.
    pub(crate) ws: Option<Ws>,
    /// Whether a request may carry signatures by several keys (keyward-v1, for key rotation).
    pub(crate) several_keys: bool,
    /// Whether a client may have signed the absolute URL under one of the verifier's origins
    /// (hmac-newline-v0).
    pub(crate) signs_origin: bool,
    /// Whether the signature covers the host the request goes to, which the caller passes as
    /// [`SignOptions::origin`] (Coinbase Advanced's CDP JWT).
    pub(crate) signs_host: bool,
}

impl Descriptor {
    /// The scheme `name`: HMAC-SHA256 keyed with the secret's bytes, and nothing more. Each
    /// module states the rest (`..Descriptor::hmac_sha256(..)` after its own fields).
    pub(crate) const fn hmac_sha256(scheme: Scheme, name: &'static str) -> Descriptor {
        Descriptor {
            scheme,
            name,
            algorithm: Algorithm::Sha256,
            secret: SecretEncoding::Raw,
            keys: Keys::HMAC,
            rest: None,
            ws: None,
            several_keys: false,
            signs_origin: false,
            signs_host: false,
        }
    }
}

/// The kinds of key a venue accepts, as it documents them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys {
    /// For REST requests.
    pub(crate) rest: &'static [KeyKind],
    /// For WebSocket auth.
    pub(crate) ws: &'static [KeyKind],
}

impl Keys {
    /// HMAC secrets only.
    pub(crate) const HMAC: Keys = Keys {
        rest: &[KeyKind::Hmac],
        ws: &[KeyKind::Hmac],
    };

    /// Whether `kind` signs anything at all.
    pub(crate) fn accepts(&self, kind: KeyKind) -> bool {
        self.rest.contains(&kind) || self.ws.contains(&kind)
    }
}

/// How a scheme turns the secret text into HMAC key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretEncoding {
    /// The secret's UTF-8 bytes are the key.
    Raw,
    /// The secret is standard base64 of the key (Kraken, Coinbase Exchange).
    Base64,
}

/// Signs a request and returns it as it must be sent.
pub(crate) type SignFn = fn(&Signer, Request, &SignOptions) -> Result<Request>;
/// Takes a received request apart with the scheme's acceptance rules.
pub(crate) type ClaimFn = fn(&Request, &Context<'_>) -> Result<Claim, VerifyError>;
/// Verifies a received request by the scheme's own flow.
pub(crate) type VerifyFn = fn(&Verifier, &Request) -> Result<Checked, VerifyError>;
/// Builds the WebSocket auth message from the caller's parameters.
pub(crate) type WsAuthFn = fn(&Signer, &Map<String, Value>, &SignOptions) -> Result<Value>;
/// Takes a received WebSocket auth message apart.
pub(crate) type WsClaimFn = fn(&Value, &Context<'_>) -> Result<WsClaim, VerifyError>;

/// REST: how a request is signed and how a received one is checked.
#[derive(Debug)]
pub(crate) struct Rest {
    /// Signs a request.
    pub(crate) sign: SignFn,
    /// Checks a received request.
    pub(crate) check: Check,
    /// The form and window of the request's time.
    pub(crate) time: Timing,
}

impl Rest {
    /// REST whose received requests are taken apart by `claim` and checked by the shared flow.
    pub(crate) const fn claimed(sign: SignFn, claim: ClaimFn, time: Timing) -> Rest {
        Rest {
            sign,
            check: Check::Claim(claim),
            time,
        }
    }
}

/// How a received REST request is checked.
#[derive(Debug)]
pub(crate) enum Check {
    /// Taken apart into a [`Claim`], then checked by the verifier's shared flow.
    Claim(ClaimFn),
    /// Checked by the scheme's own flow (keyward-v1: several signatures, a content digest).
    Own(VerifyFn),
}

/// WebSocket: how the auth message is built and how a received one is taken apart.
#[derive(Debug)]
pub(crate) struct Ws {
    /// Builds the auth message.
    pub(crate) auth: WsAuthFn,
    /// Takes a received auth message apart.
    pub(crate) claim: WsClaimFn,
    /// The form and window of the message's time.
    pub(crate) time: Timing,
}

impl Ws {
    /// A WebSocket auth message built by `auth` and taken apart by `claim`.
    pub(crate) const fn new(auth: WsAuthFn, claim: WsClaimFn, time: Timing) -> Ws {
        Ws { auth, claim, time }
    }
}

/// How a scheme writes its time and how fresh a request must be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// The form of the timestamp or expiry; None when the request carries no time (Kraken's
    /// growing nonce).
    pub(crate) form: Option<TimeForm>,
    /// The freshness window.
    pub(crate) window: WindowRule,
}

/// Where a scheme's freshness window comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WindowRule {
    /// The venue documents a fixed window (OKX and Coinbase: 30 s either way).
    Documented(Window),
    /// The request carries its receive window (Binance `recvWindow`, Bybit
    /// `X-BAPI-RECV-WINDOW`).
    Receive(ReceiveWindow),
    /// The verifier's configured window ([`Verifier::with_window`]): the service schemes, and
    /// venues that document none. For an expiry (BitMEX, Bybit WebSocket), its `past_ms` is
    /// how far ahead the expiry may lie.
    Configured,
    /// No window: a nonce that must grow (Kraken).
    Nonce,
}

/// A receive window carried by the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReceiveWindow {
    /// The window when the request names none, in milliseconds.
    pub(crate) default_ms: u64,
    /// The largest window honoured, in milliseconds.
    pub(crate) max_ms: u64,
    /// How far ahead of the server's clock a timestamp may be, in milliseconds.
    pub(crate) future_ms: u64,
}

impl ReceiveWindow {
    /// The window for a request that names `past_ms` (or none).
    pub(crate) fn window(self, past_ms: Option<u64>) -> Window {
        Window {
            past_ms: past_ms.unwrap_or(self.default_ms),
            future_ms: self.future_ms,
        }
    }
}

impl Timing {
    /// No time: a nonce that must grow for each key (Kraken).
    pub(crate) const NONCE: Timing = Timing {
        form: None,
        window: WindowRule::Nonce,
    };

    /// Times written in `form`, judged by `window`.
    pub(crate) const fn new(form: TimeForm, window: WindowRule) -> Timing {
        Timing {
            form: Some(form),
            window,
        }
    }

    /// The window a request is judged by, given the verifier's configured one.
    pub(crate) fn window(&self, configured: Window) -> Window {
        match self.window {
            WindowRule::Documented(window) => window,
            WindowRule::Receive(receive) => receive.window(None),
            WindowRule::Configured | WindowRule::Nonce => configured,
        }
    }
}

/// What a claim function is given besides the message: the scheme's declared time rules, as
/// they apply for this verifier, and the verifier's settings.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    /// The window a request is judged by (see [`Timing::window`]).
    pub(crate) window: Window,
    /// The form of the request's time.
    pub(crate) form: Option<TimeForm>,
    /// The header names the signature covers (hmac-newline-v0).
    pub(crate) signed_headers: &'a [String],
    /// The origins configured with [`Verifier::with_origins`].
    pub(crate) origins: &'a [String],
}

impl Context<'_> {
    /// A time received as text, in milliseconds.
    pub(crate) fn time(&self, what: &str, text: &str) -> Result<u64, VerifyError> {
        self.time_form(what)?.parse(what, text)
    }

    /// A time received as a whole number, in milliseconds.
    pub(crate) fn time_number(&self, what: &str, number: u64) -> Result<u64, VerifyError> {
        self.time_form(what)?.number_to_ms(what, number)
    }

    fn time_form(&self, what: &str) -> Result<TimeForm, VerifyError> {
        self.form
            .ok_or_else(|| VerifyError::malformed(format!("{what}: the scheme carries no time")))
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::signer;
    use crate::{Error, Request, Scheme, SignOptions};

    #[test]
    fn has_rest_and_has_ws_say_what_signing_does() {
        for scheme in Scheme::ALL {
            let s = signer(scheme, Some("pass"));
            let rest = s.sign(Request::get("/x"), &SignOptions::at(1_700_000_000_000));
            assert_eq!(
                matches!(rest, Err(Error::Unsupported { .. })),
                !scheme.has_rest(),
                "{scheme}: {rest:?}"
            );
            let ws = s.ws_auth(&Default::default(), &SignOptions::at(1_700_000_000_000));
            assert_eq!(
                matches!(ws, Err(Error::Unsupported { .. })),
                !scheme.has_ws(),
                "{scheme}: {ws:?}"
            );
        }
    }

    #[test]
    fn every_descriptor_describes_its_own_scheme() {
        for scheme in Scheme::ALL {
            let descriptor = scheme.descriptor();
            assert_eq!(descriptor.scheme, scheme);
            assert_eq!(descriptor.name, scheme.name());
            assert_eq!(descriptor.name.parse::<Scheme>().unwrap(), scheme);
        }
        let names: std::collections::HashSet<_> = Scheme::ALL.map(Scheme::name).into();
        assert_eq!(names.len(), Scheme::ALL.len(), "names are unique");
    }
}
