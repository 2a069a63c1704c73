//! Retries: an injected 503 on a read is retried after a backoff and succeeds; a forced 429 is
//! waited out for at least its Retry-After, then succeeds.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use keyward_testnet::Faults;

use super::sandbox::Sandbox;
use super::sleep::recording;
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
    let faults = Faults {
        fail_5xx: Some(1),
        ..Faults::default()
    };
    let backoff = balance_under(sb, VENUE_5XX, OKX_BALANCE, faults, "the 503").await?;
    Ok(format!(
        "503 on GET balance: retried after a {} ms backoff, 2 requests, ok",
        millis(backoff)
    ))
}

/// One forced 429 on a balance read: the client waits at least Retry-After, then succeeds.
pub async fn too_many(sb: &Sandbox) -> Result<String> {
    let faults = Faults {
        force_429: Some(1),
        retry_after_s: Some(RETRY_AFTER_S),
        ..Faults::default()
    };
    let waited = balance_under(sb, VENUE_429, DERIBIT_BALANCE, faults, "the 429").await?;
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

/// A balance read of `venue` (at `endpoint`) with `faults` injected after the clock sync: it
/// must succeed in exactly two requests (the refused one and one retry). Returns the time the
/// client waited in between.
async fn balance_under(
    sb: &Sandbox,
    venue: &str,
    endpoint: (&str, &str),
    faults: Faults,
    refusal: &str,
) -> Result<Duration> {
    let (builder, waits) = recording(sb.client(venue)?);
    let client = builder.build().await?;
    client.sync_clock().await.context("clock sync")?;
    let (method, path) = endpoint;
    let sent = sb.hits(venue, method, path);
    sb.fault(venue, faults);
    client.balance().await.context("balance")?;
    let requests = sb.hits(venue, method, path) - sent;
    ensure!(
        requests == 2,
        "expected {refusal} and one retry, saw {requests} requests"
    );
    Ok(waits.slept().iter().sum())
}
