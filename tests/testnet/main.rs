//! End-to-end tests of `keyward testnet serve`: the real binary, its first line of URLs, one
//! signed request, credentials from a private file or stored in the vault.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use keyward::signing::{Credentials, Request, Scheme, SignOptions, Signer};
use serde_json::{Value, json};

use common::{assert_fails, keyward};

/// A running `keyward testnet serve`, killed when dropped.
struct Served {
    child: Child,
    urls: Value,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn url(&self, name: &str) -> String {
        self.urls[name].as_str().unwrap().to_owned()
    }

    /// Stops the server and returns its standard error.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        err
    }
}

/// Starts the server with `args` and reads its first line.
fn serve(args: &[&str], home: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["testnet", "serve"])
        .args(args)
        .env("KEYWARD_HOME", home)
        .env_remove("KEYWARD_MASTER_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let urls: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    Served { child, urls }
}

/// Signs `req` with `creds` for `scheme` and sends it to `base`; returns status and body.
fn send(scheme: Scheme, creds: &Credentials, base: &str, req: Request) -> (u16, Value) {
    let signed = Signer::new(scheme, creds)
        .unwrap()
        .sign(req, &SignOptions::default())
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let method = reqwest::Method::from_bytes(signed.method.as_bytes()).unwrap();
        let mut builder = reqwest::Client::new()
            .request(method, format!("{base}{}", signed.url()))
            .body(signed.body.clone());
        for (name, value) in &signed.headers {
            builder = builder.header(name, value);
        }
        let response = builder.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

fn write_credentials(dir: &Path, mode: u32) -> std::path::PathBuf {
    let path = dir.join("creds.json");
    let doc = json!({"credentials": [
        {"venue": "binance", "api_key": "cli-key", "secret": "cli-secret"},
        {"venue": "okx", "api_key": "okx-key", "secret": "okx-secret", "passphrase": "okx-pass"},
        {"venue": "hmac-newline-v0", "secret": "newline-secret", "passphrase": null},
    ]});
    std::fs::write(&path, doc.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn serves_every_venue_with_credentials_from_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_credentials(dir.path(), 0o600);
    let served = serve(&["--credentials", file.to_str().unwrap()], dir.path());
    let names = keyward_testnet::VENUES
        .iter()
        .chain(&keyward_testnet::SERVICE_SCHEMES)
        .chain(&["admin"]);
    for name in names {
        assert!(served.url(name).starts_with("http://127.0.0.1:"), "{name}");
    }
    // The IBKR-shaped gateway's session is listed with the venues.
    assert!(served.url("ibkr").starts_with("http://127.0.0.1:"));
    let creds = Credentials::new("cli-key", "cli-secret".into());
    let (status, body) = send(
        Scheme::Binance,
        &creds,
        &served.url("binance"),
        Request::get("/api/v3/account"),
    );
    assert_eq!(status, 200, "{body}");
    let wrong = Credentials::new("cli-key", "other".into());
    let (status, body) = send(
        Scheme::Binance,
        &wrong,
        &served.url("binance"),
        Request::get("/api/v3/account"),
    );
    assert_eq!((status, body["code"].as_i64()), (400, Some(-1022)));
    let err = served.stop();
    assert!(
        !err.contains("cli-secret") && !err.contains("vault"),
        "{err}"
    );
}

#[test]
fn a_credentials_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_credentials(dir.path(), 0o644);
    let out = keyward(
        &["testnet", "serve", "--credentials", file.to_str().unwrap()],
        b"",
        &[("KEYWARD_HOME", dir.path().to_str().unwrap())],
    );
    assert_fails(&out, "chmod 600");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("cli-secret"));
}

#[test]
fn an_ibkr_entry_is_refused_as_its_gateway_takes_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("creds.json");
    let doc = json!({"credentials": [
        {"venue": "ibkr", "username": "u1", "password": "CANARY-ibkr-pw"},
    ]});
    std::fs::write(&path, doc.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = keyward(
        &["testnet", "serve", "--credentials", path.to_str().unwrap()],
        b"",
        &[("KEYWARD_HOME", dir.path().to_str().unwrap())],
    );
    assert_fails(&out, "IBKR gateway takes no credentials");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("CANARY"));
}

