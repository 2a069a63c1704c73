//! What `keyward doctor` asks of a fleet's Redis: whether it answers, whether it lets in a
//! client without credentials, and its eviction policy (a replay entry evicted under memory
//! pressure would let a replay through, so only `noeviction` is safe).

use keyward_signing::redis::RedisError;

use super::config::FleetConfig;
use super::connect::Fleet;
use super::error::FleetError;

/// What Redis did with a client that gave no credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnonymousAccess {
    /// It refused PING with `NOAUTH`: credentials are required.
    Refused,
    /// It answered PING: anyone who reaches the port can read and write the fleet's state.
    Allowed,
}

impl Fleet {
    /// PING, bounded by the timeout.
    ///
    /// # Errors
    /// [`FleetError::Ping`] when it does not answer PONG in time.
    pub async fn ping(&self) -> Result<(), FleetError> {
        let mut connection = self.connection();
        let cmd = redis::cmd("PING");
        let call = cmd.query_async::<String>(&mut connection);
        let cause = match tokio::time::timeout(self.timeout(), call).await {
            Ok(Ok(answer)) if answer == "PONG" => return Ok(()),
            Ok(Ok(_)) => RedisError::Unexpected("PING did not answer PONG".to_owned()),
            Ok(Err(e)) => RedisError::Failed(e.to_string()),
            Err(_) => RedisError::Timeout(self.timeout()),
        };
        Err(FleetError::Ping {
            shown: self.shown().to_owned(),
            cause,
        })
    }

    /// The server's `maxmemory-policy` (`CONFIG GET`), bounded by the timeout.
    ///
    /// # Errors
    /// [`FleetError::Ping`] when the server refuses `CONFIG` (managed services often rename
    /// or forbid it) or does not answer in time.
    pub async fn eviction_policy(&self) -> Result<String, FleetError> {
        let mut connection = self.connection();
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("GET").arg("maxmemory-policy");
        let call = cmd.query_async::<Vec<String>>(&mut connection);
        let cause = match tokio::time::timeout(self.timeout(), call).await {
            Ok(Ok(pair)) => match pair.as_slice() {
                [name, value] if name == "maxmemory-policy" => {
                    return Ok(value.chars().take(64).collect());
                }
                _ => RedisError::Unexpected("CONFIG GET maxmemory-policy".to_owned()),
            },
            Ok(Err(e)) => RedisError::Failed(e.to_string()),
            Err(_) => RedisError::Timeout(self.timeout()),
        };
        Err(FleetError::Ping {
            shown: self.shown().to_owned(),
            cause,
        })
    }
}

impl FleetConfig {
    /// Connects as a client without credentials (same host, port and TLS) and sends PING:
    /// [`AnonymousAccess::Refused`] when Redis answers `NOAUTH`.
    ///
    /// # Errors
    /// [`FleetError::Connect`] or [`FleetError::Ping`] for any other failure (unreachable,
    /// TLS refused, another error).
    pub async fn anonymous_access(&self) -> Result<AnonymousAccess, FleetError> {
        match self.without_credentials().connect().await {
            Ok(_) => Ok(AnonymousAccess::Allowed),
            Err(FleetError::Ping {
                cause: RedisError::Failed(message),
                ..
            }) if message.contains("NOAUTH") => Ok(AnonymousAccess::Refused),
            Err(FleetError::Connect {
                cause: RedisError::Failed(message),
                ..
            }) if message.contains("NOAUTH") => Ok(AnonymousAccess::Refused),
            Err(other) => Err(other),
        }
    }
}
