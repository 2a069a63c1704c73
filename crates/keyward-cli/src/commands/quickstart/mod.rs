//! `keyward quickstart`: the whole stack against the local testnet, in one command, with no
//! account, no network and no configuration. A vault in a temporary directory holds fresh
//! testnet credentials; clients built by `keyward::RestClient::builder()` read them back, sign and
//! send REST calls and WebSocket auth for every venue preset and service scheme (with HMAC
//! secrets, and with a Binance Ed25519 key and a Coinbase Advanced CDP key), then live
//! through a clock jump, a 5xx, sustained 5xx (the circuit breaker), a burst (the rate limiter)
//! and a 429, and log in to a broker (Upstox's TOTP login) through the token cache. One summary
//! row per step; the exit code says whether every step was ok.

mod breaker;
mod broker;
mod keep;
mod limits;
mod retry;
mod sandbox;
mod skew;
mod sleep;
mod summary;
mod venues;
mod websocket;

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use keyward::Scheme;
use keyward_testnet::{Faults, SERVICE_SCHEMES, VENUES};
use serde_json::json;

use crate::cli::{Format, QuickstartArgs};
use sandbox::Sandbox;
use summary::{Row, Summary};

/// The most one step may take (a hanging step under `--faults latency_ms=...` fails instead).
const STEP_LIMIT: Duration = Duration::from_secs(30);

/// Runs `keyward quickstart`.
pub fn run(args: &QuickstartArgs) -> Result<()> {
    // The tour holds a vault key and every venue's secret (until Ctrl-C with --keep).
    crate::harden::protect_process_memory()?;
    let faults: Faults = match &args.faults {
        Some(spec) => spec.parse()?,
        None => Faults::default(),
    };
    let runtime = crate::commands::two_worker_runtime()?;
    runtime.block_on(tour(args, faults))
}

async fn tour(args: &QuickstartArgs, faults: Faults) -> Result<()> {
    let started = Instant::now();
    let mut summary = Summary::new(args.format);
    let sb = Sandbox::start(faults).await?;
    summary.note(&format!(
        "keyward quickstart: the whole stack against a local testnet, no account, no network\n\
         vault        {} (master key in {}; {})\n\
         credentials  {} stored as testnet/<venue> and testnet/<venue>-<key kind>; every client below reads its own back\n\
         testnet      {} listeners on 127.0.0.1{}",
        sb.vault_path().display(),
        sb.key_path().display(),
        if args.keep {
            "kept with --keep"
        } else {
            "removed at the end"
        },
        sb.stored,
        sb.testnet.urls().len(),
        args.faults
            .as_deref()
            .map(|spec| format!(", faults {spec}"))
            .unwrap_or_default()
    ))?;
    summary.header()?;
    let done = tokio::select! {
        done = steps(&sb, &mut summary) => done,
        stop = keep::wait() => {
            stop?;
            sb.close().await?;
            bail!("interrupted: the testnet was stopped and the temporary directory removed");
        }
    };
    if let Err(e) = done {
        sb.close().await?;
        return Err(e);
    }
    let mut extra = json!({"dir": sb.dir().display().to_string(), "kept": args.keep});
    if args.keep
        && let (Some(extra), serde_json::Value::Object(more)) =
            (extra.as_object_mut(), keep::to_json(&sb))
    {
        extra.extend(more);
    }
    summary.finish(started.elapsed(), extra)?;
    if args.keep {
        if args.format == Format::Text {
            summary.note(&keep::instructions(&sb))?;
        }
        keep::wait().await?;
        let dir = sb.keep().await;
        eprintln!(
            "testnet stopped; the vault stays in {} (rm -r it when done)",
            dir.display()
        );
    } else {
        let dir = sb.dir().display().to_string();
        sb.close().await?;
        summary.note(&format!("testnet stopped, {dir} removed"))?;
    }
    let failed = summary.failed();
    if failed > 0 {
        bail!(
            "{failed} of {} steps failed (marked FAIL in the summary)",
            summary.steps()
        );
    }
    Ok(())
}

/// Every step, in order, each adding its row.
async fn steps(sb: &Sandbox, summary: &mut Summary) -> Result<()> {
    // Every venue with a REST API and its HMAC secret, then the key pairs.
    let hmac = VENUES
        .iter()
        .filter(|venue| venue.parse::<Scheme>().is_ok_and(Scheme::has_rest))
        .map(|venue| (*venue, venue.to_string()));
    let pairs = sb
        .key_pairs
        .iter()
        .map(|(venue, name)| (*venue, name.clone()));
    for (venue, credential) in hmac.chain(pairs) {
        let rest = venues::rest(sb, venue, &credential);
        step(summary, "rest", &credential, rest).await?;
    }
    for scheme in SERVICE_SCHEMES {
        step(summary, "service", scheme, venues::service(sb, scheme)).await?;
    }
    // Every venue and scheme with its HMAC secret, then the key pairs: Binance's session.logon
    // (Ed25519 only) and Coinbase Advanced's subscribe with a CDP JWT.
    let hmac = VENUES
        .iter()
        .chain(SERVICE_SCHEMES.iter())
        .map(|name| (*name, name.to_string()));
    let pairs = sb
        .key_pairs
        .iter()
        .map(|(venue, name)| (*venue, name.clone()));
    for (venue, credential) in hmac.chain(pairs) {
        let started = Instant::now();
        let auth = websocket::auth(sb, venue, &credential);
        let result = match tokio::time::timeout(STEP_LIMIT, auth).await {
            Ok(None) => continue,
            Ok(Some(result)) => result,
            Err(_) => Err(timed_out()),
        };
        summary.push(Row::from_result(
            "websocket",
            &credential,
            started.elapsed(),
            result,
        ))?;
    }
    step(summary, "clock skew", skew::VENUE, skew::run(sb)).await?;
    step(
        summary,
        "retry 5xx",
        retry::VENUE_5XX,
        retry::server_error(sb),
    )
    .await?;
    step(summary, "circuit breaker", breaker::VENUE, breaker::run(sb)).await?;
    step(summary, "rate limit", limits::VENUE, limits::run(sb)).await?;
    step(
        summary,
        "retry-after 429",
        retry::VENUE_429,
        retry::too_many(sb),
    )
    .await?;
    step(summary, "broker login", broker::VENUE, broker::run(sb)).await?;
    Ok(())
}

/// Runs one step (at most [`STEP_LIMIT`]) and adds its row.
async fn step(
    summary: &mut Summary,
    name: &'static str,
    venue: &str,
    work: impl Future<Output = Result<String>>,
) -> Result<()> {
    let started = Instant::now();
    let result = tokio::time::timeout(STEP_LIMIT, work)
        .await
        .unwrap_or_else(|_| Err(timed_out()));
    summary.push(Row::from_result(name, venue, started.elapsed(), result))
}

fn timed_out() -> anyhow::Error {
    anyhow::anyhow!("did not finish within {} s", STEP_LIMIT.as_secs())
}
