//! [`FleetConfig`]: where a fleet's Redis is (a `redis://` or `rediss://` URL), how to trust it
//! (certificate verification always on; the webpki roots or the fleet's own CA), the fleet's
//! name (the key prefix), the timeout of every call and the fleet's size. From a URL, from the
//! environment or from a secret store.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use keyward_secrets_backends::{SecretStore, SecretValue, Selector};
use keyward_signing::redis::DEFAULT_TIMEOUT;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use secrecy::{ExposeSecret as _, SecretString};
use url::{Host, Url};

use super::error::FleetError;

/// The key prefix when none is given: `keyward`.
pub const DEFAULT_PREFIX: &str = "keyward";
/// The longest key prefix: 64 characters.
pub const MAX_PREFIX_LEN: usize = 64;
/// The longest timeout a configuration may set: one minute.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// The environment variable holding the Redis URL.
pub const ENV_URL: &str = "KEYWARD_REDIS_URL";
/// The environment variable holding the key prefix (the fleet's name).
pub const ENV_PREFIX: &str = "KEYWARD_REDIS_PREFIX";
/// The environment variable holding the fleet's size (how many processes share the budgets).
pub const ENV_FLEET_SIZE: &str = "KEYWARD_FLEET_SIZE";
/// The environment variable holding the path of a CA certificate (PEM) that signed the Redis
/// server's certificate, for a private CA; without it the webpki roots are trusted.
pub const ENV_CA_FILE: &str = "KEYWARD_REDIS_CA_FILE";

/// How a fleet reaches its Redis, and the fleet's name and size.
///
/// - `redis://[user:password@]host[:port][/db]`: plain TCP, **only to a loopback address**
///   (127.0.0.0/8, `::1`, `localhost`), as plain HTTP is only for loopback in keyward.
/// - `rediss://[user:password@]host[:port][/db]`: TLS through rustls, with the server's
///   certificate always verified against the webpki roots, or against the CA given with
///   [`with_ca_pem`](Self::with_ca_pem) (then only that CA is trusted). `#insecure` is refused
///   and nothing turns verification off.
///
/// The user name and password are held as secrets: `Debug`, `Display` and every error show
/// `[REDACTED]` in their place. A query (`?protocol=...`) is refused. The port defaults to 6379.
#[derive(Clone)]
pub struct FleetConfig {
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) db: i64,
    pub(crate) username: Option<SecretString>,
    pub(crate) password: Option<SecretString>,
    pub(crate) ca_pem: Option<Arc<[u8]>>,
    prefix: String,
    timeout: Duration,
    fleet_size: NonZeroU32,
}

impl FleetConfig {
    /// Parses `url` (see the type's docs), with the default prefix (`keyward`), timeout
    /// ([`DEFAULT_TIMEOUT`], 500 ms) and fleet size (1).
    ///
    /// # Errors
    /// [`FleetError::Url`] for a URL that is not `redis://` or `rediss://` with a host (or has a
    /// query, a path other than a database number), [`FleetError::PlainNotLoopback`] for
    /// `redis://` to another host, [`FleetError::Insecure`] for `#insecure` (or any fragment).
    pub fn from_url(url: &str) -> Result<Self, FleetError> {
        let shown = redact_text(url);
        let bad = |reason: &str| FleetError::Url {
            shown: shown.clone(),
            reason: reason.to_owned(),
        };
        let parsed = Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
        let tls = match parsed.scheme() {
            "rediss" => true,
            "redis" => false,
            _ => return Err(bad("the scheme must be redis:// or rediss://")),
        };
        if parsed.fragment().is_some() {
            return Err(FleetError::Insecure);
        }
        if parsed.query().is_some() {
            return Err(bad("a query is not supported"));
        }
        let (host, loopback) = match parsed.host() {
            None => return Err(bad("it has no host")),
            Some(Host::Domain("")) => return Err(bad("it has no host")),
            Some(Host::Domain(name)) => match name.parse::<Ipv4Addr>() {
                Ok(ip) => (ip.to_string(), ip.is_loopback()),
                Err(_) => (name.to_owned(), name.eq_ignore_ascii_case("localhost")),
            },
            Some(Host::Ipv4(ip)) => (ip.to_string(), ip.is_loopback()),
            Some(Host::Ipv6(ip)) => (ip.to_string(), IpAddr::V6(ip).is_loopback()),
        };
        if !tls && !loopback {
            return Err(FleetError::PlainNotLoopback { host });
        }
        let db = match parsed.path().trim_start_matches('/') {
            "" => 0,
            number => number
                .parse::<u16>()
                .map(i64::from)
                .map_err(|_| bad("the path must be empty or a database number"))?,
        };
        let username = decode(parsed.username(), &bad)?;
        let password = match parsed.password() {
            Some(p) => decode(p, &bad)?,
            None => None,
        };
        Ok(Self {
            tls,
            host,
            port: parsed.port().unwrap_or(6379),
            db,
            username,
            password,
            ca_pem: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            fleet_size: NonZeroU32::MIN,
        })
    }

