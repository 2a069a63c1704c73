//! [`FleetConfig::connect`]: a [`ConnectionManager`] with connection and response timeouts and
//! bounded reconnects, checked with PING, and the [`Fleet`] that hands it to the backends.
//!
//! # TLS and rustls' crypto provider
//! keyward builds its own TLS client configurations from an explicit provider (ring) and never
//! relies on rustls' process-default provider (see the workspace `Cargo.toml`). The redis crate
//! (1.8) offers no way to do that: for `rediss://` it builds its `rustls::ClientConfig` with
//! `ClientConfig::builder()`, which takes the process default, and accepts neither a
//! configuration nor a provider. With two providers compiled in (ring and aws-lc-rs) and no
//! default installed, that call would panic. So, for `rediss://` only and just before
//! connecting, [`FleetConfig::connect`] installs ring as the process default **if no default is
//! installed yet**; an application that installed its own keeps it. keyward's own clients (REST,
//! WebSocket, AWS) pass their provider explicitly and are not affected either way. Certificate
//! verification is rustls' `WebPkiServerVerifier` in every case: keyward does not enable the
//! redis crate's `tls-rustls-insecure` feature (without it the crate refuses `#insecure` by
//! itself) and [`FleetConfig::from_url`] refuses `#insecure` first.

use std::time::Duration;

use keyward_signing::redis::{ConnectionManager, RedisError};
use redis::aio::ConnectionManagerConfig;
use redis::{
    Client, ConnectionAddr, IntoConnectionInfo as _, RedisConnectionInfo, TlsCertificates,
};
use secrecy::ExposeSecret as _;

use super::config::FleetConfig;
use super::error::FleetError;

/// How many times the connection manager tries to reconnect after a lost connection before
/// the call that found it lost fails (each later call starts a new round).
pub const RECONNECT_RETRIES: usize = 3;
/// The longest pause between two reconnection attempts.
pub const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);

/// A connected fleet: the connection the backends share, the key prefix (the fleet's name),
/// the timeout of every call and the fleet's size. Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct Fleet {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    fleet_size: std::num::NonZeroU32,
    shown: String,
}

impl Fleet {
    /// The connection, for a backend (`ReplayCache`, rate budget, nonce leases, logins): a
    /// clone of one multiplexed connection that reconnects by itself.
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// The key prefix, the fleet's name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The timeout every backend gives each call (`.with_timeout(fleet.timeout())`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How many processes share the budgets (a rate budget without Redis keeps
    /// `capacity / fleet_size`).
    pub fn fleet_size(&self) -> std::num::NonZeroU32 {
        self.fleet_size
    }

    /// Where it is connected, as it may be shown (no credentials).
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("redis", &self.shown)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("fleet_size", &self.fleet_size)
            .finish()
    }
}

