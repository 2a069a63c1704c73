//! How many heap blocks one Binance signature allocates, counted by a global allocator (dhat's,
//! in testing mode: the workspace forbids the `unsafe` a hand-written one needs). Allocation
//! counts are deterministic, unlike times: the bounds are what the signer reaches, so a change
//! that adds a copy to the hot path fails here. dhat counts every `alloc` and `realloc` as a
//! block, and the bytes each asks for: both are bounded.
//!
//! What one signature allocates, with the public [`Request`] model (owned `String` fields and
//! `(String, String)` headers): the `X-MBX-APIKEY` header's name, its value and the header
//! list (three blocks), and, when the query was given without room for the parameters the
//! signer appends, the query once more at its final size. A query from
//! [`build_query`](keyward_signing::build_query) has that room.
//!
//! One test in this file: the counter is process-wide, and tests running beside it would count.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;

use keyward_signing::{
    Credentials, FixedClock, QueryEncoding, Request, Scheme, SignOptions, Signer, build_query,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The order of `benches/signing.rs`: about 150 bytes of query.
const ORDER: &str = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000000&price=52000.00&newClientOrderId=my-order-000001&recvWindow=5000";

/// Heap blocks and bytes allocated while `f` runs.
fn counted<T>(f: impl FnOnce() -> T) -> (T, u64, u64) {
    let before = dhat::HeapStats::get();
    let out = f();
    let after = dhat::HeapStats::get();
    (
        out,
        after.total_blocks - before.total_blocks,
        after.total_bytes - before.total_bytes,
    )
}

#[test]
fn one_binance_signature_allocates_a_bounded_number_of_blocks() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let signer = Signer::new(
        Scheme::Binance,
        &Credentials::new("api-key", "a-secret".into()),
    )
    .unwrap()
    .with_clock(Arc::new(FixedClock::new(1_700_000_000_000)));
    let options = SignOptions::default();
    // A first signature outside the count: anything created once per signer is not per call.
    signer
        .sign(Request::post("/api/v3/order").with_query(ORDER), &options)
        .unwrap();

    // The signer's own share, for a query given as text (no room to extend it in place): the
    // request is built before counting.
    let request = Request::post("/api/v3/order").with_query(ORDER);
    let (signed, blocks, bytes) = counted(|| signer.sign(request, &options).unwrap());
    assert!(signed.query.starts_with(ORDER));
    assert!(signed.query.contains("&timestamp=1700000000000&signature="));
    assert_eq!(signed.header("X-MBX-APIKEY"), Some("api-key"));

    // The same for a query built from its pairs: extended in place.
    let pairs: Vec<(&str, &str)> = ORDER
        .split('&')
        .map(|pair| pair.split_once('=').unwrap())
        .collect();
    let query = build_query(pairs, QueryEncoding::Rfc3986);
    assert_eq!(query, ORDER);
    let request = Request::post("/api/v3/order").with_query(query);
    let (built, built_blocks, built_bytes) = counted(|| signer.sign(request, &options).unwrap());
    assert_eq!(built, signed, "the same request, signed the same");

    // The benchmark's row: the request built from the query text, then signed.
    let (_, all_blocks, all_bytes) = counted(|| {
        signer
            .sign(Request::post("/api/v3/order").with_query(ORDER), &options)
            .unwrap()
    });

    // Before the allocation work: 4 blocks of 479 bytes for the text query (grown by `realloc`
    // to twice its size), 7 of 630 for the benchmark's row.
    assert!(blocks <= 4, "sign alone: {blocks} blocks");
    assert!(bytes <= 452, "sign alone: {bytes} bytes");
    assert!(built_blocks <= 3, "built query: {built_blocks} blocks");
    assert!(built_bytes <= 211, "built query: {built_bytes} bytes");
    assert!(all_blocks <= 7, "build and sign: {all_blocks} blocks");
    assert!(all_bytes <= 603, "build and sign: {all_bytes} bytes");
}
