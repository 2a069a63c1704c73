//! Helpers shared by the end-to-end suites: running the `keyward` binary as a user would.
#![allow(dead_code)] // reason: each suite uses its own subset of the helpers

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Settings `keyward` reads from the environment that a test must give itself, never inherit
/// from the shell or CI that runs it: a master key, and a fleet's Redis (which `keyward doctor`
/// would check).
const NOT_INHERITED: [&str; 5] = [
    "KEYWARD_MASTER_KEY",
    "KEYWARD_REDIS_URL",
    "KEYWARD_REDIS_PREFIX",
    "KEYWARD_REDIS_CA_FILE",
    "KEYWARD_FLEET_SIZE",
];

/// Runs `keyward args...` with `stdin`, with `env` and without inheriting [`NOT_INHERITED`].
pub fn keyward(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
    cmd.args(args);
    for name in NOT_INHERITED {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // keyward may exit before reading its input (a bad key is reported first): a broken pipe
    // here is part of the scenario, not a failure of the test.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// The standard error of a run, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a clean failure: exit code 1, one sentence on stderr, no panic.
pub fn assert_fails(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(err.starts_with("keyward: error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
    assert!(out.stdout.is_empty());
}

/// Asserts that no part of the private key `pem` (its whole base64 body, or any line of it)
/// shows in any of `outputs`.
pub fn assert_key_hidden(pem: &str, outputs: &[&[u8]]) {
    let body: Vec<&str> = pem
        .split(['\n', '\r'])
        .flat_map(|line| line.split("\\n"))
        .filter(|line| !line.is_empty() && !line.starts_with("-----"))
        .collect();
    assert!(!body.is_empty(), "no key body in {pem:?}");
    let joined = body.concat();
    for out in outputs {
        let text = String::from_utf8_lossy(out);
        assert!(!text.contains(&joined), "the private key leaked: {text}");
        for line in &body {
            if line.len() >= 16 {
                assert!(
                    !text.contains(line),
                    "a line of the private key leaked: {text}"
                );
            }
        }
        assert!(
            !text.contains("PRIVATE KEY-----"),
            "a private key block leaked: {text}"
        );
    }
}
