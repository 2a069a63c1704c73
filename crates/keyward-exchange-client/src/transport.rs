//! [`Transport`]: how keyward reaches a venue. Every TLS client configuration keyward makes
//! (REST, the WebSocket handshake, the Kraken token request) is built here, from one explicit
//! crypto provider (rustls' `ring`) and the webpki roots plus any root the caller adds. Nothing
//! relies on rustls' process-level default provider: when more than one provider is compiled
//! into a program (the AWS SDK brings `aws-lc-rs`), rustls cannot choose a default and
//! libraries that ask for one panic.
//!
//! Certificate verification cannot be turned off: a caller can only add trusted roots (a private
//! venue's CA, a test CA). Proxies are never taken from the environment (`HTTP_PROXY`,
//! `HTTPS_PROXY`, `ALL_PROXY`): a proxy is an explicit option, and loopback traffic never uses
//! one.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use url::{Host, Url};

use crate::error::{Error, Result};

/// The User-Agent keyward sends unless told otherwise: `keyward/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("keyward/", env!("CARGO_PKG_VERSION"));

/// A certificate authority trusted in addition to the webpki roots (for instance a private
/// venue's CA, or a test CA). Adding a root never weakens verification of the others: the
/// certificate chain, its validity dates and the host name are always checked.
#[derive(Clone, PartialEq, Eq)]
pub struct RootCertificate(CertificateDer<'static>);

impl RootCertificate {
    /// A root from one DER-encoded certificate. Fails when it is not a certificate that can
    /// serve as a trust anchor.
    pub fn from_der(der: impl Into<Vec<u8>>) -> Result<Self> {
        let der = CertificateDer::from(der.into());
        RootCertStore::empty().add(der.clone()).map_err(|e| {
            Error::config(format!(
                "the root certificate cannot be used as a trust anchor: {e}"
            ))
        })?;
        Ok(Self(der))
    }

    /// A root from the first `CERTIFICATE` block of a PEM text. Fails when there is none, or
    /// when it cannot serve as a trust anchor.
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        let der = CertificateDer::pem_slice_iter(pem)
            .next()
            .ok_or_else(|| Error::config("the PEM text holds no CERTIFICATE block"))?
            .map_err(|e| Error::config(format!("the PEM text cannot be read: {e}")))?;
        Self::from_der(der.to_vec())
    }

    /// Every `CERTIFICATE` block of a PEM text (a CA bundle). Fails when there is none, or when
    /// any of them cannot serve as a trust anchor.
    pub fn from_pem_bundle(pem: &[u8]) -> Result<Vec<Self>> {
        let roots = CertificateDer::pem_slice_iter(pem)
            .map(|der| {
                let der =
                    der.map_err(|e| Error::config(format!("the PEM text cannot be read: {e}")))?;
                Self::from_der(der.to_vec())
            })
            .collect::<Result<Vec<_>>>()?;
        if roots.is_empty() {
            return Err(Error::config("the PEM text holds no CERTIFICATE block"));
        }
        Ok(roots)
    }
}

impl fmt::Debug for RootCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RootCertificate({} bytes)", self.0.len())
    }
}

/// How keyward reaches a venue: the trusted roots, the User-Agent and, for REST, an explicit
/// proxy. The default trusts the webpki roots, sends [`DEFAULT_USER_AGENT`] and uses no proxy.
///
/// Set through [`ClientBuilder`](crate::ClientBuilder) and
/// [`WsConfig`](crate::WsConfig); the Kraken token request of a WebSocket session uses the
/// session's.
#[derive(Clone)]
pub struct Transport {
    roots: Vec<RootCertificate>,
    user_agent: String,
    proxy: Option<Url>,
}

impl Default for Transport {
    fn default() -> Self {
        Self {
            roots: Vec::new(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            proxy: None,
        }
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("extra_roots", &self.roots.len())
            .field("user_agent", &self.user_agent)
            .field("proxy", &self.proxy.as_ref().map(redact_proxy))
            .finish()
    }
}

impl Transport {
    /// Also trusts `root` (added to the webpki roots, never replacing them).
    #[must_use]
    pub fn add_root_certificate(mut self, root: RootCertificate) -> Self {
        self.roots.push(root);
        self
    }

