//! The state machine: what each state admits, how results move it, and the transitions.
//!
//! Everything here runs under the breaker's lock, with the time passed in, so it is plain
//! sequential code. Each transition starts a new *epoch*; a permit remembers the epoch it was
//! admitted in, and a result from an older epoch is not counted (a call admitted while closed
//! that finishes after the breaker opened must not be taken for a half-open trial).
//!
//! The state and epoch are also published in one atomic word, so that the closed state admits a
//! call without taking the lock, and the open state refuses one without it.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::config::{BreakerConfig, nanos};
use super::events::{BreakerEventKind, Events};
use super::window::{Aggregate, Sample, Window};

/// The state of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls pass, and their results fill the sliding window.
    Closed,
    /// Calls are refused until the wait in the open state is over.
    Open,
    /// A limited number of trial calls pass; their results close or reopen the breaker.
    HalfOpen,
}

impl BreakerState {
    const fn tag(self) -> u64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
        }
    }

    const fn from_tag(tag: u64) -> Self {
        match tag {
            0 => Self::Closed,
            1 => Self::Open,
            // Only the three tags above are ever packed.
            _ => Self::HalfOpen,
        }
    }

    /// The state's name in lower case, as logs and health reports show it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const TAG_BITS: u32 = 2;

/// The state and the epoch in one word: `epoch << 2 | state`.
#[inline]
pub(crate) fn unpack(word: u64) -> (BreakerState, u64) {
    (
        BreakerState::from_tag(word & ((1 << TAG_BITS) - 1)),
        word >> TAG_BITS,
    )
}

fn pack(state: BreakerState, epoch: u64) -> u64 {
    (epoch << TAG_BITS) | state.tag()
}

/// What the lock-free paths read: the state word, when the open state ends, and whether the
/// closed state's window is full of clean successes.
#[derive(Debug, Default)]
pub(crate) struct Published {
    word: AtomicU64,
    open_until_nanos: AtomicU64,
    /// Set (under the lock) while the state is closed and its count window is full and holds
    /// only successes. A success then changes nothing: it would
    /// replace a clean success, and every slot is alike, so the window, its totals and every
    /// later decision are the same whether or not it is recorded. The result path skips the
    /// lock for it (see `Shared::finish`). Any transition clears it first.
    clean_full: AtomicBool,
}

impl Published {
    #[inline]
    pub(crate) fn load(&self) -> (BreakerState, u64) {
        unpack(self.word.load(Ordering::Acquire))
    }

    /// When the current (or latest) open state ends. Read after [`load`](Self::load), it is at
    /// least as new as the state read.
    pub(crate) fn open_until(&self) -> Duration {
        Duration::from_nanos(self.open_until_nanos.load(Ordering::Relaxed))
    }

    fn publish(&self, state: BreakerState, epoch: u64) {
        self.word.store(pack(state, epoch), Ordering::Release);
    }

    /// Whether a clean success in the closed state may skip the lock (see `clean_full`).
    #[inline]
    pub(crate) fn clean_full(&self) -> bool {
        self.clean_full.load(Ordering::Acquire)
    }

    fn set_clean_full(&self, clean: bool) {
        self.clean_full.store(clean, Ordering::Release);
    }
}

/// What a permit was admitted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// A call in the closed state: its result goes to the sliding window.
    Closed,
    /// A half-open trial: it holds one of the N trial slots until it has a result.
    Trial,
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Open, with the time left.
    Open(Duration),
    /// Half-open with every trial slot taken.
    Busy,
}

/// The half-open state's trials.
#[derive(Debug, Default)]
struct Trials {
    /// Trials admitted and not yet decided (nor ignored).
    in_flight: u32,
    /// The trials decided so far.
    decided: Aggregate,
}

/// The breaker's mutable state, behind its lock.
#[derive(Debug)]
pub(crate) struct Machine {
    state: BreakerState,
    epoch: u64,
    window: Window,
    trials: Trials,
    open_until: Duration,
    half_open_since: Duration,
}

/// The context of one locked operation.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a BreakerConfig,
    pub(crate) published: &'a Published,
    pub(crate) events: &'a mut Events,
    pub(crate) now: Duration,
}

/// The figures a metrics snapshot needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Figures {
    pub(crate) state: BreakerState,
    pub(crate) totals: Aggregate,
    pub(crate) minimum_calls: u32,
    pub(crate) trials_in_flight: u32,
}

