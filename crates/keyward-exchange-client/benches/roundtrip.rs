//! Signed REST round trips through `RestClient` (breaker, limiter, retry wrapper, signing,
//! logging, venue error mapping) against a bare unsigned reqwest GET of the same URL, both on
//! keep-alive connections to a minimal HTTP/1.1 server on 127.0.0.1 that answers `{}` at once.
//! A third variant sends the signed request's exact bytes, signed once up front, through the
//! same reqwest client: it separates what keyward's own work costs (signed against presigned;
//! target: at most 3% of the round trip) from what the longer signed URL costs reqwest itself
//! (presigned against unsigned; reqwest parses each URL more than once, and the signature adds
//! about 90 characters). The ratios are measured outside criterion too (medians of interleaved
//! rounds) and written as a note for docs/BENCHMARKS.md.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_exchange_client::{Credentials, Params, RequestClass, RestClient, Scheme};
use keyward_resilience::limiter::Limit;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[path = "../../../tests/support/bench_note.rs"]
mod bench_note;
use bench_note::{metric, note};

const PATH: &str = "/api/v3/account";
const QUERY: [(&str, &str); 2] = [("symbol", "BTCUSDT"), ("limit", "10")];

/// A server on its own thread and runtime: reads each request (headers and Content-Length
/// body) and answers `{}`, keeping the connection.
fn serve() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = Vec::with_capacity(4096);
                    let mut chunk = [0u8; 4096];
                    loop {
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        while buf.len() < end + 4 + length {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..end + 4 + length);
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if socket.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
    });
    rx.recv().unwrap()
}

struct Setup {
    rt: tokio::runtime::Runtime,
    client: RestClient,
    bare: reqwest::Client,
    url: String,
}

fn setup() -> Setup {
    let addr = serve();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    let client = rt.block_on(async {
        RestClient::builder(Scheme::Binance, &base)
            .credentials(Credentials::new("bench-key", "bench-secret".into()))
            .clock_sync(false)
            .rate_limits(vec![Limit::new(
                "weight/1s",
                "weight",
                1_000_000_000,
                Duration::from_secs(1),
            )])
            .build()
            .await
            .unwrap()
    });
    let url = format!("{base}{PATH}?symbol=BTCUSDT&limit=10");
    Setup {
        rt,
        client,
        // Configured as the client's own HTTP client is (rustls, a request timeout, no
        // redirects), so that the difference is what keyward adds: signing, limiter, breaker,
        // retry wrapper and error mapping.
        bare: reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        url,
    }
}

async fn signed(s: &Setup) {
    let v = s
        .client
        .send("GET", PATH, Params::query(QUERY), RequestClass::Read, 1)
        .await
        .unwrap();
    black_box(v);
}

/// The same bytes as a signed request (URL with timestamp and signature, API-key header),
/// signed once up front: the cost of the bigger request without keyward's work.
async fn presigned(s: &Setup, url: &str) {
    let bytes = s
        .bare
        .get(url)
        .header("X-MBX-APIKEY", "bench-key")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    black_box(v);
}

async fn unsigned(s: &Setup) {
    let bytes = s
        .bare
        .get(&s.url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    black_box(v);
}

/// Rounds of `N` calls of each variant, interleaved, so that a burst of other work on a shared
/// machine skews a few rounds rather than one side of a comparison.
const ROUNDS: usize = 81;
const N: u32 = 200;

/// Per variant (signed, presigned, unsigned): the mean time of a round trip, and the median of
/// the per-round ratios signed/presigned, presigned/unsigned and signed/unsigned.
struct Ratios {
    mean: [Duration; 3],
    own: f64,
    bytes: f64,
    total: f64,
}

fn ratios(s: &Setup, signed_url: &str) -> Ratios {
    let mut sums = [Duration::ZERO; 3];
    let (mut own, mut bytes, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let mut t = [Duration::ZERO; 3];
        for (i, slot) in t.iter_mut().enumerate() {
            let start = Instant::now();
            s.rt.block_on(async {
                for _ in 0..N {
                    match i {
                        0 => signed(s).await,
                        1 => presigned(s, signed_url).await,
                        _ => unsigned(s).await,
                    }
                }
            });
            *slot = start.elapsed();
        }
        for (sum, x) in sums.iter_mut().zip(t) {
            *sum += x;
        }
        let [a, b, c] = t.map(|d| d.as_secs_f64());
        own.push(a / b);
        bytes.push(b / c);
        total.push(a / c);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let calls = u32::try_from(ROUNDS).unwrap() * N;
    Ratios {
        mean: sums.map(|d| d / calls),
        own: median(own),
        bytes: median(bytes),
        total: median(total),
    }
}

fn pct(ratio: f64) -> f64 {
    (ratio - 1.0) * 100.0
}

fn roundtrip(c: &mut Criterion) {
    let s = setup();
    // The signed request's bytes (timestamp, 64-digit signature, API-key header), signed once.
    let signed_url = format!(
        "{}&timestamp=1700000000000&signature={}",
        s.url,
        "0".repeat(64)
    );
    // Warm the connections.
    s.rt.block_on(async {
        signed(&s).await;
        presigned(&s, &signed_url).await;
        unsigned(&s).await;
    });
    let r = ratios(&s, &signed_url);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let text = format!(
        "exchange client, signed Binance GET over loopback (medians of {ROUNDS} interleaved rounds of {N}): \
keyward {:.1} µs, the same request pre-signed through reqwest {:.1} µs, an unsigned reqwest GET {:.1} µs. \
keyward's own work (signing, limiter, breaker, retry wrapper, answer mapping) against the same bytes: {:+.1}% (target at most 3%); \
the signed request's extra bytes through reqwest: {:+.1}%; total against the unsigned GET: {:+.1}%",
        us(r.mean[0]),
        us(r.mean[1]),
        us(r.mean[2]),
        pct(r.own),
        pct(r.bytes),
        pct(r.total),
    );
    println!("{text}");
    note("exchange-client", &text);
    // The ratio rows of docs/BENCHMARKS.md (xtask/src/bench_ratios.rs).
    metric("rest_own_work_ratio", r.own, "x");
    metric("rest_total_ratio", r.total, "x");

    let mut group = c.benchmark_group("rest_roundtrip_loopback");
    group.bench_function("keyward_signed", |b| b.iter(|| s.rt.block_on(signed(&s))));
    group.bench_function("reqwest_presigned", |b| {
        b.iter(|| s.rt.block_on(presigned(&s, &signed_url)))
    });
    group.bench_function("reqwest_unsigned", |b| {
        b.iter(|| s.rt.block_on(unsigned(&s)))
    });
    group.finish();
}

criterion_group!(benches, roundtrip);
criterion_main!(benches);
