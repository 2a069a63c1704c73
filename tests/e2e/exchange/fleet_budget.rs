//! MUST-SHOW 2 of issue 17: one rate budget for a fleet. Four child processes of eight tasks
//! each spend one Binance-like budget of 1,200 weight per minute at one testnet listener that
//! counts request weight (`/api/v3/account` 20, the others 1). Every clock is frozen (the
//! testnet's and the shared budget's), so the window never refills: the fleet may send exactly
//! 1,200 weight in all. With the shared budget in Redis the testnet never sees it exceeded and
//! never answers 429 (its own counters say so); the same run with each process on its own local
//! limiter exceeds it.
//!
//! The children are this test binary run again (`fleet_budget_child`, on only with its
//! environment variable); each prints one `FLEET-CHILD {json}` line that the parent reads.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use crate::redis_server;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward::exchange::fleet::SharedBudget;
use keyward::exchange::{ErrorKind, Params, RequestClass, RestClient};
use keyward::resilience::limiter::Limit;
use keyward::resilience::{ManualClock, ManualSleep, RetryPolicy};
use keyward::signing::{Credentials, FixedClock, Scheme};
use keyward_testnet::{RateUsage, Testnet, TestnetConfig, VenueCredentials};
use serde_json::{Value, json};

const CHILD_ENV: &str = "KEYWARD_FLEET_BUDGET_CHILD";
const KEY: &str = "fleetBudgetKey0001";
const SECRET: &str = "fleet-budget-secret-0001";
const PROCESSES: usize = 4;
const TASKS: usize = 8;
const BUDGET: u32 = 1_200;
/// The most each task tries: far more than its share, so the budget, not the loop, ends it.
const TRIES: usize = 200;

fn budget_limit() -> Limit {
    // The whole budget as its burst: with a frozen clock it admits exactly 1,200 weight.
    Limit::new("weight/1m", "weight", BUDGET, Duration::from_secs(60))
        .with_burst(BUDGET)
        .with_usage_header("X-MBX-USED-WEIGHT-1M")
}

/// One child process: eight tasks on one client, each sending until the budget refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fleet_budget_child() {
    if std::env::var(CHILD_ENV).as_deref() != Ok("1") {
        return;
    }
    let url = std::env::var("KEYWARD_FLEET_TESTNET").unwrap();
    let redis_url = std::env::var("KEYWARD_FLEET_REDIS").unwrap_or_default();
    // The client's own clock is frozen too (a sleep that would move it never runs: waits past
    // the one-second ceiling fail at once).
    let clock = Arc::new(ManualClock::new());
    let mut builder = RestClient::builder(Scheme::Binance, url)
        .credentials(Credentials::new(KEY, SECRET.into()))
        .clock(clock.clone())
        .sleep(Arc::new(ManualSleep::new(Arc::new(ManualClock::new()))))
        .rate_limits(vec![budget_limit()])
        .max_rate_limit_wait(Duration::from_secs(1))
        .retry_policy(RetryPolicy::builder().max_attempts(1).build().unwrap());
    if !redis_url.is_empty() {
        let conn = redis::Client::open(redis_url)
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap();
        // One frozen time base for the fleet: every process's clock stays at its origin.
        let budget = SharedBudget::new(conn, "fleet-e2e", "nat-gateway-1")
            .with_fleet_size(PROCESSES as u32)
            .with_clock(Arc::new(ManualClock::new()));
        builder = builder.shared_budget(budget);
    }
    let client = builder.build().await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut weight, mut limited, mut venue_429, mut other) =
                (0u32, 0u32, 0u32, 0u32, 0u32);
            for i in 0..TRIES {
                // Half the tasks read the account (weight 20), half the time (weight 1).
                let (result, w) = if task % 2 == 0 {
                    let n = format!("{task}-{i}");
                    let r = client
                        .send(
                            "GET",
                            "/api/v3/account",
                            Params::query([("n", n.as_str())]),
                            RequestClass::Read,
                            20,
                        )
                        .await
                        .map(drop);
                    (r, 20)
                } else {
                    (client.server_time().await.map(drop), 1)
                };
                match result {
                    Ok(()) => {
                        ok += 1;
                        weight += w;
                    }
                    Err(e) if e.kind() == ErrorKind::RateLimitWait => {
                        limited += 1;
                        break;
                    }
                    Err(e) if e.kind() == ErrorKind::RateLimited => venue_429 += 1,
                    Err(e) => {
                        eprintln!("child task {task}: {e}");
                        other += 1;
                    }
                }
            }
            (ok, weight, limited, venue_429, other)
        }));
    }
    let (mut ok, mut weight, mut limited, mut venue_429, mut other) = (0, 0, 0, 0, 0);
    for t in tasks {
        let (a, b, c, d, e) = t.await.unwrap();
        ok += a;
        weight += b;
        limited += c;
        venue_429 += d;
        other += e;
    }
    let keys = client.shared_budget().map(|b| b.keys()).unwrap_or_default();
    let degraded = client.shared_budget().is_some_and(|b| b.is_degraded());
    println!(
        "FLEET-CHILD {}",
        json!({"ok": ok, "weight": weight, "limited": limited, "venue_429": venue_429,
               "other": other, "keys": keys, "degraded": degraded})
    );
}

