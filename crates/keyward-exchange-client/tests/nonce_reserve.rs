//! The REST client awaits the nonce source's `reserve` before signing, so a source that leases
//! its nonces over the network (a `RedisNonce`) takes its lease off the signing path; a lease
//! that cannot be taken fails the request as a local signing error, with nothing sent and the
//! breaker untouched. The base URL is a loopback port nothing listens on: a request that gets
//! past signing fails to connect, which tells the two outcomes apart.
#![cfg(all(unix, feature = "redis"))]
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use keyward_exchange_client::{Credentials, ErrorKind, OrderRequest, RestClient, Scheme, Side};
use keyward_resilience::{BreakerState, ManualClock, ManualSleep};
use keyward_signing::redis::RedisNonce;
use keyward_signing::{FixedClock, NonceSource, NonceUnit};

/// Issues a nonce only after a `reserve`, one per `reserve`, as a leasing source whose lease
/// holds one nonce would.
#[derive(Debug, Default)]
struct OnePerReserve {
    reserved: AtomicU64,
    issued: AtomicU64,
}

#[async_trait::async_trait]
impl NonceSource for OnePerReserve {
    fn next_nonce(&self) -> keyward_signing::Result<u64> {
        let issued = self.issued.load(Ordering::SeqCst);
        if issued >= self.reserved.load(Ordering::SeqCst) {
            return Err(keyward_signing::Error::NonceNotReserved);
        }
        self.issued.store(issued + 1, Ordering::SeqCst);
        Ok(1_700_000_000_000 + issued)
    }

    async fn reserve(&self) -> keyward_signing::Result<()> {
        if self.reserved.load(Ordering::SeqCst) == self.issued.load(Ordering::SeqCst) {
            self.reserved.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

async fn kraken(nonces: Arc<dyn NonceSource>) -> RestClient {
    let clock = Arc::new(ManualClock::new());
    RestClient::builder(Scheme::Kraken, "http://127.0.0.1:9")
        .credentials(Credentials::new(
            "kraken-key",
            "a3Jha2VuLXNlY3JldC1rcmFrZW4tc2VjcmV0".into(),
        ))
        .nonce_source(nonces)
        .clock(clock.clone())
        .sleep(Arc::new(ManualSleep::new(clock)))
        .build()
        .await
        .unwrap()
}

async fn order(client: &RestClient) -> keyward_exchange_client::Error {
    client
        .place_order(&OrderRequest::market("XBTUSD", Side::Buy, "1"))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn the_client_reserves_before_it_signs() {
    let nonces = Arc::new(OnePerReserve::default());
    let client = kraken(nonces.clone()).await;
    for _ in 0..3 {
        let err = order(&client).await;
        assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    }
    let issued = nonces.issued.load(Ordering::SeqCst);
    assert!(issued >= 3, "{issued}");
    assert_eq!(issued, nonces.reserved.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_lease_redis_cannot_give_fails_the_request_before_anything_is_sent() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = redis::Client::open(server.url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    let nonces = Arc::new(
        RedisNonce::new(
            conn,
            "fleet",
            "kraken-main",
            NonceUnit::Millis,
            Arc::new(FixedClock::new(1_700_000_000_000)),
        )
        .with_timeout(std::time::Duration::from_millis(300)),
    );
    let client = kraken(nonces.clone()).await;
    server.stop();
    for _ in 0..3 {
        let err = order(&client).await;
        assert_eq!(err.kind(), ErrorKind::Signing, "{err}");
        let cause = err.source().unwrap().to_string();
        assert!(cause.contains("no nonce was issued"), "{cause}");
    }
    let m = client.breaker().metrics();
    assert_eq!(m.state, BreakerState::Closed);
    assert_eq!((m.failed_calls, m.successful_calls), (0, 0), "{m:?}");
    // Redis back (empty): the lease is taken in `reserve`, the request is signed and sent.
    server.restart();
    let mut sent = false;
    for _ in 0..20 {
        let err = order(&client).await;
        if err.kind() == ErrorKind::Transport {
            sent = true;
            break;
        }
        assert_eq!(err.kind(), ErrorKind::Signing, "{err}");
    }
    assert!(sent, "no request was signed after Redis came back");
    assert!(nonces.remaining() > 0);
}
