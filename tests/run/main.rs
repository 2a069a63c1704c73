//! `keyward run` with the real binary (issue 19): a Python program (`tests/run/python/child.py`)
//! started by `keyward run` gets the vault's values in its environment, sees them masked in its
//! output, passes its exit code, its signals and its stdin through, and never starts when a
//! variable cannot be resolved. The master key never reaches it, and the audit log names the
//! secrets and the program, never a value.
//!
//! Python comes from `KEYWARD_PYTHON`, else `.venv/bin/python` at the workspace root. When
//! `KEYWARD_REQUIRE_INTEROP` is set, a missing interpreter is a failure; otherwise the test says
//! why it did not run and passes. No test sleeps: each waits on a line the child prints.

#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/python.rs"]
mod python;

use std::io::{BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::keyward;
use rustix::process::{Pid, Signal, kill_process};
use sha2::{Digest as _, Sha256};

/// The value handed over: a canary that must show nowhere but in the child's environment.
const CANARY: &str = "CANARY-run-7f3a9c1e-secret-value";
/// The bytes secret's value.
const TOKEN: &str = "CANARY-token-b81d44f0";
/// A master key in keyward's environment that must not reach the child.
const MASTER_CANARY: &str = "CANARY-master-key-in-keyward-env";
const MASK: &str = "<concealed by keyward>";

/// Variables a test gives itself, never inherited (as tests/common does).
const NOT_INHERITED: [&str; 4] = [
    "KEYWARD_MASTER_KEY",
    "KEYWARD_REDIS_URL",
    "KEYWARD_AUDIT_LOG",
    "KEYWARD_ENV",
];

fn script() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/run/python/child.py")
        .to_str()
        .unwrap()
        .to_owned()
}

/// A default vault in a temporary KEYWARD_HOME holding `bot/binance` (fields `api_key`,
/// `secret`) and `bot-token` (bytes).
struct Vault {
    home: tempfile::TempDir,
    python: PathBuf,
}

impl Vault {
    fn new() -> Option<Self> {
        let python = python::interpreter()?;
        let home = tempfile::tempdir().unwrap();
        let vault = Self { home, python };
        assert!(
            keyward(&["vault", "init"], b"", &vault.env())
                .status
                .success()
        );
        let fields = format!("api_key=public-key-id\nsecret={CANARY}\n");
        let put = ["secret", "put", "bot/binance", "--field", "api_key"];
        let out = keyward(
            &[&put[..], &["--field", "secret"]].concat(),
            fields.as_bytes(),
            &vault.env(),
        );
        assert!(out.status.success(), "{}", common::stderr(&out));
        let out = keyward(
            &["secret", "put", "bot-token"],
            TOKEN.as_bytes(),
            &vault.env(),
        );
        assert!(out.status.success(), "{}", common::stderr(&out));
        Some(vault)
    }

    fn env(&self) -> Vec<(&str, &str)> {
        vec![("KEYWARD_HOME", self.home.path().to_str().unwrap())]
    }

    /// `keyward run OPTIONS -- python child.py ACTIONS`, started with piped stdio.
    fn start(&self, options: &[&str], actions: &[&str], extra_env: &[(&str, &str)]) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        cmd.arg("run").args(options).arg("--");
        cmd.arg(&self.python).arg(script()).args(actions);
        for name in NOT_INHERITED {
            cmd.env_remove(name);
        }
        cmd.envs(self.env())
            .envs(extra_env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    }