    /// Reads the process environment: [`ENV_URL`] (required), [`ENV_PREFIX`],
    /// [`ENV_FLEET_SIZE`] and [`ENV_CA_FILE`] (optional).
    ///
    /// # Errors
    /// [`FleetError::Missing`] when `KEYWARD_REDIS_URL` is not set, and every error of
    /// [`from_env_with`](Self::from_env_with).
    pub fn from_env() -> Result<Self, FleetError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables through `var` (tests, or a map).
    /// Empty values count as absent.
    ///
    /// # Errors
    /// [`FleetError::Missing`] without a URL; the URL's, prefix's and fleet size's errors;
    /// [`FleetError::Ca`] when the CA file cannot be read or holds no certificate.
    pub fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Self, FleetError> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let url = SecretString::from(get(ENV_URL).ok_or_else(|| {
            FleetError::Missing(format!("{ENV_URL} is not set: no Redis is configured"))
        })?);
        let mut config = Self::from_url(url.expose_secret())?;
        if let Some(prefix) = get(ENV_PREFIX) {
            config = config.with_prefix(prefix.trim())?;
        }
        if let Some(size) = get(ENV_FLEET_SIZE) {
            config = config.with_fleet_size(parse_fleet_size(&size)?);
        }
        if let Some(path) = get(ENV_CA_FILE) {
            config = config.with_ca_file(path.trim())?;
        }
        Ok(config)
    }

    /// Reads the secret `name` of `store`: either the URL as the whole value, or named fields
    /// `url` (required), `username`, `password` (kept out of the URL), `prefix`, `fleet_size`,
    /// `timeout_ms` and `ca_pem` (the CA certificate's PEM text).
    ///
    /// # Errors
    /// [`FleetError::Store`] when the secret cannot be read or is not text,
    /// [`FleetError::Missing`] without a `url` field, and the errors of each setting.
    pub async fn from_store(store: &dyn SecretStore, name: &str) -> Result<Self, FleetError> {
        let secret = store
            .get(name, &Selector::Current)
            .await
            .map_err(|e| FleetError::Store(format!("the secret {name:?}: {e}")))?;
        match &secret.value {
            SecretValue::Bytes(bytes) => {
                let text = std::str::from_utf8(bytes.expose_secret()).map_err(|_| {
                    FleetError::Store(format!("the secret {name:?} is not a UTF-8 URL"))
                })?;
                Self::from_url(text)
            }
            SecretValue::Fields(fields) => {
                let field = |key: &str| {
                    fields
                        .get(key)
                        .map(|v| v.expose_secret().trim())
                        .filter(|v| !v.is_empty())
                };
                let url = field("url").ok_or_else(|| {
                    FleetError::Missing(format!("the secret {name:?} has no url field"))
                })?;
                let mut config = Self::from_url(url)?;
                if let Some(username) = field("username") {
                    config.username = Some(SecretString::from(username));
                }
                if let Some(password) = field("password") {
                    config.password = Some(SecretString::from(password));
                }
                if let Some(prefix) = field("prefix") {
                    config = config.with_prefix(prefix)?;
                }
                if let Some(size) = field("fleet_size") {
                    config = config.with_fleet_size(parse_fleet_size(size)?);
                }
                if let Some(ms) = field("timeout_ms") {
                    let ms = ms.parse::<u64>().map_err(|_| {
                        FleetError::Store(format!(
                            "the secret {name:?}'s timeout_ms is not a number of milliseconds"
                        ))
                    })?;
                    config = config.with_timeout(Duration::from_millis(ms))?;
                }
                if let Some(pem) = field("ca_pem") {
                    config = config.with_ca_pem(pem.as_bytes())?;
                }
                Ok(config)
            }
        }
    }

    /// Sets the key prefix, the fleet's name: every key of every backend starts with it.
    ///
    /// # Errors
    /// [`FleetError::Prefix`] unless it is 1 to [`MAX_PREFIX_LEN`] of `A-Z a-z 0-9 . _ -`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Result<Self, FleetError> {
        let prefix = prefix.into();
        check_prefix(&prefix)?;
        self.prefix = prefix;
        Ok(self)
    }

    /// Sets the timeout of every call to Redis (connection included).
    ///
    /// # Errors
    /// [`FleetError::Timeout`] for zero or more than [`MAX_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, FleetError> {
        if timeout.is_zero() || timeout > MAX_TIMEOUT {
            return Err(FleetError::Timeout(timeout));
        }
        self.timeout = timeout;
        Ok(self)
    }

    /// Sets how many processes share the fleet's budgets; a rate budget that cannot reach
    /// Redis falls back to its capacity divided by this.
    pub fn with_fleet_size(mut self, size: NonZeroU32) -> Self {
        self.fleet_size = size;
        self
    }

    /// Trusts only the CA certificate(s) in `pem` for a `rediss://` server (a private or test
    /// CA) instead of the webpki roots. Verification stays on; the host name must match.
    ///
    /// # Errors
    /// [`FleetError::Ca`] when `pem` holds no certificate or one that does not parse, or the URL
    /// is plain `redis://` (a CA means nothing without TLS).
    pub fn with_ca_pem(mut self, pem: &[u8]) -> Result<Self, FleetError> {
        if !self.tls {
            return Err(FleetError::Ca(
                "a CA certificate is only used with rediss:// (TLS)".to_owned(),
            ));
        }
        let mut count = 0usize;
        for cert in CertificateDer::pem_slice_iter(pem) {
            cert.map_err(|e| FleetError::Ca(format!("the PEM does not parse: {e}")))?;
            count += 1;
        }
        if count == 0 {
            return Err(FleetError::Ca("the PEM holds no certificate".to_owned()));
        }
        self.ca_pem = Some(Arc::from(pem));
        Ok(self)
    }

    /// As [`with_ca_pem`](Self::with_ca_pem), reading the PEM from the file at `path`.
    ///
    /// # Errors
    /// [`FleetError::Ca`] when the file cannot be read, and every error of `with_ca_pem`.
    pub fn with_ca_file(self, path: impl AsRef<std::path::Path>) -> Result<Self, FleetError> {
        let path = path.as_ref();
        let pem = std::fs::read(path)
            .map_err(|e| FleetError::Ca(format!("{} cannot be read: {e}", path.display())))?;
        self.with_ca_pem(&pem)
    }

    /// The key prefix (the fleet's name).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The timeout of every call to Redis.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How many processes share the fleet's budgets.
    pub fn fleet_size(&self) -> NonZeroU32 {
        self.fleet_size
    }

    /// Whether the connection uses TLS (`rediss://`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the host is a loopback address (127.0.0.0/8, `::1`, `localhost`).
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }

    /// Whether the configuration carries a password (the URL's or the store's).
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// Whether a CA of its own is trusted instead of the webpki roots.
    pub fn has_own_ca(&self) -> bool {
        self.ca_pem.is_some()
    }

    /// The host, as the URL named it (an IPv6 address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The same configuration without its user name and password: what connecting as an
    /// anonymous client sees (`keyward doctor` checks that Redis refuses it).
    pub fn without_credentials(&self) -> Self {
        Self {
            username: None,
            password: None,
            ..self.clone()
        }
    }

    /// The URL as it may be shown: `rediss://[REDACTED]@host:port/db`.
    pub fn shown(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let userinfo = if self.username.is_some() || self.password.is_some() {
            "[REDACTED]@"
        } else {
            ""
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{userinfo}{host}:{}/{}", self.port, self.db)
    }
}

