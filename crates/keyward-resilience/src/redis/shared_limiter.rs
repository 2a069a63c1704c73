//! [`SharedLimiter`]: one rate budget for a whole fleet, decided in Redis.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use redis::aio::ConnectionManager;

use super::call::{DEFAULT_TIMEOUT, bounded};
use super::degraded::{DEFAULT_PROBE_INTERVAL, Health};
use super::scripts::Scripts;
use super::window::{SharedWindow, local_share};
use crate::clock::{Monotonic, MonotonicClock, Sleep};
use crate::error::{Error, Result};
use crate::limiter::{DEFAULT_MAX_WAIT, Limit, RateLimiter, cost_for};

/// A rate limiter whose budget every process of a fleet shares, decided in Redis.
///
/// It takes the same [`Limit`]s as [`RateLimiter`] (capacity, period, burst, unit, usage and
/// remaining headers) and decides them with the same GCRA, in whole microseconds (refill
/// intervals rounded up, so it never admits more than the local limiter would):
///
/// - **One decision, one script.** All the windows a request is charged to are decided in one
///   Lua script, atomically: all charged, or none and the longest wait. Weighted costs; a cost
///   above a limit's burst is [`Error::CostExceedsCapacity`] at once, without asking Redis.
/// - **Keys** are `<prefix>:{rl:<scope>}:<limit name>` (the braces are a Redis Cluster hash
///   tag, so the keys of one decision share a slot), each holding the limit's theoretical
///   arrival time in µs, expiring (`PX`) when it would be back to a full budget. Every process
///   that names the same prefix, scope and limit lands on the same key ([`key`](Self::key)).
/// - **One time base.** By default the scripts read Redis's own `TIME`, so hosts with skewed
///   clocks still share one budget. [`SharedLimiterBuilder::with_clock`] injects a clock
///   instead (tests: a frozen [`ManualClock`](crate::ManualClock) makes the budget exactly its
///   burst; with `burst = capacity`, exactly its capacity); every process must then use the
///   same time base. Keys still expire on Redis's real time, `TAT - now` after their last
///   write, so an injected clock must not run faster than real time.
/// - **Usage headers** seen by any process raise the shared state ([`resync`](Self::resync)):
///   never lower it, a count above the capacity counts as the capacity.
///
/// # Failure semantics
/// - **Redis unreachable or slower than the timeout** (default [`DEFAULT_TIMEOUT`]): the
///   decision is taken by a local [`RateLimiter`] holding a conservative share of each limit,
///   capacity and burst divided by the configured fleet size (rounded down, at least 1), so
///   the fleet as a whole stays within the budget while Redis is away. The limiter says so
///   loudly: a `tracing` warning on entering and on leaving degraded mode, and
///   [`is_degraded`](Self::is_degraded), [`times_degraded`](Self::times_degraded) and
///   [`local_decisions`](Self::local_decisions) to query. While degraded it asks Redis again
///   once per probe interval (default [`DEFAULT_PROBE_INTERVAL`]); the first answer ends
///   degraded mode. Usage headers also feed the local share, so it starts from what the venue
///   last reported.
/// - **Bad data in a key** (another program's value or type): [`Error::SharedBudget`] naming
///   the key, nothing charged, never a panic, and no fallback: the data needs an operator.
/// - **Waits** are bounded as [`RateLimiter::until_ready`]'s: past the max wait, at once
///   [`Error::RateLimited`], unsent.
pub struct SharedLimiter {
    conn: ConnectionManager,
    prefix: String,
    windows: Vec<SharedWindow>,
    timeout: Duration,
    max_wait: Duration,
    /// The injected time base; None for Redis's `TIME`.
    time: Option<Arc<dyn Monotonic>>,
    /// What [`until_ready`](Self::until_ready) measures its wait on.
    wait_clock: Arc<dyn Monotonic>,
    fleet_size: u32,
    fallback: RateLimiter<String>,
    health: Health,
    scripts: Scripts,
}

/// Builds a [`SharedLimiter`]: [`SharedLimiter::builder`].
#[must_use = "a builder does nothing until build() is called"]
pub struct SharedLimiterBuilder {
    conn: ConnectionManager,
    prefix: String,
    limits: Vec<Limit>,
    timeout: Duration,
    max_wait: Duration,
    time: Option<Arc<dyn Monotonic>>,
    fleet_size: u32,
    probe_interval: Duration,
}

/// What a [`SharedLimiter::check_charge`] charged, to give back with
/// [`SharedLimiter::refund`] (a request whose other budget refused it).
#[derive(Debug, Clone)]
pub struct Charge {
    scope: String,
    costs: Vec<(String, u32)>,
    /// False when the local share decided (nothing to give back in Redis).
    in_redis: bool,
}

