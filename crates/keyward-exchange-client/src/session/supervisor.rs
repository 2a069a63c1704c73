//! [`SessionSupervisor`]: keeps one broker session alive. On a schedule it makes the broker's
//! keepalive call; when the brokerage session dropped it re-authenticates and checks the
//! status; when the session expired it logs in again through a [`TokenProvider`] (when it has
//! one). Each step is a typed [`SupervisorEvent`]; after a bounded number of failed attempts
//! it gives up loudly (a [`SupervisorEvent::GaveUp`] and a `tracing::error!`) and makes no
//! more calls.
//!
//! Time is injected: [`tick`](SessionSupervisor::tick) does what is due at the clock's now,
//! and [`run`](SessionSupervisor::run) is `tick` plus the injected [`Sleep`] until the next
//! step, so tests step a `FixedClock` and call `tick` without waiting.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use keyward_resilience::{Sleep, TokioSleep};
use keyward_secrets_backends::audit::{AuditLog, Event, EventKind, Outcome};
use keyward_signing::{Clock, SystemClock};
use tokio::sync::{Mutex, broadcast};

use super::provider::TokenProvider;
use super::supervisor_event::{GiveUpReason, SupervisorEvent};
use super::supervisor_venue::{SessionState, SessionVenue};
use super::token::AccessToken;

/// Attempts (re-authentications, logins or failed calls in a row) before giving up, by
/// default.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// The most attempts a supervisor can be set to make.
pub const MAX_ATTEMPTS_CEILING: u32 = 100;
/// The wait after a failed or recovering step before the next one, by default: long enough
/// for an asynchronous re-authentication (IBKR's) to finish.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(10);
/// The longest wait between two steps, whatever the venue's interval or the retry delay.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Events kept for a subscriber that reads slowly; older ones are dropped for it.
pub const EVENT_CAPACITY: usize = 256;

/// What the supervisor is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Keepalive calls on schedule.
    Healthy,
    /// A re-authentication was asked for; the next step checks the status.
    Reauthenticating,
}

/// The supervisor's mutable state, one step at a time.
#[derive(Debug)]
struct State {
    /// When the next step is due (the clock's ms).
    next_due_ms: u64,
    phase: Phase,
    /// Failed attempts in a row (re-authentications, logins, calls).
    attempts: u32,
    /// The current token of a token-based session.
    token: Option<AccessToken>,
    /// Set once it gave up.
    gave_up: Option<GiveUpReason>,
}

/// Keeps one broker session alive: the venue's keepalive call on its schedule,
/// re-authentication of a dropped brokerage session (checked by a status call after the retry
/// delay), a new login through a [`TokenProvider`] when the session expired, and a
/// [`SupervisorEvent`] for each step. After [`with_max_attempts`](Self::with_max_attempts)
/// failed attempts in a row it gives up loudly ([`SupervisorEvent::GaveUp`] and a
/// `tracing::error!`) and makes no more calls; a login refused with a lockout risk gives up at
/// once. [`tick`](Self::tick) does the step due at the injected clock's time;
/// [`run`](Self::run) is `tick` plus the injected sleep.
///
/// ```
/// # use std::sync::Arc;
/// # use keyward_exchange_client::session::{IbkrGateway, SessionSupervisor};
/// # fn main() -> keyward_exchange_client::Result<()> {
/// let gateway = IbkrGateway::new("https://localhost:5000")?;
/// let supervisor = SessionSupervisor::new(Arc::new(gateway));
/// let mut events = supervisor.subscribe();
/// // tokio::spawn(async move { supervisor.run().await });
/// # drop(events.try_recv());
/// # Ok(())
/// # }
/// ```
pub struct SessionSupervisor {
    venue: Arc<dyn SessionVenue>,
    provider: Option<Arc<dyn TokenProvider>>,
    audit: Option<Arc<AuditLog>>,
    clock: Arc<dyn Clock>,
    sleep: Arc<dyn Sleep>,
    interval: Duration,
    retry_delay: Duration,
    max_attempts: u32,
    events: broadcast::Sender<SupervisorEvent>,
    state: Mutex<State>,
}

