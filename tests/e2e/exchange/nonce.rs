//! Kraken's nonce rule through one client: 8 tasks placing orders at once never meet
//! "EAPI:Invalid nonce", on a multi-threaded runtime where requests really race.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use keyward::exchange as keyward_exchange_client;

use crate::common;

use std::sync::Arc;

use common::*;
use keyward_exchange_client::{OrderRequest, Side};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_tasks_placing_kraken_orders_never_meet_invalid_nonce() {
    let t = testnet().await;
    let c = client(&t, "kraken").await;
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let c = c.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..10 {
                    let order = OrderRequest::limit("XBTUSD", Side::Buy, "1", "100")
                        .with_client_order_id(format!("t{task}-{i}"));
                    ids.push(c.place_order(&order).await.map_err(|e| e.to_string())?);
                }
                Ok::<_, String>(ids)
            })
        })
        .collect();
    let mut placed = 0;
    for task in tasks {
        placed += task.await.unwrap().unwrap().len();
    }
    assert_eq!(placed, 80);
    assert_eq!(
        t.hits("kraken", "POST", "/0/private/AddOrder"),
        80,
        "no retries needed"
    );
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_clients_of_one_key_share_a_nonce_file_and_both_succeed() {
    let t = testnet().await;
    let dir = std::env::temp_dir().join(format!("kw-nonce-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kraken.nonce");
    let manual = Manual::new();
    let a = builder(&t, "kraken", &manual)
        .nonce_file(&path)
        .build()
        .await
        .unwrap();
    let order = OrderRequest::market("XBTUSD", Side::Sell, "1");
    a.place_order(&order).await.unwrap();
    // A restart: a new client on the same file continues above the last nonce.
    drop(a);
    let b = Arc::new(
        builder(&t, "kraken", &manual)
            .nonce_file(&path)
            .build()
            .await
            .unwrap(),
    );
    b.place_order(&order).await.unwrap();
    b.balance().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    t.shutdown().await;
}
