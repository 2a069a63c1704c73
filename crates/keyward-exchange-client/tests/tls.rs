//! TLS on every transport keyward has (REST, the WebSocket handshake, Kraken's token request),
//! against a rustls server on 127.0.0.1 with certificates made at test time by a test CA (issue
//! 13, finding 1). A certificate from the added test CA is accepted; a self-signed, an expired
//! and a wrong-host certificate are refused, each for its own reason.
//!
//! This test binary builds rustls with both the `ring` and the `aws-lc-rs` providers (see the
//! crate's dev-dependencies), as the AWS SDK used to: rustls then has no process default, and a
//! client that asks for one panics ("Could not automatically determine the process-level
//! CryptoProvider"). keyward builds its TLS configurations from an explicit provider, so the
//! handshakes here run (and fail only on the certificate).
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{Seen, json_response, serve};
use keyward_exchange_client::ws::{WsConfig, WsError, WsSession, kraken_rest_token_with};
use keyward_exchange_client::{
    ClientBuilder, Credentials, ErrorKind, RootCertificate, Scheme, Transport,
};
use keyward_signing::Signer;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A test CA and what it signs.
struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// A server certificate and its key.
struct ServerCert {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    fn root(&self) -> RootCertificate {
        RootCertificate::from_pem(self.pem.as_bytes()).unwrap()
    }

    /// A certificate for `names`, valid now, or expired in 2001 when `expired`.
    fn issue(&self, names: &[&str], expired: bool) -> ServerCert {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        if expired {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2001, 1, 1);
        }
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        ServerCert {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }
}

/// A certificate for 127.0.0.1 that signs itself.
fn self_signed() -> ServerCert {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    ServerCert {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

/// What the TLS server speaks after the handshake.
#[derive(Clone, Copy)]
enum Speaks {
    /// One HTTP answer: a JSON body that is both a Binance server time and a Kraken token.
    Http,
    /// A WebSocket upgrade, then silence until the client leaves.
    WebSocket,
}

/// A TLS server on 127.0.0.1 presenting `cert`; the provider is explicit here too.
async fn tls_server(cert: ServerCert, speaks: Speaks) -> (SocketAddr, Seen) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(cert.chain, cert.key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let record = seen.clone();
    let response = json_response(r#"{"serverTime":1,"error":[],"result":{"token":"tok"}}"#);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, record, response) = (acceptor.clone(), record.clone(), response.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                match speaks {
                    Speaks::Http => serve(tls, &response, &record).await,
                    Speaks::WebSocket => {
                        use futures_util::StreamExt as _;
                        if let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await {
                            while let Some(Ok(_)) = ws.next().await {}
                        }
                    }
                }
            });
        }
    });
    (addr, seen)
}

fn creds() -> Credentials {
    Credentials::new("test-key", "dGVzdC1zZWNyZXQ=".into())
}

/// One REST request (Binance's server time, one attempt) to `addr` trusting `ca`.
async fn rest(addr: SocketAddr, ca: &TestCa) -> keyward_exchange_client::Result<u64> {
    let client = ClientBuilder::new(Scheme::Binance, format!("https://{addr}"))
        .credentials(creds())
        .clock_sync(false)
        .retry_policy(
            keyward_resilience::RetryPolicy::builder()
                .max_attempts(1)
                .build()
                .unwrap(),
        )
        .add_root_certificate(ca.root())
        .timeout(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    client.server_time().await
}

/// One WebSocket session (keyward-v1 signs the handshake: no auth message) to `addr`.
async fn wss(addr: SocketAddr, ca: &TestCa) -> Result<(), WsError> {
    let config =
        WsConfig::from_credentials(Scheme::KeywardV1, &format!("wss://{addr}/ws"), &creds())
            .unwrap()
            .with_root_certificate(ca.root())
            .with_connect_timeout(Duration::from_secs(30));
    let mut session = WsSession::connect(config).await?;
    session.close().await;
    Ok(())
}

/// One Kraken token request to `addr`.
async fn token(addr: SocketAddr, ca: &TestCa) -> Result<(), WsError> {
    let signer = Arc::new(Signer::new(Scheme::Kraken, &creds()).unwrap());
    let transport = Transport::default().add_root_certificate(ca.root());
    let provider = kraken_rest_token_with(
        &format!("https://{addr}"),
        signer,
        &transport,
        Duration::from_secs(30),
    )
    .unwrap();
    provider().await.map(|_| ())
}

#[tokio::test]
async fn a_certificate_from_an_added_ca_is_accepted_on_rest_websocket_and_token() {
    let ca = TestCa::new("keyward test CA");
    let (addr, seen) = tls_server(ca.issue(&["127.0.0.1", "localhost"], false), Speaks::Http).await;
    rest(addr, &ca).await.unwrap();
    token(addr, &ca).await.unwrap();
    assert_eq!(seen.heads().len(), 2);
    let (addr, _) = tls_server(ca.issue(&["127.0.0.1"], false), Speaks::WebSocket).await;
    wss(addr, &ca).await.unwrap();
}

#[tokio::test]
async fn without_the_added_ca_the_same_certificate_is_refused() {
    let ca = TestCa::new("keyward test CA");
    let other = TestCa::new("another test CA");
    let (addr, seen) = tls_server(ca.issue(&["127.0.0.1"], false), Speaks::Http).await;
    let err = rest(addr, &other).await.unwrap_err();
    assert_refused(&err.to_string(), "UnknownIssuer");
    assert!(seen.heads().is_empty());
}

/// The three bad certificates, each with the reason rustls gives for it.
fn bad_certificates(ca: &TestCa) -> Vec<(&'static str, ServerCert, &'static str)> {
    vec![
        ("self-signed", self_signed(), "UnknownIssuer"),
        (
            "expired",
            ca.issue(&["127.0.0.1"], true),
            "certificate expired",
        ),
        (
            "wrong host",
            ca.issue(&["venue.example"], false),
            "not valid for name",
        ),
    ]
}

fn assert_refused(message: &str, reason: &str) {
    assert!(
        message.contains("certificate") && message.contains(reason),
        "expected a refused certificate ({reason}): {message}"
    );
}

#[tokio::test]
async fn rest_refuses_self_signed_expired_and_wrong_host_certificates() {
    let ca = TestCa::new("keyward test CA");
    for (what, cert, reason) in bad_certificates(&ca) {
        let (addr, seen) = tls_server(cert, Speaks::Http).await;
        let err = rest(addr, &ca).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transport, "{what}: {err}");
        assert_refused(&err.to_string(), reason);
        let err = token(addr, &ca).await.unwrap_err();
        assert!(matches!(err, WsError::Token { .. }), "{what}: {err}");
        assert_refused(&format!("{err} {err:?}"), "certificate");
        assert!(seen.heads().is_empty(), "{what}: a request got through");
    }
}

#[tokio::test]
async fn wss_refuses_self_signed_expired_and_wrong_host_certificates() {
    let ca = TestCa::new("keyward test CA");
    for (what, cert, reason) in bad_certificates(&ca) {
        let (addr, _) = tls_server(cert, Speaks::WebSocket).await;
        let err = wss(addr, &ca).await.unwrap_err();
        assert!(matches!(err, WsError::Connect { .. }), "{what}: {err}");
        assert_refused(&err.to_string(), reason);
    }
}
