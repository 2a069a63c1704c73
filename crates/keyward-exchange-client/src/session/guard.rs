//! [`TokenGuard`]: the token-generation guard. A rate limit per identity on logins (default 5
//! per 5 minutes), an "unusual activity" event when tokens are generated more often than a
//! threshold (default 2 within 30 s), and an audit entry for each login, refusal and token.
//!
//! Both windows are exact sliding windows over the injected clock's monotonic time, kept as the
//! few most recent instants per identity. Hand-written rather than with `governor`: governor's
//! GCRA refills continuously, so "5 per 5 minutes" would become a burst of 5 then one more each
//! minute (up to 9 in a 5-minute span), where a broker's rule and the issue's mean "never more
//! than 5 in any 5 minutes"; and the unusual-activity rule needs the instants themselves, not a
//! yes or no. Five instants per identity is all the state either needs.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use keyward_secrets_backends::audit::{AuditLog, Event, EventKind, Outcome};
use keyward_signing::Clock;
use tokio::sync::broadcast;

use super::login_error::LoginError;
use super::provider::TokenProvider;
use super::token::{AccessToken, ExpiryRule};

/// The guard's limits. The defaults are 5 logins per 5 minutes per identity, and an unusual
/// activity event at the second token within 30 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardConfig {
    /// The most logins (attempts, refused or not) per identity in `per`; at least 1.
    pub max_logins: u32,
    /// The rate limit's window.
    pub per: Duration,
    /// How many tokens generated within `unusual_within` make an unusual activity event; at
    /// least 1.
    pub unusual_count: u32,
    /// The unusual-activity window.
    pub unusual_within: Duration,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            max_logins: 5,
            per: Duration::from_secs(5 * 60),
            unusual_count: 2,
            unusual_within: Duration::from_secs(30),
        }
    }
}

/// What the guard reports, besides refusing a login.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuardEvent {
    /// Tokens for `identity` were generated more often than the threshold: `generations` of
    /// them within `within`. A bot in a login loop, or someone else using its credentials.
    UnusualActivity {
        /// The identity (a credentials name, never a secret).
        identity: String,
        /// How many tokens were generated within the window (the threshold reached).
        generations: u32,
        /// The window.
        within: Duration,
    },
}

/// The token-generation guard. Share one per process (in an `Arc`) among every cache and
/// provider of the same identities: its windows are per identity.
pub struct TokenGuard {
    config: GuardConfig,
    clock: Arc<dyn Clock>,
    audit: Option<Arc<AuditLog>>,
    windows: Mutex<HashMap<String, Windows>>,
    events: broadcast::Sender<GuardEvent>,
}

/// One identity's recent instants (monotonic time), oldest first.
#[derive(Default)]
struct Windows {
    logins: VecDeque<Duration>,
    generations: VecDeque<Duration>,
}

