//! The receiving side: verify a signed request with the scheme's own acceptance rules, a
//! freshness window, a replay cache and key rotation.
//!
//! Checks run in a fixed order, and only a request whose signature verified enters the replay
//! cache, so forged traffic cannot fill it:
//! 1. malformed (a header or parameter missing or badly formed),
//! 2. unknown key,
//! 3. signature mismatch (compared in constant time; any active secret of the key may match),
//! 4. expired or too far in the future (with the measured skew),
//! 5. replayed (the same request accepted before: the same signature, or for keyward-v1 the same
//!    covered components, `created`, `expires` and `nonce`; never keyed by the key that verified
//!    it, so naming another key or reordering signatures is still a replay. Kraken: a nonce not
//!    above the key's last).
//!
//! [`Verifier::verify`] asks its replay cache synchronously, which suits the in-memory
//! [`ShardedReplayCache`]. A cache shared by several processes (Redis, feature `redis`) answers
//! over the network: verify with [`Verifier::verify_async`] (and
//! [`Verifier::verify_ws_async`]), which run the same checks in the same order and await the
//! replay step. A shared cache fails closed: unreachable, it refuses
//! ([`VerifyError::ReplayUnavailable`], 503), and restarted empty, it refuses requests that could
//! have been accepted before the restart ([`VerifyError::SignedBeforeRestart`], 401).

mod claim;
mod error;
mod keys;
mod observe;
mod observer;
mod replay;
mod replay_table;
mod signers;
mod ws;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use keyward_core_crypto::ct::ct_eq;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

pub use claim::Window;
pub use error::VerifyError;
pub use keys::{KeyResolver, StaticKeys};
pub use observer::RefusalObserver;
pub use replay::{
    MAX_ENTRY_LIFETIME_MS, ReplayCache, ReplayEntry, ReplayId, ReplayRefusal, ShardedReplayCache,
};

pub(crate) use claim::{Claim, SignatureAt, TimeRule, parse_u64, required_header, without_header};
pub(crate) use ws::{
    Resign, WsClaim, key_signature_time, key_time_signature, number_text, text, timestamped_claim,
    whole,
};

use crate::clock::{Clock, SystemClock};
use crate::credentials::Credentials;
use crate::descriptor::{Check, Context, Descriptor, Timing};
use crate::request::Request;
use crate::scheme::Scheme;
use crate::signer::Signer;
use signers::SignerCache;

/// A request that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The API key (or key id) whose secret verified the request.
    pub key_id: String,
    /// The scheme.
    pub scheme: Scheme,
}

/// A request whose every check passed up to the replay step, and what the replay cache must
/// remember for it (None: nothing, a nonce rule refuses replays by itself).
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) verified: Verified,
    pub(crate) replay: Option<ReplayEntry>,
}

/// Verifies received requests for one scheme.
///
/// ```
/// use std::sync::Arc;
/// use keyward_signing::verify::{StaticKeys, Verifier, VerifyError};
/// use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};
///
/// let creds = Credentials::new("svc-a", "shared-secret".into());
/// let clock = Arc::new(FixedClock::new(1_700_000_000_000));
/// let verifier = Verifier::new(Scheme::HmacConcat, Arc::new(StaticKeys::new().with(creds.clone())))
///     .with_clock(clock.clone());
///
/// let signer = Signer::new(Scheme::HmacConcat, &creds)?.with_clock(clock);
/// let sent = signer.sign(Request::post("/orders").with_body("{}"), &SignOptions::default())?;
/// assert_eq!(verifier.verify(&sent).unwrap().key_id, "svc-a");
/// assert_eq!(verifier.verify(&sent), Err(VerifyError::Replayed));
/// # Ok::<(), keyward_signing::Error>(())
/// ```
pub struct Verifier {
    /// The scheme's rules, resolved once.
    descriptor: &'static Descriptor,
    keys: Arc<dyn KeyResolver>,
    cache: Arc<dyn ReplayCache>,
    clock: Arc<dyn Clock>,
    window: Window,
    signed_headers: Vec<String>,
    origins: Vec<String>,
    /// The last nonce accepted per key (Kraken). One entry per key: bounded by the key count.
    nonces: Mutex<HashMap<String, u64>>,
    /// Told of each refusal.
    observer: Option<Arc<dyn RefusalObserver>>,
    /// Prepared HMAC signers per key, used only for credentials the resolver just returned.
    signers: SignerCache,
}

impl Verifier {
    /// The default replay-cache capacity (live entries).
    pub const DEFAULT_CACHE_CAPACITY: usize = 1_000_000;

