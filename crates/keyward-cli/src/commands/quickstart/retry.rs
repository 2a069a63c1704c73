//! Retries: an injected 503 on a read is retried after a backoff and succeeds; a forced 429 is
//! waited out for at least its Retry-After, then succeeds.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use keyward_testnet::Faults;

use super::sandbox::Sandbox;
use super::sleep::RecordingSleep;
use super::summary::millis;

/// The venue of the 5xx demonstration and its balance endpoint.
pub const VENUE_5XX: &str = "okx";
const OKX_BALANCE: (&str, &str) = ("GET", "/api/v5/account/balance");

/// The venue of the 429 demonstration and its balance endpoint.
pub const VENUE_429: &str = "deribit";
const DERIBIT_BALANCE: (&str, &str) = ("GET", "/api/v2/private/get_account_summary");
const RETRY_AFTER_S: u64 = 1;

/// One 503 on a balance read: two requests, one backoff, success.
pub async fn server_error(sb: &Sandbox) -> Result<String> {
    let sleep = RecordingSleep::default();
    let waits = sleep.clone();
    let client = sb
        .client(VENUE_5XX)?
        .configure(move |b| b.sleep(Arc::new(sleep)))
        .build()
        .await?;
    client.sync_clock().await.context("clock sync")?;
    let (method, path) = OKX_BALANCE;
    let sent = sb.hits(VENUE_5XX, method, path);
    sb.fault(
        VENUE_5XX,
        Faults {
            fail_5xx: Some(1),
            ..Faults::default()
        },
    );
    client.balance().await.context("balance")?;
    let requests = sb.hits(VENUE_5XX, method, path) - sent;
    ensure!(
        requests == 2,
        "expected the 503 and one retry, saw {requests} requests"
    );
    let backoff: Duration = waits.slept().iter().sum();
    Ok(format!(
        "503 on GET balance: retried after a {} ms backoff, 2 requests, ok",
        millis(backoff)
    ))
}

/// One forced 429 on a balance read: the client waits at least Retry-After, then succeeds.
pub async fn too_many(sb: &Sandbox) -> Result<String> {
    let sleep = RecordingSleep::default();
    let waits = sleep.clone();
    let client = sb
        .client(VENUE_429)?
        .configure(move |b| b.sleep(Arc::new(sleep)))
        .build()
        .await?;
    client.sync_clock().await.context("clock sync")?;
    let (method, path) = DERIBIT_BALANCE;
    let sent = sb.hits(VENUE_429, method, path);
    sb.fault(
        VENUE_429,
        Faults {
            force_429: Some(1),
            retry_after_s: Some(RETRY_AFTER_S),
            ..Faults::default()
        },
    );
    client.balance().await.context("balance")?;
    let requests = sb.hits(VENUE_429, method, path) - sent;
    ensure!(
        requests == 2,
        "expected the 429 and one retry, saw {requests} requests"
    );
    let waited: Duration = waits.slept().iter().sum();
    ensure!(
        waited >= Duration::from_secs(RETRY_AFTER_S),
        "waited {} ms, less than Retry-After",
        millis(waited)
    );
    Ok(format!(
        "429 with Retry-After: {RETRY_AFTER_S} on GET balance: waited {} ms, 2 requests, ok",
        millis(waited)
    ))
}
