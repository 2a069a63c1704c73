//! Building an `AwsStore` for the tests: against moto_server at `KEYWARD_AWS_ENDPOINT` (set by
//! `cargo xtask ci`, which starts it), with fixed test credentials and a name prefix unique to
//! the run. Without the variable the moto tests say why they did not run and pass, unless
//! `KEYWARD_REQUIRE_INTEROP` is set (as `cargo xtask ci` does): then they fail.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_secretsmanager::config::Credentials;
use keyward_secrets_backends::AwsStore;

/// A store at `endpoint` with test credentials in us-east-1 (no credential chain, no IMDS).
pub async fn store_at(endpoint: &str) -> AwsStore {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "keyward-tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await;
    AwsStore::from_config(&config).with_timeout(Duration::from_secs(30))
}

/// The store at moto_server, its names under a prefix unique to this run and `test`, or `None`
/// (with a notice) when no endpoint is configured and none is required.
pub async fn moto(test: &str) -> Option<AwsStore> {
    let Some(endpoint) = std::env::var_os("KEYWARD_AWS_ENDPOINT") else {
        assert!(
            std::env::var_os("KEYWARD_REQUIRE_INTEROP").is_none(),
            "KEYWARD_REQUIRE_INTEROP is set but KEYWARD_AWS_ENDPOINT is not; run `cargo xtask ci`, \
             which starts moto_server"
        );
        eprintln!(
            "SKIPPED: KEYWARD_AWS_ENDPOINT is not set (run `cargo xtask ci`, or start \
             `moto_server -H 127.0.0.1 -p PORT` and set KEYWARD_AWS_ENDPOINT=http://127.0.0.1:PORT)"
        );
        return None;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("keyward-test/{}-{nanos}/{test}/", std::process::id());
    Some(
        store_at(endpoint.to_str().unwrap())
            .await
            .with_prefix(prefix)
            .unwrap(),
    )
}
