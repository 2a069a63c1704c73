//! End-to-end tests of `keyward totp NAME`: the code and its seconds left from a seed in a
//! temporary vault (a `totp_secret` field beside a password) or a `.env` file (a whole value, an
//! `otpauth://` URI), as text and JSON; bad seeds fail with one sentence that never shows them.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use common::{assert_fails, keyward, stderr};
use keyward::Totp;
use serde_json::Value;

const SEED: &str = "KEYWARDCANARYSEEDQQQQQQQQQQQQQQQ";
const URI: &str = "otpauth://totp/Broker:me?secret=KEYWARDCANARYSEEDQQQQQQQQQQQQQQQ&algorithm=SHA256&digits=8&period=60";

/// The codes `totp` gives just before and just after a run: the run's code is one of them
/// (a step may end while it runs).
fn around(totp: &Totp, run: impl FnOnce() -> std::process::Output) -> (Vec<String>, Vec<u8>) {
    let before = totp.current().expose().to_owned();
    let out = run();
    assert!(out.status.success(), "{}", stderr(&out));
    let after = totp.current().expose().to_owned();
    (vec![before, after], out.stdout)
}

/// Writes a `.env` file with mode 0600 (the dotenv store refuses looser files).
fn write_env(path: &Path, text: impl AsRef<[u8]>) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn code_from_a_dotenv_store_as_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join(".env");
    write_env(
        &env_file,
        format!(
            "KEYWARD_SEED=\"{}\"\nKEYWARD_BROKER_TOTP_SECRET=\"{URI}\"\n",
            SEED.to_lowercase()
        ),
    );
    let store = format!("dotenv:{}", env_file.display());

    let totp = Totp::parse(SEED).unwrap();
    let (codes, stdout) = around(&totp, || {
        keyward(&["totp", "seed", "--store", &store], b"", &[])
    });
    let text = String::from_utf8(stdout).unwrap();
    let (code, left) = text
        .strip_suffix("s left\n")
        .and_then(|t| t.split_once(' '))
        .unwrap_or_else(|| panic!("unexpected output {text:?}"));
    assert!(codes.iter().any(|c| c == code), "{code} not in {codes:?}");
    assert_eq!(code.len(), 6);
    assert!(left.parse::<u64>().unwrap() < 30, "{text}");

    let totp = Totp::parse(URI).unwrap();
    let (codes, stdout) = around(&totp, || {
        keyward(
            &["totp", "broker", "--store", &store, "--format", "json"],
            b"",
            &[],
        )
    });
    let json: Value = serde_json::from_slice(&stdout).unwrap();
    let code = json["code"].as_str().unwrap();
    assert!(codes.iter().any(|c| c == code), "{code} not in {codes:?}");
    assert_eq!(code.len(), 8);
    assert_eq!(json["algorithm"], "SHA256");
    assert_eq!(json["digits"], 8);
    assert_eq!(json["period"], 60);
    assert!(json["seconds_left"].as_u64().unwrap() < 60, "{json}");
}

#[test]
fn code_from_a_totp_secret_field_in_a_temporary_vault() {
    let home = tempfile::tempdir().unwrap();
    let env = [("KEYWARD_HOME", home.path().to_str().unwrap())];
    let out = keyward(&["vault", "init"], b"", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = keyward(
        &[
            "secret",
            "put",
            "upstox",
            "--field",
            "password",
            "--field",
            "totp_secret",
        ],
        format!(
            "password=hunter2\ntotp_secret={}\n",
            "keyw ardc anar ysee dqqq qqqq qqqq qqqq"
        )
        .as_bytes(),
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let totp = Totp::parse(SEED).unwrap();
    let (codes, stdout) = around(&totp, || keyward(&["totp", "upstox"], b"", &env));
    let text = String::from_utf8(stdout).unwrap();
    let code = text.split(' ').next().unwrap();
    assert!(codes.iter().any(|c| c == code), "{text:?} vs {codes:?}");
}

#[test]
fn bad_seeds_fail_without_showing_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join(".env");
    write_env(
        &env_file,
        format!(
            "KEYWARD_BAD={SEED}!\nKEYWARD_SHORT={SEED}Q\nKEYWARD_HOTP=otpauth://hotp/x?secret={SEED}\nKEYWARD_NOSEED_PASSWORD={SEED}\n"
        ),
    );
    let store = format!("dotenv:{}", env_file.display());
    for (name, needle) in [
        ("bad", "not base32: character 33"),
        ("short", "33 characters cannot encode whole bytes"),
        ("hotp", "HOTP"),
        ("noseed", "no totp_secret field"),
        ("absent", "could not read the TOTP seed \"absent\""),
    ] {
        let out = keyward(&["totp", name, "--store", &store], b"", &[]);
        assert_fails(&out, needle);
        let err = stderr(&out);
        for piece in ["KEYWARDCANARY", "CANARYSEED", "keywardcanary"] {
            assert!(!err.contains(piece), "{name}: {err}");
        }
    }
}
