//! Run an authenticated WebSocket session: connect, authenticate, subscribe, and print events,
//! reconnecting and re-authenticating on its own.
//!
//! Against the local testnet:
//! ```sh
//! keyward testnet serve --credentials creds.json   # prints the URLs
//! KEYWARD_WS_SECRET=... cargo run -p keyward --example websocket_session -- \
//!     ws://127.0.0.1:PORT/ws MY_API_KEY
//! ```
//! (the Bybit listener of `keyward testnet serve`; a real venue takes its own `wss://` URL).

use keyward::exchange::ws::{WsConfig, WsEvent, WsSession};
use keyward::{Credentials, Scheme};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(api_key)) = (args.next(), args.next()) else {
        eprintln!("usage: websocket_session WS_URL API_KEY   (secret in KEYWARD_WS_SECRET)");
        std::process::exit(2);
    };
    let secret = std::env::var("KEYWARD_WS_SECRET")?;
    let credentials = Credentials::new(api_key, secret.into());
    let config = WsConfig::from_credentials(Scheme::Bybit, &url, &credentials)?;

    // Err(WsError::AuthRejected { .. }) at once on a wrong key: never a silent stall.
    let mut session = WsSession::connect(config).await?;
    session
        .subscribe(serde_json::json!({"op": "subscribe", "args": ["order"]}))
        .await?;
    // Events until five have come or none for ten seconds (the local testnet answers the
    // subscription with an error message and then stays quiet).
    let mut seen = 0;
    while let Ok(Some(event)) =
        tokio::time::timeout(std::time::Duration::from_secs(10), session.next_event()).await
    {
        match event {
            WsEvent::Message(message) => println!("message: {message}"),
            WsEvent::AuthFailed(failure) => {
                eprintln!("authentication refused: {failure}");
                break;
            }
            other => println!("event: {other:?}"),
        }
        seen += 1;
        if seen == 5 {
            break;
        }
    }
    session.close().await;
    Ok(())
}
