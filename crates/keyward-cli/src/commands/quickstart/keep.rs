//! `--keep`: what is left running, how to use it, and the wait for Ctrl-C.

use std::fmt::Write as _;

use anyhow::Result;
use serde_json::{Value, json};

use super::sandbox::Sandbox;
use crate::commands::doctor::shell_quote;

/// The instructions printed with `--keep`: URLs, the vault and its key, commands to paste.
pub fn instructions(sb: &Sandbox) -> String {
    let store = format!("sqlite:{}", shell_quote(sb.vault_path()));
    let mut text = String::from("\nThe testnet keeps running on 127.0.0.1:\n");
    for (name, url) in sb.testnet.urls() {
        let _ = writeln!(text, "  {name:<18} {url}");
    }
    let _ = writeln!(
        text,
        "\nvault       {}\nmaster key  {}\ncredentials testnet/<venue> (fields api_key, secret, passphrase), and key pairs\n            testnet/binance-ed25519 and testnet/coinbase-advanced-p256 (secret: the private key PEM)",
        sb.vault_path().display(),
        sb.key_path().display()
    );
    let binance = sb.testnet.url("binance").unwrap_or_default();
    let admin = sb.testnet.url("admin").unwrap_or_default();
    let _ = write!(
        text,
        "\nTry, in another terminal:
  keyward secret list --store {store}
  keyward secret get testnet/binance --store {store}
  export BINANCE_SECRET=\"$(keyward secret get testnet/binance --store {store} --reveal --field secret)\"
  keyward sign --venue binance --secret-env BINANCE_SECRET --method GET --path /api/v3/account \\
      --api-key \"$(keyward secret get testnet/binance --store {store} --reveal --field api_key)\"
  curl {binance}/api/v3/time
  curl -X POST {admin}/faults -H 'content-type: application/json' -d '{{\"fail_5xx\":3,\"venue\":\"binance\"}}'
  keyward quickstart --help

Press Ctrl-C to stop the testnet. The vault stays in {}: remove it with rm -r {} when done.
",
        sb.dir().display(),
        shell_quote(sb.dir())
    );
    text
}

/// The same as JSON fields, for `--format json`.
pub fn to_json(sb: &Sandbox) -> Value {
    json!({
        "urls": sb.testnet.urls(),
        "vault": sb.vault_path().display().to_string(),
        "master_key_file": sb.key_path().display().to_string(),
        "dir": sb.dir().display().to_string(),
    })
}

/// Waits for Ctrl-C (or SIGTERM).
pub async fn wait() -> Result<()> {
    crate::commands::testnet::wait_for_stop().await
}