impl fmt::Debug for TokenGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGuard")
            .field("config", &self.config)
            .field("audit", &self.audit.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenGuard {
    /// A guard with the default limits, reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let (events, _) = broadcast::channel(64);
        Self {
            config: GuardConfig::default(),
            clock,
            audit: None,
            windows: Mutex::new(HashMap::new()),
            events,
        }
    }

    /// The same guard with other limits (a count of 0 is taken as 1).
    #[must_use]
    pub fn with_config(mut self, config: GuardConfig) -> Self {
        self.config = GuardConfig {
            max_logins: config.max_logins.max(1),
            unusual_count: config.unusual_count.max(1),
            ..config
        };
        self
    }

    /// The same guard, writing an audit entry for each login, refusal and token to `log`. A
    /// failed append is a `tracing` warning and never stops the login.
    #[must_use]
    pub fn with_audit(mut self, log: Arc<AuditLog>) -> Self {
        self.audit = Some(log);
        self
    }

    /// The limits in force.
    pub fn config(&self) -> GuardConfig {
        self.config
    }

    /// Receives every [`GuardEvent`] from now on (each is also logged as a `tracing` warning).
    pub fn subscribe(&self) -> broadcast::Receiver<GuardEvent> {
        self.events.subscribe()
    }

    /// Counts one login for `identity`, or refuses it with [`LoginError::RateLimited`] (and
    /// counts nothing) when `max_logins` were already counted within `per`.
    pub fn admit(&self, identity: &str) -> Result<(), LoginError> {
        let now = self.clock.monotonic();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let logins = &mut windows.entry(identity.to_owned()).or_default().logins;
        prune(logins, now, self.config.per);
        if logins.len() >= self.config.max_logins as usize {
            let oldest = logins.front().copied().unwrap_or(now);
            let retry_after = (oldest + self.config.per).saturating_sub(now);
            return Err(LoginError::RateLimited {
                identity: identity.to_owned(),
                retry_after,
            });
        }
        logins.push_back(now);
        Ok(())
    }

    /// Counts one token generated for `identity`, and returns (and sends to subscribers) an
    /// [`GuardEvent::UnusualActivity`] when `unusual_count` were generated within
    /// `unusual_within`.
    pub fn record_generation(&self, identity: &str) -> Option<GuardEvent> {
        let now = self.clock.monotonic();
        let count = {
            let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
            let generations = &mut windows.entry(identity.to_owned()).or_default().generations;
            prune(generations, now, self.config.unusual_within);
            generations.push_back(now);
            while generations.len() > self.config.unusual_count as usize {
                generations.pop_front();
            }
            generations.len()
        };
        if count < self.config.unusual_count as usize {
            return None;
        }
        let event = GuardEvent::UnusualActivity {
            identity: identity.to_owned(),
            generations: self.config.unusual_count,
            within: self.config.unusual_within,
        };
        tracing::warn!(
            identity,
            generations = self.config.unusual_count,
            within_s = self.config.unusual_within.as_secs(),
            "unusual activity: tokens generated more often than the threshold"
        );
        // No subscriber is not an error: the warning above is the record.
        let _ = self.events.send(event.clone());
        Some(event)
    }

    /// Runs `provider`'s login through the guard: refused when over the rate limit, then the
    /// login itself, then the unusual-activity check for the token. Audited: a refusal as a
    /// `login` entry with outcome `refused`, a failure as `login_failure`, a success as `login`
    /// and `token_generation`.
    pub async fn login(&self, provider: &dyn TokenProvider) -> Result<AccessToken, LoginError> {
        let identity = provider.identity();
        if let Err(refused) = self.admit(identity) {
            self.audit(EventKind::Login, identity, Outcome::Refused)
                .await;
            return Err(refused);
        }
        match provider.login().await {
            Ok(token) => {
                self.audit(EventKind::Login, identity, Outcome::Success)
                    .await;
                self.audit(EventKind::TokenGeneration, identity, Outcome::Success)
                    .await;
                self.record_generation(identity);
                Ok(token)
            }
            Err(e) => {
                self.audit(EventKind::LoginFailure, identity, Outcome::Failure)
                    .await;
                Err(e)
            }
        }
    }

    /// `provider` behind this guard: a [`TokenProvider`] whose every login goes through
    /// [`login`](Self::login).
    pub fn guard(self: &Arc<Self>, provider: Arc<dyn TokenProvider>) -> GuardedProvider {
        GuardedProvider {
            guard: Arc::clone(self),
            inner: provider,
        }
    }

    /// Appends one entry, if there is a log; a failure is a warning only.
    async fn audit(&self, kind: EventKind, identity: &str, outcome: Outcome) {
        let Some(log) = &self.audit else { return };
        let appended = match Event::new(kind, identity, outcome) {
            Ok(event) => log.append(&event).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = appended {
            tracing::warn!(event = kind.word(), error = %e, "could not write the audit entry");
        }
    }
}

/// Drops the instants older than `window` before `now`.
fn prune(instants: &mut VecDeque<Duration>, now: Duration, window: Duration) {
    while instants
        .front()
        .is_some_and(|t| now.saturating_sub(*t) >= window)
    {
        instants.pop_front();
    }
}

/// A [`TokenProvider`] behind a [`TokenGuard`] (from [`TokenGuard::guard`]).
pub struct GuardedProvider {
    guard: Arc<TokenGuard>,
    inner: Arc<dyn TokenProvider>,
}

impl fmt::Debug for GuardedProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedProvider")
            .field("identity", &self.inner.identity())
            .field("guard", &self.guard)
            .finish()
    }
}

#[async_trait]
impl TokenProvider for GuardedProvider {
    fn identity(&self) -> &str {
        self.inner.identity()
    }

    fn expiry_rule(&self) -> ExpiryRule {
        self.inner.expiry_rule()
    }

    async fn login(&self) -> Result<AccessToken, LoginError> {
        self.guard.login(&*self.inner).await
    }
}

#[cfg(test)]
mod tests {
    use keyward_signing::FixedClock;

    use super::*;

    #[test]
    fn five_logins_per_five_minutes_then_retry_after() {
        let clock = Arc::new(FixedClock::new(1_000_000));
        let guard = TokenGuard::new(clock.clone());
        for _ in 0..5 {
            guard.admit("bot").unwrap();
            clock.advance(10_000);
        }
        let Err(LoginError::RateLimited { retry_after, .. }) = guard.admit("bot") else {
            panic!("the sixth login must be refused");
        };
        // The first login was 50 s ago: 250 s to go.
        assert_eq!(retry_after, Duration::from_secs(250));
        // Another identity has its own window.
        guard.admit("other").unwrap();
        clock.advance(250_000);
        guard.admit("bot").unwrap();
        assert!(guard.admit("bot").is_err());
    }

    #[test]
    fn a_second_token_within_thirty_seconds_is_unusual() {
        let clock = Arc::new(FixedClock::new(0));
        let guard = TokenGuard::new(clock.clone());
        let mut events = guard.subscribe();
        assert_eq!(guard.record_generation("bot"), None);
        clock.advance(30_000);
        assert_eq!(
            guard.record_generation("bot"),
            None,
            "30 s apart is not within 30 s"
        );
        clock.advance(29_999);
        let event = guard.record_generation("bot").unwrap();
        assert_eq!(
            event,
            GuardEvent::UnusualActivity {
                identity: "bot".into(),
                generations: 2,
                within: Duration::from_secs(30),
            }
        );
        assert_eq!(events.try_recv().unwrap(), event);
    }

    #[test]
    fn zero_limits_are_taken_as_one() {
        let guard = TokenGuard::new(Arc::new(FixedClock::new(0))).with_config(GuardConfig {
            max_logins: 0,
            unusual_count: 0,
            ..GuardConfig::default()
        });
        assert_eq!(guard.config().max_logins, 1);
        guard.admit("bot").unwrap();
        assert!(guard.admit("bot").is_err());
    }
}
