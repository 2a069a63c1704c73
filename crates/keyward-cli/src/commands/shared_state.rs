//! `--shared-state URL|env`: the Redis a group of processes shares (`testnet serve` replicas,
//! `keyward proxy` processes of one fleet), connected and checked. A URL with a password is
//! refused on the command line, where anyone on the machine can read it: it belongs in
//! KEYWARD_REDIS_URL, read by `env` (with KEYWARD_REDIS_CA_FILE).

use anyhow::{Result, bail};
use keyward::exchange::fleet::{Fleet, FleetConfig};

/// The fleet at `url` (or `env`) under `prefix`, connected and answering.
pub(super) async fn connect(url: &str, prefix: &str) -> Result<Fleet> {
    let config = if url == "env" {
        FleetConfig::from_env()?
    } else {
        let config = FleetConfig::from_url(url)?;
        if config.has_password() {
            bail!(
                "a Redis password on the command line can be read by anyone on this machine; put \
                 the URL in KEYWARD_REDIS_URL and give --shared-state env"
            );
        }
        config
    };
    Ok(config.with_prefix(prefix)?.connect().await?)
}
