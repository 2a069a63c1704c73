//! [`SharedState`] (feature `redis`): several testnet processes act as replicas of one venue by
//! keeping in one Redis what a real venue keeps centrally:
//!
//! - **one rate-limit account**: each venue's request and order counts (the testnet's own
//!   fixed-window counting, [`ratelimit`](crate::ratelimit), run as one Lua script of its own:
//!   the testnet is an independent reading of the venue and never reuses the client's limiter);
//! - **one set of broker sessions**: the Upstox account (its user id and the key that signs its
//!   access tokens), so a token issued by a login on replica A is accepted by replica B. The key
//!   is stored Fernet-encrypted under a key derived from the broker credentials, which every
//!   replica is given (and Redis is not);
//! - **one replay memory**: the place for it is `TestnetConfig`'s replay cache (set with
//!   `with_replay_cache`, built on the same connection and prefix).
//!
//! Keys are `<prefix>:{testnet:<venue>}:<name>`. Every call is bounded by the timeout; a Redis
//! that does not answer makes the request fail with 503 (a replica cannot count alone without
//! overspending the shared account), never pass uncounted.

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, Mac};
use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_signing::redis::{ConnectionManager, DEFAULT_TIMEOUT};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The shared state of testnet replicas: a Redis connection, the key prefix (one name per
/// group of replicas) and the timeout of every call. Cloning shares the connection.
#[derive(Clone)]
pub struct SharedState {
    pub(crate) connection: ConnectionManager,
    pub(crate) prefix: String,
    pub(crate) timeout: Duration,
}

impl SharedState {
    /// Replicas named `prefix` on `connection`, each call bounded by
    /// [`DEFAULT_TIMEOUT`] (500 ms).
    ///
    /// # Errors
    /// [`Error::SharedState`] when the prefix is not 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub fn new(connection: ConnectionManager, prefix: &str) -> Result<Self> {
        let ok = (1..=64).contains(&prefix.len())
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            return Err(Error::SharedState(
                "the key prefix must be 1 to 64 of A-Z a-z 0-9 . _ -".to_owned(),
            ));
        }
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Bounds every call to Redis by `timeout` instead.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The connection (for the replay cache built on the same Redis).
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// `<prefix>:{testnet:<scope>}:<name>`.
    pub(crate) fn key(&self, scope: &str, name: &str) -> String {
        format!("{}:{{testnet:{scope}}}:{name}", self.prefix)
    }

    /// Runs `invocation` once, bounded by the timeout.
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> std::result::Result<T, String> {
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(format!("Redis failed: {e}")),
            Err(_) => Err(format!("Redis did not answer within {:?}", self.timeout)),
        }
    }

    /// The shared Upstox account: the first replica's user id and token key, or this
    /// replica's (`user_id`, `jwt_key`) when it is the first. `secret` (the broker credentials'
    /// TOTP seed, which every replica shares) keys the encryption of the token key.
    pub(crate) async fn upstox_account(
        &self,
        secret: &[u8],
        user_id: String,
        jwt_key: Vec<u8>,
    ) -> Result<(String, Vec<u8>)> {
        let ring = KeyRing::new(FernetKey::from_bytes(&derive_key(secret, &self.prefix)));
        let mine = json!({"user_id": user_id, "jwt_key": ring.encrypt(&jwt_key)}).to_string();
        let script = redis::Script::new(ACCOUNT_SCRIPT);
        let mut invocation = script.prepare_invoke();
        invocation.key(self.key("upstox", "account")).arg(mine);
        let stored: String = self.run(&invocation).await.map_err(Error::SharedState)?;
        let bad = || {
            Error::SharedState(
                "the shared Upstox account in Redis is not one this testnet wrote".to_owned(),
            )
        };
        let value: Value = serde_json::from_str(&stored).map_err(|_| bad())?;
        let user_id = value
            .get("user_id")
            .and_then(Value::as_str)
            .filter(|u| (1..=64).contains(&u.len()))
            .ok_or_else(bad)?
            .to_owned();
        let token = value
            .get("jwt_key")
            .and_then(Value::as_str)
            .ok_or_else(bad)?;
        let key = ring.decrypt(token).map_err(|_| {
            Error::SharedState(
                "the shared Upstox account was made with other broker credentials; give every replica the same --credentials"
                    .to_owned(),
            )
        })?;
        Ok((user_id, key.expose_secret().clone()))
    }
}

impl fmt::Debug for SharedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedState")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Keeps the first account written, and answers the one kept (one round trip).
const ACCOUNT_SCRIPT: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
";

/// The Fernet key of the shared account: HMAC-SHA256 of a label and the prefix under the
/// broker credentials' secret.
fn derive_key(secret: &[u8], prefix: &str) -> [u8; 32] {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(b"keyward-testnet shared upstox account v1\0");
    mac.update(prefix.as_bytes());
    mac.finalize().into_bytes().into()
}