impl Charge {
    /// Whether Redis decided this charge (false: the degraded local share did).
    pub fn in_redis(&self) -> bool {
        self.in_redis
    }
}

impl SharedLimiterBuilder {
    /// The longest one call to Redis may take (default [`DEFAULT_TIMEOUT`]); slower counts as
    /// unreachable.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many processes share the budget (at least 1; default 1): in degraded mode each
    /// decides on `1 / fleet_size` of every limit.
    pub fn with_fleet_size(mut self, fleet_size: u32) -> Self {
        self.fleet_size = fleet_size.max(1);
        self
    }

    /// The longest [`until_ready`](SharedLimiter::until_ready) waits in all for one call
    /// (default [`DEFAULT_MAX_WAIT`]).
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Decides on this clock instead of Redis's `TIME` (tests; every process of the fleet must
    /// then share its time base). The degraded local share runs on it too.
    pub fn with_clock(mut self, clock: Arc<dyn Monotonic>) -> Self {
        self.time = Some(clock);
        self
    }

    /// How long a degraded limiter decides locally before it asks Redis again (default
    /// [`DEFAULT_PROBE_INTERVAL`]; zero asks on every decision).
    pub fn with_probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Checks the prefix and the limits (as [`RateLimiter::new`] does) and builds the limiter.
    /// No call to Redis is made.
    pub fn build(self) -> Result<SharedLimiter> {
        check_name("key prefix", &self.prefix)?;
        let mut windows: Vec<SharedWindow> = Vec::new();
        for limit in self.limits {
            if windows.iter().any(|w| w.limit.name == limit.name) {
                return Err(Error::InvalidConfig(format!(
                    "two limits are named {}",
                    limit.name
                )));
            }
            check_name("limit name", &limit.name)?;
            windows.push(SharedWindow::new(limit)?);
        }
        let wait_clock: Arc<dyn Monotonic> = self
            .time
            .clone()
            .unwrap_or_else(|| Arc::new(MonotonicClock::new()));
        let shares = windows
            .iter()
            .map(|w| local_share(&w.limit, self.fleet_size));
        let fallback = RateLimiter::new(shares, wait_clock.clone())?.with_max_wait(self.max_wait);
        Ok(SharedLimiter {
            conn: self.conn,
            prefix: self.prefix,
            windows,
            timeout: self.timeout,
            max_wait: self.max_wait,
            time: self.time,
            wait_clock,
            fleet_size: self.fleet_size,
            fallback,
            health: Health::new(self.probe_interval),
            scripts: Scripts::new(),
        })
    }
}

impl SharedLimiter {
    /// A builder for a limiter over `limits`, on `conn`, with keys under `prefix` (the fleet's
    /// name: every process of the fleet must give the same one).
    pub fn builder(
        conn: ConnectionManager,
        prefix: &str,
        limits: impl IntoIterator<Item = Limit>,
    ) -> SharedLimiterBuilder {
        SharedLimiterBuilder {
            conn,
            prefix: prefix.to_owned(),
            limits: limits.into_iter().collect(),
            timeout: DEFAULT_TIMEOUT,
            max_wait: DEFAULT_MAX_WAIT,
            time: None,
            fleet_size: 1,
            probe_interval: DEFAULT_PROBE_INTERVAL,
        }
    }

    /// The Redis key of `limit` for `scope`: `<prefix>:{rl:<scope>}:<limit>`.
    pub fn key(&self, scope: &str, limit: &str) -> String {
        format!("{}:{{rl:{scope}}}:{limit}", self.prefix)
    }

    /// The limits in force.
    pub fn limits(&self) -> Vec<Limit> {
        self.windows.iter().map(|w| w.limit.clone()).collect()
    }

    /// The configured fleet size (the divisor of the degraded local share).
    pub fn fleet_size(&self) -> u32 {
        self.fleet_size
    }

    /// The longest [`until_ready`](Self::until_ready) waits in all for one call.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// Whether the limiter is deciding locally because Redis did not answer.
    pub fn is_degraded(&self) -> bool {
        self.health.is_degraded()
    }

    /// How many times the limiter entered degraded mode.
    pub fn times_degraded(&self) -> u64 {
        self.health.times_degraded()
    }

    /// How many decisions (checks and resyncs) the local share took.
    pub fn local_decisions(&self) -> u64 {
        self.health.local_decisions()
    }

    /// Asks Redis now (one `PING`, bounded by the timeout), whatever the probe interval: true
    /// if it answered, which ends degraded mode; false enters it. For health checks, and to end
    /// degraded mode at a chosen moment.
    pub async fn probe(&self) -> bool {
        let mut conn = self.conn.clone();
        let ping = redis::cmd("PING");
        match bounded(self.timeout, ping.query_async::<Value>(&mut conn)).await {
            Ok(_) => {
                self.health.answered(&self.prefix);
                true
            }
            Err(e) => {
                self.health.failed(&self.prefix, self.fleet_size, &e);
                false
            }
        }
    }