impl std::fmt::Debug for SessionSupervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSupervisor")
            .field("venue", &self.venue.name())
            .field("identity", &self.provider.as_ref().map(|p| p.identity()))
            .field("audit", &self.audit.is_some())
            .field("interval", &self.interval)
            .field("retry_delay", &self.retry_delay)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl SessionSupervisor {
    /// A supervisor of `venue`'s session, on the system clock and tokio's sleep, keeping it
    /// alive at the venue's interval, with no token provider and no audit log. Its first step
    /// is due at once.
    pub fn new(venue: Arc<dyn SessionVenue>) -> Self {
        let interval = venue.keepalive_interval().min(MAX_WAIT);
        Self {
            venue,
            provider: None,
            audit: None,
            clock: Arc::new(SystemClock),
            sleep: Arc::new(TokioSleep),
            interval,
            retry_delay: DEFAULT_RETRY_DELAY,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            events: broadcast::channel(EVENT_CAPACITY).0,
            state: Mutex::new(State {
                next_due_ms: 0,
                phase: Phase::Healthy,
                attempts: 0,
                token: None,
                gave_up: None,
            }),
        }
    }

    /// Logs in again through `provider` when the session expires (and uses its token for the
    /// venue's calls).
    #[must_use]
    pub fn with_token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Starts with this token (from a token cache, say) instead of logging in first.
    #[must_use]
    pub fn with_token(mut self, token: AccessToken) -> Self {
        self.state.get_mut().token = Some(token);
        self
    }

    /// Appends `Login` and `LoginFailure` entries (re-authentications and logins) to `audit`.
    /// A failed append is a `tracing::warn!` and never stops the supervisor.
    #[must_use]
    pub fn with_audit(mut self, audit: Arc<AuditLog>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Reads time from `clock` (tests: a `FixedClock`).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Waits between steps of [`run`](Self::run) with `sleep`.
    #[must_use]
    pub fn with_sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.sleep = sleep;
        self
    }

    /// Makes the keepalive call every `interval` instead of the venue's (at most
    /// [`MAX_WAIT`]; at least one second).
    #[must_use]
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval.clamp(Duration::from_secs(1), MAX_WAIT);
        self
    }

    /// Waits `delay` after a failed or recovering step (default [`DEFAULT_RETRY_DELAY`]; at
    /// most [`MAX_WAIT`]).
    #[must_use]
    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay.min(MAX_WAIT);
        self
    }

    /// Gives up after `attempts` failed attempts in a row (default
    /// [`DEFAULT_MAX_ATTEMPTS`]; 1 to [`MAX_ATTEMPTS_CEILING`]).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.clamp(1, MAX_ATTEMPTS_CEILING);
        self
    }

    /// A receiver of every event from now on. A subscriber more than [`EVENT_CAPACITY`]
    /// events behind loses the oldest (it sees `RecvError::Lagged`); the supervisor never
    /// waits for a subscriber.
    pub fn subscribe(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.events.subscribe()
    }

    /// The keepalive interval in use.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Why it gave up, once it has.
    pub async fn gave_up(&self) -> Option<GiveUpReason> {
        self.state.lock().await.gave_up.clone()
    }

    /// How long from the clock's now until the next step is due (zero when due, or after it
    /// gave up).
    pub async fn until_next(&self) -> Duration {
        let next = self.state.lock().await.next_due_ms;
        Duration::from_millis(next.saturating_sub(self.clock.now_ms()))
    }

    /// Does the step due at the clock's now, if one is, and returns its events (also sent to
    /// subscribers). Nothing when no step is due or after it gave up.
    pub async fn tick(&self) -> Vec<SupervisorEvent> {
        let mut state = self.state.lock().await;
        let now = self.clock.now_ms();
        if state.gave_up.is_some() || now < state.next_due_ms {
            return Vec::new();
        }
        let mut step = Step {
            sup: self,
            state: &mut state,
            now,
            events: Vec::new(),
        };
        step.run().await;
        let events = step.events;
        for event in &events {
            // No subscriber is not an error.
            let _ = self.events.send(event.clone());
        }
        events
    }

    /// Runs until it gives up, and returns why: [`tick`](Self::tick), then the injected sleep
    /// until the next step. To stop it earlier, drop the future (or abort its task).
    pub async fn run(&self) -> GiveUpReason {
        loop {
            self.tick().await;
            if let Some(reason) = self.gave_up().await {
                return reason;
            }
            let wait = self.until_next().await.min(MAX_WAIT);
            if !wait.is_zero() {
                self.sleep.sleep(wait).await;
            }
        }
    }
}