impl Machine {
    pub(crate) fn new(config: &BreakerConfig, published: &Published) -> Self {
        published.publish(BreakerState::Closed, 0);
        Self {
            state: BreakerState::Closed,
            epoch: 0,
            window: Window::new(config.sliding_window),
            trials: Trials::default(),
            open_until: Duration::ZERO,
            half_open_since: Duration::ZERO,
        }
    }

    /// Admits a call or says why not, moving open to half-open once the wait is over and
    /// half-open back to open once its maximum wait is over.
    pub(crate) fn admit(&mut self, cx: &mut Ctx<'_>) -> Result<(Admission, u64), Refusal> {
        match self.state {
            BreakerState::Closed => Ok((Admission::Closed, self.epoch)),
            BreakerState::Open => {
                if cx.now < self.open_until {
                    return Err(Refusal::Open(self.open_until - cx.now));
                }
                self.transition(BreakerState::HalfOpen, cx);
                self.admit_trial(cx.config.permitted_calls_in_half_open)
            }
            BreakerState::HalfOpen => {
                let max_wait = cx.config.max_wait_in_half_open;
                if !max_wait.is_zero() && cx.now.saturating_sub(self.half_open_since) >= max_wait {
                    self.transition(BreakerState::Open, cx);
                    return Err(Refusal::Open(self.open_until - cx.now));
                }
                self.admit_trial(cx.config.permitted_calls_in_half_open)
            }
        }
    }

    fn admit_trial(&mut self, permitted: u32) -> Result<(Admission, u64), Refusal> {
        let taken = self
            .trials
            .in_flight
            .saturating_add(self.trials.decided.calls);
        if taken < permitted {
            self.trials.in_flight += 1;
            Ok((Admission::Trial, self.epoch))
        } else {
            Err(Refusal::Busy)
        }
    }

    /// Counts the result of a call admitted as `admission` in `epoch`: a sample, or `None` for
    /// a call that is ignored (it only gives its trial slot back). Results from an older epoch
    /// are not counted.
    pub(crate) fn record(
        &mut self,
        admission: Admission,
        epoch: u64,
        sample: Option<Sample>,
        cx: &mut Ctx<'_>,
    ) {
        if epoch != self.epoch {
            return;
        }
        match (admission, self.state) {
            (Admission::Closed, BreakerState::Closed) => {
                if let Some(totals) = sample.and_then(|sample| self.window.record(sample, cx.now)) {
                    let minimum = cx.config.effective_minimum_calls();
                    if self.exceeded(&totals, minimum, cx) {
                        self.transition(BreakerState::Open, cx);
                    } else {
                        cx.published.set_clean_full(self.window.is_full_and_clean());
                    }
                }
            }
            (Admission::Trial, BreakerState::HalfOpen) => {
                self.trials.in_flight = self.trials.in_flight.saturating_sub(1);
                if let Some(sample) = sample {
                    self.trials.decided.add(sample);
                }
                let permitted = cx.config.permitted_calls_in_half_open;
                if self.trials.decided.calls >= permitted {
                    let decided = self.trials.decided;
                    let next = if self.exceeded(&decided, permitted, cx) {
                        BreakerState::Open
                    } else {
                        BreakerState::Closed
                    };
                    self.transition(next, cx);
                }
            }
            _ => {}
        }
    }

    /// Whether the failure rate of `totals` reaches the threshold (with at least `minimum`
    /// calls), with an event when it does.
    #[inline]
    fn exceeded(&self, totals: &Aggregate, minimum: u32, cx: &mut Ctx<'_>) -> bool {
        if totals.calls == 0 || totals.calls < minimum {
            return false;
        }
        let failing = totals.at_or_above(totals.failed, cx.config.failure_rate_threshold);
        if failing {
            Self::exceeded_event(totals, minimum, cx);
        }
        failing
    }

    #[cold]
    fn exceeded_event(totals: &Aggregate, minimum: u32, cx: &mut Ctx<'_>) {
        if let Some(rate) = totals.failure_rate(minimum) {
            cx.events
                .push(BreakerEventKind::FailureRateExceeded { rate });
        }
    }

    /// Enters `to` afresh (a new epoch, even when `to` is the current state): closed starts
    /// with an empty window, open starts its wait, half-open starts with no trials.
    pub(crate) fn transition(&mut self, to: BreakerState, cx: &mut Ctx<'_>) {
        cx.published.set_clean_full(false);
        let from = self.state;
        self.state = to;
        self.epoch = self.epoch.wrapping_add(1) & (u64::MAX >> TAG_BITS);
        match to {
            BreakerState::Closed => self.window.clear(),
            BreakerState::Open => {
                self.open_until = cx.now.saturating_add(cx.config.wait_in_open);
                cx.published
                    .open_until_nanos
                    .store(nanos(self.open_until), Ordering::Relaxed);
            }
            BreakerState::HalfOpen => {
                self.trials = Trials::default();
                self.half_open_since = cx.now;
            }
        }
        cx.published.publish(to, self.epoch);
        if from != to {
            cx.events.push(BreakerEventKind::Transition { from, to });
        }
    }

