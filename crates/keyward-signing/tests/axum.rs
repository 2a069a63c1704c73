//! The axum extractor: one line in a handler verifies the request; rejections answer 401 with
//! a JSON error kind.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use http_body_util::BodyExt;
use keyward_signing::axum::VerifiedRequest;
use keyward_signing::verify::{StaticKeys, Verifier};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};
use tower::ServiceExt;

const T0: u64 = 1_700_000_000_000;

async fn handler(req: VerifiedRequest) -> String {
    format!(
        "{} {}",
        req.verified.key_id,
        String::from_utf8(req.request.body).unwrap()
    )
}

fn app() -> Router {
    let keys = StaticKeys::new().with(Credentials::new("svc-a", "s3cret".into()));
    let verifier =
        Verifier::new(Scheme::KeywardV1, Arc::new(keys)).with_clock(Arc::new(FixedClock::new(T0)));
    let api = Router::new().route("/orders", post(handler));
    Router::new()
        .nest("/api", api)
        .with_state(Arc::new(verifier))
}

fn signed(body: &str) -> Request {
    Signer::new(
        Scheme::KeywardV1,
        &Credentials::new("svc-a", "s3cret".into()),
    )
    .unwrap()
    .with_clock(Arc::new(FixedClock::new(T0)))
    .sign(
        Request::post("/api/orders")
            .with_query("b=2&a=1")
            .with_body(body),
        &SignOptions::default(),
    )
    .unwrap()
}

fn to_http(req: &Request) -> axum::http::Request<Body> {
    let mut builder = axum::http::Request::builder()
        .method(req.method.as_str())
        .uri(req.url());
    for (n, v) in &req.headers {
        builder = builder.header(n, v);
    }
    builder.body(Body::from(req.body.clone())).unwrap()
}

async fn send(app: &Router, req: &Request) -> (u16, String) {
    let res = app.clone().oneshot(to_http(req)).await.unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn verified_requests_reach_the_handler_inside_a_nested_router() {
    let app = app();
    let req = signed(r#"{"qty":1}"#);
    assert_eq!(
        send(&app, &req).await,
        (200, r#"svc-a {"qty":1}"#.to_owned())
    );
    let (status, body) = send(&app, &req).await;
    assert_eq!(status, 401);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"], "replayed");
}

#[tokio::test]
async fn rejections_name_the_kind() {
    let app = app();
    let mut tampered = signed("{}");
    tampered.body = b"{\"qty\":1000}".to_vec();
    let (status, body) = send(&app, &tampered).await;
    assert_eq!(status, 401);
    assert!(body.contains(r#""error":"bad_signature""#), "{body}");

    let unsigned = Request::post("/api/orders").with_body("{}");
    let (status, body) = send(&app, &unsigned).await;
    assert_eq!(status, 401);
    assert!(body.contains(r#""error":"malformed""#), "{body}");
    assert!(body.contains("Signature-Input is missing"), "{body}");
}
