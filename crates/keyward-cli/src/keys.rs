//! Resolving the key ring from `--key-file` or `KEYWARD_MASTER_KEY`.

use anyhow::{Context, Result};
use keyward::crypto::KeyRing;
use keyward::crypto::keyfile::load_key_ring;

use crate::cli::{MASTER_KEY_ENV, RingArgs};

/// The key ring named by `--key-file`, or else by the environment.
pub fn ring(args: &RingArgs) -> Result<KeyRing> {
    if !args.key_files.is_empty() {
        return Ok(load_key_ring(&args.key_files)?);
    }
    if std::env::var_os(MASTER_KEY_ENV).is_none() {
        anyhow::bail!(
            "no key given: pass --key-file FILE or set {MASTER_KEY_ENV} (create a key with `keyward key generate --out FILE`)"
        );
    }
    KeyRing::from_env(MASTER_KEY_ENV).context("could not load the key ring")
}