    /// A verifier for `scheme` with keys from `keys`, the system clock, [`Window::DEFAULT`] and
    /// an in-memory replay cache of [`Self::DEFAULT_CACHE_CAPACITY`] entries.
    pub fn new(scheme: Scheme, keys: Arc<dyn KeyResolver>) -> Self {
        Self {
            descriptor: scheme.descriptor(),
            keys,
            cache: Arc::new(ShardedReplayCache::new(Self::DEFAULT_CACHE_CAPACITY)),
            clock: Arc::new(SystemClock),
            window: Window::DEFAULT,
            signed_headers: Vec::new(),
            origins: Vec::new(),
            nonces: Mutex::new(HashMap::new()),
            observer: None,
            signers: SignerCache::default(),
        }
    }

    /// Tells `observer` of every refusal (the scheme and the [`VerifyError`]), for an audit log
    /// or an alert; it cannot change the outcome.
    pub fn with_observer(mut self, observer: Arc<dyn RefusalObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Passes a refusal to the observer, if any, and returns the result unchanged.
    pub(crate) fn observed(
        &self,
        result: Result<Verified, VerifyError>,
    ) -> Result<Verified, VerifyError> {
        if let (Err(error), Some(observer)) = (&result, &self.observer) {
            observer.refused(self.descriptor.scheme, error);
        }
        observe::verified(self.descriptor.scheme, &result);
        result
    }

    /// Uses `clock` as the server's clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `cache` for replay protection (for example one shared by several verifiers). A cache
    /// that answers over the network (`keyward_signing::redis::RedisReplayCache`) answers only
    /// through [`Self::verify_async`]; [`Self::verify`] gets
    /// [`VerifyError::ReplayUnavailable`] from it.
    pub fn with_cache(mut self, cache: Arc<dyn ReplayCache>) -> Self {
        self.cache = cache;
        self
    }

    /// The freshness window of the service schemes and Deribit, and how far ahead a BitMEX or
    /// Bybit WebSocket expiry may lie (its `past_ms`). Venue presets with documented rules
    /// (Binance, Bybit REST, OKX, Coinbase) apply those instead. Each side is capped at
    /// [`Window::MAX`].
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window.capped();
        self
    }

    /// `hmac-newline-v0`: the headers the signature covers (default none), in the case the
    /// clients list them: the scheme signs each name as written.
    pub fn with_signed_headers(
        mut self,
        names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.signed_headers = names.into_iter().map(Into::into).collect();
        self
    }

