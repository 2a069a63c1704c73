//! Signed REST calls for every venue preset and service scheme, through clients built by the
//! facade with their credentials read back from the vault.

use std::time::Instant;

use anyhow::{Context as _, Result};
use keyward::exchange::{CancelRequest, Params, RequestClass};
use keyward::{OrderRequest, Side};
use serde_json::json;

use super::sandbox::Sandbox;
use super::summary::millis;

/// A symbol in the venue's spelling.
pub fn symbol(venue: &str) -> &'static str {
    match venue {
        "binance" | "bybit" => "BTCUSDT",
        "okx" | "coinbase-exchange" | "coinbase-advanced" => "BTC-USDT",
        "kraken" | "bitmex" => "XBTUSD",
        _ => "BTC-PERPETUAL",
    }
}

/// Server time (public), balance, a limit order placed and cancelled: the venue's four calls,
/// signed with the credential `testnet/<credential>` (the venue's HMAC secret, or a key pair).
pub async fn rest(sb: &Sandbox, venue: &str, credential: &str) -> Result<String> {
    let client = sb.client_with(venue, credential)?.build().await?;
    let started = Instant::now();
    client.server_time().await.context("server time")?;
    client.balance().await.context("balance")?;
    let order = OrderRequest::limit(symbol(venue), Side::Buy, "0.01", "30000");
    let ack = client.place_order(&order).await.context("place order")?;
    let id = ack
        .order_id
        .context("place order: the answer carried no order id")?;
    client
        .cancel_order(&CancelRequest::new(symbol(venue), id))
        .await
        .context("cancel order")?;
    Ok(format!(
        "server time, balance, place and cancel order in {} ms (clock offset {:+} ms)",
        millis(started.elapsed()),
        client.clock_offset_ms()
    ))
}

/// A signed POST with a JSON body and a signed GET with a query, verified by the testnet.
pub async fn service(sb: &Sandbox, scheme: &str) -> Result<String> {
    let client = sb.client(scheme)?.build().await?;
    let started = Instant::now();
    for (method, path, params, class) in [
        (
            "POST",
            "/orders",
            Params::json(json!({"symbol": "BTCUSDT", "qty": "1"})),
            RequestClass::NonIdempotentWrite,
        ),
        (
            "GET",
            "/balance",
            Params::query([("asset", "BTC")]),
            RequestClass::Read,
        ),
    ] {
        let answer = client
            .send(method, path, params, class, 1)
            .await
            .with_context(|| format!("{method} {path}"))?;
        anyhow::ensure!(
            answer.get("key_id").is_some(),
            "{method} {path}: the testnet did not confirm the signature"
        );
    }
    Ok(format!(
        "signed POST /orders and GET /balance verified in {} ms",
        millis(started.elapsed())
    ))
}
