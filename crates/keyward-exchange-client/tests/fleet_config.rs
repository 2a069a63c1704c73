//! The fleet's Redis configuration and connection (`keyward_exchange_client::fleet`): URL forms
//! and refusals, the prefix rules, the environment and the store, the password never shown,
//! connect + PING against a real redis-server, an unreachable or silent server as a typed
//! error, and TLS with a test CA (rcgen): verified against the CA, refused without it and for a
//! wrong host name.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)] // reason: tests

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use keyward_exchange_client::fleet::{FleetConfig, FleetError};
use keyward_secrets_backends::VarStore;
use keyward_signing::redis::RedisError;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

const CANARY: &str = "CANARY-pw-5f0c9e";

fn refused(url: &str) -> FleetError {
    FleetConfig::from_url(url).expect_err(url)
}

#[test]
fn url_forms_are_parsed() {
    let c = FleetConfig::from_url("redis://127.0.0.1:7001").unwrap();
    assert!(!c.is_tls() && c.is_loopback() && !c.has_password());
    assert_eq!((c.host(), c.port()), ("127.0.0.1", 7001));
    assert_eq!(c.shown(), "redis://127.0.0.1:7001/0");
    let c = FleetConfig::from_url("redis://localhost").unwrap();
    assert_eq!(c.port(), 6379);
    let c = FleetConfig::from_url("redis://[::1]:7002/3").unwrap();
    assert_eq!(c.shown(), "redis://[::1]:7002/3");
    let c =
        FleetConfig::from_url(&format!("rediss://fleet:{CANARY}@redis.example:6380/2")).unwrap();
    assert!(c.is_tls() && !c.is_loopback() && c.has_password());
    assert_eq!(c.shown(), "rediss://[REDACTED]@redis.example:6380/2");
    let c = FleetConfig::from_url(&format!("redis://:{CANARY}@127.0.0.1")).unwrap();
    assert!(c.has_password());
    // Percent-encoded user info is decoded (and still never shown).
    let c = FleetConfig::from_url("rediss://u%40x:p%3Aw@10.1.2.3").unwrap();
    assert!(c.has_password());
}

#[test]
fn plain_redis_only_to_loopback_and_never_insecure_tls() {
    for url in [
        "redis://10.0.0.5:6379",
        "redis://redis.example",
        "redis://[2001:db8::1]:6379",
        "redis://127.0.0.1.example.com",
    ] {
        assert!(
            matches!(refused(url), FleetError::PlainNotLoopback { .. }),
            "{url}"
        );
    }
    for url in [
        "rediss://redis.example/#insecure",
        "rediss://127.0.0.1#insecure",
        "redis://127.0.0.1/#x",
    ] {
        assert_eq!(refused(url), FleetError::Insecure, "{url}");
    }
    for url in [
        "http://127.0.0.1:6379",
        "unix:///tmp/redis.sock",
        "valkeys://redis.example",
        "redis://127.0.0.1/?protocol=resp3",
        "redis://127.0.0.1/db1",
        "redis://127.0.0.1/99999",
        "redis://",
        "not a url",
    ] {
        assert!(matches!(refused(url), FleetError::Url { .. }), "{url}");
    }
}

