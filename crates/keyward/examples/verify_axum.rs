//! Verify signed requests in an axum service: `VerifiedRequest` refuses unsigned, forged,
//! stale and replayed requests before the handler runs. The program starts the service on
//! 127.0.0.1, signs one request, sends it twice and prints both answers (the second is a
//! replay), then stops.
//!
//! ```sh
//! cargo run -p keyward --example verify_axum --features axum
//! ```

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use keyward::signing::axum::VerifiedRequest;
use keyward::signing::verify::{StaticKeys, Verifier};
use keyward::signing::{Request, SignOptions, Signer};
use keyward::{Credentials, Scheme};

async fn place_order(req: VerifiedRequest) -> String {
    format!("order accepted from {}\n", req.verified.key_id)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In a real service the secrets come from the vault: `keyward::secrets::SqliteVault`.
    let credentials = Credentials::new("svc-orders", "a-shared-secret-from-the-vault".into());
    let keys = StaticKeys::new().with(credentials.clone());
    let verifier = Arc::new(Verifier::new(Scheme::KeywardV1, Arc::new(keys)));
    let app: Router = Router::new()
        .route("/orders", post(place_order))
        .with_state(verifier);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The client side: sign once, send twice.
    let signer = Signer::new(Scheme::KeywardV1, &credentials)?;
    let signed = signer.sign(
        Request::post("/orders").with_body(r#"{"symbol":"BTCUSDT","qty":"0.01"}"#),
        &SignOptions::default(),
    )?;
    let http = reqwest::Client::new();
    for attempt in ["first", "replayed"] {
        let mut request = http
            .post(format!("http://{addr}{}", signed.url()))
            .body(signed.body.clone());
        for (name, value) in &signed.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().await?;
        println!(
            "{attempt}: {} {}",
            response.status(),
            response.text().await?.trim_end()
        );
    }
    Ok(())
}
