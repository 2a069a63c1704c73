//! Clock skew: after the first sync, the venue's clock jumps 3 s ahead. With a 2 s receive
//! window the next signed call is refused for its timestamp; the client resyncs exactly once
//! and re-sends it with the new offset.

use anyhow::{Context as _, Result, ensure};
use keyward_testnet::Faults;

use super::sandbox::Sandbox;

/// The venue of the demonstration, its receive window and the jump of its clock.
pub const VENUE: &str = "binance";
const RECV_WINDOW_MS: u64 = 2_000;
const JUMP_MS: i64 = 3_000;
const TIME: (&str, &str) = ("GET", "/api/v3/time");
const ACCOUNT: (&str, &str) = ("GET", "/api/v3/account");

/// Runs the demonstration; the venue's clock is put back afterwards.
pub async fn run(sb: &Sandbox) -> Result<String> {
    let before = sb.testnet.faults().clock_offset_ms(VENUE);
    let result = skewed(sb, before).await;
    sb.fault(
        VENUE,
        Faults {
            clock_offset_ms: Some(before),
            ..Faults::default()
        },
    );
    result
}

async fn skewed(sb: &Sandbox, before: i64) -> Result<String> {
    let client = sb
        .client(VENUE)?
        .recv_window_ms(RECV_WINDOW_MS)
        .build()
        .await?;
    client.balance().await.context("first balance")?;
    ensure!(
        client.clock_syncs() == 1,
        "expected one sync before the first signed call, saw {}",
        client.clock_syncs()
    );
    let synced = client.clock_offset_ms();
    let times = sb.hits(VENUE, TIME.0, TIME.1);
    let sent = sb.hits(VENUE, ACCOUNT.0, ACCOUNT.1);
    sb.fault(
        VENUE,
        Faults {
            clock_offset_ms: Some(before + JUMP_MS),
            ..Faults::default()
        },
    );
    client.balance().await.context("balance after the jump")?;
    let resyncs = client.clock_syncs() - 1;
    let probes = sb.hits(VENUE, TIME.0, TIME.1) - times;
    let attempts = sb.hits(VENUE, ACCOUNT.0, ACCOUNT.1) - sent;
    ensure!(
        resyncs == 1 && probes == 1,
        "expected exactly one resync, saw {resyncs} ({probes} time requests)"
    );
    ensure!(
        attempts == 2,
        "expected one refusal and one re-send, saw {attempts} requests"
    );
    Ok(format!(
        "server clock {JUMP_MS:+} ms, recvWindow {RECV_WINDOW_MS} ms: refused once, 1 resync (offset {synced:+} -> {:+} ms), re-sent ok",
        client.clock_offset_ms()
    ))
}
