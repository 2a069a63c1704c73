//! The rate limit: a burst of requests under a client-side limit tighter than the burst. The
//! limiter holds back what does not fit and releases it at the limit's pace. Nothing is
//! retried, so a 429 would fail the step: every request reaches the venue exactly once.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use keyward::exchange::{Params, RequestClass};
use keyward::resilience::RetryPolicy;
use keyward::resilience::limiter::Limit;
use tokio::task::JoinSet;

use super::sandbox::Sandbox;
use super::sleep::recording;
use super::summary::millis;

/// The venue of the demonstration and the endpoint of the burst.
pub const VENUE: &str = "binance";
const ACCOUNT: (&str, &str) = ("GET", "/api/v3/account");
/// Requests sent at once.
const BURST: u32 = 10;
/// The client's limit: `CAPACITY` per `PERIOD`, `LIMIT_BURST` of them at once.
const CAPACITY: u32 = 10;
const LIMIT_BURST: u32 = 4;
const PERIOD: Duration = Duration::from_millis(500);

/// Sends the burst concurrently through one client.
pub async fn run(sb: &Sandbox) -> Result<String> {
    let limit = Limit::new("weight/500ms", "weight", CAPACITY, PERIOD).with_burst(LIMIT_BURST);
    // No retries: a 429 (or any refusal) fails the step instead of being waited out.
    let once = RetryPolicy::builder().max_attempts(1).build()?;
    let (builder, waits) = recording(
        sb.client(VENUE)?
            .rate_limits(vec![limit])
            .retry_policy(once),
    );
    let client = builder.build().await?;
    client.sync_clock().await.context("clock sync")?;
    let (method, path) = ACCOUNT;
    let sent = sb.hits(VENUE, method, path);
    let started = Instant::now();
    let mut burst = JoinSet::new();
    for n in 0..BURST {
        let client = client.clone();
        burst.spawn(async move {
            // Each request differs (`n`): the testnet refuses a twin signed in the same
            // millisecond as a replay.
            let n = n.to_string();
            client
                .send(
                    method,
                    path,
                    Params::query([("n", n.as_str())]),
                    RequestClass::Read,
                    1,
                )
                .await
        });
    }
    while let Some(done) = burst.join_next().await {
        done.context("a request of the burst panicked")?
            .context("a request of the burst")?;
    }
    let took = started.elapsed();
    let requests = sb.hits(VENUE, method, path) - sent;
    ensure!(
        requests == u64::from(BURST),
        "{requests} requests reached the venue for a burst of {BURST}"
    );
    ensure!(
        !waits.slept().is_empty(),
        "the limiter let a burst of {BURST} through a limit of {LIMIT_BURST} at once"
    );
    Ok(format!(
        "burst of {BURST} under a client limit of {CAPACITY} per {} ms ({LIMIT_BURST} at once): spread over {} ms by the limiter, each sent once, no 429",
        PERIOD.as_millis(),
        millis(took)
    ))
}