    /// The User-Agent sent with every request and WebSocket upgrade (default
    /// [`DEFAULT_USER_AGENT`]). A value that is not a valid header value is refused when the
    /// client is built.
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sends REST traffic to venues through this proxy (`http://host:port`, `https://...` or
    /// `socks5://...` where reqwest supports it; user info in the URL is the proxy's login).
    /// Traffic to a loopback address never goes through a proxy, and the proxy environment
    /// variables are never read. WebSocket connections do not use a proxy.
    #[must_use]
    pub fn proxy(mut self, proxy: Url) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// The same transport without a proxy.
    pub(crate) fn without_proxy(mut self) -> Self {
        self.proxy = None;
        self
    }

    /// The User-Agent sent.
    pub fn user_agent_str(&self) -> &str {
        &self.user_agent
    }

    /// The User-Agent as a header value, checked.
    pub(crate) fn user_agent_header(&self) -> Result<reqwest::header::HeaderValue> {
        reqwest::header::HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::config("the User-Agent is not a valid HTTP header value"))
    }

    /// The TLS client configuration: the `ring` provider (explicit, never the process default),
    /// its safe default protocol versions, the webpki roots and the added roots.
    pub(crate) fn tls_config(&self) -> Result<rustls::ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for root in &self.roots {
            roots
                .add(root.0.clone())
                .map_err(|e| Error::config(format!("a root certificate cannot be used: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::config(format!("could not configure TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(config)
    }

    /// An HTTP client for requests to `origin`: this TLS configuration, the User-Agent, the
    /// timeout, no redirects, no proxy from the environment, and the explicit proxy only when
    /// `origin` is not a loopback address.
    pub(crate) fn http_client(&self, origin: &Url, timeout: Duration) -> Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(self.tls_config()?)
            .user_agent(self.user_agent_header()?)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Some(proxy) = &self.proxy {
            if !is_loopback(origin) {
                let proxy = reqwest::Proxy::all(proxy.clone()).map_err(|_| {
                    Error::config(format!("the proxy {} cannot be used", redact_proxy(proxy)))
                })?;
                builder = builder.proxy(proxy);
            }
        }
        builder
            .build()
            .map_err(|e| Error::config(format!("could not build the HTTP client: {e}")))
    }
}

/// Whether the URL's host is a loopback address (`127.0.0.0/8`, `[::1]`, `localhost`).
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `scheme://host[:port]`: a proxy URL without its login.
fn redact_proxy(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_must_be_a_certificate() {
        assert!(RootCertificate::from_der(b"not a certificate".to_vec()).is_err());
        let err = RootCertificate::from_pem(b"no pem here").unwrap_err();
        assert!(err.to_string().contains("no CERTIFICATE"), "{err}");
        assert!(RootCertificate::from_pem_bundle(b"").is_err());
    }

    #[test]
    fn debug_hides_the_proxy_login() {
        let proxy = Url::parse("http://user:CANARY-pw@proxy.example:3128").unwrap();
        let shown = format!("{:?}", Transport::default().proxy(proxy));
        assert!(!shown.contains("CANARY"), "{shown}");
        assert!(shown.contains("http://proxy.example:3128"), "{shown}");
        assert!(shown.contains(DEFAULT_USER_AGENT), "{shown}");
    }

    #[test]
    fn a_bad_user_agent_is_a_config_error() {
        let err = Transport::default()
            .user_agent("bad\r\nX-Injected: 1")
            .user_agent_header()
            .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err}");
    }

    #[test]
    fn tls_config_uses_its_own_provider() {
        // Built with an explicit provider: works whatever providers are compiled in, and
        // whether or not a process default is installed.
        let config = Transport::default().tls_config().unwrap();
        assert!(!config.crypto_provider().cipher_suites.is_empty());
    }
}
