//! Prepared HMAC signers, kept per key so that a verification does not read the key text and
//! set up the HMAC key (two SHA-256 compressions) again for every request.
//!
//! The cache never decides which secrets are active: the verifier still asks its
//! [`KeyResolver`](super::KeyResolver) on every request, and a cached signer is used only for a
//! resolved credential whose secret and passphrase equal the cached ones (compared in constant
//! time). A secret the resolver no longer returns is never looked up again, so rotation and
//! revocation take effect on the next request exactly as without the cache. Asymmetric keys are
//! not cached (their checking signer carries the received signature).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use keyward_core_crypto::ct::ct_eq;
use secrecy::ExposeSecret;

use crate::credentials::Credentials;
use crate::key::KeyKind;
use crate::scheme::Scheme;
use crate::signer::Signer;

/// The most signers kept. Keys are bounded by the resolver; this caps the cache anyway: at the
/// cap it is emptied and refills with the keys in use.
pub(crate) const MAX_CACHED_SIGNERS: usize = 1024;

/// A prepared signer and the credentials it was prepared from (secrets stay in `secrecy` types,
/// zeroized on drop).
struct Cached {
    credentials: Credentials,
    signer: Arc<Signer>,
}

/// Prepared HMAC signers by API key.
#[derive(Default)]
pub(crate) struct SignerCache {
    by_key: Mutex<HashMap<String, Vec<Cached>>>,
}

/// Whether two credentials carry the same secret and passphrase (constant time in the bytes).
fn same(a: &Credentials, b: &Credentials) -> bool {
    let secret = ct_eq(
        a.secret().expose_secret().as_bytes(),
        b.secret().expose_secret().as_bytes(),
    );
    let passphrase = match (a.passphrase(), b.passphrase()) {
        (None, None) => true,
        (Some(x), Some(y)) => ct_eq(x.expose_secret().as_bytes(), y.expose_secret().as_bytes()),
        _ => false,
    };
    secret & passphrase
}

impl SignerCache {
    /// The signer that verifies with `credentials` (one of `candidates`, as just resolved):
    /// a cached HMAC signer prepared from the same secret, else a new one (cached if HMAC).
    /// None if the secret cannot be used by the scheme.
    pub(crate) fn signer(
        &self,
        scheme: Scheme,
        credentials: &Credentials,
        candidates: &[Credentials],
        provided: &str,
    ) -> Option<Arc<Signer>> {
        let key = credentials.api_key();
        {
            let map = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(found) = map
                .get(key)
                .and_then(|list| list.iter().find(|c| same(&c.credentials, credentials)))
            {
                return Some(found.signer.clone());
            }
        }
        let signer = Arc::new(Signer::for_verifying(scheme, credentials, provided)?);
        if signer.key_kind() != KeyKind::Hmac {
            return Some(signer);
        }
        let mut map = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
        if map.values().map(Vec::len).sum::<usize>() >= MAX_CACHED_SIGNERS {
            map.clear();
        }
        let list = map.entry(key.to_owned()).or_default();
        // Secrets the resolver no longer returns for this key are dropped (they would never be
        // used again anyway: only resolved credentials are looked up).
        list.retain(|c| candidates.iter().any(|r| same(&c.credentials, r)));
        if !list.iter().any(|c| same(&c.credentials, credentials)) {
            list.push(Cached {
                credentials: credentials.clone(),
                signer: signer.clone(),
            });
        }
        Some(signer)
    }

    /// How many signers are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let map = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
        map.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signers_are_reused_only_for_the_same_secret() {
        let cache = SignerCache::default();
        let a = Credentials::new("k", "secret-a".into());
        let b = Credentials::new("k", "secret-b".into());
        let first = cache
            .signer(Scheme::Binance, &a, std::slice::from_ref(&a), "")
            .unwrap();
        let again = cache
            .signer(Scheme::Binance, &a, std::slice::from_ref(&a), "")
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let other = cache
            .signer(Scheme::Binance, &b, std::slice::from_ref(&b), "")
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        // `a` is no longer resolved: its signer was dropped when `b`'s was cached.
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_cache_is_capped() {
        let cache = SignerCache::default();
        for i in 0..MAX_CACHED_SIGNERS + 5 {
            let c = Credentials::new(format!("k{i}"), "s".into());
            cache
                .signer(Scheme::Binance, &c, std::slice::from_ref(&c), "")
                .unwrap();
            assert!(cache.len() <= MAX_CACHED_SIGNERS);
        }
    }
}
