//! Sign one request as a venue expects and print what must be sent.
//!
//! ```sh
//! BINANCE_SECRET=... cargo run -p keyward --example sign_request
//! ```
//! Without `BINANCE_SECRET`, Binance's published example secret is used.

use keyward::signing::{Request, SignOptions, Signer};
use keyward::{Credentials, Scheme};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The secret comes from the environment (or the vault), never from an argument.
    let secret = std::env::var("BINANCE_SECRET").unwrap_or_else(|_| {
        "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j".to_owned()
    });
    let credentials = Credentials::new(
        "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
        secret.into(),
    );
    let signer = Signer::new(Scheme::Binance, &credentials)?;
    let order = Request::post("/api/v3/order")
        .with_body("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1");
    let options = SignOptions {
        recv_window_ms: Some(5_000),
        ..SignOptions::default()
    };
    let signed = signer.sign(order, &options)?;

    println!("{} {}", signed.method, signed.url());
    for (name, value) in &signed.headers {
        // The API key is a public identifier; the secret never leaves the signer.
        println!("{name}: {value}");
    }
    println!();
    println!("{}", String::from_utf8_lossy(&signed.body));
    Ok(())
}
