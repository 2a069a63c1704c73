//! [`FleetLogin`]: one broker login for a whole fleet. A [`TokenProvider`] decorator, so it
//! plugs in wherever a provider does ([`TokenCache`](crate::session::TokenCache),
//! [`TokenGuard`](crate::session::TokenGuard), the supervisor).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use keyward_core_crypto::KeyRing;
use keyward_resilience::{Sleep, TokioSleep};
use keyward_signing::redis::{ConnectionManager, DEFAULT_TIMEOUT, RedisError};
use keyward_signing::{Clock, SystemClock};

use super::login_scripts::{self, Acquire, Commit, LoginKeys};
use super::token_entry::{self, EntryError};
use crate::session::{AccessToken, DEFAULT_REFRESH_AHEAD, ExpiryRule, LoginError, TokenProvider};

/// How long the login lock lasts unless configured: 60 s. A holder that dies (a crash, a
/// dropped future) frees the identity after this long; a login must finish within it (a TOTP
/// login with a window-edge wait takes a few seconds).
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(60);
/// How much longer than the lock's TTL a waiter waits for one holder: 5 s.
pub const DEFAULT_WAIT_MARGIN: Duration = Duration::from_secs(5);
/// How long the fleet remembers a failed login that does not risk a lockout (a transport
/// error, an unexpected answer): 30 s. Meanwhile the other processes fail with
/// [`LoginError::FleetLoginFailed`] instead of each trying again.
pub const DEFAULT_FAILURE_TTL: Duration = Duration::from_secs(30);
/// How long the fleet remembers a failed login that risks a lockout (a refused TOTP code, PIN or
/// credentials, a locked account): 15 minutes, or until
/// [`FleetLogin::clear_failure`]. Brokers lock an account after a few refusals; eight
/// processes must not spend them.
pub const DEFAULT_LOCKOUT_FAILURE_TTL: Duration = Duration::from_secs(15 * 60);
/// The first pause of a waiter between two looks at the shared state: 10 ms, doubling up to
/// [`MAX_POLL`].
pub const FIRST_POLL: Duration = Duration::from_millis(10);
/// The longest pause of a waiter between two looks at the shared state: 250 ms.
pub const MAX_POLL: Duration = Duration::from_millis(250);
/// How many successive lock holders a waiter waits for (each dying or stalling past the TTL)
/// before it gives up with [`LoginError::FleetWaitTimedOut`]: 3.
pub const MAX_HOLDERS: u32 = 3;

/// One broker login for a fleet: the processes that share a broker identity share its token.
///
/// [`login`](TokenProvider::login) reads the fleet's entry `<prefix>:{login:<identity>}:token`
/// (a Fernet token under the fleet key, holding the access token and its expiry):
/// - a token with more than the refresh-ahead margin left is returned, no login;
/// - otherwise the process tries to take the lock (one script: `INCR <..>:fence` and
///   `SET <..>:lock <fence>:<nonce> NX PX <lock TTL>`, only if the entry is still the one it
///   judged; the random nonce keeps holders apart even after Redis restarted empty).
///   The winner runs the wrapped provider's login, works out the token's expiry (the provider's
///   [`ExpiryRule`], the earliest of rule and stated expiry), and writes the sealed entry, with a
///   TTL until that expiry, in a script that first checks that the lock still holds ITS fence:
///   a holder whose lock expired while it was logging in cannot overwrite a newer holder's
///   token (it returns the newer token if there is one, else its own, unpublished). The same
///   script releases the lock.
/// - The others wait: they look again with a pause that starts at [`FIRST_POLL`] and doubles up
///   to [`MAX_POLL`] (through the injected [`Sleep`]), for at most the lock TTL plus the wait
///   margin per holder. When the lock expires with no entry (the holder died), the next look
///   takes the lock: one waiter takes over. After [`MAX_HOLDERS`] holders, or one holder past
///   its bound, the waiter fails with [`LoginError::FleetWaitTimedOut`].
/// - A failed login is published as a failure marker (`<..>:failed`, sealed, kept
///   [`DEFAULT_FAILURE_TTL`], or [`DEFAULT_LOCKOUT_FAILURE_TTL`] when it risks a lockout): every
///   process that looks while it lasts fails with [`LoginError::FleetLoginFailed`] (a lockout
///   risk when the original was) without logging in, so a refused TOTP code is not repeated by
///   every process. A successful login clears it; so does [`clear_failure`](Self::clear_failure).
///
/// Failure semantics:
/// - Redis unreachable (refused, timed out after [`with_timeout`](Self::with_timeout), an
///   error) before this process logged in: [`LoginError::SharedStateUnavailable`], and no login,
///   so that a fleet without its Redis does not storm the broker. Opt in to
///   [`with_local_fallback`](Self::with_local_fallback) to log in alone instead (with a warning
///   each time).
/// - Redis failing after this process logged in: the token is returned, unpublished, with a
///   warning (the broker issued it; throwing it away would cost another login).
/// - An entry or failure marker that does not decrypt under the fleet key or does not parse
///   (another program, another fleet's key): treated as absent, with a warning; the next login
///   overwrites it. Never a panic.
/// - The token never appears in `Debug`, logs or errors; in Redis it is sealed.
///
/// Use the same refresh-ahead margin here as in the [`TokenCache`](crate::session::TokenCache)
/// in front of it (both default to [`DEFAULT_REFRESH_AHEAD`]).
pub struct FleetLogin<P> {
    inner: P,
    conn: ConnectionManager,
    prefix: String,
    keys: LoginKeys,
    ring: KeyRing,
    clock: Arc<dyn Clock>,
    sleep: Arc<dyn Sleep>,
    timeout: Duration,
    refresh_ahead: Duration,
    lock_ttl: Duration,
    wait_margin: Duration,
    failure_ttl: Duration,
    lockout_failure_ttl: Duration,
    local_fallback: bool,
}

