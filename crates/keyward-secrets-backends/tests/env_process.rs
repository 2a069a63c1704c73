//! The process environment as the env and dotenv stores read it, with variables that are not
//! UTF-8 (finding 6 of issue 13: `std::env::vars()` panicked on them and the panic printed the
//! value).
//!
//! Setting such a variable in this process would need `unsafe` (edition 2024), so the test runs
//! this binary again on `child_reads_the_environment` with the variables set by `Command::env`,
//! the child's environment alone. Without `KEYWARD_ENV_CHILD` the child returns at once.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};

use keyward_secrets_backends::{DotenvStore, EnvStore, Error, SecretStore, SecretValue, Selector};

/// Tells the child where the `.env` file is.
const CHILD_ENV: &str = "KEYWARD_ENV_CHILD";
/// A value that is not UTF-8 and holds a canary that must never be printed.
const BAD_VALUE: &[u8] = b"NONUTF8-CANARY-\xff\xfe";

/// The child: reads the environment through both stores and checks what they make of it.
#[test]
fn child_reads_the_environment() {
    let Some(dotenv) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let env = EnvStore::from_process("KEYWARD");
    let dotenv = DotenvStore::open(&dotenv, "KEYWARD").unwrap();
    for store in [&env as &dyn SecretStore, &dotenv] {
        // A readable variable next to the unreadable ones is found.
        let good = rt.block_on(store.get("good", &Selector::Current)).unwrap();
        assert!(good.value.same_as(&SecretValue::bytes(b"fine".to_vec())));
        // The variable whose value is not UTF-8 is a typed error that names it, not its value.
        let err = rt
            .block_on(store.get("bad", &Selector::Current))
            .unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("KEYWARD_BAD"), "{shown}");
        assert!(!shown.contains("CANARY"), "{shown}");
    }
    println!("CHILD-OK");
}

#[test]
fn variables_that_are_not_utf8_neither_panic_nor_show_their_value() {
    let dir = tempfile::tempdir().unwrap();
    let dotenv = dir.path().join(".env");
    std::fs::write(&dotenv, "KEYWARD_OTHER=1\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dotenv, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "child_reads_the_environment",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &dotenv)
        .env("KEYWARD_GOOD", "fine")
        .env("KEYWARD_BAD", OsStr::from_bytes(BAD_VALUE))
        // A name that is not UTF-8 either, outside and inside the prefix.
        .env(OsStr::from_bytes(b"UNRELATED_\xff"), "x")
        .env(
            OsStr::from_bytes(b"KEYWARD_\xff"),
            OsStr::from_bytes(BAD_VALUE),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "child failed: {stdout}\n{stderr}"
    );
    assert!(!stdout.contains("CANARY") && !stderr.contains("CANARY"));
}
