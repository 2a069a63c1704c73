//! The session supervisor against the testnet's IBKR-shaped gateway, both on one injected
//! clock: keepalive on schedule (tickles counted at the gateway), re-authentication after a
//! dropped brokerage session, a give-up when re-authentication keeps failing, and an expired
//! gateway session reported. No sleeps: the test moves the clock and calls `tick`.

use std::sync::Arc;
use std::time::Duration;

use keyward::exchange::session::{
    GiveUpReason, IbkrGateway, SessionSupervisor, SupervisorEvent, ibkr,
};
use keyward::signing::FixedClock;
use keyward_testnet::{Testnet, TestnetConfig};

const MINUTE: u64 = 60_000;
const TICKLE: &str = "/v1/api/tickle";
const STATUS: &str = "/v1/api/iserver/auth/status";
const REAUTH: &str = "/v1/api/iserver/reauthenticate";

async fn setup() -> (Testnet, Arc<FixedClock>, SessionSupervisor) {
    let clock = Arc::new(FixedClock::new(1_700_000_000_000));
    let testnet = Testnet::start(TestnetConfig::default().with_clock(clock.clone()))
        .await
        .expect("the testnet starts");
    let url = testnet.url("ibkr").expect("the testnet serves ibkr");
    let gateway = IbkrGateway::new(url).expect("a loopback URL is accepted");
    let supervisor = SessionSupervisor::new(Arc::new(gateway))
        .with_clock(clock.clone())
        .with_retry_delay(Duration::from_secs(5));
    (testnet, clock, supervisor)
}

fn kept_alive() -> SupervisorEvent {
    SupervisorEvent::KeptAlive { venue: ibkr::NAME }
}

#[tokio::test]
async fn ibkr_keepalive_tickles_on_schedule_and_keeps_the_session_open() {
    let (testnet, clock, sup) = setup().await;
    assert_eq!(sup.interval(), ibkr::KEEPALIVE_INTERVAL);
    assert_eq!(sup.tick().await, vec![kept_alive()]);
    // Thirty minutes, stepped in 20 s: a tickle each minute and none between.
    for _ in 0..90 {
        clock.advance(20_000);
        let events = sup.tick().await;
        assert!(
            events.is_empty() || events == vec![kept_alive()],
            "{events:?}"
        );
    }
    assert_eq!(testnet.hits("ibkr", "POST", TICKLE), 31);
    assert_eq!(testnet.hits("ibkr", "POST", STATUS), 0);
    // Far past the gateway's six idle minutes from the start, and still open.
    assert_eq!(sup.gave_up().await, None);
}

#[tokio::test]
async fn ibkr_dropped_brokerage_session_is_reauthenticated() {
    let (testnet, clock, sup) = setup().await;
    let mut rx = sup.subscribe();
    sup.tick().await;
    testnet
        .faults()
        .apply(&"drop_session=1,venue=ibkr".parse().unwrap());
    clock.advance(MINUTE);
    assert_eq!(
        sup.tick().await,
        vec![SupervisorEvent::SessionDropped {
            venue: ibkr::NAME,
            attempt: 1
        }]
    );
    assert_eq!(testnet.hits("ibkr", "POST", REAUTH), 1);
    clock.advance(5_000);
    assert_eq!(
        sup.tick().await,
        vec![SupervisorEvent::Reauthenticated {
            venue: ibkr::NAME,
            attempts: 1
        }]
    );
    assert_eq!(testnet.hits("ibkr", "POST", STATUS), 1);
    clock.advance(MINUTE);
    assert_eq!(sup.tick().await, vec![kept_alive()]);
    let mut seen = Vec::new();
    while let Ok(e) = rx.try_recv() {
        seen.push(e);
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[tokio::test]
async fn ibkr_reauthentication_that_keeps_failing_gives_up_loudly() {
    let (testnet, clock, sup) = setup().await;
    let sup = sup.with_max_attempts(3);
    testnet.faults().apply(
        &"drop_session=1,fail_reauth=1000,venue=ibkr"
            .parse()
            .unwrap(),
    );
    let mut events = Vec::new();
    for _ in 0..20 {
        events.extend(sup.tick().await);
        clock.advance(5_000);
    }
    let reason = GiveUpReason::ReauthenticationFailed { attempts: 3 };
    assert_eq!(
        events.last(),
        Some(&SupervisorEvent::GaveUp {
            venue: ibkr::NAME,
            reason: reason.clone()
        })
    );
    assert_eq!(sup.gave_up().await, Some(reason));
    // Exactly three re-authentications, and no call at all after giving up.
    assert_eq!(testnet.hits("ibkr", "POST", REAUTH), 3);
    assert_eq!(testnet.hits("ibkr", "POST", TICKLE), 1);
    assert_eq!(testnet.hits("ibkr", "POST", STATUS), 3);
}

#[tokio::test]
async fn ibkr_expired_gateway_session_is_reported() {
    let (testnet, clock, sup) = setup().await;
    sup.tick().await;
    // The supervisor is not run for seven minutes: the gateway's idle timeout ends the session.
    clock.advance(7 * MINUTE);
    assert_eq!(
        sup.tick().await,
        vec![
            SupervisorEvent::SessionExpired { venue: ibkr::NAME },
            SupervisorEvent::GaveUp {
                venue: ibkr::NAME,
                reason: GiveUpReason::ExpiredWithoutLogin
            }
        ]
    );
    assert_eq!(testnet.hits("ibkr", "POST", TICKLE), 2);
    // The expire_session fault does the same at once.
    let (testnet, _clock, sup) = setup().await;
    testnet
        .faults()
        .apply(&"expire_session=1,venue=ibkr".parse().unwrap());
    let events = sup.tick().await;
    assert_eq!(
        events.first(),
        Some(&SupervisorEvent::SessionExpired { venue: ibkr::NAME })
    );
}

#[tokio::test]
async fn ibkr_an_unreachable_gateway_is_bounded() {
    let (testnet, clock, sup) = setup().await;
    testnet
        .faults()
        .apply(&"fail_5xx=100,venue=ibkr".parse().unwrap());
    let mut events = Vec::new();
    for _ in 0..10 {
        events.extend(sup.tick().await);
        clock.advance(5_000);
    }
    assert!(matches!(
        events.last(),
        Some(SupervisorEvent::GaveUp {
            reason: GiveUpReason::Unreachable { attempts: 3, .. },
            ..
        })
    ));
    assert_eq!(testnet.hits("ibkr", "POST", TICKLE), 3);
}
