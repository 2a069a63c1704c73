//! Fault injection: settings given at start ([`Faults`]) or changed at run time
//! ([`FaultControl`], or `POST {admin}/faults` with the same fields as JSON).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use serde::Deserialize;
use tokio::sync::watch;

use crate::error::Error;

/// Fault settings. Each field left `None` keeps its current value when applied; with `venue`,
/// the settings apply to that venue (or service scheme) only, otherwise to every listener.
///
/// ```
/// use keyward_testnet::Faults;
/// let faults: Faults = "fail_5xx=2,clock_offset_ms=-3000,venue=binance".parse()?;
/// assert_eq!(faults.fail_5xx, Some(2));
/// assert_eq!(faults.venue.as_deref(), Some("binance"));
/// # Ok::<(), keyward_testnet::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// The server's clock is this far ahead (negative: behind), for verification and the time
    /// endpoints.
    pub clock_offset_ms: Option<i64>,
    /// The next N requests answer 503.
    pub fail_5xx: Option<u32>,
    /// The share of requests (0 to 1) that answer 500, drawn from a generator seeded by `seed`.
    pub error_rate: Option<f64>,
    /// Every request waits this long before it is answered.
    pub latency_ms: Option<u64>,
    /// Close every open WebSocket now (when true).
    pub drop_ws: Option<bool>,
    /// The next N requests answer 429 with `Retry-After: retry_after_s`.
    pub force_429: Option<u32>,
    /// The `Retry-After` of forced and quota 429s, in seconds (default 1).
    pub retry_after_s: Option<u64>,
    /// The seed of the `error_rate` generator (default 0).
    pub seed: Option<u64>,
    /// Broker sessions (the IBKR gateway): drop the brokerage session at the next request
    /// (`authenticated: false`, as after a competing login), when true.
    pub drop_session: Option<bool>,
    /// Broker sessions: end the gateway session at the next request (answers 401 from then
    /// on, as after the idle timeout), when true.
    pub expire_session: Option<bool>,
    /// Broker sessions: the next N re-authentications fail (the gateway answers
    /// `{"message": "triggered"}` but the brokerage session stays unauthenticated).
    pub fail_reauth: Option<u32>,
    /// Broker sessions: replace the gateway session with a fresh, authenticated one at the
    /// next request (as a person logging in again through the gateway's login page), when
    /// true.
    pub new_session: Option<bool>,
    /// Apply to this venue (or service scheme) only.
    pub venue: Option<String>,
    /// Broker logins (`upstox`): the next N TOTP codes are refused, even right ones.
    pub reject_totp: Option<u32>,
    /// Broker logins: the next N PINs are refused, even right ones.
    pub reject_pin: Option<u32>,
    /// Broker logins: every access token issued so far is expired from now on (when true);
    /// tokens issued later are not.
    pub expire_tokens: Option<bool>,
    /// Broker logins: the account locks after N refused TOTP codes or PINs since the last
    /// successful login (0: never, the default); a locked account refuses every login step
    /// until this is cleared.
    pub lockout_after: Option<u32>,
}

impl FromStr for Faults {
    type Err = Error;

    /// Parses `key=value,key=value` (the CLI's `--faults SPEC`).
    fn from_str(spec: &str) -> Result<Self, Error> {
        let mut f = Faults::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| Error::InvalidFaults(format!("{item:?} is not key=value")))?;
            let bad = || Error::InvalidFaults(format!("{key}={value:?}: not a valid value"));
            match key.trim() {
                "clock_offset_ms" => f.clock_offset_ms = Some(value.parse().map_err(|_| bad())?),
                "fail_5xx" => f.fail_5xx = Some(value.parse().map_err(|_| bad())?),
                "error_rate" => {
                    let rate: f64 = value.parse().map_err(|_| bad())?;
                    if !(0.0..=1.0).contains(&rate) {
                        return Err(bad());
                    }
                    f.error_rate = Some(rate);
                }
                "latency_ms" => f.latency_ms = Some(value.parse().map_err(|_| bad())?),
                "drop_ws" => f.drop_ws = Some(matches!(value, "1" | "true")),
                "force_429" => f.force_429 = Some(value.parse().map_err(|_| bad())?),
                "retry_after_s" => f.retry_after_s = Some(value.parse().map_err(|_| bad())?),
                "seed" => f.seed = Some(value.parse().map_err(|_| bad())?),
                "drop_session" => f.drop_session = Some(matches!(value, "1" | "true")),
                "expire_session" => f.expire_session = Some(matches!(value, "1" | "true")),
                "fail_reauth" => f.fail_reauth = Some(value.parse().map_err(|_| bad())?),
                "new_session" => f.new_session = Some(matches!(value, "1" | "true")),
                "venue" => f.venue = Some(value.to_owned()),
                "reject_totp" => f.reject_totp = Some(value.parse().map_err(|_| bad())?),
                "reject_pin" => f.reject_pin = Some(value.parse().map_err(|_| bad())?),
                "expire_tokens" => f.expire_tokens = Some(matches!(value, "1" | "true")),
                "lockout_after" => f.lockout_after = Some(value.parse().map_err(|_| bad())?),
                other => {
                    return Err(Error::InvalidFaults(format!(
                        "unknown key {other:?}; known: clock_offset_ms, fail_5xx, error_rate, \
                         latency_ms, drop_ws, force_429, retry_after_s, seed, drop_session, \
                         expire_session, fail_reauth, new_session, \
                         reject_totp, reject_pin, expire_tokens, lockout_after, venue"
                    )));
                }
            }
        }
        Ok(f)
    }
}

