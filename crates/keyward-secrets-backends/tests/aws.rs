//! AWS Secrets Manager specifics: stage moves, AWSPREVIOUS, error mapping against moto_server
//! (skipped with a notice without `KEYWARD_AWS_ENDPOINT`, see `common/aws.rs`), and a timeout
//! and redaction against a silent loopback listener (always run).
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "common/aws.rs"]
mod aws_support;

use std::net::TcpListener;
use std::time::Duration;

use keyward_core_crypto::secrecy::ExposeSecret;
use keyward_secrets_backends::{
    AwsStore, CURRENT, Error, PENDING, PREVIOUS, SecretStore, SecretValue, Selector,
};

const CANARY: &str = "CANARY-aws-secret-51c9";

fn api(secret: &str) -> SecretValue {
    SecretValue::fields([("api_key", "key-1"), ("api_secret", secret)])
}

async fn secret_of(store: &AwsStore, name: &str, which: Selector) -> String {
    let got = store.get(name, &which).await.unwrap();
    got.value
        .field("api_secret")
        .unwrap()
        .expose_secret()
        .to_owned()
}

fn stages_of(meta: &[keyward_secrets_backends::Metadata], version: &str) -> Vec<String> {
    let mut stages = meta
        .iter()
        .find(|m| m.version == version)
        .unwrap()
        .stages
        .clone();
    stages.sort();
    stages
}

