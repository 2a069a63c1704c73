//! `keyward proxy`: the local signing proxy (`keyward::exchange::proxy`) for one venue and one
//! stored key, on a loopback port or a Unix socket.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use keyward::crypto::secrecy::{ExposeSecret as _, SecretString};
use keyward::exchange::proxy::{Mode, ProxyConfig, SigningProxy};
use keyward::exchange::{RestClient, Scheme};
use keyward::secrets::{SecretStore, SecretValue, Selector};
use serde_json::json;

use crate::cli::ProxyArgs;

/// The venues the proxy serves (those whose relay rules the exchange client declares).
const VENUES: [Scheme; 4] = [Scheme::Binance, Scheme::Bybit, Scheme::Okx, Scheme::Kraken];

/// Runs `keyward proxy` until SIGINT or SIGTERM.
pub fn run(args: &ProxyArgs) -> Result<()> {
    crate::harden::protect_process_memory()?;
    let runtime = crate::commands::two_worker_runtime()?;
    runtime.block_on(serve(args))
}

async fn serve(args: &ProxyArgs) -> Result<()> {
    let scheme: Scheme = args
        .venue
        .parse()
        .ok()
        .filter(|s| VENUES.contains(s))
        .with_context(|| {
            format!(
                "the proxy serves binance, bybit, okx and kraken, not {:?}",
                args.venue
            )
        })?;
    let store = super::secret::open(&args.store).await?;
    let mut config = ProxyConfig::new(if args.resign {
        Mode::Resign
    } else {
        Mode::Plain
    });
    if let Some(spec) = &args.access_token {
        config = config.with_access_token(access_token(&*store, spec).await?);
    }
    let mut builder = RestClient::builder(scheme, &args.base_url)
        .secret_store(store, &args.name)
        .max_rate_limit_wait(Duration::from_secs(args.max_wait));
    if let Some(url) = &args.shared_state {
        let fleet = super::shared_state::connect(url, &args.shared_state_prefix).await?;
        builder = builder.fleet(&fleet, &args.egress);
    }
    let client = builder
        .build()
        .await
        .with_context(|| format!("could not build the {scheme} client"))?;
    if let Some(url) = &args.ws_base_url {
        // Checked now (scheme, loopback rule), not at the first upgrade.
        client
            .ws_config(url)
            .with_context(|| format!("--ws-base-url {url:?} cannot be used"))?;
        config = config
            .with_ws_base_url(url.clone())
            .with_max_ws_sessions(args.max_ws_sessions);
    }
    let proxy = SigningProxy::new(client, config);
    // The recorder before the first request, so that every request is counted.
    let metrics = match args.metrics {
        Some(addr) => {
            Some(crate::metrics_endpoint::serve(addr, crate::metrics_endpoint::install()?).await?)
        }
        None => None,
    };
    let metrics_url = metrics.as_ref().map(crate::metrics_endpoint::Endpoint::url);
    match &args.unix {
        Some(path) => serve_unix(&proxy, path, metrics_url).await,
        None => serve_tcp(&proxy, &args.listen, metrics_url).await,
    }
}

/// The access token: the field (or the whole value) of a stored secret.
async fn access_token(store: &dyn SecretStore, spec: &str) -> Result<SecretString> {
    let (name, field) = match spec.split_once('#') {
        Some((name, field)) => (name, Some(field)),
        None => (spec, None),
    };
    let secret = store
        .get(name, &Selector::Current)
        .await
        .with_context(|| format!("could not read the access token secret {name}"))?;
    let token = match (&secret.value, field) {
        (value, Some(field)) => value
            .field(field)
            .map(|f| f.expose_secret().to_owned())
            .with_context(|| format!("the secret {name} has no field {field}"))?,
        (SecretValue::Bytes(bytes), None) => String::from_utf8(bytes.expose_secret().clone())
            .ok()
            .with_context(|| format!("the access token {name} is not text"))?,
        (SecretValue::Fields(_), None) => {
            bail!("the secret {name} has fields: name one as {name}#FIELD")
        }
    };
    if token.len() < 16 {
        bail!("the access token {spec} is shorter than 16 characters: use a random one");
    }
    Ok(SecretString::from(token))
}

async fn serve_tcp(proxy: &SigningProxy, listen: &str, metrics: Option<String>) -> Result<()> {
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen:?} is not an address like 127.0.0.1:8801"))?;
    if !addr.ip().is_loopback() {
        bail!("--listen {addr} is not a loopback address: the proxy signs for whoever reaches it");
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("could not listen on {addr}"))?;
    let bound = listener.local_addr()?;
    announce(&format!("http://{bound}"), metrics)?;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    until_stopped(proxy.serve_tcp(listener, shutdown(stopped)), stop).await
}

#[cfg(unix)]
async fn serve_unix(proxy: &SigningProxy, path: &Path, metrics: Option<String>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if std::fs::symlink_metadata(path).is_ok() {
        bail!(
            "{} exists: remove it first (the proxy never replaces a file)",
            path.display()
        );
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mode = std::fs::metadata(parent)
        .with_context(|| format!("could not read {}", parent.display()))?
        .permissions()
        .mode();
    if mode & 0o022 != 0 {
        bail!(
            "{} is writable by group or others (mode {:04o}): put the socket in a private directory",
            parent.display(),
            mode & 0o7777
        );
    }
    let listener = tokio::net::UnixListener::bind(path)
        .with_context(|| format!("could not listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("could not set mode 0600 on {}", path.display()))?;
    announce(&format!("unix:{}", path.display()), metrics)?;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let served = until_stopped(proxy.serve_unix(listener, shutdown(stopped)), stop).await;
    let _ = std::fs::remove_file(path);
    served
}

#[cfg(not(unix))]
async fn serve_unix(_proxy: &SigningProxy, _path: &Path, _metrics: Option<String>) -> Result<()> {
    bail!("--unix needs a Unix system")
}

/// The first line on standard output: where the proxy listens (and its /metrics).
fn announce(url: &str, metrics: Option<String>) -> Result<()> {
    let mut line = json!({ "url": url });
    if let Some(metrics) = metrics {
        line["metrics"] = json!(metrics);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// The server's graceful-shutdown signal: when `stopped` fires (or its sender is gone).
async fn shutdown(stopped: tokio::sync::oneshot::Receiver<()>) {
    let _ = stopped.await;
}

/// Serves until SIGINT or SIGTERM, then shuts down gracefully. Failing to watch the signals
/// stops the proxy too, and is the error returned (printed by `main`, as any other).
async fn until_stopped(
    served: impl std::future::Future<Output = std::io::Result<()>>,
    stop: tokio::sync::oneshot::Sender<()>,
) -> Result<()> {
    tokio::pin!(served);
    tokio::select! {
        result = &mut served => result.context("the proxy stopped"),
        watched = super::testnet::wait_for_stop() => {
            let _ = stop.send(());
            served.await.context("the proxy stopped")?;
            watched
        }
    }
}
