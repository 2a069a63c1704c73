//! Signing a Binance order (about 150 B of query) through the preset, against the limit: a
//! keyed HMAC-SHA256 of the same prehash. The target: the preset costs at most 1.3 times the
//! keyed HMAC.
//!
//! What each `binance_order` row does per iteration (each is one named function below, so a
//! profiler reports its cost per call):
//! - both: build the same `POST /api/v3/order` request from the same query text (three heap
//!   strings: method, path, query) and drop what they return;
//! - `preset_sign`: [`Signer::sign`] with the Binance preset: the checks for parameters already
//!   present, the clock's timestamp appended, the prepared HMAC state cloned and run over the
//!   query, its lowercase hex appended as `signature`, and the `X-MBX-APIKEY` header;
//! - `keyed_hmac_sha256`: an HMAC-SHA256 whose key was set up once, as the signer's is (the
//!   keyed state cloned per call), over the same prehash (query and timestamp, built once
//!   outside the loop), written as lowercase hex into a stack buffer. It does not touch the
//!   request: it is what signing costs at the least.
//!
//! `key_types`: the same order signed with each kind of key, in the same run: Binance with an
//! HMAC secret, an Ed25519 key and (feature `rsa`) an RSA-2048 key; and, since Binance takes no
//! P-256 key, the same order for Coinbase Advanced as a CDP JWT with a P-256 (ES256) and an
//! Ed25519 (EdDSA) key, beside its legacy HMAC signature.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use keyward_signing::keys::{self, KeyKind};
use keyward_signing::secrecy::ExposeSecret;
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};
use sha2::Sha256;

const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
const ORDER: &str = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000000&price=52000.00&newClientOrderId=my-order-000001&recvWindow=5000";

/// The order request both rows start from.
fn order_request() -> Request {
    Request::post("/api/v3/order").with_query(black_box(ORDER))
}

/// `binance_order/preset_sign`: the request built and signed by the preset.
#[inline(never)]
fn preset_sign(signer: &Signer, options: &SignOptions) -> keyward_signing::Result<Request> {
    signer.sign(order_request(), options)
}

/// `binance_order/keyed_hmac_sha256`: the request built, and the keyed HMAC of the prehash in
/// lowercase hex (the request is returned untouched).
#[inline(never)]
fn keyed_hmac_sha256(keyed: &Hmac<Sha256>, prehash: &[u8]) -> (Request, [u8; 64]) {
    let request = order_request();
    let mut mac = keyed.clone();
    mac.update(black_box(prehash));
    let mut hex = [0; 64];
    #[allow(clippy::unwrap_used)] // reason: 32 bytes always fill 64 hex digits
    hex::encode_to_slice(mac.finalize().into_bytes(), &mut hex).unwrap();
    (request, hex)
}

fn binance_order(c: &mut Criterion) {
    let creds = Credentials::new("api-key", SECRET.into());
    #[allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error
    let signer = Signer::new(Scheme::Binance, &creds)
        .unwrap()
        .with_clock(Arc::new(FixedClock::new(1_700_000_000_000)));
    let prehash = format!("{ORDER}&timestamp=1700000000000");
    #[allow(clippy::unwrap_used)] // reason: HMAC takes keys of any length
    let keyed = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    let options = SignOptions::default();

    let mut group = c.benchmark_group("binance_order");
    // Sub-microsecond timings on a shared 2-core VM drift between runs; longer samples keep the
    // two rows comparable.
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(200);
    group.bench_function("preset_sign", |b| b.iter(|| preset_sign(&signer, &options)));
    group.bench_function("keyed_hmac_sha256", |b| {
        b.iter(|| keyed_hmac_sha256(&keyed, prehash.as_bytes()))
    });
    group.finish();
}

/// A signer for `scheme` over `secret` (an HMAC secret or a private key PEM).
#[allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error
fn signer(scheme: Scheme, secret: &str) -> Signer {
    Signer::new(scheme, &Credentials::new("api-key", secret.into()))
        .unwrap()
        .with_clock(Arc::new(FixedClock::new(1_700_000_000_000)))
}

#[allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error
fn private_pem(kind: KeyKind) -> String {
    keys::generate(kind)
        .unwrap()
        .private_pem()
        .expose_secret()
        .to_owned()
}

fn key_types(c: &mut Criterion) {
    let mut binance = vec![
        ("binance/hmac", signer(Scheme::Binance, SECRET)),
        (
            "binance/ed25519",
            signer(Scheme::Binance, &private_pem(KeyKind::Ed25519)),
        ),
    ];
    if cfg!(feature = "rsa") {
        binance.push((
            "binance/rsa2048",
            signer(Scheme::Binance, &private_pem(KeyKind::Rsa)),
        ));
    }
    let coinbase = [
        (
            "coinbase_advanced/hmac",
            signer(Scheme::CoinbaseAdvanced, SECRET),
        ),
        (
            "coinbase_advanced/p256_jwt",
            signer(Scheme::CoinbaseAdvanced, &private_pem(KeyKind::P256)),
        ),
        (
            "coinbase_advanced/ed25519_jwt",
            signer(Scheme::CoinbaseAdvanced, &private_pem(KeyKind::Ed25519)),
        ),
    ];
    let coinbase_order = r#"{"client_order_id":"my-order-000001","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.01000000","limit_price":"52000.00"}}}"#;
    let options = SignOptions::default();

    let mut group = c.benchmark_group("key_types");
    group.measurement_time(Duration::from_secs(5));
    for (name, signer) in &binance {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let request = Request::post("/api/v3/order").with_query(black_box(ORDER));
                signer.sign(request, &options)
            })
        });
    }
    for (name, signer) in &coinbase {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let request =
                    Request::post("/api/v3/brokerage/orders").with_body(black_box(coinbase_order));
                signer.sign(request, &options)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, binance_order, key_types);
criterion_main!(benches);
