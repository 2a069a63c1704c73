//! The AWS client's TLS (issue 13, finding 1): keyward's own HTTPS client
//! (`AwsStore::https_client`, rustls with the ring provider chosen explicitly) connects over TLS
//! and verifies the certificate: a loopback endpoint with a self-signed certificate is refused
//! with a clear backend error, never a panic, and no request is sent.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_secretsmanager::config::Credentials;
use keyward_secrets_backends::{AwsStore, Error, SecretStore, Selector};
use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A certificate for 127.0.0.1 that signs itself, and its key.
fn self_signed() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert.der().clone(), der)
}

/// A TLS server on 127.0.0.1; counts the requests that got past the handshake.
async fn tls_server(
    cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
) -> (String, Arc<AtomicUsize>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.0], cert.1)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, count) = (acceptor.clone(), count.clone());
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut byte = [0u8; 1];
                    if tls.read(&mut byte).await.unwrap_or(0) > 0 {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    (format!("https://127.0.0.1:{}", addr.port()), requests)
}

async fn store_at(endpoint: &str) -> AwsStore {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(endpoint)
        .load()
        .await;
    AwsStore::from_config(&config).with_timeout(Duration::from_secs(30))
}

#[tokio::test]
async fn the_aws_client_refuses_a_certificate_it_cannot_verify() {
    // The AWS client trusts the system's roots: a self-signed certificate is refused.
    let (endpoint, requests) = tls_server(self_signed()).await;
    let err = store_at(&endpoint)
        .await
        .get("app/key", &Selector::Current)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Backend { .. }), "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains("certificate") && shown.contains("UnknownIssuer"),
        "{shown}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 0, "a request got through");
}
