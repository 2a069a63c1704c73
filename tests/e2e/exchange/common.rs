//! Helpers shared by the end-to-end suites: a testnet on 127.0.0.1 and clients on it whose
//! waits run on a manual clock (no real sleeping).
#![allow(dead_code, clippy::unwrap_used)] // reason: each suite uses part of these helpers

use keyward::exchange as keyward_exchange_client;
use keyward::resilience as keyward_resilience;

use std::sync::Arc;

use keyward_exchange_client::{ClientBuilder, Credentials, RestClient, Scheme};
use keyward_resilience::{ManualClock, ManualSleep};
use keyward_testnet::{Testnet, TestnetConfig, VenueCredentials};

/// Venue presets with a REST API.
pub const VENUES: [&str; 8] = keyward_testnet::REST_VENUES;

/// Service schemes.
pub const SERVICES: [&str; 3] = keyward_testnet::SERVICE_SCHEMES;

/// A secret no log line may contain.
pub const CANARY: &str = "CANARYc4n4ry5ecretc4n4ry5ecret00";

/// A testnet with generated credentials.
pub async fn testnet() -> Testnet {
    Testnet::start(TestnetConfig::default()).await.unwrap()
}

/// A testnet whose venues accept secrets holding the canary (base64 where the venue wants it).
pub async fn canary_testnet() -> Testnet {
    let creds = VENUES
        .iter()
        .chain(SERVICES.iter())
        .map(|v| {
            let secret = match *v {
                // base64 of bytes; the text itself is the canary (valid base64, 32 chars).
                "kraken" | "coinbase-exchange" => CANARY.to_owned(),
                _ => CANARY.to_owned(),
            };
            let c = VenueCredentials::new(*v, format!("{v}-apikey-0123456789"), &secret);
            match *v {
                "okx" | "coinbase-exchange" => c.with_passphrase("CANARYpass"),
                _ => c,
            }
        })
        .collect();
    Testnet::start(TestnetConfig::default().with_credentials(creds))
        .await
        .unwrap()
}

/// The clock and sleep a test client waits on.
pub struct Manual {
    pub clock: Arc<ManualClock>,
    pub sleep: Arc<ManualSleep>,
}

impl Manual {
    pub fn new() -> Self {
        let clock = Arc::new(ManualClock::new());
        let sleep = Arc::new(ManualSleep::new(clock.clone()));
        Self { clock, sleep }
    }
}

/// A builder for `venue` on the testnet with its credentials, manual time and no client-side
/// rate limit.
pub fn builder(t: &Testnet, venue: &str, manual: &Manual) -> ClientBuilder {
    let scheme: Scheme = venue.parse().unwrap();
    RestClient::builder(scheme, t.url(venue).unwrap())
        .credentials(t.credentials(venue).unwrap().to_signing())
        .clock(manual.clock.clone())
        .sleep(manual.sleep.clone())
        .rate_limits(Vec::new())
}

/// A client for `venue` as [`builder`] makes it.
pub async fn client(t: &Testnet, venue: &str) -> RestClient {
    builder(t, venue, &Manual::new()).build().await.unwrap()
}

/// The same key with another secret, in the venue's form.
pub fn wrong_secret(t: &Testnet, venue: &str) -> Credentials {
    let right = t.credentials(venue).unwrap().to_signing();
    let secret = match venue {
        "kraken" | "coinbase-exchange" => "d3JvbmctYnV0LXZhbGlkLWJhc2U2NA==",
        _ => "wrong-secret",
    };
    let mut c = Credentials::new(right.api_key(), secret.into());
    if let Some(p) = right.passphrase() {
        c = c.with_passphrase(p.clone());
    }
    c
}

/// The paths of a venue's place-order endpoint, as the testnet counts hits.
pub fn place_path(venue: &str) -> (&'static str, &'static str) {
    match venue {
        "binance" => ("POST", "/api/v3/order"),
        "bybit" => ("POST", "/v5/order/create"),
        "okx" => ("POST", "/api/v5/trade/order"),
        "coinbase-exchange" => ("POST", "/orders"),
        "coinbase-advanced" => ("POST", "/api/v3/brokerage/orders"),
        "kraken" => ("POST", "/0/private/AddOrder"),
        "bitmex" => ("POST", "/api/v1/order"),
        "deribit" => ("GET", "/api/v2/private/buy"),
        _ => ("POST", ""),
    }
}

/// A symbol in the venue's spelling.
pub fn symbol(venue: &str) -> &'static str {
    match venue {
        "binance" | "bybit" => "BTCUSDT",
        "okx" | "coinbase-exchange" | "coinbase-advanced" => "BTC-USDT",
        "kraken" => "XBTUSD",
        "bitmex" => "XBTUSD",
        _ => "BTC-PERPETUAL",
    }
}