    /// Charges `costs` (unit, amount) to every limit of those units for `scope`, in Redis,
    /// or charges nothing and says how long until the whole request would fit
    /// ([`Error::RateLimited`], the longest wait). See the type's failure semantics.
    pub async fn check(&self, scope: &str, costs: &[(&str, u32)]) -> Result<()> {
        self.check_charge(scope, costs).await.map(drop)
    }

    /// [`check`](Self::check), returning what was charged so that it can be given back with
    /// [`refund`](Self::refund).
    pub async fn check_charge(&self, scope: &str, costs: &[(&str, u32)]) -> Result<Charge> {
        check_name("scope", scope)?;
        let charged: Vec<(&SharedWindow, u32)> = self
            .windows
            .iter()
            .filter_map(|w| Some((w, cost_for(&w.limit, costs))).filter(|(_, c)| *c > 0))
            .collect();
        for (w, cost) in &charged {
            w.fits(*cost)?;
        }
        let charge = |in_redis| Charge {
            scope: scope.to_owned(),
            costs: costs.iter().map(|(u, c)| ((*u).to_owned(), *c)).collect(),
            in_redis,
        };
        if charged.is_empty() {
            return Ok(charge(true));
        }
        if !self.health.should_ask() {
            return self.check_locally(scope, costs).map(|()| charge(false));
        }
        let mut call = self.scripts.check.prepare_invoke();
        call.arg(self.now_arg());
        for (w, cost) in &charged {
            call.key(self.key(scope, &w.limit.name))
                .arg(w.t_us)
                .arg(w.tau_us)
                .arg(*cost);
        }
        let mut conn = self.conn.clone();
        match bounded(self.timeout, call.invoke_async::<Value>(&mut conn)).await {
            Err(e) => {
                self.health.failed(&self.prefix, self.fleet_size, &e);
                self.check_locally(scope, costs).map(|()| charge(false))
            }
            Ok(reply) => {
                self.health.answered(&self.prefix);
                match ints(&reply).as_deref() {
                    Some([1, ..]) => Ok(charge(true)),
                    Some(&[0, i, wait, ..]) => {
                        let (w, _) = pick(&charged, i).ok_or_else(unexpected)?;
                        Err(Error::RateLimited {
                            limit: w.limit.name.clone(),
                            wait: Duration::from_micros(u64::try_from(wait).unwrap_or(0)),
                        })
                    }
                    Some(&[-1, i, ..]) => Err(self.bad_key(scope, pick(&charged, i))),
                    _ => Err(unexpected()),
                }
            }
        }
    }

    fn check_locally(&self, scope: &str, costs: &[(&str, u32)]) -> Result<()> {
        self.health.decided_locally();
        self.fallback.check(&scope.to_owned(), costs)
    }

    /// Gives back what `charge` charged in Redis (a request another budget refused). A
    /// charge the degraded local share decided gives nothing back (the local share stays
    /// charged: the careful side). On a Redis failure the charge stays (also careful).
    pub async fn refund(&self, charge: &Charge) -> Result<()> {
        if !charge.in_redis {
            return Ok(());
        }
        let costs: Vec<(&str, u32)> = charge.costs.iter().map(|(u, c)| (u.as_str(), *c)).collect();
        let charged: Vec<(&SharedWindow, u32)> = self
            .windows
            .iter()
            .filter_map(|w| Some((w, cost_for(&w.limit, &costs))).filter(|(_, c)| *c > 0))
            .collect();
        if charged.is_empty() {
            return Ok(());
        }
        let mut call = self.scripts.refund.prepare_invoke();
        call.arg(self.now_arg());
        for (w, cost) in &charged {
            call.key(self.key(&charge.scope, &w.limit.name))
                .arg(w.t_us)
                .arg(*cost);
        }
        let mut conn = self.conn.clone();
        match bounded(self.timeout, call.invoke_async::<Value>(&mut conn)).await {
            Err(e) => {
                self.health.failed(&self.prefix, self.fleet_size, &e);
                Ok(())
            }
            Ok(reply) => {
                self.health.answered(&self.prefix);
                match ints(&reply).as_deref() {
                    Some([1, ..]) => Ok(()),
                    Some(&[-1, i, ..]) => Err(self.bad_key(&charge.scope, pick(&charged, i))),
                    _ => Err(unexpected()),
                }
            }
        }
    }