#[tokio::test]
async fn rotation_moves_stages_through_pending_then_current() {
    let Some(store) = aws_support::moto("rotation").await else {
        return;
    };
    let old = store.put("venue", &api("old")).await.unwrap();
    // Put the new credential as pending: current does not move.
    let new = store.put_pending("venue", &api("new")).await.unwrap();
    assert_eq!(new.stages, [PENDING]);
    assert_eq!(secret_of(&store, "venue", Selector::Current).await, "old");
    // Verify the pending version before promoting it.
    let pending = store
        .get("venue", &Selector::Stage(PENDING.into()))
        .await
        .unwrap();
    assert_eq!(pending.meta.version, new.version);
    assert_eq!(
        pending.value.field("api_secret").unwrap().expose_secret(),
        "new"
    );
    let versions = store.versions("venue").await.unwrap();
    assert_eq!(stages_of(&versions, &old.version), [CURRENT]);
    assert_eq!(stages_of(&versions, &new.version), [PENDING]);
    // Promote: AWSCURRENT moves, the old version becomes AWSPREVIOUS, AWSPENDING is gone.
    store.promote("venue", &new.version).await.unwrap();
    assert_eq!(secret_of(&store, "venue", Selector::Current).await, "new");
    assert_eq!(
        secret_of(&store, "venue", Selector::Stage(PREVIOUS.into())).await,
        "old"
    );
    let versions = store.versions("venue").await.unwrap();
    assert_eq!(stages_of(&versions, &new.version), [CURRENT]);
    assert_eq!(stages_of(&versions, &old.version), [PREVIOUS]);
    assert!(matches!(
        store.get("venue", &Selector::Stage(PENDING.into())).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(store.metadata("venue").await.unwrap().version, new.version);
    // Promoting the current version again changes nothing.
    store.promote("venue", &new.version).await.unwrap();
    assert_eq!(secret_of(&store, "venue", Selector::Current).await, "new");
    store.delete("venue").await.unwrap();
}

#[tokio::test]
async fn put_moves_awsprevious_and_binary_values_round_trip() {
    let Some(store) = aws_support::moto("previous").await else {
        return;
    };
    let first = store
        .put("raw", &SecretValue::bytes(vec![0x00, 0xff, 0x10]))
        .await
        .unwrap();
    let second = store.put("raw", &api("two")).await.unwrap();
    let third = store.put("raw", &api("three")).await.unwrap();
    let prev = store
        .get("raw", &Selector::Stage(PREVIOUS.into()))
        .await
        .unwrap();
    assert_eq!(prev.meta.version, second.version);
    assert!(prev.meta.stages.iter().any(|s| s == PREVIOUS));
    assert_eq!(secret_of(&store, "raw", Selector::Current).await, "three");
    // The first version was binary (not UTF-8) and reads back as the same bytes.
    let raw = store
        .get("raw", &Selector::Version(first.version.clone()))
        .await
        .unwrap();
    assert!(
        raw.value
            .same_as(&SecretValue::bytes(vec![0x00, 0xff, 0x10]))
    );
    let versions = store.versions("raw").await.unwrap();
    assert_eq!(stages_of(&versions, &third.version), [CURRENT]);
    assert_eq!(stages_of(&versions, &second.version), [PREVIOUS]);
    assert_eq!(store.list().await.unwrap(), ["raw"]);
    store.delete("raw").await.unwrap();
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn missing_secrets_versions_and_stages_are_not_found() {
    let Some(store) = aws_support::moto("missing").await else {
        return;
    };
    assert!(not_found(store.get("absent", &Selector::Current).await));
    assert!(not_found(store.versions("absent").await));
    assert!(not_found(store.delete("absent").await));
    assert!(not_found(store.promote("absent", "v").await));
    assert!(not_found(store.put_pending("absent", &api("x")).await));
    store.put("present", &api("x")).await.unwrap();
    assert!(not_found(
        store.get("present", &Selector::Stage(PENDING.into())).await
    ));
    assert!(not_found(
        store
            .get("present", &Selector::Stage(PREVIOUS.into()))
            .await
    ));
    assert!(not_found(
        store
            .promote("present", "00000000-0000-0000-0000-000000000000")
            .await
    ));
    let err = store.get("absent", &Selector::Current).await.unwrap_err();
    assert!(err.to_string().contains("absent"), "{err}");
    store.delete("present").await.unwrap();
}

#[tokio::test]
async fn values_never_show_in_debug_or_errors() {
    let Some(store) = aws_support::moto("redaction").await else {
        return;
    };
    store.put("canary", &api(CANARY)).await.unwrap();
    let got = store.get("canary", &Selector::Current).await.unwrap();
    let versions = store.versions("canary").await.unwrap();
    // A failing write with the canary in its input: the error must not carry it.
    let err = store
        .put_pending("canary", &api(CANARY))
        .await
        .and(store.put("bad name!", &api(CANARY)).await)
        .unwrap_err();
    let shown = format!("{store:?} {got:?} {versions:?} {err} {err:?}");
    assert!(!shown.contains(CANARY), "secret leaked: {shown}");
    store.delete("canary").await.unwrap();
}

/// A loopback listener that accepts connections (the kernel completes the handshake) and never
/// reads or answers.
fn not_found<T>(result: Result<T, Error>) -> bool {
    matches!(result, Err(Error::NotFound { .. }))
}

fn silent_listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[tokio::test]
async fn an_unresponsive_endpoint_times_out_with_a_clear_error() {
    let (_listener, url) = silent_listener();
    let store = aws_support::store_at(&url)
        .await
        .with_timeout(Duration::from_millis(300));
    assert_eq!(store.timeout(), Duration::from_millis(300));
    // The outer bound only keeps a broken timeout from hanging the suite.
    let err = tokio::time::timeout(Duration::from_secs(60), store.put("venue", &api(CANARY)))
        .await
        .expect("the store's own timeout must fire")
        .unwrap_err();
    let Error::Backend {
        store: kind,
        message,
    } = &err
    else {
        panic!("expected a backend error, got {err:?}");
    };
    assert_eq!(*kind, "aws");
    assert!(message.contains("timed out after 300ms"), "{message}");
    assert!(message.contains(&url), "{message}");
    assert!(!format!("{err} {err:?}").contains(CANARY));
}

#[tokio::test]
async fn debug_shows_region_and_endpoint_only() {
    let (_listener, url) = silent_listener();
    let store = aws_support::store_at(&url)
        .await
        .with_prefix("team/")
        .unwrap();
    let shown = format!("{store:?}");
    assert!(shown.contains("us-east-1"), "{shown}");
    assert!(shown.contains(&url), "{shown}");
    assert!(shown.contains("team/"), "{shown}");
    assert!(!shown.contains("testing"), "credentials leaked: {shown}");
    assert!(matches!(
        AwsStore::from_config(&aws_config::SdkConfig::builder().build()).with_prefix("bad prefix"),
        Err(Error::InvalidName { .. })
    ));
}

/// Finding 23 of issue 13: the store names its stages with Secrets Manager's own labels, so a
/// listing can show what AWS users know (AWSCURRENT, AWSPREVIOUS, AWSPENDING), and a stage
/// asked for by its AWS label is found.
#[tokio::test]
async fn stages_are_shown_with_the_aws_labels() {
    let Some(store) = aws_support::moto("labels").await else {
        return;
    };
    let first = store.put("labelled", &api("one")).await.unwrap();
    let second = store.put("labelled", &api("two")).await.unwrap();
    let third = store.put_pending("labelled", &api("three")).await.unwrap();
    let versions = store.versions("labelled").await.unwrap();
    let labels = |version: &str| -> Vec<String> {
        stages_of(&versions, version)
            .iter()
            .map(|s| store.stage_label(s).into_owned())
            .collect()
    };
    assert_eq!(labels(&first.version), ["AWSPREVIOUS"]);
    assert_eq!(labels(&second.version), ["AWSCURRENT"]);
    assert_eq!(labels(&third.version), ["AWSPENDING"]);
    assert_eq!(
        secret_of(&store, "labelled", Selector::Stage("AWSPREVIOUS".into())).await,
        "one"
    );
    store.delete("labelled").await.unwrap();
}