impl fmt::Debug for FleetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetConfig")
            .field("url", &self.shown())
            .field("own_ca", &self.ca_pem.is_some())
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("fleet_size", &self.fleet_size)
            .finish()
    }
}

impl fmt::Display for FleetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (prefix {})", self.shown(), self.prefix)
    }
}

/// Checks a key prefix: 1 to [`MAX_PREFIX_LEN`] of `A-Z a-z 0-9 . _ -`. No `:` (the key
/// separator), no braces (the hash tag), no space or control character.
///
/// # Errors
/// [`FleetError::Prefix`] otherwise.
pub fn check_prefix(prefix: &str) -> Result<(), FleetError> {
    let ok = (1..=MAX_PREFIX_LEN).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        // Shown cut to its first 64 characters: the error must not echo unbounded input.
        Err(FleetError::Prefix(
            prefix.chars().take(MAX_PREFIX_LEN).collect(),
        ))
    }
}

fn parse_fleet_size(text: &str) -> Result<NonZeroU32, FleetError> {
    text.trim()
        .parse::<NonZeroU32>()
        .map_err(|_| FleetError::FleetSize(text.chars().take(20).collect()))
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A percent-decoded user name or password, held as a secret; `None` when empty.
fn decode(
    text: &str,
    bad: &impl Fn(&str) -> FleetError,
) -> Result<Option<SecretString>, FleetError> {
    if text.is_empty() {
        return Ok(None);
    }
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| bad("its user info is not UTF-8 once percent-decoded"))?;
    Ok(Some(SecretString::from(decoded.into_owned())))
}

/// A URL text as it may be shown whether it parses or not: scheme and host, user info, path,
/// query and fragment cut off.
fn redact_text(text: &str) -> String {
    let text = text.trim().split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = text.split_once("://").unwrap_or(("", text));
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host: String = host.chars().take(255).collect();
    if scheme.is_empty() {
        host
    } else {
        format!("{scheme}://{host}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redacted_text_keeps_scheme_and_host_only() {
        assert_eq!(
            redact_text("rediss://u:canary@h.example:6380/2?x#y"),
            "rediss://h.example:6380"
        );
        assert_eq!(redact_text("not a url:canary@x"), "x");
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback_host("127.0.0.9"));
        assert!(is_loopback_host("::1"));
        assert!(is_loopback_host("LocalHost"));
        assert!(!is_loopback_host("10.0.0.1"));
        assert!(!is_loopback_host("redis.internal"));
    }
}