    /// Waits (on `sleep`) until `costs` fit for `scope`, then charges them. The whole wait is
    /// bounded by [`max_wait`](Self::max_wait), measured on the injected clock (or the system's
    /// monotonic clock): a wait that would pass it fails at once with [`Error::RateLimited`],
    /// without sleeping, and nothing is charged.
    pub async fn until_ready(
        &self,
        scope: &str,
        costs: &[(&str, u32)],
        sleep: &dyn Sleep,
    ) -> Result<()> {
        let started = self.wait_clock.now();
        loop {
            match self.check(scope, costs).await {
                Err(Error::RateLimited { limit, wait }) => {
                    let waited = self.wait_clock.now().saturating_sub(started);
                    if waited.saturating_add(wait) > self.max_wait {
                        return Err(Error::RateLimited { limit, wait });
                    }
                    sleep.sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// Raises the shared state of `scope` to what the venue reports in its usage headers
    /// (each limit's `usage_header`, or the capacity minus its `remaining_header`,
    /// case-insensitively), in one script: a lower count never lowers it, a count above the
    /// capacity counts as the capacity. Every process of the fleet then sees the venue's
    /// count. Returns how many limits the headers named. The degraded local share is raised
    /// too. Redis unreachable: only the local share is raised (and the limiter degrades).
    pub async fn resync<'h>(
        &self,
        scope: &str,
        headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    ) -> Result<usize> {
        check_name("scope", scope)?;
        if !self.windows.iter().any(|w| w.limit.tracks_headers()) {
            return Ok(0);
        }
        let headers: Vec<(&str, &str)> = headers.into_iter().collect();
        let matched: Vec<(&SharedWindow, u32)> = self
            .windows
            .iter()
            .filter_map(|w| w.used_in(&headers).map(|u| (w, u)))
            .collect();
        if matched.is_empty() {
            return Ok(0);
        }
        self.fallback
            .resync(&scope.to_owned(), headers.iter().copied());
        if !self.health.should_ask() {
            self.health.decided_locally();
            return Ok(matched.len());
        }
        let mut call = self.scripts.resync.prepare_invoke();
        call.arg(self.now_arg());
        for (w, used) in &matched {
            call.key(self.key(scope, &w.limit.name))
                .arg(w.t_us)
                .arg(*used);
        }
        let mut conn = self.conn.clone();
        match bounded(self.timeout, call.invoke_async::<Value>(&mut conn)).await {
            Err(e) => {
                self.health.failed(&self.prefix, self.fleet_size, &e);
                self.health.decided_locally();
                Ok(matched.len())
            }
            Ok(reply) => {
                self.health.answered(&self.prefix);
                match ints(&reply).as_deref() {
                    Some([1, ..]) => Ok(matched.len()),
                    Some(&[-1, i, ..]) => Err(self.bad_key(scope, pick(&matched, i))),
                    _ => Err(unexpected()),
                }
            }
        }
    }

    /// "Now" for the scripts: the injected clock in µs, or empty for Redis's `TIME`.
    fn now_arg(&self) -> String {
        self.time
            .as_ref()
            .map(|c| {
                u64::try_from(c.now().as_micros())
                    .unwrap_or(u64::MAX)
                    .to_string()
            })
            .unwrap_or_default()
    }

    fn bad_key(&self, scope: &str, window: Option<(&SharedWindow, u32)>) -> Error {
        match window {
            Some((w, _)) => Error::SharedBudget(format!(
                "Redis key {} holds data keyward did not write (not a time in µs); check what else writes under the fleet's prefix, then delete the key",
                self.key(scope, &w.limit.name)
            )),
            None => unexpected(),
        }
    }
}

/// The `i`-th (1-based, from a script) window of a decision.
fn pick<'a>(windows: &[(&'a SharedWindow, u32)], i: i64) -> Option<(&'a SharedWindow, u32)> {
    let i = usize::try_from(i).ok()?.checked_sub(1)?;
    windows.get(i).copied()
}

/// A script's reply as integers, if it is an array of them.
fn ints(reply: &Value) -> Option<Vec<i64>> {
    match reply {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::Int(n) => Some(*n),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn unexpected() -> Error {
    Error::SharedBudget("Redis answered the budget script with something it never returns".into())
}

/// A prefix, scope or limit name: non-empty, printable, without the braces of a hash tag or
/// the spaces that would make the key ambiguous.
fn check_name(what: &str, name: &str) -> Result<()> {
    let bad = |c: char| c == '{' || c == '}' || c.is_whitespace() || c.is_control();
    if name.is_empty() || name.len() > 200 || name.chars().any(bad) {
        return Err(Error::InvalidConfig(format!(
            "a shared budget's {what} must be 1 to 200 printable characters without braces or spaces"
        )));
    }
    Ok(())
}

impl fmt::Debug for SharedLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLimiter")
            .field("prefix", &self.prefix)
            .field("limits", &self.limits())
            .field("fleet_size", &self.fleet_size)
            .field("degraded", &self.is_degraded())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SharedLimiterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLimiterBuilder")
            .field("prefix", &self.prefix)
            .field("fleet_size", &self.fleet_size)
            .finish_non_exhaustive()
    }
}
