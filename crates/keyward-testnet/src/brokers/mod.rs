//! The brokers: each on its own listener (the Upstox login flow, the IBKR gateway), behind the
//! same hit counter and injected faults as the venues ([`guard`], with each broker's own answer
//! for a 429), with session state of its own.

pub(crate) mod ibkr;
mod ibkr_session;
pub(crate) mod upstox;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::broker_credentials::{BROKERS, BrokerCredentials};
use crate::clock::VenueClock;
use crate::error::{Error, Result};
use crate::faults::Injected;
use crate::guard::Shared;
use crate::reply;

/// What every request to a broker listener meets before its handler.
pub(crate) struct BrokerGuard {
    pub(crate) shared: Arc<Shared>,
    /// The broker's name, as hits and faults know it.
    pub(crate) name: &'static str,
    /// The broker's own 429 answer.
    pub(crate) too_many: fn() -> Response,
}

/// The middleware: counts the request, then applies `latency_ms`, `fail_5xx`, `error_rate` and
/// `force_429` as on every listener.
pub(crate) async fn guard(State(g): State<Arc<BrokerGuard>>, req: Request, next: Next) -> Response {
    let faults = &g.shared.faults;
    g.shared
        .hits
        .record(g.name, req.method().as_str(), req.uri().path());
    let latency = faults.latency_ms(g.name);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match faults.on_request(g.name) {
        Injected::Pass => next.run(req).await,
        Injected::Unavailable => reply::json(
            503,
            serde_json::json!({"error": "service unavailable (injected fault)"}),
        ),
        Injected::Internal => reply::json(
            500,
            serde_json::json!({"error": "internal error (injected fault)"}),
        ),
        Injected::TooMany(secs) => reply::retry_after((g.too_many)(), secs),
    }
}

/// Every broker's credentials, given or generated, checked.
pub(crate) fn credentials(
    given: &[BrokerCredentials],
) -> Result<BTreeMap<String, BrokerCredentials>> {
    let mut out = BTreeMap::new();
    for c in given {
        if !BROKERS.contains(&c.venue.as_str()) {
            return Err(Error::UnknownVenue {
                name: c.venue.clone(),
                known: BROKERS.join(", "),
            });
        }
        out.insert(c.venue.clone(), c.clone());
    }
    for name in BROKERS {
        if !out.contains_key(name) {
            out.insert(name.to_owned(), BrokerCredentials::generate(name)?);
        }
    }
    for c in out.values() {
        c.check()?;
    }
    Ok(out)
}

/// Starts one listener per broker on `ip`; returns each broker's base URL and task.
pub(crate) async fn start(
    ip: IpAddr,
    shared: &Arc<Shared>,
    credentials: &BTreeMap<String, BrokerCredentials>,
    stop: &watch::Sender<bool>,
    upstox_clock: VenueClock,
    config: &crate::TestnetConfig,
) -> Result<Vec<(String, String, JoinHandle<()>)>> {
    let mut out = Vec::new();
    if let Some(creds) = credentials.get("upstox") {
        let (listener, url) = crate::server::bind(ip).await?;
        let account = upstox::account(creds, config).await?;
        let router = upstox::router(creds, &url, shared, upstox_clock, account)?;
        out.push((
            "upstox".to_owned(),
            url,
            crate::server::serve(listener, router, stop.subscribe()),
        ));
    }
    Ok(out)
}
