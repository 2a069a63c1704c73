//! Signed REST round trips through `RestClient` (breaker, limiter, retry wrapper, signing,
//! logging, venue error mapping) against a bare unsigned reqwest GET of the same URL, both on
//! keep-alive connections to a minimal HTTP/1.1 server on 127.0.0.1 that answers `{}` at once.
//! Target: the client's overhead under 5% of the round trip. The ratio is also measured outside
//! criterion (the median ratio of interleaved rounds) and written as a note for docs/BENCHMARKS.md.
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

/// Mean time per round trip of each, and the median of their per-round ratios, over many short
/// interleaved rounds: on a shared machine a burst of other work then skews a few rounds, not
/// one side of the comparison.
fn ratio(s: &Setup) -> (Duration, Duration, f64) {
    const ROUNDS: u32 = 21;
    const N: u32 = 300;
    let (mut ours, mut bare) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = Vec::with_capacity(ROUNDS as usize);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        s.rt.block_on(async {
            for _ in 0..N {
                signed(s).await;
            }
        });
        let a = t.elapsed();
        let t = Instant::now();
        s.rt.block_on(async {
            for _ in 0..N {
                unsigned(s).await;
            }
        });
        let b = t.elapsed();
        ours += a;
        bare += b;
        ratios.push(a.as_secs_f64() / b.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    (ours / (ROUNDS * N), bare / (ROUNDS * N), median)
}

/// Writes a line for `cargo xtask bench` to put under the results table.
fn note(name: &str, text: &str) {
    // target/<profile>/deps/<bench> -> target/criterion/keyward-notes/<name>.md
    let Some(target) = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
    else {
        return;
    };
    let dir = target.join("criterion").join("keyward-notes");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(format!("{name}.md")), text);
    }
}

fn roundtrip(c: &mut Criterion) {
    let s = setup();
    // Warm both connections.
    s.rt.block_on(async {
        signed(&s).await;
        unsigned(&s).await;
    });
    let (ours, bare, median) = ratio(&s);
    let overhead = (median - 1.0) * 100.0;
    let text = format!(
        "exchange client: a signed Binance REST round trip over loopback takes {:.1} µs against {:.1} µs for an unsigned reqwest GET of the same URL: {overhead:+.1}% overhead (median of 21 interleaved rounds; target under 5%)",
        ours.as_secs_f64() * 1e6,
        bare.as_secs_f64() * 1e6,
    );
    println!("{text}");
    note("exchange-client", &text);

    let mut group = c.benchmark_group("rest_roundtrip_loopback");
    group.bench_function("keyward_signed", |b| b.iter(|| s.rt.block_on(signed(&s))));
    let signed_url = format!(
        "{}&timestamp=1700000000000&signature={}",
        s.url,
        "0".repeat(64)
    );
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