impl<P: TokenProvider> fmt::Debug for FleetLogin<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetLogin")
            .field("identity", &self.inner.identity())
            .field("prefix", &self.prefix)
            .field("lock_ttl", &self.lock_ttl)
            .field("timeout", &self.timeout)
            .field("local_fallback", &self.local_fallback)
            .finish_non_exhaustive()
    }
}

/// Why the shared flow stopped: Redis failed before this process logged in, or a login error.
enum Stop {
    Redis(RedisError),
    Login(LoginError),
}

impl From<RedisError> for Stop {
    fn from(e: RedisError) -> Self {
        Self::Redis(e)
    }
}

impl<P: TokenProvider> FleetLogin<P> {
    /// `provider`'s logins shared by the fleet `prefix` through `conn`, its entries sealed under
    /// `key` (the fleet key: every process of the fleet needs the same one; a ring decrypts with
    /// every key and seals with the first, for rotation). Wall time from the system clock,
    /// waits on tokio's timer, and the defaults of this module's constants.
    pub fn new(provider: P, conn: ConnectionManager, prefix: &str, key: KeyRing) -> Self {
        let keys = LoginKeys::new(prefix, provider.identity());
        Self {
            inner: provider,
            conn,
            prefix: prefix.to_owned(),
            keys,
            ring: key,
            clock: Arc::new(SystemClock),
            sleep: Arc::new(TokioSleep),
            timeout: DEFAULT_TIMEOUT,
            refresh_ahead: DEFAULT_REFRESH_AHEAD,
            lock_ttl: DEFAULT_LOCK_TTL,
            wait_margin: DEFAULT_WAIT_MARGIN,
            failure_ttl: DEFAULT_FAILURE_TTL,
            lockout_failure_ttl: DEFAULT_LOCKOUT_FAILURE_TTL,
            local_fallback: false,
        }
    }