/// The settings of one scope (every listener, or one venue).
#[derive(Debug, Clone, Default)]
struct Scope {
    clock_offset_ms: Option<i64>,
    fail_5xx: u32,
    error_rate: Option<f64>,
    latency_ms: Option<u64>,
    force_429: u32,
    retry_after_s: Option<u64>,
    reject_totp: u32,
    reject_pin: u32,
    lockout_after: Option<u32>,
    session: SessionFaults,
}

/// The broker-session faults of one scope: one-shot changes taken by the next request, and a
/// count of failing re-authentications.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SessionFaults {
    /// Drop the brokerage session.
    pub(crate) drop: bool,
    /// End the gateway session.
    pub(crate) expire: bool,
    /// Start a fresh gateway session.
    pub(crate) renew: bool,
    /// Re-authentications left to fail.
    pub(crate) fail_reauth: u32,
}

#[derive(Debug, Default)]
struct State {
    global: Scope,
    venues: HashMap<String, Scope>,
    rng: u64,
    /// Bumped by `expire_tokens`: broker tokens issued under an older epoch are expired.
    token_epoch: u64,
}

/// What a request meets before it is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// Answer normally.
    Pass,
    /// Answer 503.
    Unavailable,
    /// Answer 500.
    Internal,
    /// Answer 429 with this `Retry-After`.
    TooMany(u64),
}

/// Changes faults at run time; shared by every listener. Deterministic: counted faults
/// (`fail_5xx`, `force_429`) apply to exactly the next N requests of their scope.
#[derive(Debug)]
pub struct FaultControl {
    state: Mutex<State>,
    /// Bumped by `drop_ws`; carries the venue it applies to (None: every venue).
    drops: watch::Sender<(u64, Option<String>)>,
}

impl FaultControl {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
            drops: watch::channel((0, None)).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `faults`: every field given replaces the current value of its scope.
    pub fn apply(&self, faults: &Faults) {
        {
            let mut state = self.lock();
            if let Some(seed) = faults.seed {
                state.rng = seed;
            }
            let scope = match &faults.venue {
                Some(v) => state.venues.entry(v.clone()).or_default(),
                None => &mut state.global,
            };
            if let Some(v) = faults.clock_offset_ms {
                scope.clock_offset_ms = Some(v);
            }
            if let Some(v) = faults.fail_5xx {
                scope.fail_5xx = v;
            }
            if let Some(v) = faults.error_rate {
                scope.error_rate = Some(v.clamp(0.0, 1.0));
            }
            if let Some(v) = faults.latency_ms {
                scope.latency_ms = Some(v);
            }
            if let Some(v) = faults.force_429 {
                scope.force_429 = v;
            }
            if let Some(v) = faults.retry_after_s {
                scope.retry_after_s = Some(v);
            }
            if let Some(v) = faults.drop_session {
                scope.session.drop = v;
            }
            if let Some(v) = faults.expire_session {
                scope.session.expire = v;
            }
            if let Some(v) = faults.new_session {
                scope.session.renew = v;
            }
            if let Some(v) = faults.fail_reauth {
                scope.session.fail_reauth = v;
            }
            if let Some(v) = faults.reject_totp {
                scope.reject_totp = v;
            }
            if let Some(v) = faults.reject_pin {
                scope.reject_pin = v;
            }
            if let Some(v) = faults.lockout_after {
                scope.lockout_after = Some(v);
            }
            if faults.expire_tokens == Some(true) {
                state.token_epoch = state.token_epoch.saturating_add(1);
            }
        }
        if faults.drop_ws == Some(true) {
            self.drop_websockets(faults.venue.as_deref());
        }
    }

