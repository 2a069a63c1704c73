//! Proxies (issue 13, finding 9): the proxy environment variables are never read, loopback
//! traffic never goes through a proxy, and a proxy for venue traffic is an explicit option.
//!
//! The environment is never changed in this process: the test that needs proxy variables runs
//! this binary again as a child process with the variables set (edition 2024 makes `set_var`
//! unsafe, and another test of the same process could see it).
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use std::process::Command;

use common::{header, http_server, json_response};
use keyward_exchange_client::{ClientBuilder, Credentials, ErrorKind, RestClient, Scheme};
use url::Url;

/// What a proxy answers: refused, so a request that went through it fails.
const PROXY_ANSWER: &str =
    "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Names the child process's test, and carries the proxy's address to it.
const CHILD_ENV: &str = "KEYWARD_TEST_PROXY_CHILD";

fn creds() -> Credentials {
    Credentials::new("test-key", "dGVzdC1zZWNyZXQ=".into())
}

async fn client(base: &str, proxy: Option<&str>) -> RestClient {
    let mut builder = ClientBuilder::new(Scheme::Binance, base)
        .credentials(creds())
        .clock_sync(false)
        .retry_policy(
            keyward_resilience::RetryPolicy::builder()
                .max_attempts(1)
                .build()
                .unwrap(),
        );
    if let Some(proxy) = proxy {
        builder = builder.proxy(Url::parse(proxy).unwrap());
    }
    builder.build().await.unwrap()
}

#[tokio::test]
async fn an_explicit_proxy_carries_venue_traffic() {
    let (proxy, proxy_seen) = http_server(PROXY_ANSWER.to_owned()).await;
    // `.invalid` never resolves: the request can only have left through the proxy.
    let client = client("https://venue.invalid", Some(&format!("http://{proxy}"))).await;
    let err = client.server_time().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    let heads = proxy_seen.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    // A tunnel: TLS runs end to end through it, the proxy sees only the host.
    assert!(
        heads[0].starts_with("CONNECT venue.invalid:443 "),
        "{}",
        heads[0]
    );
}

#[tokio::test]
async fn loopback_traffic_never_uses_the_explicit_proxy() {
    let (proxy, proxy_seen) = http_server(PROXY_ANSWER.to_owned()).await;
    let (venue, venue_seen) = http_server(json_response(r#"{"serverTime":1}"#)).await;
    let client = client(&format!("http://{venue}"), Some(&format!("http://{proxy}"))).await;
    client.server_time().await.unwrap();
    assert_eq!(venue_seen.heads().len(), 1);
    assert!(proxy_seen.heads().is_empty(), "{:?}", proxy_seen.heads());
}

#[tokio::test]
async fn proxy_environment_variables_are_ignored() {
    let (proxy, proxy_seen) = http_server(PROXY_ANSWER.to_owned()).await;
    let proxy_url = format!("http://{proxy}");
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new(exe);
    command
        .args(["--exact", "env_proxy_child", "--ignored", "--nocapture"])
        .env(CHILD_ENV, "1")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env(name, &proxy_url);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The child's test ran (a filter that matched nothing would also succeed).
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(proxy_seen.heads().is_empty(), "{:?}", proxy_seen.heads());
}

/// Run by `proxy_environment_variables_are_ignored` in a child process whose proxy variables
/// all point at a recording proxy: a signed request to a loopback venue goes straight to it.
#[tokio::test]
#[ignore = "run by proxy_environment_variables_are_ignored in a child process"]
async fn env_proxy_child() {
    assert!(std::env::var_os(CHILD_ENV).is_some(), "run as a child only");
    let (venue, venue_seen) = http_server(json_response(r#"{"serverTime":1,"balances":[]}"#)).await;
    let client = client(&format!("http://{venue}"), None).await;
    client.server_time().await.unwrap();
    client.balance().await.unwrap();
    let heads = venue_seen.heads();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(header(&heads[1], "X-MBX-APIKEY").is_some(), "{}", heads[1]);
}
