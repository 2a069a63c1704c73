//! How the client reads what a venue answers, against a scripted server on 127.0.0.1: only a
//! 2xx is a success, an unreadable 2xx to an order placement is an unknown outcome (findings
//! 10 and 15 of issue 13), and a venue's rate-limit headers can never park the client
//! (finding 8). Time is a manual clock: nothing here sleeps.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

mod support;

use std::sync::Arc;

use keyward_exchange_client::{
    ClientBuilder, Credentials, Error, ErrorKind, OrderRequest, RestClient, Scheme, Side,
};
use keyward_resilience::{ManualClock, ManualSleep};
use support::{Scripted, answer};

struct Client {
    client: RestClient,
    sleep: Arc<ManualSleep>,
}

/// A Binance client of `server` on a manual clock, without clock sync; `limits` keeps the
/// venue's default rate limits, else none.
async fn binance(server: &Scripted, limits: bool) -> Client {
    let clock = Arc::new(ManualClock::new());
    let sleep = Arc::new(ManualSleep::new(clock.clone()));
    let mut b: ClientBuilder = RestClient::builder(Scheme::Binance, server.url.clone())
        .credentials(Credentials::new("binance-key", "secret".into()))
        .clock_sync(false)
        .clock(clock)
        .sleep(sleep.clone());
    if !limits {
        b = b.rate_limits(Vec::new());
    }
    Client {
        client: b.build().await.unwrap(),
        sleep,
    }
}

fn order() -> OrderRequest {
    OrderRequest::market("BTCUSDT", Side::Buy, "1")
}

// -- finding 10: only 2xx is a success ------------------------------------------------------

#[tokio::test]
async fn a_redirect_to_an_order_placement_is_not_a_success() {
    let server = Scripted::start(vec![answer(
        "302 Found",
        &["Location: http://127.0.0.1:1/api/v3/order"],
        r#"{"orderId": 1}"#,
    )])
    .await;
    let c = binance(&server, false).await;
    let err = c.client.place_order(&order()).await.unwrap_err();
    // A redirect proves nothing about execution: reconcile, never assume either way.
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "{err}");
    assert!(err.to_string().contains("302"), "{err}");
    assert_eq!(server.received().len(), 1, "not re-sent");
    // A read answered with a redirect is a typed error, not retried as a success.
    let err = c.client.balance().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedStatus, "{err}");
    assert!(err.to_string().contains("302"), "{err}");
    assert_eq!(server.received().len(), 2, "not retried");
}

#[tokio::test]
async fn an_informational_answer_is_not_a_success() {
    // 101 is the one 1xx HTTP clients hand over as a final answer.
    let server = Scripted::start(vec![
        "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n".into(),
    ])
    .await;
    let c = binance(&server, false).await;
    let err = c.client.place_order(&order()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "{err}");
    assert_eq!(server.received().len(), 1, "not re-sent");
}

#[tokio::test]
async fn an_unreadable_2xx_to_an_order_placement_is_an_unknown_outcome() {
    let server = Scripted::start(vec![answer("200 OK", &[], "<html>maintenance</html>")]).await;
    let c = binance(&server, false).await;
    let err = c
        .client
        .place_order(&order().with_client_order_id("my-order-1"))
        .await
        .unwrap_err();
    match &err {
        Error::UnknownOutcome {
            reason,
            client_order_id,
            ..
        } => {
            assert!(reason.contains("200"), "{reason}");
            assert_eq!(client_order_id.as_deref(), Some("my-order-1"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.received().len(), 1, "not re-sent");
    // A read with the same answer stays a decode error.
    let err = c.client.balance().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
}

// -- finding 15: the id that reconciles an unknown outcome -----------------------------------

#[tokio::test]
async fn an_unknown_outcome_carries_the_generated_client_order_id() {
    let server = Scripted::start(vec![answer("503 Service Unavailable", &[], "{}")]).await;
    let c = binance(&server, false).await;
    let err = c.client.place_order(&order()).await.unwrap_err();
    let Error::UnknownOutcome {
        client_order_id: Some(id),
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    let sent = &server.received()[0].body;
    assert!(
        sent.contains(&format!("newClientOrderId={id}")),
        "{id} not in {sent}"
    );
    assert!(err.to_string().contains(id.as_str()), "{err}");
}

// -- finding 8: a venue's headers never park the client -------------------------------------

#[tokio::test]
async fn a_huge_usage_header_fails_the_next_call_at_once_instead_of_parking_it() {
    let server = Scripted::start(vec![answer(
        "200 OK",
        &["X-MBX-USED-WEIGHT-1M: 4294967295"],
        "{}",
    )])
    .await;
    let c = binance(&server, true).await;
    c.client.balance().await.unwrap();
    let err = c.client.balance().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimitWait, "{err}");
    assert!(c.sleep.slept().is_empty(), "slept {:?}", c.sleep.slept());
    assert_eq!(server.received().len(), 1, "the second call was sent");
}

#[tokio::test]
async fn a_huge_retry_after_fails_at_once_with_the_rate_limit_error() {
    let server = Scripted::start(vec![
        answer("429 Too Many Requests", &["Retry-After: 4294967295"], "{}"),
        answer("200 OK", &[], "{}"),
    ])
    .await;
    let c = binance(&server, false).await;
    let err = c.client.balance().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert!(c.sleep.slept().is_empty(), "slept {:?}", c.sleep.slept());
    assert_eq!(server.received().len(), 1);
}