    /// `hmac-newline-v0`: origins (`https://api.example.com`) under which a client may have
    /// signed the absolute URL; `path?query` is always accepted too. Coinbase Advanced CDP
    /// JWTs: hosts the `uri` claim may name besides the request's `Host` header.
    pub fn with_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.descriptor.scheme
    }

    /// Verifies `request` as received (method, path, query and body exactly as they arrived).
    /// A refusal is also passed to the observer set with [`Self::with_observer`].
    pub fn verify(&self, request: &Request) -> Result<Verified, VerifyError> {
        let _span = observe::span(self.descriptor.scheme).entered();
        self.observed(
            self.check_rest(request)
                .and_then(|checked| self.remember(checked)),
        )
    }

    /// [`Self::verify`] for a verifier whose replay cache answers asynchronously (a shared cache
    /// such as `keyward_signing::redis::RedisReplayCache`): the same checks in the same order,
    /// the replay step awaited through [`ReplayCache::check_and_insert_shared`]. A refusal is
    /// passed to the observer as with [`Self::verify`]. With an in-memory cache it decides
    /// exactly as [`Self::verify`].
    ///
    /// Failure semantics of a shared cache: unreachable, failing or too slow, the request is
    /// refused with [`VerifyError::ReplayUnavailable`] (503, retry later), never accepted
    /// unchecked; restarted empty, requests that could have been accepted before the restart are
    /// refused with [`VerifyError::SignedBeforeRestart`] (401) for one window.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use keyward_signing::verify::{StaticKeys, Verifier, VerifyError};
    /// use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let creds = Credentials::new("svc-a", "shared-secret".into());
    /// let clock = Arc::new(FixedClock::new(1_700_000_000_000));
    /// let verifier = Verifier::new(Scheme::KeywardV1, Arc::new(StaticKeys::new().with(creds.clone())))
    ///     .with_clock(clock.clone());
    /// let signer = Signer::new(Scheme::KeywardV1, &creds)?.with_clock(clock);
    /// let sent = signer.sign(Request::post("/orders").with_body("{}"), &SignOptions::default())?;
    /// assert_eq!(verifier.verify_async(&sent).await.unwrap().key_id, "svc-a");
    /// assert_eq!(verifier.verify_async(&sent).await, Err(VerifyError::Replayed));
    /// # Ok::<(), keyward_signing::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn verify_async(&self, request: &Request) -> Result<Verified, VerifyError> {
        use tracing::Instrument as _;
        async {
            let result = match self.check_rest(request) {
                Ok(checked) => self.remember_shared(checked).await,
                Err(error) => Err(error),
            };
            self.observed(result)
        }
        .instrument(observe::span(self.descriptor.scheme))
        .await
    }

    /// Every check of [`Self::verify`] up to the replay step.
    fn check_rest(&self, request: &Request) -> Result<Checked, VerifyError> {
        let rest = self.descriptor.rest.as_ref().ok_or_else(|| {
            VerifyError::malformed(format!(
                "{} requests are not verified this way",
                self.descriptor.name
            ))
        })?;
        let claim = match rest.check {
            Check::Own(verify) => return verify(self, request),
            Check::Claim(claim) => claim(request, &self.context(&rest.time))?,
        };
        let candidates = match &claim.key_id {
            Some(id) => self.keys.resolve(id),
            None => self.keys.all(),
        };
        if candidates.is_empty() {
            return Err(VerifyError::UnknownKey);
        }
        let key_id = self
            .matching_key(&claim, &candidates)?
            .ok_or(VerifyError::BadSignature)?;
        let now = self.clock.now_ms();
        let remember_until = claim.time.check(now)?;
        let replay = match (claim.time, remember_until) {
            (TimeRule::Nonce(nonce), _) => {
                self.advance_nonce(&key_id, nonce)?;
                None
            }
            (rule, Some(until)) => {
                let basis = claim.replay_basis.as_deref().unwrap_or(&claim.provided);
                Some(self.replay_entry(basis, &rule, until, now)?)
            }
            (_, None) => None,
        };
        Ok(Checked {
            verified: Verified {
                key_id,
                scheme: self.descriptor.scheme,
            },
            replay,
        })
    }

    /// What a claim function is given: the scheme's time rules as they apply for this
    /// verifier, and its settings.
    pub(crate) fn context(&self, timing: &Timing) -> Context<'_> {
        Context {
            window: timing.window(self.window),
            form: timing.form,
            signed_headers: &self.signed_headers,
            origins: &self.origins,
        }
    }

    /// The key id of the first candidate whose secret reproduces the signature.
    fn matching_key(
        &self,
        claim: &Claim,
        candidates: &[Credentials],
    ) -> Result<Option<String>, VerifyError> {
        // No key makes an empty signature: refused before any key is tried (a public key
        // that cannot verify a signature answers "", which must not pass for a match).
        if claim.provided.is_empty() {
            return Ok(None);
        }
        for creds in candidates {
            // A stored secret the scheme cannot use (say, not base64 for Kraken) matches nothing.
            // An HMAC secret re-signs (its prepared signer cached per key); an asymmetric key
            // checks the signature with its public half.
            let Some(signer) =
                self.signers
                    .signer(self.descriptor.scheme, creds, candidates, &claim.provided)
            else {
                continue;
            };
            if !self.signature_matches(&signer, claim) {
                continue;
            }
            if let Some(given) = &claim.passphrase {
                let expected = creds.passphrase().map(ExposeSecret::expose_secret);
                if !expected.is_some_and(|p| ct_eq(p.as_bytes(), given.as_bytes())) {
                    continue;
                }
            }
            return Ok(Some(creds.api_key().to_owned()));
        }
        Ok(None)
    }

    /// Re-signs the unsigned request as the client did and compares in constant time. For
    /// `hmac-newline-v0`, each accepted origin is tried too.
    fn signature_matches(&self, signer: &Signer, claim: &Claim) -> bool {
        if let SignatureAt::Covers(covered, encoding) = &claim.signature_at {
            return signer
                .key
                .text_buf(&[covered], *encoding)
                .is_ok_and(|expected| {
                    ct_eq(expected.as_str().as_bytes(), claim.provided.as_bytes())
                });
        }
        let origins = std::iter::once(None).chain(
            self.origins
                .iter()
                .filter(|_| self.descriptor.signs_origin)
                .map(Some),
        );
        for origin in origins {
            let mut options = claim.options.clone();
            options.origin = origin.cloned();
            let Ok(resigned) = signer.sign(claim.unsigned.clone(), &options) else {
                return false;
            };
            if claim
                .signature_at
                .read(&resigned)
                .is_some_and(|expected| ct_eq(expected.as_bytes(), claim.provided.as_bytes()))
            {
                return true;
            }
        }
        false
    }

    /// What the replay cache must remember for an accepted request. `basis` identifies the
    /// request itself (its signature, or what keyward-v1 signs apart from the key id), never the
    /// key that verified it: the same request presented under another key, or with its
    /// signatures reordered, is the same entry.
    pub(crate) fn replay_entry(
        &self,
        basis: &str,
        rule: &TimeRule,
        until_ms: u64,
        now_ms: u64,
    ) -> Result<ReplayEntry, VerifyError> {
        // Unreachable with capped windows; checked here too, so that a `ReplayCache` written
        // elsewhere is never asked to remember past the ceiling. Refused, never remembered
        // for less (which would let a replay through).
        if until_ms.saturating_sub(now_ms) > MAX_ENTRY_LIFETIME_MS {
            return Err(too_long());
        }
        let digest = Sha256::new()
            .chain_update(self.descriptor.name)
            .chain_update([0])
            .chain_update(basis)
            .finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        Ok(ReplayEntry {
            id: u128::from_be_bytes(id),
            valid_from_ms: rule.valid_from_ms(),
            expires_at_ms: until_ms,
            now_ms,
        })
    }

    /// Records a checked request in the replay cache, synchronously.
    pub(crate) fn remember(&self, checked: Checked) -> Result<Verified, VerifyError> {
        if let Some(entry) = checked.replay {
            self.cache
                .check_and_insert(entry.id, entry.expires_at_ms, entry.now_ms)
                .map_err(refusal_error)?;
        }
        Ok(checked.verified)
    }

    /// Records a checked request in the replay cache, awaiting a shared cache's answer.
    pub(crate) async fn remember_shared(&self, checked: Checked) -> Result<Verified, VerifyError> {
        if let Some(entry) = checked.replay {
            self.cache
                .check_and_insert_shared(entry)
                .await
                .map_err(refusal_error)?;
        }
        Ok(checked.verified)
    }

    /// Kraken's rule: a nonce must exceed the last one accepted for the key.
    fn advance_nonce(&self, key_id: &str, nonce: u64) -> Result<(), VerifyError> {
        let mut nonces = self
            .nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let last = nonces.entry(key_id.to_owned()).or_insert(0);
        if nonce <= *last {
            return Err(VerifyError::StaleNonce);
        }
        *last = nonce;
        Ok(())
    }

    /// Parts the keyward-v1 verifier needs.
    pub(crate) fn keys(&self) -> &dyn KeyResolver {
        self.keys.as_ref()
    }

    /// The server's clock, in milliseconds.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The configured freshness window.
    pub(crate) fn window(&self) -> Window {
        self.window
    }
}

