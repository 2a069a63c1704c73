//! [`Signer`]: one credential prepared for one scheme.

use std::fmt;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::clock::{Clock, SystemClock};
use crate::credentials::{Credentials, short_key};
use crate::descriptor::{Descriptor, SecretEncoding, Timing};
use crate::error::{Error, Result};
use crate::key::{KeyKind, KeyText, PublicKey, read_key};
use crate::mac::PreparedMac;
use crate::nonce::{MonotonicNonce, NonceSource};
use crate::options::SignOptions;
use crate::request::Request;
use crate::scheme::Scheme;
use crate::signature::{Check, SigningKey};

/// A credential prepared for one [`Scheme`]: the keyed HMAC state, or the private key, is
/// prepared once here and used for every request.
///
/// The secret text decides the kind of key: a PEM private key (PKCS#8 Ed25519, RSA or P-256,
/// SEC1 P-256, PKCS#1 RSA) or Coinbase's base64 Ed25519 form signs with that key, anything
/// else is an HMAC secret (see [`keys`](crate::keys)). Each venue accepts the kinds it
/// documents; any other is [`Error::KeyNotAccepted`] here, before anything is sent.
///
/// ```
/// use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};
/// use std::sync::Arc;
///
/// let creds = Credentials::new("my-key", "my-secret".into());
/// let signer = Signer::new(Scheme::Binance, &creds)?
///     .with_clock(Arc::new(FixedClock::new(1_700_000_000_000)));
/// let sent = signer.sign(
///     Request::post("/api/v3/order").with_body("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1"),
///     &SignOptions::default(),
/// )?;
/// let body = String::from_utf8(sent.body).unwrap();
/// assert!(body.starts_with("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&timestamp=1700000000000&signature="));
/// assert_eq!(sent.headers, vec![("X-MBX-APIKEY".to_owned(), "my-key".to_owned())]);
/// # Ok::<(), keyward_signing::Error>(())
/// ```
pub struct Signer {
    /// The scheme's rules, resolved once.
    pub(crate) descriptor: &'static Descriptor,
    pub(crate) api_key: String,
    pub(crate) key: SigningKey,
    pub(crate) passphrase: Option<SecretString>,
    /// Further keys whose signatures are attached too (keyward-v1, during key rotation).
    pub(crate) additional: Vec<(String, PreparedMac)>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Set by `with_nonces`, or created over the clock on first use.
    nonces: OnceLock<Arc<dyn NonceSource>>,
}

impl Signer {
    /// Prepares `credentials` for `scheme`. Fails if the secret is not in the form the venue
    /// issues (Kraken and Coinbase Exchange secrets are base64), if it is a private key that
    /// cannot be read, or a kind of key the venue does not accept.
    pub fn new(scheme: Scheme, credentials: &Credentials) -> Result<Self> {
        let descriptor = scheme.descriptor();
        let key = match read_key(credentials.secret().expose_secret()).map_err(Error::Key)? {
            KeyText::Hmac => SigningKey::Hmac(prepare(descriptor, credentials.secret())?),
            KeyText::Private(key) => SigningKey::Private(key),
            KeyText::Public(_) => {
                return Err(Error::InvalidSecret {
                    scheme: descriptor.name,
                    reason: "it is a public key, which verifies signatures but cannot sign: give the private key",
                });
            }
        };
        Self::with_key(descriptor, credentials, key)
    }

    /// A signer that checks a received signature with a public key (see [`Check`]): the
    /// verifier's side of an asymmetric key. `credentials` may hold the public or the private
    /// key; None if it holds an HMAC secret or a key the scheme does not accept.
    pub(crate) fn checking(
        scheme: Scheme,
        credentials: &Credentials,
        provided: &str,
    ) -> Option<Self> {
        let public = match read_key(credentials.secret().expose_secret()).ok()? {
            KeyText::Hmac => return None,
            KeyText::Private(key) => key.public_key(),
            KeyText::Public(key) => key,
        };
        let key = SigningKey::Check(Check {
            public,
            provided: provided.to_owned(),
        });
        Self::with_key(scheme.descriptor(), credentials, key).ok()
    }