    /// Bounds every call to Redis by `timeout` (default [`DEFAULT_TIMEOUT`], 500 ms).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reads wall time (freshness, expiry) from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Waits between looks at the shared state through `sleep`.
    #[must_use]
    pub fn with_sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.sleep = sleep;
        self
    }

    /// Treats a shared token with less than `margin` left as due (default
    /// [`DEFAULT_REFRESH_AHEAD`]).
    #[must_use]
    pub fn refresh_ahead(mut self, margin: Duration) -> Self {
        self.refresh_ahead = margin;
        self
    }

    /// The lock's TTL (default [`DEFAULT_LOCK_TTL`]) and how much longer a waiter waits for one
    /// holder (default [`DEFAULT_WAIT_MARGIN`]).
    #[must_use]
    pub fn lock_ttl(mut self, ttl: Duration, wait_margin: Duration) -> Self {
        self.lock_ttl = ttl;
        self.wait_margin = wait_margin;
        self
    }

    /// How long the fleet remembers a failed login: `transient` for one that does not risk a
    /// lockout (default [`DEFAULT_FAILURE_TTL`]), `lockout` for one that does (default
    /// [`DEFAULT_LOCKOUT_FAILURE_TTL`]).
    #[must_use]
    pub fn failure_ttl(mut self, transient: Duration, lockout: Duration) -> Self {
        self.failure_ttl = transient;
        self.lockout_failure_ttl = lockout;
        self
    }

    /// When Redis is unreachable, logs in alone (with a `tracing` warning each time) instead of
    /// failing with [`LoginError::SharedStateUnavailable`]. Every process of the fleet then
    /// logs in on its own: the broker's login limits may refuse some, or lock the account.
    #[must_use]
    pub fn with_local_fallback(mut self) -> Self {
        self.local_fallback = true;
        self
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// Deletes the fleet's failure marker for this identity, so the next login tries the broker
    /// again: call it when a person has fixed the credentials (with
    /// [`TokenCache::clear_block`](crate::session::TokenCache::clear_block) in each process).
    pub async fn clear_failure(&self) -> Result<(), LoginError> {
        login_scripts::clear_failure(&self.conn, self.timeout, &self.keys)
            .await
            .map_err(|e| self.unavailable(&e))
    }

    fn unavailable(&self, e: &RedisError) -> LoginError {
        LoginError::SharedStateUnavailable {
            identity: self.inner.identity().to_owned(),
            detail: e.to_string(),
        }
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

    /// The provider's login, with the token's expiry worked out.
    async fn login_with_expiry(&self) -> Result<(AccessToken, Option<SystemTime>), LoginError> {
        let issued_at = self.now();
        let token = self.inner.login().await?;
        let expiry = self.inner.expiry_rule().resolve(&token, issued_at).ok();
        Ok(match expiry {
            Some(at) => (token.with_expiry(at), Some(at)),
            None => (token, None),
        })
    }

    /// The shared flow: a fresh entry, a wait for another process's login, or a login as the
    /// lock's holder.
    async fn shared(&self) -> Result<AccessToken, Stop> {
        let identity = self.inner.identity();
        let mut seen_entry = String::new();
        let mut seen_failure = String::new();
        let mut holder: Option<String> = None;
        let mut holders = 0u32;
        let mut waited = Duration::ZERO;
        let mut poll = FIRST_POLL;
        let bound = self.lock_ttl.saturating_add(self.wait_margin);
        loop {
            let decision = login_scripts::acquire(
                &self.conn,
                self.timeout,
                &self.keys,
                &seen_entry,
                &seen_failure,
                self.lock_ttl,
                &uuid::Uuid::new_v4().simple().to_string(),
            )
            .await?;
            match decision {
                Acquire::Entry(raw) => {
                    match token_entry::open_token(&self.ring, &raw) {
                        Ok(token) if self.fresh(&token) => return Ok(token),
                        Ok(_) => tracing::debug!(identity, "the fleet's token is due; refreshing"),
                        Err(e) => warn_foreign(identity, "token entry", e),
                    }
                    seen_entry = raw;
                }
                Acquire::Failed(raw) => match token_entry::open_failure(&self.ring, &raw) {
                    Ok(marker) => {
                        return Err(Stop::Login(LoginError::FleetLoginFailed {
                            identity: identity.to_owned(),
                            reason: marker.reason,
                            lockout_risk: marker.lockout_risk,
                        }));
                    }
                    Err(e) => {
                        warn_foreign(identity, "failure marker", e);
                        seen_failure = raw;
                    }
                },
                Acquire::Held { fence, remaining } => {
                    if holder.as_deref() != Some(fence.as_str()) {
                        holder = Some(fence);
                        holders += 1;
                        waited = Duration::ZERO;
                    }
                    if holders > MAX_HOLDERS || waited >= bound {
                        return Err(Stop::Login(LoginError::FleetWaitTimedOut {
                            identity: identity.to_owned(),
                            waited,
                        }));
                    }
                    // Never past the lock's expiry (look again as soon as it may be free),
                    // never past the bound, at least a millisecond.
                    let mut pause = poll.min(bound - waited);
                    if let Some(left) = remaining {
                        pause = pause.min(left);
                    }
                    let pause = pause.max(Duration::from_millis(1));
                    self.sleep.sleep(pause).await;
                    waited = waited.saturating_add(pause);
                    poll = poll.saturating_mul(2).min(MAX_POLL);
                }
                Acquire::Won(lock) => return self.as_holder(&lock).await.map_err(Stop::Login),
            }
        }
    }

    /// Logs in as the lock's holder (its lock value `lock`) and publishes the outcome.
    async fn as_holder(&self, lock: &str) -> Result<AccessToken, LoginError> {
        let identity = self.inner.identity();
        match self.login_with_expiry().await {
            Ok((token, Some(expires_at))) => {
                let sealed = token_entry::seal_token(&self.ring, &token, expires_at);
                let ttl = expires_at
                    .duration_since(self.now())
                    .unwrap_or(Duration::ZERO);
                let outcome =
                    login_scripts::commit(&self.conn, self.timeout, &self.keys, lock, &sealed, ttl)
                        .await;
                match outcome {
                    Ok(Commit::Stored) => {}
                    Ok(Commit::Lost(current)) => {
                        tracing::warn!(
                            identity,
                            "the fleet login lock expired during this login; not overwriting a newer holder's token"
                        );
                        let newer = current.and_then(|raw| {
                            token_entry::open_token(&self.ring, &raw)
                                .ok()
                                .filter(|t| self.fresh(t))
                        });
                        if let Some(newer) = newer {
                            return Ok(newer);
                        }
                    }
                    Err(e) => tracing::warn!(
                        identity,
                        error = %e,
                        "could not publish the token to the fleet; it is used by this process alone"
                    ),
                }
                Ok(token)
            }
            Ok((token, None)) => {
                // The cache in front reports the unusable expiry; the fleet is told so that the
                // others do not each log in for a token nobody can schedule.
                let reason = "the issued token has no usable expiry";
                self.publish_failure(lock, reason, false).await;
                Ok(token)
            }
            Err(e) => {
                self.publish_failure(lock, &e.to_string(), e.is_lockout_risk())
                    .await;
                Err(e)
            }
        }
    }

    /// Publishes a failure marker while the lock holds `lock`; a Redis failure is a warning.
    async fn publish_failure(&self, lock: &str, reason: &str, lockout_risk: bool) {
        let identity = self.inner.identity();
        let sealed = token_entry::seal_failure(&self.ring, reason, lockout_risk);
        let ttl = if lockout_risk {
            self.lockout_failure_ttl
        } else {
            self.failure_ttl
        };
        match login_scripts::fail(&self.conn, self.timeout, &self.keys, lock, &sealed, ttl).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                identity,
                "the fleet login lock expired during this login; its failure is not published"
            ),
            Err(e) => tracing::warn!(
                identity,
                error = %e,
                "could not publish the failed login to the fleet"
            ),
        }
    }
}

fn warn_foreign(identity: &str, what: &'static str, e: EntryError) {
    tracing::warn!(
        identity,
        what,
        error = %e,
        "the fleet's shared login holds a value this process cannot read (another program, or another fleet key); treating it as absent"
    );
}

#[async_trait]
impl<P: TokenProvider> TokenProvider for FleetLogin<P> {
    fn identity(&self) -> &str {
        self.inner.identity()
    }

    fn expiry_rule(&self) -> ExpiryRule {
        self.inner.expiry_rule()
    }

    async fn login(&self) -> Result<AccessToken, LoginError> {
        match self.shared().await {
            Ok(token) => Ok(token),
            Err(Stop::Login(e)) => Err(e),
            Err(Stop::Redis(e)) if self.local_fallback => {
                tracing::warn!(
                    identity = self.inner.identity(),
                    error = %e,
                    "the fleet's Redis is unavailable: LOGGING IN ALONE (local fallback); every process of the fleet may do the same"
                );
                self.login_with_expiry().await.map(|(token, _)| token)
            }
            Err(Stop::Redis(e)) => Err(self.unavailable(&e)),
        }
    }
}
