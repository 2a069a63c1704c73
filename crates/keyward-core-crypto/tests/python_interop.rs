//! Interoperability with Python `cryptography` (Fernet and MultiFernet), both ways.
//!
//! Python comes from `KEYWARD_PYTHON` (set by `cargo xtask ci`, which creates a virtual environment
//! with `cryptography`), else `.venv/bin/python` at the workspace root, else `python3`. When
//! `KEYWARD_REQUIRE_INTEROP` is set (as `cargo xtask ci` does), a missing Python or `cryptography` is
//! a failure; otherwise these tests say why they did not run and pass, so that a bare `cargo test`
//! still works on a machine without Python.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use keyward_core_crypto::secrecy::ExposeSecret;
use keyward_core_crypto::{Error, FernetKey, KeyRing};

/// Python's verdict on an operation: output, or `InvalidToken`.
type PyResult = Result<Vec<u8>, ()>;

struct Python {
    exe: PathBuf,
    script: PathBuf,
}

impl Python {
    fn find() -> Option<Self> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let venv = root.join(".venv/bin/python");
        let exe = match std::env::var_os("KEYWARD_PYTHON") {
            Some(p) => PathBuf::from(p),
            None if venv.exists() => venv,
            None => PathBuf::from("python3"),
        };
        let works = Command::new(&exe)
            .args(["-c", "import cryptography.fernet"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let required = std::env::var_os("KEYWARD_REQUIRE_INTEROP").is_some();
        if !works {
            assert!(
                !required,
                "KEYWARD_REQUIRE_INTEROP is set but {} cannot import cryptography; run `cargo xtask python`",
                exe.display()
            );
            eprintln!(
                "SKIPPED: {} cannot import cryptography (run `cargo xtask ci` to set it up)",
                exe.display()
            );
            return None;
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/fernet_py.py");
        Some(Self { exe, script })
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> PyResult {
        let mut child = Command::new(&self.exe)
            .arg(&self.script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        match out.status.code() {
            Some(0) => Ok(out.stdout),
            Some(3) => Err(()),
            _ => panic!(
                "python {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    fn encrypt_at(&self, keys: &str, data: &[u8], at: u64) -> String {
        String::from_utf8(self.run(&["encrypt", keys, &at.to_string()], data).unwrap()).unwrap()
    }

    fn decrypt(&self, keys: &str, token: &str, ttl: Option<u64>, now: u64) -> PyResult {
        let ttl = ttl.map_or("-".to_owned(), |t| t.to_string());
        self.run(&["decrypt", keys, &ttl, &now.to_string()], token.as_bytes())
    }

    fn new_key(&self) -> String {
        String::from_utf8(self.run(&["generate-key"], b"").unwrap()).unwrap()
    }
}

fn payloads() -> Vec<Vec<u8>> {
    let mut pseudo_random = Vec::with_capacity(4096);
    let mut x: u32 = 0x1234_5678;
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pseudo_random.push(x as u8);
    }
    vec![
        Vec::new(),
        b"hello".to_vec(),
        (0..=255).collect(),
        "ünïcødé секрет".as_bytes().to_vec(),
        pseudo_random,
    ]
}

fn text(key: &FernetKey) -> String {
    key.expose_base64().to_string()
}

#[test]
fn rust_tokens_decrypt_in_python() {
    let Some(py) = Python::find() else { return };
    let key = FernetKey::generate().unwrap();
    let ring = KeyRing::new(key.clone());
    for data in payloads() {
        let token = ring.encrypt(&data);
        assert_eq!(py.decrypt(&text(&key), &token, None, 0).unwrap(), data);
        let ts: u64 = String::from_utf8(
            py.run(&["timestamp", &text(&key)], token.as_bytes())
                .unwrap(),
        )
        .unwrap()
        .parse()
        .unwrap();
        assert_eq!(ts, ring.extract_timestamp(&token).unwrap());
    }
}

#[test]
fn python_tokens_decrypt_in_rust() {
    let Some(py) = Python::find() else { return };
    let key_text = py.new_key();
    let ring = KeyRing::new(FernetKey::parse(&key_text).unwrap());
    for data in payloads() {
        let token = py.encrypt_at(&key_text, &data, 1_700_000_000);
        let plain = ring.decrypt(&token).unwrap();
        assert_eq!(plain.expose_secret().as_slice(), data.as_slice());
        assert_eq!(ring.extract_timestamp(&token).unwrap(), 1_700_000_000);
    }
}

/// Both sides decide alike on every edge of the TTL and clock-skew rules.
#[test]
fn ttl_expiry_agrees() {
    let Some(py) = Python::find() else { return };
    let key = FernetKey::generate().unwrap();
    let ring = KeyRing::new(key.clone());
    let made = 1_000_000u64;
    let ttl = 100u64;
    let tokens = [
        ring.encrypt_at(b"x", made),
        py.encrypt_at(&text(&key), b"x", made),
    ];
    let nows = [
        made + ttl - 1,
        made + ttl,
        made + ttl + 1,
        made + 10 * ttl,
        made - 59,
        made - 60,
        made - 61,
        made - 1000,
    ];
    for token in &tokens {
        for now in nows {
            for ttl in [Some(ttl), None] {
                let rust = ring.decrypt_at(token, ttl.map(Duration::from_secs), now);
                let python = py.decrypt(&text(&key), token, ttl, now);
                assert_eq!(
                    rust.is_ok(),
                    python.is_ok(),
                    "now={now} ttl={ttl:?}: rust {:?}, python ok={}",
                    rust.as_ref().err(),
                    python.is_ok()
                );
                if now > made + ttl.unwrap_or(u64::MAX / 2) {
                    assert!(matches!(rust, Err(Error::Expired)));
                }
            }
        }
    }
    // A timestamp near u64::MAX: both refuse it with a TTL, both accept it without one.
    let far = ring.encrypt_at(b"x", u64::MAX);
    assert!(py.decrypt(&text(&key), &far, Some(60), made).is_err());
    assert!(matches!(
        ring.decrypt_at(&far, Some(Duration::from_secs(60)), made),
        Err(Error::InvalidToken)
    ));
    assert!(py.decrypt(&text(&key), &far, None, made).is_ok());
    assert!(ring.decrypt_at(&far, None, made).is_ok());
}

/// A token rotated by either side decrypts in the other, keeping its timestamp.
#[test]
fn rotation_agrees() {
    let Some(py) = Python::find() else { return };
    let old = FernetKey::generate().unwrap();
    let new = FernetKey::generate().unwrap();
    let both = format!("{},{}", text(&new), text(&old));
    let ring = KeyRing::from_keys([new.clone(), old.clone()]).unwrap();
    let only_new = KeyRing::new(new.clone());

    // Rust token under the old key, rotated by Python, read by Rust.
    let token = KeyRing::new(old.clone()).encrypt_at(b"rotate me", 1_600_000_000);
    let rotated = String::from_utf8(py.run(&["rotate", &both], token.as_bytes()).unwrap()).unwrap();
    let plain = only_new.decrypt(&rotated).unwrap();
    assert_eq!(plain.expose_secret().as_slice(), b"rotate me");
    assert_eq!(only_new.extract_timestamp(&rotated).unwrap(), 1_600_000_000);

    // Python token under the old key, rotated by Rust, read by Python.
    let token = py.encrypt_at(&text(&old), b"rotate me too", 1_600_000_123);
    let rotated = ring.rotate(&token).unwrap();
    assert_eq!(
        py.decrypt(&text(&new), &rotated, None, 0).unwrap(),
        b"rotate me too"
    );
    let ts = py
        .run(&["timestamp", &text(&new)], rotated.as_bytes())
        .unwrap();
    assert_eq!(ts, b"1600000123");
    // Neither side rotates a token that no key of the ring made.
    let stranger = KeyRing::new(FernetKey::generate().unwrap()).encrypt(b"x");
    assert!(py.run(&["rotate", &both], stranger.as_bytes()).is_err());
    assert!(matches!(ring.rotate(&stranger), Err(Error::InvalidToken)));
}