    fn run(&self, options: &[&str], actions: &[&str]) -> Output {
        self.start(options, actions, &[])
            .wait_with_output()
            .unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_no_canary(out: &Output) {
    for stream in [&out.stdout, &out.stderr] {
        let t = text(stream);
        assert!(
            !t.contains(CANARY) && !t.contains(TOKEN),
            "a value leaked: {t}"
        );
    }
}

const SECRET_ENV: &str = "API_SECRET=bot/binance#secret";

#[test]
fn the_child_gets_the_values_and_its_output_is_masked() {
    let Some(vault) = Vault::new() else { return };
    let out = vault.run(
        &["--env", SECRET_ENV, "--env", "BOT_TOKEN=bot-token"],
        &[
            "hash",
            "API_SECRET",
            "hash",
            "BOT_TOKEN",
            "leak",
            "API_SECRET",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let sha = |v: &str| format!("{:x}", Sha256::digest(v.as_bytes()));
    let leaked = format!("{MASK}\ninside [{MASK}] a line\nsplit {MASK} end\n");
    assert_eq!(
        stdout,
        format!(
            "API_SECRET {}\nBOT_TOKEN {}\n{leaked}",
            sha(CANARY),
            sha(TOKEN)
        )
    );
    assert_eq!(text(&out.stderr), leaked);
    assert_no_canary(&out);
}

#[test]
fn no_masking_passes_the_output_untouched() {
    let Some(vault) = Vault::new() else { return };
    let out = vault.run(
        &["--no-masking", "--env", SECRET_ENV],
        &["leak", "API_SECRET"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with(&format!("{CANARY}\n")));
    assert!(!text(&out.stdout).contains(MASK));
}

#[test]
fn exit_codes_pass_through_and_a_signal_death_is_128_plus_n() {
    let Some(vault) = Vault::new() else { return };
    for (actions, code) in [
        (&["exit", "0"][..], 0),
        (&["exit", "7"], 7),
        (&["kill", "TERM"], 143),
        (&["kill", "KILL"], 137),
    ] {
        let out = vault.run(&["--env", SECRET_ENV], actions);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{actions:?}: {}",
            text(&out.stderr)
        );
    }
}

/// Reads stdout lines until `line`; panics at EOF.
fn wait_for(reader: &mut impl std::io::BufRead, line: &str) {
    let mut got = String::new();
    loop {
        got.clear();
        assert_ne!(
            reader.read_line(&mut got).unwrap(),
            0,
            "EOF before {line:?}"
        );
        if got.trim_end() == line {
            return;
        }
    }
}

#[test]
fn signals_are_forwarded_to_the_child() {
    let Some(vault) = Vault::new() else { return };
    for (signal, name, action, code) in [
        (Signal::INT, "SIGINT", "signals", 3),
        (Signal::TERM, "SIGTERM", "signals", 3),
        (Signal::HUP, "SIGHUP", "signals", 3),
        (Signal::TERM, "SIGTERM", "reraise", 143),
        (Signal::INT, "SIGINT", "reraise", 130),
    ] {
        let mut child = vault.start(&["--env", SECRET_ENV], &[action], &[]);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        wait_for(&mut stdout, "ready");
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
        kill_process(pid, signal).unwrap();
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(rest, format!("got {name}\n"), "{name} {action}");
        assert_eq!(status.code(), Some(code), "{name} {action}");
    }
}

#[test]
fn stdin_passes_through_and_a_prompt_is_not_held_back() {
    let Some(vault) = Vault::new() else { return };
    let mut child = vault.start(&["--env", SECRET_ENV], &["echo"], &[]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // "ready" comes before the child reads stdin: keyward passed it on without waiting for EOF.
    wait_for(&mut stdout, "ready");
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "echo: hello\n");
    assert!(child.wait().unwrap().success());
}

#[test]
fn errors_before_the_start_leave_the_command_unstarted() {
    let Some(vault) = Vault::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let bad_file = dir.path().join("bad.env");
    std::fs::write(
        &bad_file,
        format!("# keys\nAPI_SECRET=bot/binance#secret\n{CANARY}\n"),
    )
    .unwrap();
    let revoked = keyward(
        &["secret", "put", "old-token"],
        b"x-old-value",
        &vault.env(),
    );
    assert!(revoked.status.success());
    let revoke = keyward(&["secret", "revoke", "old-token"], b"", &vault.env());
    assert!(revoke.status.success(), "{}", text(&revoke.stderr));
    let bad_path = bad_file.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (
            &["--env", "X=no-such-secret#f"],
            "secret no-such-secret not found",
        ),
        (&["--env", "X=bot/binance#nope"], "has no field nope"),
        (&["--env", "X=bot/binance"], "has fields (api_key, secret)"),
        (
            &["--env", "1X=bot/binance#secret"],
            "not a valid environment variable name",
        ),
        (
            &["--env", SECRET_ENV, "--env", "API_SECRET=bot-token"],
            "variable API_SECRET is already set",
        ),
        (&["--env-file", bad_path], "bad.env line 3"),
        (&["--env", "X=old-token"], "revoked"),
    ];
    for (options, needle) in cases {
        let marker = dir.path().join("ran");
        let out = vault.run(options, &["marker", marker.to_str().unwrap()]);
        common::assert_fails(&out, needle);
        assert!(!marker.exists(), "{options:?}: the command ran");
        assert_no_canary(&out);
    }
}

fn audit_lines(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn env_file_master_key_and_audit_log() {
    let Some(vault) = Vault::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("bot.env");
    std::fs::write(
        &env_file,
        "# safe to commit: names only\n\nAPI_SECRET=bot/binance#secret\nAPI_KEY=bot/binance#api_key\nBOT_TOKEN=bot-token\n",
    )
    .unwrap();
    let log = dir.path().join("audit.log");
    let child = vault.start(
        &[
            "--env-file",
            env_file.to_str().unwrap(),
            "--audit-log",
            log.to_str().unwrap(),
        ],
        &["hash", "API_SECRET", "env"],
        &[
            ("KEYWARD_MASTER_KEY", MASTER_CANARY),
            ("KEYWARD_REDIS_URL", "redis://:CANARY-redis-pw@127.0.0.1:1"),
            ("KEYWARD_BOT_SECRET", "CANARY-env-store-secret"),
        ],
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let names: Vec<&str> = stdout.lines().skip(1).collect();
    for present in ["API_SECRET", "API_KEY", "BOT_TOKEN", "PATH", "KEYWARD_HOME"] {
        assert!(names.contains(&present), "{present} missing: {names:?}");
    }
    for absent in [
        "KEYWARD_MASTER_KEY",
        "KEYWARD_REDIS_URL",
        "KEYWARD_BOT_SECRET",
    ] {
        assert!(!names.contains(&absent), "{absent} reached the child");
    }
    assert!(stdout.starts_with(&format!(
        "API_SECRET {:x}\n",
        Sha256::digest(CANARY.as_bytes())
    )));
    assert_no_canary(&out);

    let lines = audit_lines(&log);
    let program = vault.python.file_name().unwrap().to_str().unwrap();
    for subject in [
        format!("run/{program}/API_SECRET=bot/binance+secret"),
        format!("run/{program}/API_KEY=bot/binance+api_key"),
        format!("run/{program}/BOT_TOKEN=bot-token"),
    ] {
        assert!(
            lines
                .lines()
                .any(|l| l.contains("\"secret_handover\"") && l.contains(&subject)),
            "{subject} not in {lines}"
        );
    }
    assert!(!lines.contains(CANARY) && !lines.contains(TOKEN) && !lines.contains("public-key-id"));
    assert!(
        !lines.contains("child.py"),
        "the arguments were logged: {lines}"
    );
    let verify = keyward(
        &["audit", "verify", log.to_str().unwrap()],
        b"",
        &vault.env(),
    );
    assert!(verify.status.success(), "{}", text(&verify.stderr));
}