#[test]
fn prefix_rules() {
    let c = FleetConfig::from_url("redis://127.0.0.1").unwrap();
    assert_eq!(c.prefix(), "keyward");
    assert_eq!(c.fleet_size().get(), 1);
    assert_eq!(c.timeout(), keyward_signing::redis::DEFAULT_TIMEOUT);
    for good in ["a", "fleet-A.1_b", &"x".repeat(64)] {
        assert_eq!(c.clone().with_prefix(good).unwrap().prefix(), good);
    }
    for bad in ["", "a:b", "{x}", "a b", "é", "a\n", "a*", &"x".repeat(65)] {
        assert!(
            matches!(c.clone().with_prefix(bad), Err(FleetError::Prefix(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(
        c.clone().with_timeout(Duration::ZERO),
        Err(FleetError::Timeout(_))
    ));
    assert!(c.clone().with_timeout(Duration::from_secs(61)).is_err());
    assert!(matches!(
        c.with_ca_pem(b"-----BEGIN CERTIFICATE-----\n"),
        Err(FleetError::Ca(_))
    ));
}

#[test]
fn environment_loading() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let c = FleetConfig::from_env_with(env(&[
        ("KEYWARD_REDIS_URL", "redis://127.0.0.1:7003"),
        ("KEYWARD_REDIS_PREFIX", "bots-eu"),
        ("KEYWARD_FLEET_SIZE", "4"),
    ]))
    .unwrap();
    assert_eq!(
        (c.port(), c.prefix(), c.fleet_size().get()),
        (7003, "bots-eu", 4)
    );
    assert!(matches!(
        FleetConfig::from_env_with(env(&[])),
        Err(FleetError::Missing(_))
    ));
    assert!(matches!(
        FleetConfig::from_env_with(env(&[("KEYWARD_REDIS_URL", "  ")])),
        Err(FleetError::Missing(_))
    ));
    for size in ["0", "-1", "four", "4294967296"] {
        let vars = [
            (
                "KEYWARD_REDIS_URL".to_owned(),
                "redis://127.0.0.1".to_owned(),
            ),
            ("KEYWARD_FLEET_SIZE".to_owned(), size.to_owned()),
        ];
        let got = FleetConfig::from_env_with(|n| {
            vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
        });
        assert!(matches!(got, Err(FleetError::FleetSize(_))), "{size}");
    }
    assert!(matches!(
        FleetConfig::from_env_with(env(&[
            ("KEYWARD_REDIS_URL", "redis://127.0.0.1"),
            ("KEYWARD_REDIS_PREFIX", "a:b"),
        ])),
        Err(FleetError::Prefix(_))
    ));
    assert!(matches!(
        FleetConfig::from_env_with(env(&[
            ("KEYWARD_REDIS_URL", "rediss://redis.example"),
            ("KEYWARD_REDIS_CA_FILE", "/nonexistent/ca.pem"),
        ])),
        Err(FleetError::Ca(_))
    ));
}

#[tokio::test]
async fn store_loading_as_one_url_or_fields() {
    let store = VarStore::from_vars(
        "KEYWARD",
        [
            (
                "KEYWARD_FLEET_URL".to_owned(),
                format!("redis://:{CANARY}@127.0.0.1:7004/1"),
            ),
            (
                "KEYWARD_PARTS_URL".to_owned(),
                "rediss://redis.example".to_owned(),
            ),
            ("KEYWARD_PARTS_PASSWORD".to_owned(), CANARY.to_owned()),
            ("KEYWARD_PARTS_PREFIX".to_owned(), "bots".to_owned()),
            ("KEYWARD_PARTS_FLEET_SIZE".to_owned(), "3".to_owned()),
            ("KEYWARD_PARTS_TIMEOUT_MS".to_owned(), "250".to_owned()),
            ("KEYWARD_NOURL_PASSWORD".to_owned(), CANARY.to_owned()),
            (
                "KEYWARD_BADSIZE_URL".to_owned(),
                "redis://127.0.0.1".to_owned(),
            ),
            ("KEYWARD_BADSIZE_FLEET_SIZE".to_owned(), "0".to_owned()),
        ],
    );
    let one = FleetConfig::from_store(&store, "fleet-url").await.unwrap();
    assert!(one.has_password() && !one.is_tls());
    assert_eq!(one.shown(), "redis://[REDACTED]@127.0.0.1:7004/1");
    let parts = FleetConfig::from_store(&store, "parts").await.unwrap();
    assert!(parts.is_tls() && parts.has_password());
    assert_eq!(parts.prefix(), "bots");
    assert_eq!(parts.fleet_size(), NonZeroU32::new(3).unwrap());
    assert_eq!(parts.timeout(), Duration::from_millis(250));
    assert!(matches!(
        FleetConfig::from_store(&store, "nourl").await,
        Err(FleetError::Missing(_))
    ));
    assert!(matches!(
        FleetConfig::from_store(&store, "badsize").await,
        Err(FleetError::FleetSize(_))
    ));
    assert!(matches!(
        FleetConfig::from_store(&store, "absent").await,
        Err(FleetError::Store(_))
    ));
    for shown in [
        format!("{one:?}"),
        format!("{one}"),
        format!("{parts:?}"),
        format!("{parts}"),
    ] {
        assert!(!shown.contains(CANARY), "{shown}");
    }
}

#[tokio::test]
async fn the_password_is_never_shown() {
    let url = format!("rediss://fleet-user-{CANARY}:{CANARY}@redis.example:6380/0");
    let c = FleetConfig::from_url(&url).unwrap();
    let mut shown = vec![format!("{c:?}"), format!("{c}"), c.shown()];
    // Refusals of URLs that carry the canary.
    for bad in [
        format!("redis://u:{CANARY}@10.0.0.1"),
        format!("rediss://u:{CANARY}@redis.example/#insecure"),
        format!("redis://u:{CANARY}@127.0.0.1/?protocol=resp3"),
        format!("redis://u:{CANARY}@127.0.0.1/x{CANARY}"),
        format!("ftp://u:{CANARY}@127.0.0.1"),
        format!("redis//u:{CANARY}@127.0.0.1"),
    ] {
        let e = refused(&bad);
        shown.push(e.to_string());
        shown.push(format!("{e:?}"));
    }
    // Against a real server that requires the canary: a wrong password (itself a canary) is
    // refused without being echoed, and the connected fleet does not show the right one.
    if let Some(server) = redis_server::RedisServer::start() {
        require_password(&server, CANARY).await;
        let wrong = FleetConfig::from_url(&format!(
            "redis://:{CANARY}-wrong@127.0.0.1:{}",
            server.port()
        ))
        .unwrap()
        .with_timeout(Duration::from_secs(5))
        .unwrap();
        let e = wrong
            .connect()
            .await
            .expect_err("a wrong password connects");
        assert!(
            matches!(e, FleetError::Connect { .. } | FleetError::Ping { .. }),
            "{e}"
        );
        let right =
            FleetConfig::from_url(&format!("redis://:{CANARY}@127.0.0.1:{}", server.port()))
                .unwrap()
                .with_timeout(Duration::from_secs(5))
                .unwrap();
        let fleet = right.connect().await.unwrap();
        shown.extend([
            e.to_string(),
            format!("{e:?}"),
            format!("{fleet:?}"),
            format!("{right:?}"),
        ]);
    }
    for text in &shown {
        assert!(!text.contains(CANARY), "the canary leaked: {text}");
    }
}

/// `CONFIG SET requirepass` on a fresh server.
async fn require_password(server: &redis_server::RedisServer, password: &str) {
    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg(password)
        .query_async(&mut admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn connect_pings_and_hands_the_connection_to_backends() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let fleet = FleetConfig::from_url(&server.url())
        .unwrap()
        .with_prefix("fleet-t")
        .unwrap()
        .with_fleet_size(NonZeroU32::new(4).unwrap())
        .with_timeout(Duration::from_secs(5))
        .unwrap()
        .connect()
        .await
        .unwrap();
    assert_eq!(fleet.prefix(), "fleet-t");
    assert_eq!(fleet.fleet_size().get(), 4);
    assert_eq!(fleet.timeout(), Duration::from_secs(5));
    let mut conn = fleet.connection();
    let () = redis::cmd("SET")
        .arg("fleet-t:{x}:k")
        .arg("v")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut other = fleet.connection();
    let v: String = redis::cmd("GET")
        .arg("fleet-t:{x}:k")
        .query_async(&mut other)
        .await
        .unwrap();
    assert_eq!(v, "v");
    assert!(format!("{fleet:?}").contains("fleet-t"));
}

#[tokio::test]
async fn a_server_requiring_auth_refuses_the_anonymous_and_accepts_the_password() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    require_password(&server, CANARY).await;
    let anonymous = FleetConfig::from_url(&server.url())
        .unwrap()
        .with_timeout(Duration::from_secs(5))
        .unwrap();
    let e = anonymous.connect().await.expect_err("NOAUTH expected");
    assert!(
        matches!(&e, FleetError::Ping { cause: RedisError::Failed(m), .. } if m.contains("NOAUTH")),
        "{e}"
    );
    let with_password =
        FleetConfig::from_url(&format!("redis://:{CANARY}@127.0.0.1:{}", server.port()))
            .unwrap()
            .with_timeout(Duration::from_secs(5))
            .unwrap();
    with_password.connect().await.unwrap();
    assert!(!with_password.without_credentials().has_password());
}

#[tokio::test]
async fn an_unreachable_redis_is_a_typed_error() {
    // A port nobody listens on: refused at once.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = FleetConfig::from_url(&format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .with_timeout(Duration::from_millis(300))
        .unwrap();
    let e = c.connect().await.expect_err("nothing listens");
    assert!(matches!(e, FleetError::Connect { .. }), "{e}");
}

#[tokio::test]
async fn a_silent_server_is_a_timeout_within_the_configured_time() {
    // Accepts TCP connections and never answers: only the timeout ends the wait.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    let timeout = Duration::from_millis(300);
    let c = FleetConfig::from_url(&format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .with_timeout(timeout)
        .unwrap();
    let started = Instant::now();
    let e = c.connect().await.expect_err("a silent server connects");
    let took = started.elapsed();
    held.abort();
    assert!(
        matches!(
            e,
            FleetError::Connect { cause: RedisError::Timeout(t), .. } | FleetError::Ping { cause: RedisError::Timeout(t), .. } if t == timeout
        ),
        "{e}"
    );
    // A ceiling, not a measurement: connect is documented to return within twice the
    // timeout; the margin covers a loaded machine.
    assert!(took < Duration::from_secs(10), "connect waited {took:?}");
    eprintln!("silent server: typed timeout after {took:?} (timeout {timeout:?})");
}

/// A test CA and certificates it signs, written as PEM files for redis-server.
struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
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

    /// A server certificate for `names`: (certificate PEM, key PEM).
    fn issue(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Turns TLS on in a running server (Redis 7 takes the TLS settings and `tls-port` through
/// CONFIG SET): a certificate for `names` signed by `ca`. Returns the TLS port.
async fn enable_tls(
    server: &redis_server::RedisServer,
    dir: &std::path::Path,
    ca: &TestCa,
    names: &[&str],
    tls_port: Option<u16>,
) -> u16 {
    let (cert, key) = ca.issue(names);
    let tag = names.join("_").replace(['.', ':'], "-");
    let cert_path = dir.join(format!("server-{tag}.pem"));
    let key_path = dir.join(format!("server-{tag}.key"));
    let ca_path = dir.join("ca.pem");
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    std::fs::write(&ca_path, &ca.pem).unwrap();
    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let port = tls_port.unwrap_or_else(|| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    });
    let mut set = redis::cmd("CONFIG");
    set.arg("SET")
        .arg("tls-auth-clients")
        .arg("no")
        .arg("tls-ca-cert-file")
        .arg(ca_path.to_str().unwrap())
        .arg("tls-cert-file")
        .arg(cert_path.to_str().unwrap())
        .arg("tls-key-file")
        .arg(key_path.to_str().unwrap());
    let () = set.query_async(&mut admin).await.unwrap();
    if tls_port.is_none() {
        let () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("tls-port")
            .arg(port)
            .query_async(&mut admin)
            .await
            .unwrap();
    }
    port
}

#[tokio::test]
async fn tls_verifies_the_server_against_the_ca_and_the_host_name() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("keyward fleet test CA");
    let port = enable_tls(&server, dir.path(), &ca, &["127.0.0.1"], None).await;
    let url = format!("rediss://127.0.0.1:{port}");
    let timeout = Duration::from_secs(5);

    // Verified against the test CA: connects, PING answers.
    let with_ca = FleetConfig::from_url(&url)
        .unwrap()
        .with_timeout(timeout)
        .unwrap()
        .with_ca_pem(ca.pem.as_bytes())
        .unwrap();
    let fleet = with_ca.connect().await.unwrap();
    let mut conn = fleet.connection();
    let () = redis::cmd("SET")
        .arg("k")
        .arg("over tls")
        .query_async(&mut conn)
        .await
        .unwrap();

    // The same CA through a file (KEYWARD_REDIS_CA_FILE's path).
    let ca_file = dir.path().join("ca.pem");
    FleetConfig::from_url(&url)
        .unwrap()
        .with_timeout(timeout)
        .unwrap()
        .with_ca_file(&ca_file)
        .unwrap()
        .connect()
        .await
        .unwrap();

    // Without the CA (the webpki roots): the certificate is refused.
    let without = FleetConfig::from_url(&url)
        .unwrap()
        .with_timeout(timeout)
        .unwrap();
    let e = without
        .connect()
        .await
        .expect_err("an unknown CA was trusted");
    assert!(
        matches!(&e, FleetError::Connect { cause: RedisError::Failed(m), .. } if m.contains("UnknownIssuer") || m.contains("certificate")),
        "{e}"
    );

    // Another CA: refused as well.
    let other = TestCa::new("another CA");
    let e = FleetConfig::from_url(&url)
        .unwrap()
        .with_timeout(timeout)
        .unwrap()
        .with_ca_pem(other.pem.as_bytes())
        .unwrap()
        .connect()
        .await
        .expect_err("a certificate from another CA was trusted");
    assert!(matches!(e, FleetError::Connect { .. }), "{e}");

    // The server now presents a certificate (from the right CA) for another name.
    enable_tls(&server, dir.path(), &ca, &["redis.other.test"], Some(port)).await;
    let e = with_ca
        .connect()
        .await
        .expect_err("a wrong host name was accepted");
    assert!(
        matches!(&e, FleetError::Connect { cause: RedisError::Failed(m), .. } if m.contains("NotValidForName") || m.contains("name")),
        "{e}"
    );
    eprintln!(
        "tls: verified with the test CA; refused without it, with another CA and for a wrong name ({e})"
    );
}

/// A connected fleet hands out its backends on its own prefix: the replay memory remembers
/// across two caches from the fleet, and the nonce source leases from the fleet's counter.
#[tokio::test]
async fn a_connected_fleet_hands_out_its_backends_on_its_prefix() {
    use keyward_signing::verify::{ReplayCache, ReplayEntry, ReplayRefusal};
    use keyward_signing::{FixedClock, NonceSource, NonceUnit};

    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let fleet = FleetConfig::from_url(&server.url())
        .unwrap()
        .with_prefix("bots-a")
        .unwrap()
        .connect()
        .await
        .unwrap();
    let entry = ReplayEntry {
        id: 7,
        valid_from_ms: 1_000,
        expires_at_ms: 61_000,
        now_ms: 1_000,
    };
    let (one, other) = (fleet.replay_cache(), fleet.replay_cache());
    assert!(one.entry_key(7).starts_with("bots-a:{replay}:"));
    assert_eq!(one.check_and_insert_shared(entry).await, Ok(()));
    assert_eq!(
        other.check_and_insert_shared(entry).await,
        Err(ReplayRefusal::Replayed)
    );
    #[cfg(unix)]
    {
        let clock = std::sync::Arc::new(FixedClock::new(5_000));
        let nonces = fleet.nonce_source("kraken-main", NonceUnit::Millis, clock);
        assert!(nonces.counter_key().starts_with("bots-a:{nonce:"));
        nonces.reserve().await.unwrap();
        let first = nonces.next_nonce().unwrap();
        assert!(first >= 5_000);
        assert!(nonces.next_nonce().unwrap() > first);
    }
}
