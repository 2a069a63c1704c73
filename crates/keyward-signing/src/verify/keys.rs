//! Where the verifier finds secrets: by API key or key id, several active at once during a
//! rotation.

use std::collections::HashMap;
use std::fmt;

use crate::credentials::Credentials;

/// Looks up the active credentials for a key. During a rotation a key may have several active
/// secrets; a request signed with any of them is accepted.
///
/// The verifier asks on every request, so a secret the resolver stops returning (replaced or
/// revoked) is refused from the next request on. It keeps prepared HMAC signers per key (at most
/// 1024) to save the key setup, but uses one only for a credential just returned here whose
/// secret and passphrase equal the cached one's.
pub trait KeyResolver: Send + Sync + fmt::Debug {
    /// The active credentials for `key_id`, newest first; empty if the key is unknown.
    fn resolve(&self, key_id: &str) -> Vec<Credentials>;

    /// Every active credential, for schemes whose requests carry no key id (`hmac-newline-v0`).
    fn all(&self) -> Vec<Credentials>;
}

/// A fixed set of credentials held in memory.
#[derive(Clone, Default)]
pub struct StaticKeys {
    keys: HashMap<String, Vec<Credentials>>,
}

impl StaticKeys {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `credentials` as an active secret for its API key (several may be added per key).
    pub fn with(mut self, credentials: Credentials) -> Self {
        self.keys
            .entry(credentials.api_key().to_owned())
            .or_default()
            .push(credentials);
        self
    }
}

impl KeyResolver for StaticKeys {
    fn resolve(&self, key_id: &str) -> Vec<Credentials> {
        self.keys.get(key_id).cloned().unwrap_or_default()
    }

    fn all(&self) -> Vec<Credentials> {
        self.keys.values().flatten().cloned().collect()
    }
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<String> = self
            .keys
            .keys()
            .map(|k| crate::credentials::short_key(k))
            .collect();
        ids.sort();
        f.debug_struct("StaticKeys").field("keys", &ids).finish()
    }
}
