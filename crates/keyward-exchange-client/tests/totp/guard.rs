//! The window-edge guard of `Totp::code_for_login`, under an injected wall clock and a sleep
//! that moves it: it waits, exactly to the next step, when less than the guard is left, and
//! never otherwise.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_exchange_client::session::{Totp, TotpError};
use keyward_resilience::{Sleep, SleepFuture};
use keyward_signing::{Clock as _, FixedClock};

/// A sleep that moves a wall clock by what it is asked to sleep (or not at all: `stalled`) and
/// records each delay. Never sleeps for real.
#[derive(Debug)]
struct WallSleep {
    clock: Arc<FixedClock>,
    stalled: bool,
    slept: Mutex<Vec<Duration>>,
}

impl Sleep for WallSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        if !self.stalled {
            self.clock
                .advance(u64::try_from(duration.as_millis()).unwrap());
        }
        self.slept.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }
}

const SEED: &str = "JBSWY3DPEHPK3PXP";

fn totp_at(ms: u64, stalled: bool) -> (Totp, Arc<FixedClock>, Arc<WallSleep>) {
    let clock = Arc::new(FixedClock::new(ms));
    let sleep = Arc::new(WallSleep {
        clock: clock.clone(),
        stalled,
        slept: Mutex::default(),
    });
    let totp = Totp::parse(SEED)
        .unwrap()
        .with_clock(clock.clone())
        .with_sleep(sleep.clone());
    (totp, clock, sleep)
}

#[tokio::test]
async fn waits_for_the_next_step_inside_the_guard() {
    // 1_700_000_010 s is 0 s into a 30 s step; 25.5 s in, 4.5 s are left.
    let start = 1_700_000_010_000 + 25_500;
    let (totp, clock, sleep) = totp_at(start, false);
    let code = totp.code_for_login(Duration::from_secs(10)).await.unwrap();
    assert_eq!(*sleep.slept.lock().unwrap(), [Duration::from_millis(4_500)]);
    assert_eq!(clock.now_ms(), 1_700_000_040_000);
    assert_eq!(code.remaining(), Duration::from_secs(30));
    assert_eq!(code.step(), 1_700_000_040 / 30);
    assert_eq!(code.expose(), totp.code_at_ms(1_700_000_040_000).expose());
    assert_ne!(
        code.expose(),
        totp.code_at_ms(start).expose(),
        "the next step's code, not the expiring one"
    );
}

#[tokio::test]
async fn never_waits_outside_the_guard() {
    // Exactly the guard left, and more: no wait, the current step's code.
    for offset_ms in [0, 10_000, 19_999, 20_000] {
        let at = 1_700_000_010_000 + offset_ms;
        let (totp, clock, sleep) = totp_at(at, false);
        let code = totp.code_for_login(Duration::from_secs(10)).await.unwrap();
        assert!(sleep.slept.lock().unwrap().is_empty(), "{offset_ms} ms in");
        assert_eq!(clock.now_ms(), at);
        assert_eq!(code.expose(), totp.code_at_ms(at).expose());
        assert_eq!(code.remaining(), Duration::from_millis(30_000 - offset_ms));
    }
}

#[tokio::test]
async fn waits_exactly_when_less_than_the_guard_is_left() {
    let guard = Duration::from_millis(7_250);
    for offset_ms in (0..30_000).step_by(125) {
        let at = 1_700_000_010_000 + offset_ms;
        let left = Duration::from_millis(30_000 - offset_ms);
        let (totp, _clock, sleep) = totp_at(at, false);
        let code = totp.code_for_login(guard).await.unwrap();
        let slept = sleep.slept.lock().unwrap().clone();
        if left < guard {
            assert_eq!(slept, [left], "{offset_ms} ms in");
            assert_eq!(code.remaining(), Duration::from_secs(30));
        } else {
            assert!(slept.is_empty(), "{offset_ms} ms in");
            assert_eq!(code.remaining(), left);
        }
        assert!(code.remaining() >= guard);
    }
}

#[tokio::test]
async fn a_guard_as_long_as_the_period_is_refused() {
    let (totp, _clock, sleep) = totp_at(1_700_000_010_000, false);
    let err = totp
        .code_for_login(Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(err, TotpError::GuardTooLong { .. }), "{err:?}");
    assert!(sleep.slept.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_clock_that_does_not_move_is_an_error_not_a_loop() {
    let (totp, _clock, sleep) = totp_at(1_700_000_010_000 + 29_000, true);
    let err = totp
        .code_for_login(Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, TotpError::ClockStalled), "{err:?}");
    assert_eq!(sleep.slept.lock().unwrap().len(), 2);
}

#[test]
fn current_reads_the_injected_clock() {
    let (totp, clock, _sleep) = totp_at(59_000, false);
    let first = totp.current();
    assert_eq!(first.expose(), totp.code_at_ms(59_000).expose());
    assert_eq!(first.remaining(), Duration::from_secs(1));
    clock.advance(1_000);
    assert_eq!(totp.current().step(), 2);
}