    /// A signer for a received request: an HMAC secret re-signs it, a public (or private)
    /// key checks `provided` with the public half.
    pub(crate) fn for_verifying(
        scheme: Scheme,
        credentials: &Credentials,
        provided: &str,
    ) -> Option<Self> {
        match Self::new(scheme, credentials) {
            Ok(signer) if signer.key_kind() == KeyKind::Hmac => Some(signer),
            _ => Self::checking(scheme, credentials, provided),
        }
    }

    fn with_key(
        descriptor: &'static Descriptor,
        credentials: &Credentials,
        key: SigningKey,
    ) -> Result<Self> {
        let kind = key.kind();
        if !descriptor.keys.accepts(kind) {
            return Err(Error::KeyNotAccepted {
                scheme: descriptor.name,
                kind,
                what: "signing",
            });
        }
        Ok(Self {
            descriptor,
            api_key: credentials.api_key().to_owned(),
            key,
            passphrase: credentials.passphrase().cloned(),
            additional: Vec::new(),
            clock: Arc::new(SystemClock),
            nonces: OnceLock::new(),
        })
    }

    /// The kind of key this signer signs with: the HMAC secret or the private key in the
    /// credentials.
    pub fn key_kind(&self) -> KeyKind {
        self.key.kind()
    }

    /// Whether the scheme's WebSocket auth takes this signer's kind of key (Coinbase Advanced
    /// signs its WebSocket subscribe with CDP keys only; its legacy HMAC keys sign REST alone).
    /// False for a scheme without WebSocket auth.
    pub fn signs_ws(&self) -> bool {
        self.descriptor.ws.is_some() && self.descriptor.keys.ws.contains(&self.key.kind())
    }

    /// The public key (SPKI PEM) of an asymmetric key, to register with the venue; None for
    /// an HMAC secret.
    pub fn public_key_pem(&self) -> Option<String> {
        let public: PublicKey = match &self.key {
            SigningKey::Hmac(_) => return None,
            SigningKey::Private(key) => key.public_key(),
            SigningKey::Check(_) => return None,
        };
        public.to_pem().ok()
    }

    /// Uses `clock` for timestamps (and for the default nonce source).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `nonces` for nonces (Kraken). The default is a [`MonotonicNonce`] over the clock,
    /// created on first use and owned by this signer: signers that share a key must share one
    /// nonce source, or two of them may issue the same nonce in the same millisecond. Processes
    /// that share a key, or a key used again after a restart, need a persistent source such as
    /// [`FileNonce`](crate::FileNonce).
    pub fn with_nonces(mut self, nonces: Arc<dyn NonceSource>) -> Self {
        self.nonces = OnceLock::from(nonces);
        self
    }

    /// Attaches a signature by a further key too (keyward-v1 only), so a server that knows either
    /// key accepts the request during a key rotation.
    pub fn with_additional_key(mut self, credentials: &Credentials) -> Result<Self> {
        if !self.descriptor.several_keys {
            return Err(self.unsupported("several signatures"));
        }
        if !matches!(
            read_key(credentials.secret().expose_secret()).map_err(Error::Key)?,
            KeyText::Hmac
        ) {
            return Err(self.unsupported("several signatures by asymmetric keys"));
        }
        let mac = prepare(self.descriptor, credentials.secret())?;
        self.additional
            .push((credentials.api_key().to_owned(), mac));
        Ok(self)
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.descriptor.scheme
    }

    /// The API key (public identifier).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Signs `request` and returns it as it must be sent.
    pub fn sign(&self, request: Request, options: &SignOptions) -> Result<Request> {
        let rest = self
            .descriptor
            .rest
            .as_ref()
            .ok_or_else(|| self.unsupported("REST signing"))?;
        self.check_kind(self.descriptor.keys.rest, "REST requests")?;
        (rest.sign)(self, request, options)
    }

