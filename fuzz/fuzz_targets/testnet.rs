//! The testnet's request handling (keyward-testnet, feature `fuzzing`): every router a
//! testnet serves (each venue's, the service schemes', the brokers', admin), built once with
//! generated test credentials on a current-thread runtime, takes arbitrary requests through
//! `tower::ServiceExt::oneshot`, with no socket.
//!
//! Input: byte 0 picks the router, byte 1 the method; then the request target (path and
//! query) up to the first newline, `name: value` header lines up to an empty line, and the
//! body (libFuzzer's input cap bounds it). Invariants: every request gets an answer (any
//! status) with a body that reads to the end within 1 MiB; never a panic.
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use keyward_testnet::{FaultControl, TestnetConfig};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt as _;

const METHODS: [&str; 7] = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"];
/// The most an answer's body is read.
const MAX_ANSWER: usize = 1024 * 1024;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    routers: Vec<(String, Router)>,
    faults: std::sync::Arc<FaultControl>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        // A quota no fuzzing run reaches: requests are judged by their content, not refused
        // for their number (the limiter is reached all the same).
        let config = TestnetConfig::default().with_rate_limit(1_000_000_000);
        let (routers, faults) = runtime
            .block_on(keyward_testnet::fuzzing::routers(config))
            .expect("the testnet's routers");
        Fixture {
            runtime,
            routers,
            faults,
        }
    })
}

/// The request the input describes; None when its target or method is not HTTP.
fn request(method: u8, data: &[u8]) -> Option<Request<Body>> {
    let (target, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let target = std::str::from_utf8(target).ok()?;
    let target = if target.starts_with('/') {
        target.to_owned()
    } else {
        format!("/{target}")
    };
    let method =
        Method::from_bytes(METHODS[usize::from(method) % METHODS.len()].as_bytes()).ok()?;
    let mut builder = Request::builder().method(method).uri(target);
    let mut rest = rest;
    loop {
        let (line, after) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        rest = after;
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = HeaderName::from_bytes(&line[..colon]);
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) = (name, value) {
            builder = builder.header(name, value);
        }
    }
    builder.body(Body::from(rest.to_vec())).ok()
}

fuzz_target!(|data: &[u8]| {
    let [which, method, rest @ ..] = data else {
        return;
    };
    let f = fixture();
    let (_, router) = &f.routers[usize::from(*which) % f.routers.len()];
    let Some(req) = request(*method, rest) else {
        return;
    };
    f.runtime.block_on(async {
        let answer = router
            .clone()
            .oneshot(req)
            .await
            .expect("a router's error type is Infallible");
        let _ = answer.status();
        axum::body::to_bytes(answer.into_body(), MAX_ANSWER)
            .await
            .expect("an answer's body reads to its end");
    });
    // A fault set through the admin router applies to the next input only through this
    // input: clear it, so that no injected latency makes later inputs sleep.
    f.faults.clear();
});