/// Runs the fleet: four children against `t`, sharing `redis_url` (empty: each on its own
/// local limiter). Returns each child's report.
fn run_fleet(t: &Testnet, redis_url: &str) -> Vec<Value> {
    let exe = std::env::current_exe().unwrap();
    let (tx, rx) = mpsc::channel();
    let mut pids = Vec::new();
    for _ in 0..PROCESSES {
        let child = Command::new(&exe)
            .args([
                "--exact",
                "fleet_budget::fleet_budget_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .env("KEYWARD_FLEET_TESTNET", t.url("binance").unwrap())
            .env("KEYWARD_FLEET_REDIS", redis_url)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        pids.push(child.id());
        let tx = tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
    }
    let mut reports = Vec::new();
    for _ in 0..PROCESSES {
        let Ok(output) = rx.recv_timeout(Duration::from_secs(180)) else {
            for pid in &pids {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            }
            panic!("a fleet child did not finish within 180 s");
        };
        let output = output.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "child failed: {stdout}");
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("FLEET-CHILD ").map(|(_, report)| report))
            .unwrap_or_else(|| panic!("no report in the child's output: {stdout}"));
        reports.push(serde_json::from_str(line).unwrap());
    }
    reports
}

async fn frozen_testnet() -> Testnet {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    Testnet::start(
        TestnetConfig {
            credentials: vec![VenueCredentials::new("binance", KEY, SECRET)],
            ..TestnetConfig::default()
        }
        .with_venue_rate_limit("binance", BUDGET)
        .with_request_weights(true)
        .with_clock(Arc::new(FixedClock::new(now_ms))),
    )
    .await
    .unwrap()
}

fn sum(reports: &[Value], field: &str) -> u64 {
    reports.iter().map(|r| r[field].as_u64().unwrap()).sum()
}

