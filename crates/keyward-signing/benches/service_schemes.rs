//! The two service schemes that are byte-compatible with common Python signing code, signed by
//! keyward: `service_schemes/hmac_concat` and `service_schemes/hmac_newline_v0`, each a POST of a
//! 150-byte JSON order with the timestamp from a fixed clock, headers set. `cargo xtask bench`
//! times the same requests signed by the Python patterns (`hmac` and `hashlib`, in
//! xtask/bench_compare.py) in the same sitting and writes the ratios into docs/BENCHMARKS.md.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};

/// The same secret, path and body as xtask/bench_compare.py.
const SECRET: &str = "service-shared-secret-0123456789abcdef";
const PATH: &str = "/v1/orders";
const BODY: &str = r#"{"client_order_id":"my-order-000001","symbol":"BTC-USD","side":"buy","type":"limit","quantity":"0.01000000","price":"52000.00","tif":"gtc"}"#;

fn service_schemes(c: &mut Criterion) {
    let creds = Credentials::new("svc-a", SECRET.into());
    let clock = Arc::new(FixedClock::new(1_700_000_000_000));
    let options = SignOptions::default();
    let mut group = c.benchmark_group("service_schemes");
    group.measurement_time(Duration::from_secs(5));
    for (name, scheme) in [
        ("hmac_concat", Scheme::HmacConcat),
        ("hmac_newline_v0", Scheme::HmacNewlineV0),
    ] {
        #[allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error
        let signer = Signer::new(scheme, &creds)
            .unwrap()
            .with_clock(clock.clone());
        group.bench_function(name, |b| {
            b.iter(|| {
                let request = Request::post(PATH).with_body(black_box(BODY));
                signer.sign(request, &options)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, service_schemes);
criterion_main!(benches);