    /// Removes every fault.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.global = Scope::default();
        state.venues.clear();
    }

    /// Closes every open WebSocket of `venue` (None: of every venue).
    pub fn drop_websockets(&self, venue: Option<&str>) {
        self.drops.send_modify(|(generation, scope)| {
            *generation += 1;
            *scope = venue.map(str::to_owned);
        });
    }

    /// The clock offset in force for `venue`, in milliseconds.
    pub fn clock_offset_ms(&self, venue: &str) -> i64 {
        let state = self.lock();
        state
            .venues
            .get(venue)
            .and_then(|s| s.clock_offset_ms)
            .or(state.global.clock_offset_ms)
            .unwrap_or(0)
    }

    /// The latency in force for `venue`, in milliseconds.
    pub(crate) fn latency_ms(&self, venue: &str) -> u64 {
        let state = self.lock();
        state
            .venues
            .get(venue)
            .and_then(|s| s.latency_ms)
            .or(state.global.latency_ms)
            .unwrap_or(0)
    }

    /// The `Retry-After` set for `venue`'s 429s, in seconds, if one is set.
    pub(crate) fn retry_after_s(&self, venue: &str) -> Option<u64> {
        let state = self.lock();
        state
            .venues
            .get(venue)
            .and_then(|s| s.retry_after_s)
            .or(state.global.retry_after_s)
    }

    /// Decides the fault a request to `venue` meets, consuming a counted fault if one applies.
    pub(crate) fn on_request(&self, venue: &str) -> Injected {
        let retry_after = self.retry_after_s(venue).unwrap_or(1);
        let mut state = self.lock();
        let State {
            global,
            venues,
            rng,
            ..
        } = &mut *state;
        let mut scopes: Vec<&mut Scope> = Vec::with_capacity(2);
        if let Some(s) = venues.get_mut(venue) {
            scopes.push(s);
        }
        scopes.push(global);
        for scope in scopes.iter_mut() {
            if scope.fail_5xx > 0 {
                scope.fail_5xx -= 1;
                return Injected::Unavailable;
            }
            if scope.force_429 > 0 {
                scope.force_429 -= 1;
                return Injected::TooMany(retry_after);
            }
        }
        let rate = scopes.iter().find_map(|s| s.error_rate).unwrap_or(0.0);
        if rate > 0.0 {
            let draw = splitmix64(rng);
            // The top 53 bits as a fraction in [0, 1).
            #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 mantissa exactly.
            let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
            if unit < rate {
                return Injected::Internal;
            }
        }
        Injected::Pass
    }

    /// Takes the one-shot broker-session changes pending for `venue` (its own scope and the
    /// global one): each is applied once, by the request that takes it.
    pub(crate) fn take_session_changes(&self, venue: &str) -> SessionFaults {
        let mut state = self.lock();
        let State { global, venues, .. } = &mut *state;
        let mut out = SessionFaults::default();
        let scopes = venues
            .get_mut(venue)
            .into_iter()
            .chain(std::iter::once(global));
        for scope in scopes {
            let s = &mut scope.session;
            out.drop |= std::mem::take(&mut s.drop);
            out.expire |= std::mem::take(&mut s.expire);
            out.renew |= std::mem::take(&mut s.renew);
        }
        out
    }

    /// Whether this re-authentication at `venue` fails, consuming one from the count.
    pub(crate) fn take_reauth_failure(&self, venue: &str) -> bool {
        self.take(venue, |s| &mut s.session.fail_reauth)
    }

    /// Whether `venue`'s next TOTP code is refused (`reject_totp`), consuming one count.
    pub(crate) fn take_reject_totp(&self, venue: &str) -> bool {
        self.take(venue, |s| &mut s.reject_totp)
    }

    /// Whether `venue`'s next PIN is refused (`reject_pin`), consuming one count.
    pub(crate) fn take_reject_pin(&self, venue: &str) -> bool {
        self.take(venue, |s| &mut s.reject_pin)
    }

    /// Consumes one count of the counter `field` picks, the venue's scope first.
    fn take(&self, venue: &str, field: impl Fn(&mut Scope) -> &mut u32) -> bool {
        let mut state = self.lock();
        let State { global, venues, .. } = &mut *state;
        for scope in venues.get_mut(venue).into_iter().chain([global]) {
            let count = field(scope);
            if *count > 0 {
                *count -= 1;
                return true;
            }
        }
        false
    }

    /// The refusals after which `venue`'s account locks (`lockout_after`; None: never).
    pub(crate) fn lockout_after(&self, venue: &str) -> Option<u32> {
        let state = self.lock();
        state
            .venues
            .get(venue)
            .and_then(|s| s.lockout_after)
            .or(state.global.lockout_after)
            .filter(|n| *n > 0)
    }

    /// The current token epoch: tokens issued under an older one are expired.
    pub(crate) fn token_epoch(&self) -> u64 {
        self.lock().token_epoch
    }

    /// Watches `drop_ws` requests.
    pub(crate) fn drops(&self) -> watch::Receiver<(u64, Option<String>)> {
        self.drops.subscribe()
    }
}

