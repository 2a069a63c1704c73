//! `keyward proxy --shared-state`: proxies given the same Redis and prefix are one fleet. Two
//! Kraken proxies on one key, asked in turn, sign with nonces from the fleet's one sequence in
//! Redis (which grows with every request, whichever proxy sends it) and decide their rate limits
//! in the fleet's budget keys there; a Redis URL with a password is refused on the command line
//! without echoing the password.

use redis::AsyncCommands as _;

use crate::harness::{Proxy, Setup};

#[path = "../support/redis_server.rs"]
mod redis_server;

/// The fleet's Kraken nonce sequence: its one `{prefix}:{nonce:<key hash>}:next` key, and the
/// next nonce it holds.
async fn nonce_sequence(redis: &mut redis::aio::MultiplexedConnection, prefix: &str) -> u64 {
    let keys: Vec<String> = redis
        .keys(format!("{prefix}:{{nonce:*}}:next"))
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let value: String = redis.get(&keys[0]).await.unwrap();
    value.parse().unwrap()
}

async fn add_order(client: &reqwest::Client, proxy: &Proxy, i: usize) -> serde_json::Value {
    let answer = client
        .post(format!("{}/0/private/AddOrder", proxy.url))
        .form(&[
            ("pair", "XBTUSD"),
            ("type", "buy"),
            ("ordertype", "limit"),
            ("volume", "0.01"),
            ("price", &format!("{}", 20_000 + i)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_sharing_redis_draw_nonces_and_rate_limits_from_one_fleet() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let setup = Setup::new().await;
    let url = server.url();
    let prefix = "proxy-fleet";
    let args = [
        "--shared-state",
        url.as_str(),
        "--shared-state-prefix",
        prefix,
    ];
    let (a, b) = (
        Proxy::start(&setup, "kraken", &args).await,
        Proxy::start(&setup, "kraken", &args).await,
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    let first = add_order(&client, &a, 0).await;
    assert_eq!(first["error"], serde_json::json!([]), "{first}");
    let before = nonce_sequence(&mut redis, prefix).await;
    for i in 1..=8 {
        let proxy = if i % 2 == 0 { &a } else { &b };
        let answer = add_order(&client, proxy, i).await;
        assert_eq!(
            answer["error"],
            serde_json::json!([]),
            "request {i}: {answer}"
        );
    }
    let after = nonce_sequence(&mut redis, prefix).await;
    assert!(
        after >= before + 8,
        "eight requests through two proxies leased {} nonces from the fleet's sequence",
        after - before
    );
    let budgets: Vec<String> = redis.keys(format!("{prefix}:{{rl:*")).await.unwrap();
    assert!(!budgets.is_empty(), "no rate-limit budget in Redis");

    let log = a.stop().await + &b.stop().await;
    for (what, value) in setup.credentials("kraken").iter() {
        assert!(!log.contains(value.as_str()), "a proxy logged the {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_password_on_the_command_line_is_refused_unechoed() {
    let setup = Setup::new().await;
    let base = setup.testnet.url("kraken").unwrap().to_owned();
    let out = setup
        .keyward(&[
            "proxy",
            "--venue",
            "kraken",
            "--base-url",
            &base,
            "--name",
            "bot/kraken",
            "--shared-state",
            "redis://:canary-redis-password@127.0.0.1:1",
        ])
        .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("KEYWARD_REDIS_URL"), "{stderr}");
    assert!(!stderr.contains("canary-redis-password"), "{stderr}");
    assert!(out.stdout.is_empty());
}