    /// Back to closed with empty metrics.
    pub(crate) fn reset(&mut self, cx: &mut Ctx<'_>) {
        self.transition(BreakerState::Closed, cx);
        cx.events.push(BreakerEventKind::Reset);
    }

    /// The figures of the current state: the trials when half-open, else the sliding window.
    pub(crate) fn figures(&mut self, config: &BreakerConfig, now: Duration) -> Figures {
        let (totals, minimum_calls) = if self.state == BreakerState::HalfOpen {
            (self.trials.decided, config.permitted_calls_in_half_open)
        } else {
            (self.window.totals(now), config.effective_minimum_calls())
        };
        Figures {
            state: self.state,
            totals,
            minimum_calls,
            trials_in_flight: if self.state == BreakerState::HalfOpen {
                self.trials.in_flight
            } else {
                0
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::config::SlidingWindow;

    const OK: Option<Sample> = Some(Sample { failed: false });
    const FAIL: Option<Sample> = Some(Sample { failed: true });

    struct Rig {
        config: BreakerConfig,
        published: Published,
        machine: Machine,
        events: Events,
    }

    impl Rig {
        fn new(config: BreakerConfig) -> Self {
            let published = Published::default();
            let machine = Machine::new(&config, &published);
            Self {
                config,
                published,
                machine,
                events: Events::default(),
            }
        }

        fn admit(&mut self, now_ms: u64) -> Result<(Admission, u64), Refusal> {
            let mut cx = Ctx {
                config: &self.config,
                published: &self.published,
                events: &mut self.events,
                now: Duration::from_millis(now_ms),
            };
            self.machine.admit(&mut cx)
        }

        fn record(&mut self, admitted: (Admission, u64), sample: Option<Sample>) {
            let mut cx = Ctx {
                config: &self.config,
                published: &self.published,
                events: &mut self.events,
                now: Duration::ZERO,
            };
            self.machine.record(admitted.0, admitted.1, sample, &mut cx);
        }
    }

    fn config() -> BreakerConfig {
        BreakerConfig::builder()
            .sliding_window(SlidingWindow::CountBased { size: 4 })
            .minimum_calls(4)
            .permitted_calls_in_half_open(2)
            .wait_in_open(Duration::from_secs(1))
            .build()
            .unwrap()
    }

    #[test]
    fn state_word_round_trips() {
        for state in [
            BreakerState::Closed,
            BreakerState::Open,
            BreakerState::HalfOpen,
        ] {
            assert_eq!(unpack(pack(state, 12_345)), (state, 12_345));
        }
        assert_eq!(BreakerState::HalfOpen.to_string(), "half-open");
    }

    #[test]
    fn a_result_from_an_older_epoch_is_not_counted() {
        let mut rig = Rig::new(config());
        let stale = rig.admit(0).unwrap();
        for _ in 0..4 {
            let p = rig.admit(0).unwrap();
            rig.record(p, FAIL);
        }
        assert_eq!(rig.published.load().0, BreakerState::Open);
        // Half-open after the wait; the closed-era permit's result must not count as a trial.
        let trial = rig.admit(1_000).unwrap();
        assert_eq!(trial.0, Admission::Trial);
        rig.record(stale, OK);
        rig.record(stale, OK);
        assert_eq!(rig.published.load().0, BreakerState::HalfOpen);
        let f = rig.machine.figures(&rig.config, Duration::ZERO);
        assert_eq!((f.totals.calls, f.trials_in_flight), (0, 1));
    }

    #[test]
    fn an_ignored_trial_gives_its_slot_back() {
        let mut rig = Rig::new(config());
        rig.machine.transition(
            BreakerState::HalfOpen,
            &mut Ctx {
                config: &rig.config,
                published: &rig.published,
                events: &mut rig.events,
                now: Duration::ZERO,
            },
        );
        let a = rig.admit(0).unwrap();
        let _b = rig.admit(0).unwrap();
        assert_eq!(rig.admit(0), Err(Refusal::Busy));
        rig.record(a, None);
        let c = rig.admit(0).unwrap();
        assert_eq!(c.0, Admission::Trial);
        assert_eq!(rig.admit(0), Err(Refusal::Busy));
    }
}