fn show(label: &str, usage: RateUsage, reports: &[Value]) {
    println!(
        "{label}: testnet counted {} weight of {} (peak admitted {}), answered {} x 429; \
         clients: {} calls ok carrying {} weight, {} stopped by their limiter, {} venue 429s",
        usage.used,
        usage.limit,
        usage.peak_admitted,
        usage.refused,
        sum(reports, "ok"),
        sum(reports, "weight"),
        sum(reports, "limited"),
        sum(reports, "venue_429"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_share_one_budget_in_redis_and_overspend_without_it() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };

    // With Redis: one budget for the fleet.
    let t = frozen_testnet().await;
    let url = server.url();
    let shared = tokio::task::block_in_place(|| run_fleet(&t, &url));
    let usage = t.rate_usage("binance").unwrap();
    show("with a shared budget in Redis", usage, &shared);
    assert_eq!(usage.refused, 0, "the testnet answered 429");
    assert_eq!(sum(&shared, "venue_429"), 0);
    assert_eq!(sum(&shared, "other"), 0);
    assert!(
        usage.used <= BUDGET && usage.peak_admitted <= BUDGET,
        "{usage:?}"
    );
    // The fleet spent exactly the budget: the time readers (weight 1) fill what the account
    // readers (weight 20) leave. The testnet's count is the clients' calls plus each process's
    // one clock sync (weight 1, charged to the same budget).
    assert_eq!(usage.used, BUDGET, "{usage:?}");
    let clients = sum(&shared, "weight");
    assert!((clients..=clients + PROCESSES as u64).contains(&u64::from(usage.used)));
    // Every process named the same keys, and none of them was degraded.
    let keys = &shared[0]["keys"];
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert!(
        keys[0]
            .as_str()
            .unwrap()
            .starts_with("fleet-e2e:{rl:binance:ip:nat-gateway-1}:"),
        "{keys}"
    );
    for r in &shared {
        assert_eq!(&r["keys"], keys);
        assert_eq!(r["degraded"], false);
    }
    t.shutdown().await;

    // Without Redis: each process on its own local limiter of 1,200.
    let t = frozen_testnet().await;
    let local = tokio::task::block_in_place(|| run_fleet(&t, ""));
    let usage = t.rate_usage("binance").unwrap();
    show("without Redis (local limiters)", usage, &local);
    assert!(usage.refused > 0 && usage.used > BUDGET, "{usage:?}");
    t.shutdown().await;
}

/// Sends time reads (weight 1) until the client's limiter refuses; returns how many went out.
async fn spend(client: &RestClient) -> u32 {
    let mut sent = 0;
    for _ in 0..2 * BUDGET {
        match client.server_time().await {
            Ok(_) => sent += 1,
            Err(e) if e.kind() == ErrorKind::RateLimitWait => return sent,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the limiter never refused");
}

/// MUST-SHOW 5, the limiter's half: Redis stopped mid-run. The client decides on its local
/// share (1,200 / 4 = 300 weight, counted from the venue's last usage header), says it is
/// degraded, and after Redis is back (empty) the first usage header raises the shared count
/// again: the testnet never counts more than the budget nor answers 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_run_leaves_the_client_on_its_share_and_recovers() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let t = frozen_testnet().await;
    let conn = redis::Client::open(server.url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    let budget = SharedBudget::new(conn, "fleet-e2e", "nat-gateway-1")
        .with_fleet_size(PROCESSES as u32)
        .with_timeout(Duration::from_millis(300))
        .with_probe_interval(Duration::from_secs(3_600))
        .with_clock(Arc::new(ManualClock::new()));
    let client = RestClient::builder(Scheme::Binance, t.url("binance").unwrap())
        .credentials(Credentials::new(KEY, SECRET.into()))
        .clock(Arc::new(ManualClock::new()))
        .sleep(Arc::new(ManualSleep::new(Arc::new(ManualClock::new()))))
        .rate_limits(vec![budget_limit()])
        .max_rate_limit_wait(Duration::from_secs(1))
        .shared_budget(budget)
        .build()
        .await
        .unwrap();
    for _ in 0..10 {
        client.server_time().await.unwrap();
    }
    let shared = client.shared_budget().unwrap();
    assert!(!shared.is_degraded());

    server.stop();
    let sent_degraded = spend(&client).await;
    assert!(
        shared.is_degraded(),
        "Redis is down: the budget must say so"
    );
    let usage = t.rate_usage("binance").unwrap();
    println!(
        "Redis stopped after 10 calls: {sent_degraded} more calls on the local share; testnet counted {} of {}",
        usage.used, usage.limit
    );
    // The local share is 300 weight, and it started from the venue's count of 10.
    assert_eq!(usage.used, BUDGET / PROCESSES as u32);
    assert!(shared.local_decisions() > 0);

    server.restart();
    let (_, limiter) = shared.scopes().next().unwrap();
    let mut back = false;
    for _ in 0..100 {
        if limiter.probe().await {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(back, "Redis never answered after its restart");
    assert!(!shared.is_degraded());
    // Redis came back empty; the venue's usage header on the first answer raises the shared
    // count to the testnet's, so the rest of the budget, and no more, goes out.
    let sent_after = spend(&client).await;
    let usage = t.rate_usage("binance").unwrap();
    println!(
        "Redis restarted: {sent_after} more calls; testnet counted {} of {}, answered {} x 429",
        usage.used, usage.limit, usage.refused
    );
    assert_eq!((usage.used, usage.refused), (BUDGET, 0), "{usage:?}");
    t.shutdown().await;
}

/// `ClientBuilder::fleet`: a Kraken client made part of a fleet decides its limits in the
/// fleet's budget and draws its nonces from the fleet's sequence for its API key.
#[tokio::test]
async fn a_client_made_part_of_a_fleet_shares_its_budget_and_its_nonces() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let t = Testnet::start(TestnetConfig::default()).await.unwrap();
    let fleet = keyward::exchange::fleet::FleetConfig::from_url(&server.url())
        .unwrap()
        .with_prefix("fleet-builder")
        .unwrap()
        .connect()
        .await
        .unwrap();
    let creds = t.credentials("kraken").unwrap().to_signing();
    let client = RestClient::builder(Scheme::Kraken, t.url("kraken").unwrap())
        .credentials(creds.clone())
        .fleet(&fleet, "nat-gateway-1")
        .build()
        .await
        .unwrap();
    for i in 0..5 {
        let order = keyward::exchange::OrderRequest::limit(
            "XBTUSD",
            keyward::exchange::Side::Buy,
            "1",
            "100",
        )
        .with_client_order_id(format!("fleet-{i}"));
        client.place_order(&order).await.unwrap();
    }
    let budget = client.shared_budget().expect("a shared budget");
    assert!(!budget.is_degraded());
    let keys = budget.keys();
    assert!(
        keys.iter()
            .all(|k| k.starts_with("fleet-builder:{rl:kraken:")),
        "{keys:?}"
    );
    // The fleet's counter for this key moved past every nonce the client sent.
    let counter = fleet
        .nonce_source(
            creds.api_key(),
            keyward::signing::NonceUnit::Millis,
            Arc::new(keyward::signing::SystemClock),
        )
        .counter_key()
        .to_owned();
    let mut conn = fleet.connection();
    let next: Option<u64> = redis::cmd("GET")
        .arg(&counter)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        next.is_some(),
        "the fleet's nonce counter {counter} was used"
    );
    t.shutdown().await;
}
