//! [`TokenCache`]: broker access tokens per identity, kept encrypted at rest in a
//! [`SecretStore`], refreshed ahead of expiry, one refresh at a time per identity.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward_core_crypto::KeyRing;
use keyward_secrets_backends::{
    Error as StoreError, FileStore, SecretStore, SecretValue, Selector,
};
use keyward_signing::Clock;
use secrecy::{ExposeSecret, SecretString};

use super::provider::TokenProvider;
use super::token::AccessToken;
use super::token_cache_error::TokenCacheError;

/// The refresh-ahead margin unless configured: a token is refreshed once it has less than
/// 5 minutes left, so that a request never leaves with a token that dies in flight.
pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);

/// The field of the stored secret holding the token.
pub const TOKEN_FIELD: &str = "access_token";
/// The field of the stored secret holding the expiry, in milliseconds since the Unix epoch.
pub const EXPIRES_AT_FIELD: &str = "expires_at_ms";

/// The name a token for `identity` is stored under: `<identity>/token`.
pub fn token_secret_name(identity: &str) -> String {
    format!("{identity}/token")
}

/// Access tokens per identity (a [`TokenProvider`]'s [`identity`](TokenProvider::identity)).
///
/// - [`get`](Self::get) returns the cached token while it has more than the refresh-ahead
///   margin left, and otherwise logs in through the provider. Callers of the same identity
///   wait for one login (single flight, across tasks); other identities are not held up.
/// - Each new token is written to the store as `<identity>/token` (fields [`TOKEN_FIELD`] and
///   [`EXPIRES_AT_FIELD`]); the store encrypts it at rest (the vault, an encrypted file with
///   [`in_file`](Self::in_file), AWS). After a restart the stored token is used until it is
///   due. A store that fails is a `tracing` warning: the token is still handed out.
/// - A login refused in a way that risks a lockout ([`LoginError::is_lockout_risk`]) is not
///   retried: every later `get` for that identity returns [`TokenCacheError::Blocked`] until
///   [`clear_block`](Self::clear_block).
/// - Tokens are [`AccessToken`]s: wiped when dropped, never in `Debug`, logs or errors.
///
/// Put a [`TokenGuard`](super::TokenGuard) in front of the provider
/// ([`TokenGuard::guard`](super::TokenGuard::guard)) to rate-limit and audit its logins.
///
/// [`LoginError::is_lockout_risk`]: super::LoginError::is_lockout_risk
pub struct TokenCache {
    store: Arc<dyn SecretStore>,
    clock: Arc<dyn Clock>,
    refresh_ahead: Duration,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

/// One identity's state; its lock is the single flight.
#[derive(Default)]
struct Slot {
    /// Whether the store was read for this identity since the process started.
    loaded: bool,
    token: Option<AccessToken>,
    /// The message of a lockout-risk refusal.
    blocked: Option<String>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let identities = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("TokenCache")
            .field("store", &self.store.kind())
            .field("refresh_ahead", &self.refresh_ahead)
            .field("identities", &identities)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache keeping its tokens in `store`, reading time from `clock`, with the default
    /// refresh-ahead margin ([`DEFAULT_REFRESH_AHEAD`]).
    pub fn new(store: Arc<dyn SecretStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            refresh_ahead: DEFAULT_REFRESH_AHEAD,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// A cache keeping its tokens in a Fernet-encrypted file (mode 0600, written atomically:
    /// keyward's [`FileStore`]) sealed under `ring`.
    pub fn in_file(path: impl AsRef<Path>, ring: KeyRing, clock: Arc<dyn Clock>) -> Self {
        Self::new(Arc::new(FileStore::new(path, ring)), clock)
    }

    /// The same cache refreshing tokens once they have less than `margin` left.
    #[must_use]
    pub fn refresh_ahead(mut self, margin: Duration) -> Self {
        self.refresh_ahead = margin;
        self
    }

    /// A token for `provider`'s identity: the cached one while it has more than the
    /// refresh-ahead margin left, else a new one from one login (shared by every caller
    /// waiting for it). A token just issued is handed out even if its whole life is shorter
    /// than the margin. The token returned carries its expiry.
    pub async fn get(&self, provider: &dyn TokenProvider) -> Result<AccessToken, TokenCacheError> {
        let identity = provider.identity();
        let slot = self.slot(identity);
        let mut slot = slot.lock().await;
        if let Some(reason) = &slot.blocked {
            return Err(TokenCacheError::Blocked {
                identity: identity.to_owned(),
                reason: reason.clone(),
            });
        }
        if !slot.loaded {
            slot.token = self.load(identity).await;
            slot.loaded = true;
        }
        if let Some(token) = &slot.token {
            if self.fresh(token) {
                return Ok(token.clone());
            }
        }
        let issued_at = self.now();
        let login = provider.login().await;
        crate::observe::token_refresh(login.is_ok());
        let token = match login {
            Ok(token) => token,
            Err(e) => {
                if e.is_lockout_risk() {
                    slot.blocked = Some(e.to_string());
                }
                return Err(e.into());
            }
        };
        let expires_at = provider
            .expiry_rule()
            .resolve(&token, issued_at)
            .map_err(|source| TokenCacheError::Expiry {
                identity: identity.to_owned(),
                source,
            })?;
        let token = token.with_expiry(expires_at);
        self.save(identity, &token).await;
        slot.token = Some(token.clone());
        Ok(token)
    }

    /// Forgets `identity`'s token (in memory; the stored copy stays until overwritten), so the
    /// next [`get`](Self::get) logs in: for a token the broker refused before its expiry.
    pub async fn invalidate(&self, identity: &str) {
        let slot = self.slot(identity);
        let mut slot = slot.lock().await;
        slot.token = None;
        slot.loaded = true;
    }

    /// Lifts the block a lockout-risk refusal set for `identity`: the next
    /// [`get`](Self::get) logs in again. Call it when a person has fixed the credentials.
    pub async fn clear_block(&self, identity: &str) {
        self.slot(identity).lock().await.blocked = None;
    }

    /// Whether a lockout-risk refusal blocks `identity`'s logins.
    pub async fn is_blocked(&self, identity: &str) -> bool {
        self.slot(identity).lock().await.blocked.is_some()
    }

    fn slot(&self, identity: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(identity.to_owned()).or_default())
    }

    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.clock.now_ms())
    }

    /// Whether `token` has more than the margin left.
    fn fresh(&self, token: &AccessToken) -> bool {
        token.expires_at().is_some_and(|at| {
            self.now()
                .checked_add(self.refresh_ahead)
                .is_some_and(|due| due < at)
        })
    }

    /// The stored token of `identity`, if there is a readable one.
    async fn load(&self, identity: &str) -> Option<AccessToken> {
        let name = token_secret_name(identity);
        let secret = match self.store.get(&name, &Selector::Current).await {
            Ok(secret) => secret,
            Err(StoreError::NotFound { .. }) => return None,
            Err(e) => {
                tracing::warn!(identity, error = %e, "could not read the stored token; logging in");
                return None;
            }
        };
        let value = secret.value;
        let (Some(token), Some(expires)) =
            (value.field(TOKEN_FIELD), value.field(EXPIRES_AT_FIELD))
        else {
            tracing::warn!(identity, "the stored token lacks its fields; logging in");
            return None;
        };
        let Ok(ms) = expires.expose_secret().parse::<u64>() else {
            tracing::warn!(
                identity,
                "the stored token's expiry is not a number; logging in"
            );
            return None;
        };
        let expires_at = UNIX_EPOCH.checked_add(Duration::from_millis(ms))?;
        Some(
            AccessToken::new(SecretString::from(token.expose_secret().to_owned()))
                .with_expiry(expires_at),
        )
    }

    /// Stores `token` (which carries its expiry) as `<identity>/token`; a failure is a warning.
    async fn save(&self, identity: &str, token: &AccessToken) {
        let expires_ms = token
            .expires_at()
            .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .to_string();
        let value = SecretValue::fields([
            (TOKEN_FIELD, token.expose()),
            (EXPIRES_AT_FIELD, expires_ms.as_str()),
        ]);
        if let Err(e) = self.store.put(&token_secret_name(identity), &value).await {
            tracing::warn!(identity, error = %e, "could not store the token; it is used from memory");
        }
    }
}