#[test]
fn generated_credentials_are_stored_in_the_vault() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(&["--faults", "fail_5xx=1,venue=okx"], dir.path());
    let vault = dir.path().join("vault.db");
    let field = |name: &str, field: &str| {
        let store = format!("sqlite:{}", vault.display());
        let out = keyward(
            &[
                "secret", "get", name, "--store", &store, "--reveal", "--field", field,
            ],
            b"",
            &[],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
    };
    let creds = Credentials::new(
        field("testnet/okx", "api_key"),
        field("testnet/okx", "secret").into(),
    )
    .with_passphrase(field("testnet/okx", "passphrase").into());
    let base = served.url("okx");
    let req = || Request::get("/api/v5/account/balance");
    // The injected fault first, then the answer.
    assert_eq!(send(Scheme::Okx, &creds, &base, req()).0, 503);
    let (status, body) = send(Scheme::Okx, &creds, &base, req());
    assert_eq!((status, body["code"].as_str()), (200, Some("0")), "{body}");
    // hmac-newline-v0 requests carry no key id: its entry names the scheme, so that clients
    // read every entry alike (api_key, secret).
    assert_eq!(
        field("testnet/hmac-newline-v0", "api_key"),
        "hmac-newline-v0"
    );
    let err = served.stop();
    assert!(err.contains(&vault.display().to_string()), "{err}");
}

/// Issue 15: without a credentials file, one key pair per venue and accepted kind; the vault
/// holds the private halves as `testnet/<venue>-<kind>`, the testnet verifies with the public
/// ones.
#[test]
fn generated_key_pairs_are_stored_in_the_vault_and_sign() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(&[], dir.path());
    let store = format!("sqlite:{}", dir.path().join("vault.db").display());
    let field = |name: &str, field: &str| {
        let out = keyward(
            &[
                "secret", "get", name, "--store", &store, "--reveal", "--field", field,
            ],
            b"",
            &[],
        );
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
    };
    for (name, venue, scheme, path, ok) in [
        (
            "binance-ed25519",
            "binance",
            Scheme::Binance,
            "/api/v3/account",
            "canTrade",
        ),
        (
            "binance-rsa",
            "binance",
            Scheme::Binance,
            "/api/v3/account",
            "canTrade",
        ),
        (
            "bybit-rsa",
            "bybit",
            Scheme::Bybit,
            "/v5/account/wallet-balance",
            "retCode",
        ),
    ] {
        let secret = field(&format!("testnet/{name}"), "secret");
        assert!(secret.starts_with("-----BEGIN PRIVATE KEY-----"), "{name}");
        let creds = Credentials::new(field(&format!("testnet/{name}"), "api_key"), secret.into());
        let (status, body) = send(scheme, &creds, &served.url(venue), Request::get(path));
        assert_eq!(status, 200, "{name}: {body}");
        assert!(body.get(ok).is_some(), "{name}: {body}");
        if scheme == Scheme::Bybit {
            assert_eq!(body["retCode"], 0, "{name}: {body}");
        }
    }
    for name in ["coinbase-advanced-ed25519", "coinbase-advanced-p256"] {
        assert!(field(&format!("testnet/{name}"), "secret").contains("PRIVATE KEY"));
    }
    let err = served.stop();
    assert!(err.contains("testnet/binance-ed25519"), "{err}");
    assert!(!err.contains("BEGIN PRIVATE KEY"), "{err}");
}

#[test]
fn a_public_key_the_venue_does_not_take_is_refused_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("creds.json");
    let pem = keyward::signing::keys::generate(keyward::signing::keys::KeyKind::P256)
        .unwrap()
        .public_pem()
        .to_owned();
    let doc = json!({"credentials": [
        {"venue": "okx", "api_key": "okx-key", "public_key": pem},
    ]});
    std::fs::write(&path, doc.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = keyward(
        &["testnet", "serve", "--credentials", path.to_str().unwrap()],
        b"",
        &[("KEYWARD_HOME", dir.path().to_str().unwrap())],
    );
    assert_fails(&out, "credentials[0] (okx)");
    assert_fails(&out, "okx does not accept ECDSA P-256 keys");
}

#[test]
fn bad_hosts_and_fault_specs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = [("KEYWARD_HOME", dir.path().to_str().unwrap())];
    let out = keyward(&["testnet", "serve", "--host", "0.0.0.0"], b"", &home);
    assert_fails(&out, "loopback");
    let out = keyward(&["testnet", "serve", "--faults", "explode=1"], b"", &home);
    assert_fails(&out, "explode");
    let help = keyward(&["testnet", "serve", "--help"], b"", &[]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("Examples:"));
}

