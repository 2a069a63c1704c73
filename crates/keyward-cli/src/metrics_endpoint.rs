//! The loopback `/metrics` endpoint in the Prometheus text format, for `keyward testnet serve
//! --metrics ADDR` (and `keyward proxy --metrics ADDR`): [`install`] makes the
//! `metrics-exporter-prometheus` recorder the process's `metrics` recorder (render only: its
//! own HTTP listener is not compiled in), [`serve`] answers `GET /metrics` with its text on a
//! loopback listener we bind and check ourselves. What is recorded, and the labels, are in
//! docs/guides/observability.md.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The content type of the Prometheus text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Installs the Prometheus recorder as the process's `metrics` recorder and returns the handle
/// that renders it. Fails if a recorder is installed already.
pub fn install() -> Result<PrometheusHandle> {
    PrometheusBuilder::new()
        .install_recorder()
        .context("could not install the metrics recorder")
}

/// A running `/metrics` endpoint: its address (the port chosen when `addr` gave port 0) and
/// the task serving it (aborted on drop).
#[derive(Debug)]
pub struct Endpoint {
    /// The address it listens on.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Endpoint {
    /// The URL to scrape: `http://ADDR/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `handle`'s text at `GET /metrics` on `addr`, which must be a loopback address (port
/// 0 picks a free port). Anything but `/metrics` is 404.
pub async fn serve(addr: SocketAddr, handle: PrometheusHandle) -> Result<Endpoint> {
    if !addr.ip().is_loopback() {
        bail!("the metrics endpoint serves loopback only; {addr} is not a loopback address");
    }
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("could not listen on {addr} for metrics"))?;
    let addr = listener
        .local_addr()
        .context("could not read the metrics listener's address")?;
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                // Drains histogram buckets and idle entries: what the exporter's own listener
                // does before each render.
                handle.run_upkeep();
                ([(CONTENT_TYPE, TEXT_FORMAT)], handle.render()).into_response()
            }
        }),
    );
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(error = %error, "the metrics endpoint stopped");
        }
    });
    Ok(Endpoint { addr, task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_a_non_loopback_address() {
        let handle = PrometheusBuilder::new().build_recorder().handle();
        let addr: SocketAddr = "0.0.0.0:0".parse().expect("an address");
        let error = serve(addr, handle).await.expect_err("refused");
        assert!(error.to_string().contains("loopback only"), "{error}");
    }
}