/// One step: the state locked, the events it produced.
struct Step<'a> {
    sup: &'a SessionSupervisor,
    state: &'a mut State,
    now: u64,
    events: Vec<SupervisorEvent>,
}

impl Step<'_> {
    fn venue(&self) -> &'static str {
        self.sup.venue.name()
    }

    fn emit(&mut self, event: SupervisorEvent) {
        self.events.push(event);
    }

    fn after(&self, wait: Duration) -> u64 {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        self.now.saturating_add(ms)
    }

    /// Whether the token's stated expiry has passed.
    fn token_expired(&self) -> bool {
        self.state
            .token
            .as_ref()
            .and_then(AccessToken::expires_at)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .is_some_and(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX) <= self.now)
    }

    async fn run(&mut self) {
        let venue = self.sup.venue.clone();
        let answer = if self.sup.provider.is_some() && self.token_expired() {
            Ok(SessionState::Expired)
        } else if self.sup.provider.is_some() && self.state.token.is_none() {
            // A token-based session starts with a login.
            Ok(SessionState::Expired)
        } else if self.state.phase == Phase::Reauthenticating {
            venue.status(self.state.token.as_ref()).await
        } else {
            venue.keepalive(self.state.token.as_ref()).await
        };
        match answer {
            Ok(SessionState::Active) => self.active().await,
            Ok(SessionState::Dropped) => self.dropped().await,
            Ok(SessionState::Expired) => self.expired().await,
            Err(e) => {
                let error = e.to_string();
                tracing::warn!(venue = self.venue(), "session call failed: {error}");
                self.emit(SupervisorEvent::CallFailed {
                    venue: self.venue(),
                    error: error.clone(),
                });
                self.fail(GiveUpReason::Unreachable {
                    attempts: self.state.attempts.saturating_add(1),
                    last_error: error,
                });
            }
        }
    }

    /// Counts a failed attempt; gives up with `reason` when it was the last one allowed, or
    /// waits the retry delay.
    fn fail(&mut self, reason: GiveUpReason) {
        self.state.attempts = self.state.attempts.saturating_add(1);
        if self.state.attempts >= self.sup.max_attempts {
            self.give_up(reason);
        } else {
            self.state.next_due_ms = self.after(self.sup.retry_delay);
        }
    }

    fn give_up(&mut self, reason: GiveUpReason) {
        tracing::error!(venue = self.venue(), "session supervisor gave up: {reason}");
        self.emit(SupervisorEvent::GaveUp {
            venue: self.venue(),
            reason: reason.clone(),
        });
        self.state.gave_up = Some(reason);
    }

    async fn active(&mut self) {
        if self.state.phase == Phase::Reauthenticating {
            let attempts = self.state.attempts;
            tracing::info!(venue = self.venue(), attempts, "re-authenticated");
            self.audit(EventKind::Login, Outcome::Success).await;
            self.emit(SupervisorEvent::Reauthenticated {
                venue: self.venue(),
                attempts,
            });
        } else {
            tracing::debug!(venue = self.venue(), "session kept alive");
            self.emit(SupervisorEvent::KeptAlive {
                venue: self.venue(),
            });
        }
        self.state.phase = Phase::Healthy;
        self.state.attempts = 0;
        self.state.next_due_ms = self.after(self.sup.interval);
    }

    async fn dropped(&mut self) {
        if self.state.phase == Phase::Reauthenticating {
            // The last re-authentication did not bring it back.
            self.audit(EventKind::LoginFailure, Outcome::Failure).await;
            if self.state.attempts >= self.sup.max_attempts {
                let attempts = self.state.attempts;
                self.give_up(GiveUpReason::ReauthenticationFailed { attempts });
                return;
            }
        } else {
            self.state.attempts = 0;
        }
        let attempt = self.state.attempts.saturating_add(1);
        tracing::warn!(
            venue = self.venue(),
            attempt,
            "brokerage session dropped; re-authenticating"
        );
        self.emit(SupervisorEvent::SessionDropped {
            venue: self.venue(),
            attempt,
        });
        self.state.attempts = attempt;
        self.state.phase = Phase::Reauthenticating;
        self.state.next_due_ms = self.after(self.sup.retry_delay);
        let venue = self.sup.venue.clone();
        if let Err(e) = venue.reauthenticate(self.state.token.as_ref()).await {
            let error = e.to_string();
            tracing::warn!(
                venue = self.venue(),
                "re-authentication call failed: {error}"
            );
            self.emit(SupervisorEvent::CallFailed {
                venue: self.venue(),
                error,
            });
        }
    }

    async fn expired(&mut self) {
        let had_session = self.state.token.is_some() || self.sup.provider.is_none();
        if had_session {
            tracing::warn!(venue = self.venue(), "session expired");
            self.emit(SupervisorEvent::SessionExpired {
                venue: self.venue(),
            });
        }
        self.state.phase = Phase::Healthy;
        self.state.token = None;
        let Some(provider) = self.sup.provider.clone() else {
            self.give_up(GiveUpReason::ExpiredWithoutLogin);
            return;
        };
        match provider.login().await {
            Ok(token) => {
                self.state.token = Some(token);
                tracing::info!(
                    venue = self.venue(),
                    identity = provider.identity(),
                    "logged in again"
                );
                self.audit(EventKind::Login, Outcome::Success).await;
                self.emit(SupervisorEvent::ReloggedIn {
                    venue: self.venue(),
                    identity: provider.identity().to_owned(),
                });
                // Bounded: a session that stays expired after each login counts each login.
                self.state.attempts = self.state.attempts.saturating_add(1);
                if self.state.attempts > self.sup.max_attempts {
                    let attempts = self.state.attempts - 1;
                    self.give_up(GiveUpReason::LoginFailed { attempts });
                } else {
                    // Check the new session at once.
                    self.state.next_due_ms = self.now;
                }
            }
            Err(e) => {
                let error = e.to_string();
                tracing::warn!(venue = self.venue(), "login failed: {error}");
                self.audit(EventKind::LoginFailure, Outcome::Failure).await;
                self.emit(SupervisorEvent::LoginFailed {
                    venue: self.venue(),
                    error: error.clone(),
                });
                if e.is_lockout_risk() {
                    self.give_up(GiveUpReason::LockoutRisk { error });
                } else {
                    let attempts = self.state.attempts.saturating_add(1);
                    self.fail(GiveUpReason::LoginFailed { attempts });
                }
            }
        }
    }

    /// Appends an audit entry about the provider's identity (or the venue's name); a failure
    /// is a warning, never an error of the supervisor.
    async fn audit(&self, kind: EventKind, outcome: Outcome) {
        let Some(log) = &self.sup.audit else { return };
        let subject = self
            .sup
            .provider
            .as_ref()
            .map_or(self.venue(), |p| p.identity());
        match Event::new(kind, subject, outcome) {
            Ok(event) => {
                if let Err(e) = log.append(&event).await {
                    tracing::warn!(venue = self.venue(), "audit append failed: {e}");
                }
            }
            Err(e) => tracing::warn!(venue = self.venue(), "audit entry refused: {e}"),
        }
    }
}
