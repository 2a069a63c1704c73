//! The circuit breaker: sustained 503s open it, an open circuit refuses calls without sending
//! them, and once the venue recovers and the open wait is over, a successful trial closes it.
//! The wait is real time, and short.

use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use keyward::exchange::{Params, RequestClass};
use keyward::resilience::breaker::SlidingWindow;
use keyward::resilience::{BreakerConfig, BreakerState, RetryPolicy};
use keyward::{ErrorKind, RestClient};
use keyward_testnet::Faults;

use super::sandbox::Sandbox;

/// The venue of the demonstration and its balance endpoint.
pub const VENUE: &str = "bitmex";
const WALLET: (&str, &str) = ("GET", "/api/v1/user/wallet");
/// How long the circuit stays open before a trial call.
const OPEN_WAIT: Duration = Duration::from_millis(300);
/// How often, and how far apart, a trial is tried again while the circuit is still open.
const MAX_LATE: u32 = 40;
const LATE_STEP: Duration = Duration::from_millis(50);
/// The window the failure rate is computed over.
const WINDOW: u32 = 4;
/// Calls made under 503s before giving up on the circuit opening.
const MAX_FAILING_CALLS: u32 = 8;
/// Enough 503s for every failing call.
const SUSTAINED: u32 = 1_000;

/// The wallet, with a query that sets it apart from the `rest` step's balance: BitMEX signs
/// an expiry in whole seconds, and the testnet refuses a byte-identical request as a replay.
async fn wallet(client: &RestClient) -> keyward::exchange::Result<serde_json::Value> {
    let params = Params::query([("currency", "XBt")]);
    client
        .send(WALLET.0, WALLET.1, params, RequestClass::Read, 1)
        .await
}

/// Runs the demonstration; the venue's 503s are switched off afterwards.
pub async fn run(sb: &Sandbox) -> Result<String> {
    let result = cycle(sb).await;
    heal(sb);
    result
}

fn heal(sb: &Sandbox) {
    sb.fault(
        VENUE,
        Faults {
            fail_5xx: Some(0),
            ..Faults::default()
        },
    );
}

async fn cycle(sb: &Sandbox) -> Result<String> {
    let config = BreakerConfig::builder()
        .sliding_window(SlidingWindow::CountBased { size: WINDOW })
        .minimum_calls(WINDOW)
        .failure_rate_threshold(50.0)
        .wait_in_open(OPEN_WAIT)
        .permitted_calls_in_half_open(1)
        .build()?;
    // One request per call: each 503 is one failure in the breaker's window.
    let once = RetryPolicy::builder().max_attempts(1).build()?;
    let client = sb
        .client(VENUE)?
        .breaker_config(config)
        .retry_policy(once)
        .build()
        .await?;
    client.sync_clock().await.context("clock sync")?;
    sb.fault(
        VENUE,
        Faults {
            fail_5xx: Some(SUSTAINED),
            ..Faults::default()
        },
    );
    let mut failed = 0;
    while client.breaker().state() != BreakerState::Open {
        ensure!(
            failed < MAX_FAILING_CALLS,
            "the circuit stayed closed after {failed} failed calls"
        );
        match wallet(&client).await {
            Err(e) if e.kind() == ErrorKind::Server => failed += 1,
            Err(e) => return Err(e).context("balance under 503s"),
            Ok(_) => bail!("balance succeeded under injected 503s"),
        }
    }
    let rate = client.breaker().metrics().failure_rate.unwrap_or(0.0);
    let sent = sb.hits(VENUE, WALLET.0, WALLET.1);
    match wallet(&client).await {
        Err(e) if e.kind() == ErrorKind::CircuitOpen => {}
        Err(e) => return Err(e).context("balance with the circuit open"),
        Ok(_) => bail!("balance went through an open circuit"),
    }
    ensure!(
        sb.hits(VENUE, WALLET.0, WALLET.1) == sent,
        "a call reached the venue while the circuit was open"
    );
    heal(sb);
    tokio::time::sleep(OPEN_WAIT).await;
    // The breaker's clock is coarse: on a loaded machine the wait may end a little later.
    let mut late = 0;
    loop {
        match wallet(&client).await {
            Err(e) if e.kind() == ErrorKind::CircuitOpen && late < MAX_LATE => {
                late += 1;
                tokio::time::sleep(LATE_STEP).await;
            }
            done => {
                done.context("balance after recovery")?;
                break;
            }
        }
    }
    ensure!(
        client.breaker().state() == BreakerState::Closed,
        "the circuit is {:?} after a successful trial",
        client.breaker().state()
    );
    Ok(format!(
        "opened after {failed} failed calls ({rate:.0}% of the last {WINDOW}), refused 1 call unsent; after the {} ms open wait a successful trial closed it",
        OPEN_WAIT.as_millis()
    ))
}