    /// Builds the WebSocket auth message (or, for Binance's WebSocket API, signs the request
    /// parameters). `params` are the caller's parameters: the request's for Binance, extra
    /// fields of the subscribe message for Coinbase Exchange, ignored where the venue's auth
    /// message has none.
    pub fn ws_auth(&self, params: &Map<String, Value>, options: &SignOptions) -> Result<Value> {
        let ws = self
            .descriptor
            .ws
            .as_ref()
            .ok_or_else(|| self.unsupported("WebSocket auth"))?;
        self.check_kind(self.descriptor.keys.ws, "WebSocket auth")?;
        (ws.auth)(self, params, options)
    }

    /// Refuses a key the venue does not accept for `what`.
    pub(crate) fn check_kind(&self, accepted: &[KeyKind], what: &'static str) -> Result<()> {
        let kind = self.key.kind();
        if accepted.contains(&kind) {
            return Ok(());
        }
        Err(Error::KeyNotAccepted {
            scheme: self.descriptor.name,
            kind,
            what,
        })
    }

    /// The timestamp to use: the caller's, or the clock's.
    pub(crate) fn timestamp_ms(&self, options: &SignOptions) -> u64 {
        options.timestamp_ms.unwrap_or_else(|| self.clock.now_ms())
    }

    /// The REST timestamp (the caller's, or the clock's), in the form the scheme declares.
    pub(crate) fn rest_timestamp(&self, options: &SignOptions) -> Result<String> {
        self.timestamp_in(self.descriptor.rest.as_ref().map(|r| &r.time), options)
    }

    /// The WebSocket timestamp (the caller's, or the clock's), in the form the scheme declares.
    pub(crate) fn ws_timestamp(&self, options: &SignOptions) -> Result<String> {
        self.timestamp_in(self.descriptor.ws.as_ref().map(|w| &w.time), options)
    }

    fn timestamp_in(&self, timing: Option<&Timing>, options: &SignOptions) -> Result<String> {
        let form = timing
            .and_then(|t| t.form)
            .ok_or_else(|| self.unsupported("timestamps"))?;
        form.format(self.timestamp_ms(options))
    }

    /// The next nonce from the configured source (or a monotonic one over the clock). An error
    /// means no nonce was issued, and the request must not be signed.
    pub(crate) fn next_nonce(&self) -> Result<u64> {
        self.nonces
            .get_or_init(|| Arc::new(MonotonicNonce::new(self.clock.clone())))
            .next_nonce()
    }

    /// The passphrase, or the error saying the scheme needs one.
    pub(crate) fn passphrase(&self) -> Result<&str> {
        self.passphrase
            .as_ref()
            .map(|p| p.expose_secret())
            .ok_or(Error::MissingPassphrase {
                scheme: self.descriptor.name,
            })
    }

    fn unsupported(&self, what: &'static str) -> Error {
        Error::Unsupported {
            scheme: self.descriptor.name,
            what,
        }
    }
}

/// The keyed HMAC state for a scheme's secret.
fn prepare(scheme: &Descriptor, secret: &SecretString) -> Result<PreparedMac> {
    let text = secret.expose_secret();
    let key =
        match scheme.secret {
            SecretEncoding::Raw => Zeroizing::new(text.as_bytes().to_vec()),
            SecretEncoding::Base64 => Zeroizing::new(STANDARD.decode(text.trim()).map_err(
                |_| Error::InvalidSecret {
                    scheme: scheme.name,
                    reason: "it is not standard base64, as the venue issues it",
                },
            )?),
        };
    if key.is_empty() {
        return Err(Error::InvalidSecret {
            scheme: scheme.name,
            reason: "it is empty",
        });
    }
    Ok(PreparedMac::new(scheme.algorithm, &key))
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.descriptor.scheme)
            .field("api_key", &short_key(&self.api_key))
            .field("key", &self.key.kind())
            .field("secret", &"[REDACTED]")
            .field("additional_keys", &self.additional.len())
            .field("clock", &self.clock)
            .finish()
    }
}