/// Finding 21: the vault directory `testnet serve` creates is 0700 (the umask would give
/// 0755), and a directory that others can write is refused before any secret is stored.
#[test]
fn serve_creates_its_vault_directory_0700_and_refuses_one_others_can_write() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("state/keyward");
    let served = serve(&[], &home);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home), 0o700);
    assert_eq!(mode(&dir.path().join("state")), 0o700);
    drop(served);

    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let env = [("KEYWARD_HOME", open.to_str().unwrap())];
    let out = keyward(&["testnet", "serve"], b"", &env);
    assert_fails(&out, "group or others can write");
    assert!(!open.join("vault.db").exists());
    // A new directory under a parent others can write (and that is not sticky) is refused too.
    let nested = open.join("keyward");
    let env = [("KEYWARD_HOME", nested.to_str().unwrap())];
    let out = keyward(&["testnet", "serve"], b"", &env);
    assert_fails(&out, "group or others can write");
    assert!(!nested.exists());
}

/// Finding 20: the long-running server holds every venue's secret; it writes no core file
/// (RLIMIT_CORE 0, soft and hard, read from /proc). The same call makes it non-dumpable
/// (PR_SET_DUMPABLE 0), which the unit test `harden::tests` checks with PR_GET_DUMPABLE, since
/// /proc shows it only as a change of owner, invisible to a test that runs as root.
#[cfg(target_os = "linux")]
#[test]
fn serve_writes_no_core_file() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(&[], dir.path());
    let pid = served.child.id();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    drop(served);
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap()
        .split_whitespace()
        .skip(4)
        .take(2)
        .collect::<Vec<_>>();
    assert_eq!(core, vec!["0", "0"], "{limits}");
}

#[path = "../support/redis_server.rs"]
mod redis_server;

/// `--shared-state`: two `keyward testnet serve` processes on one redis-server count one
/// rate-limit account (Binance's used-weight header on replica B counts A's requests too) and
/// serve one Upstox account; without it each counts alone.
#[test]
fn replicas_share_one_rate_limit_account_through_redis() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = write_credentials(dir.path(), 0o600);
    let args = [
        "--credentials",
        file.to_str().unwrap(),
        "--shared-state",
        &server.url(),
        "--shared-state-prefix",
        "cli-replicas",
    ];
    let a = serve(&args, dir.path());
    let b = serve(&args, dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let used = |base: String| {
        runtime.block_on(async {
            let r = reqwest::get(format!("{base}/api/v3/time")).await.unwrap();
            assert_eq!(r.status(), 200);
            r.headers()["x-mbx-used-weight-1m"]
                .to_str()
                .unwrap()
                .parse::<u32>()
                .unwrap()
        })
    };
    assert_eq!(used(a.url("binance")), 1);
    assert_eq!(used(a.url("binance")), 2);
    assert_eq!(used(b.url("binance")), 3, "B counts A's requests");
    assert_eq!(used(a.url("binance")), 4);
    // Without --shared-state, a third testnet counts alone.
    let alone = serve(&["--credentials", file.to_str().unwrap()], dir.path());
    assert_eq!(used(alone.url("binance")), 1);
    drop(alone);
    // The signed request still works on both replicas.
    let creds = Credentials::new("cli-key", "cli-secret".into());
    for replica in [&a, &b] {
        let (status, _) = send(
            Scheme::Binance,
            &creds,
            &replica.url("binance"),
            Request::get("/api/v3/account"),
        );
        assert_eq!(status, 200);
    }
}

#[test]
fn shared_state_needs_credentials_and_no_password_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = keyward(
        &["testnet", "serve", "--shared-state", "redis://127.0.0.1:1"],
        b"",
        &[("KEYWARD_HOME", dir.path().to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("--credentials"));
    let file = write_credentials(dir.path(), 0o600);
    let out = keyward(
        &[
            "testnet",
            "serve",
            "--credentials",
            file.to_str().unwrap(),
            "--shared-state",
            "redis://:canary-pass-31@127.0.0.1:1",
        ],
        b"",
        &[("KEYWARD_HOME", dir.path().to_str().unwrap())],
    );
    assert_fails(&out, "KEYWARD_REDIS_URL");
    assert!(!common::stderr(&out).contains("canary-pass-31"));
    let out = keyward(
        &[
            "testnet",
            "serve",
            "--credentials",
            file.to_str().unwrap(),
            "--shared-state",
            "redis://10.0.0.1:6379",
        ],
        b"",
        &[("KEYWARD_HOME", dir.path().to_str().unwrap())],
    );
    assert_fails(&out, "loopback");
}