/// The refusal of an entry that would outlive [`MAX_ENTRY_LIFETIME_MS`].
fn too_long() -> VerifyError {
    VerifyError::malformed("the request stays valid longer than a replay entry may live")
}

/// A replay cache's refusal as the verifier reports it.
fn refusal_error(refusal: ReplayRefusal) -> VerifyError {
    match refusal {
        ReplayRefusal::Replayed => VerifyError::Replayed,
        ReplayRefusal::Full => VerifyError::CacheFull,
        ReplayRefusal::TooLong => too_long(),
        ReplayRefusal::Unavailable => VerifyError::ReplayUnavailable,
        ReplayRefusal::SignedBeforeRestart => VerifyError::SignedBeforeRestart,
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.descriptor.scheme)
            .field("keys", &self.keys)
            .field("window", &self.window)
            .field("observer", &self.observer)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A cache that accepts everything and counts the calls: the verifier must not rely on the
    /// cache to enforce the ceiling.
    #[derive(Debug, Default)]
    struct Permissive(AtomicUsize);

    impl ReplayCache for Permissive {
        fn check_and_insert(&self, _: ReplayId, _: u64, _: u64) -> Result<(), ReplayRefusal> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn no_cache_is_asked_to_remember_past_the_ceiling() {
        let cache = Arc::new(Permissive::default());
        let verifier = Verifier::new(Scheme::HmacConcat, Arc::new(StaticKeys::new()))
            .with_cache(cache.clone());
        let now = 1_000;
        let remember = |until: u64| {
            let rule = TimeRule::at(now, Window::DEFAULT);
            let replay = Some(verifier.replay_entry("r", &rule, until, now)?);
            let verified = Verified {
                key_id: "k".into(),
                scheme: Scheme::HmacConcat,
            };
            verifier.remember(Checked { verified, replay })
        };
        assert!(matches!(
            remember(now + MAX_ENTRY_LIFETIME_MS + 1),
            Err(VerifyError::Malformed(_))
        ));
        assert_eq!(cache.0.load(Ordering::SeqCst), 0);
        assert!(remember(now + MAX_ENTRY_LIFETIME_MS).is_ok());
        assert_eq!(cache.0.load(Ordering::SeqCst), 1);
    }
}