/// The next value of a SplitMix64 generator.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_and_rejects() {
        let f: Faults = "clock_offset_ms=-3000, fail_5xx=2,error_rate=0.5,latency_ms=5,drop_ws=1,force_429=1,retry_after_s=3,seed=7,venue=okx"
            .parse()
            .unwrap();
        assert_eq!(f.clock_offset_ms, Some(-3000));
        assert_eq!(f.drop_ws, Some(true));
        assert_eq!(f.seed, Some(7));
        assert!("nope=1".parse::<Faults>().is_err());
        assert!("fail_5xx".parse::<Faults>().is_err());
        assert!("fail_5xx=-1".parse::<Faults>().is_err());
        assert!("error_rate=2".parse::<Faults>().is_err());
        assert_eq!("".parse::<Faults>().unwrap(), Faults::default());
        let f: Faults = "drop_session=1,expire_session=true,fail_reauth=3,new_session=0,venue=ibkr"
            .parse()
            .unwrap();
        assert_eq!(f.drop_session, Some(true));
        assert_eq!(f.expire_session, Some(true));
        assert_eq!(f.fail_reauth, Some(3));
        assert_eq!(f.new_session, Some(false));
        assert!("fail_reauth=x".parse::<Faults>().is_err());
    }

    #[test]
    fn session_changes_are_taken_once_and_reauth_failures_counted() {
        let c = FaultControl::new();
        c.apply(&"drop_session=1,fail_reauth=2,venue=ibkr".parse().unwrap());
        c.apply(&"expire_session=1".parse().unwrap());
        assert_eq!(
            c.take_session_changes("ibkr"),
            SessionFaults {
                drop: true,
                expire: true,
                renew: false,
                fail_reauth: 0
            }
        );
        assert_eq!(c.take_session_changes("ibkr"), SessionFaults::default());
        assert!(!c.take_reauth_failure("okx"));
        assert!(c.take_reauth_failure("ibkr"));
        assert!(c.take_reauth_failure("ibkr"));
        assert!(!c.take_reauth_failure("ibkr"));
        c.apply(&"fail_reauth=5,venue=ibkr".parse().unwrap());
        c.clear();
        assert!(!c.take_reauth_failure("ibkr"));
    }

    #[test]
    fn counted_faults_are_exact_and_scoped() {
        let c = FaultControl::new();
        c.apply(
            &"fail_5xx=1,force_429=1,retry_after_s=4,venue=okx"
                .parse()
                .unwrap(),
        );
        assert_eq!(c.on_request("binance"), Injected::Pass);
        assert_eq!(c.on_request("okx"), Injected::Unavailable);
        assert_eq!(c.on_request("okx"), Injected::TooMany(4));
        assert_eq!(c.on_request("okx"), Injected::Pass);
        c.apply(&"clock_offset_ms=5".parse().unwrap());
        assert_eq!(c.clock_offset_ms("okx"), 5);
        c.clear();
        assert_eq!(c.clock_offset_ms("okx"), 0);
    }

    #[test]
    fn error_rate_is_seeded() {
        let run = || {
            let c = FaultControl::new();
            c.apply(&"error_rate=0.5,seed=7".parse().unwrap());
            (0..64).map(|_| c.on_request("x")).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.contains(&Injected::Internal) && a.contains(&Injected::Pass));
    }

    #[test]
    fn broker_login_faults_are_counted_and_scoped() {
        let f: Faults = "reject_totp=1,reject_pin=2,expire_tokens=1,lockout_after=3,venue=upstox"
            .parse()
            .unwrap();
        assert_eq!(f.lockout_after, Some(3));
        let c = FaultControl::new();
        assert_eq!(c.token_epoch(), 0);
        c.apply(&f);
        assert_eq!(c.token_epoch(), 1);
        assert!(!c.take_reject_totp("other"));
        assert!(c.take_reject_totp("upstox"));
        assert!(!c.take_reject_totp("upstox"));
        assert!(c.take_reject_pin("upstox"));
        assert!(c.take_reject_pin("upstox"));
        assert!(!c.take_reject_pin("upstox"));
        assert_eq!(c.lockout_after("upstox"), Some(3));
        assert_eq!(c.lockout_after("other"), None);
        c.clear();
        assert_eq!(c.lockout_after("upstox"), None);
        assert_eq!(c.token_epoch(), 1, "expired tokens stay expired");
        c.apply(&"lockout_after=0".parse().unwrap());
        assert_eq!(c.lockout_after("upstox"), None);
    }
}