impl FleetConfig {
    /// Connects: TCP (and the TLS handshake for `rediss://`, the certificate verified), AUTH
    /// when the configuration has credentials, then PING, which must answer PONG.
    ///
    /// The connection manager it returns reconnects by itself after a lost connection
    /// ([`RECONNECT_RETRIES`] attempts, at most [`RECONNECT_MAX_DELAY`] apart), and gives each
    /// command and each connection attempt [`timeout`](Self::timeout). Establishing the
    /// connection (checked first on a plain connection, so a refused password or certificate is
    /// reported at once), the manager's connection and PING each take at most the timeout, so
    /// `connect` returns within three times the timeout.
    ///
    /// # Errors
    /// [`FleetError::Connect`] when nothing answered in time ([`RedisError::Timeout`]) or the
    /// connection, the TLS handshake (an unknown CA, a wrong host name) or AUTH failed
    /// ([`RedisError::Failed`]); [`FleetError::Ping`] when PING did not answer PONG in time.
    /// Neither carries the password.
    pub async fn connect(&self) -> Result<Fleet, FleetError> {
        let shown = self.shown();
        let client = self.client()?;
        // The connection manager retries a failed first connection too, so a refused password
        // or certificate would only surface as a timeout: one plain connection first reports
        // it at once, with its reason.
        let first = client.get_multiplexed_async_connection();
        self.within(first)
            .await
            .map_err(|cause| FleetError::Connect {
                shown: shown.clone(),
                cause,
            })?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout()))
            .set_response_timeout(Some(self.timeout()))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let connecting = client.get_connection_manager_with_config(manager_config);
        let mut connection =
            self.within(connecting)
                .await
                .map_err(|cause| FleetError::Connect {
                    shown: shown.clone(),
                    cause,
                })?;
        let ping_cmd = redis::cmd("PING");
        let ping = ping_cmd.query_async::<String>(&mut connection);
        match tokio::time::timeout(self.timeout(), ping).await {
            Ok(Ok(answer)) if answer == "PONG" => {}
            Ok(Ok(answer)) => {
                return Err(FleetError::Ping {
                    shown,
                    cause: RedisError::Unexpected(format!(
                        "PING answered {:?}",
                        answer.chars().take(32).collect::<String>()
                    )),
                });
            }
            Ok(Err(error)) => {
                return Err(FleetError::Ping {
                    shown,
                    cause: self.cause(&error),
                });
            }
            Err(_) => {
                return Err(FleetError::Ping {
                    shown,
                    cause: RedisError::Timeout(self.timeout()),
                });
            }
        }
        Ok(Fleet {
            connection,
            prefix: self.prefix().to_owned(),
            timeout: self.timeout(),
            fleet_size: self.fleet_size(),
            shown,
        })
    }

    /// The redis crate's client for this configuration (nothing is connected yet).
    fn client(&self) -> Result<Client, FleetError> {
        let addr = if self.tls {
            ensure_crypto_provider();
            ConnectionAddr::TcpTls {
                host: self.host.clone(),
                port: self.port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(self.host.clone(), self.port)
        };
        let mut settings = RedisConnectionInfo::default().set_db(self.db);
        if let Some(username) = &self.username {
            settings = settings.set_username(username.expose_secret());
        }
        if let Some(password) = &self.password {
            settings = settings.set_password(password.expose_secret());
        }
        let bad = |error: redis::RedisError| FleetError::Url {
            shown: self.shown(),
            reason: self.scrub(error.to_string()),
        };
        let info = addr
            .into_connection_info()
            .map_err(bad)?
            .set_redis_settings(settings);
        match &self.ca_pem {
            Some(pem) => Client::build_with_tls(
                info,
                TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.to_vec()),
                },
            )
            .map_err(|e| FleetError::Ca(self.scrub(e.to_string()))),
            None => Client::open(info).map_err(bad),
        }
    }

    /// The typed cause of a redis crate error: the crate's own timeouts (the connection
    /// manager's, at the same duration as ours) are [`RedisError::Timeout`] as well, so a
    /// silent server gives the same answer whichever timer fires first.
    /// `call` within the timeout, its failure as [`Self::cause`] says.
    async fn within<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, RedisError> {
        match tokio::time::timeout(self.timeout(), call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.cause(&error)),
            Err(_) => Err(RedisError::Timeout(self.timeout())),
        }
    }

    fn cause(&self, error: &redis::RedisError) -> RedisError {
        if error.is_timeout() {
            RedisError::Timeout(self.timeout())
        } else {
            RedisError::Failed(self.scrub(error.to_string()))
        }
    }

    /// `text` with the user name and password cut out, should a message ever echo them (the
    /// redis crate's errors name commands and the server's answer, not arguments; this is the
    /// second line of defence).
    fn scrub(&self, mut text: String) -> String {
        for secret in [&self.username, &self.password].into_iter().flatten() {
            let secret = secret.expose_secret();
            if secret.len() >= 3 {
                text = text.replace(secret, "[REDACTED]");
            }
        }
        text
    }
}

/// Installs ring as rustls' process-default provider when none is installed (see the module
/// docs for why the redis crate leaves no other way). A race with another installer is
/// harmless: whichever wins, a default exists afterwards.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
