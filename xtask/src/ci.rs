//! `cargo xtask ci`: the whole CI pipeline, step by step, stopping at the first failure.
//!
//! The last step, `fuzz smoke`, builds every cargo-fuzz target (instrumented, in `fuzz/target`)
//! and runs each for [`FUZZ_SMOKE_SECONDS`] over its seed corpus: a target that no longer builds
//! or crashes at once fails CI; the long runs are `cargo xtask fuzz --cpu-time`'s.
//!
//! After the docs, `docs.rs` builds one library's documentation as docs.rs does (`docsrs.rs`)
//! and `msrv` checks the declared minimum Rust version and builds on it (`msrv.rs`).
//!
//! Every cargo step uses `--workspace --all-features` and none sets `RUSTFLAGS`, so clippy, the
//! tests and the docs share one build cache; only `cargo doc` gets `RUSTDOCFLAGS`, which does not
//! touch the other steps' artifacts.

use crate::cmd::{self, cargo};
use crate::docsrs;
use crate::fuzz;
use crate::moto::Moto;
use crate::msrv;
use crate::python;
use crate::redis::Redis;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};

/// Seconds of wall time each fuzz target runs in the `fuzz smoke` step. Measured on 2 shared
/// cores: the AddressSanitizer build of all targets took 2.5 CPU-minutes (6 minutes of wall time
/// under a load of 9), and five targets at 10 s add under a minute, so the step stays within
/// about 8 minutes with the sanitizer kept.
const FUZZ_SMOKE_SECONDS: u64 = 10;

/// Runs python set-up, fmt, clippy, tests and doctests (with moto_server running), docs and the
/// fuzz smoke, in that order.
pub fn run() -> Result<()> {
    banner("python");
    let python = python::setup().context(failed("python"))?;

    step("fmt", cargo().args(["fmt", "--all", "--", "--check"]))?;

    step(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
    )?;

    // The AWS backend's tests run against a local moto_server, stopped when `moto` drops: after
    // the doctests, or at the first failure.
    banner("moto_server");
    let moto = Moto::start(&python).context(failed("moto_server"))?;
    // The fleet tests run against a real redis-server (installed from Debian's package when
    // missing), stopped when `redis` drops.
    banner("redis-server");
    let redis = Redis::start().context(failed("redis-server"))?;

    // The repository rules (xtask/src/tidy.rs) are tests of the xtask member: they run here.
    let mut tests = cargo();
    if has_nextest() {
        tests.args(["nextest", "run"]);
    } else {
        eprintln!("note: cargo-nextest is not installed; running the tests with cargo test");
        tests.arg("test");
    }
    tests.args(["--workspace", "--all-features", "--no-fail-fast"]);
    step(
        "tests",
        redis.apply(moto.apply(with_interop(&mut tests, &python))),
    )?;

    // nextest does not run doctests; cargo test does, and this reuses the build above.
    step(
        "doctests",
        redis.apply(moto.apply(with_interop(
            cargo().args(["test", "--workspace", "--all-features", "--doc"]),
            &python,
        ))),
    )?;
    drop(moto);
    drop(redis);

    step(
        "docs",
        cargo()
            .args(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;

    // One crate's docs as docs.rs builds them: feature-gated items name their feature.
    banner("docs.rs");
    docsrs::run().context(failed("docs.rs"))?;

    // The declared minimum Rust version is the true one, and the workspace builds on it.
    banner("msrv");
    msrv::run().context(failed("msrv"))?;

    banner("fuzz smoke");
    fuzz::run(&fuzz::Options {
        budget: fuzz::Budget::Wall(FUZZ_SMOKE_SECONDS),
        ..fuzz::Options::default()
    })
    .context(failed("fuzz smoke"))?;

    eprintln!("==> xtask ci: all steps passed");
    Ok(())
}

/// Prints the line that opens a step.
fn banner(name: &str) {
    eprintln!("==> xtask ci: {name}");
}

/// The error context of a failed step, naming it.
fn failed(name: &str) -> String {
    format!("xtask ci: step `{name}` failed")
}

/// Runs one step: banner, command, and an error naming the step if it fails.
fn step(name: &str, command: &mut Command) -> Result<()> {
    banner(name);
    cmd::run(command).context(failed(name))
}

/// Points the tests at the virtualenv's Python and makes the interop tests mandatory: with
/// `KEYWARD_REQUIRE_INTEROP=1` they fail instead of skipping when Python is unusable.
fn with_interop<'a>(command: &'a mut Command, python: &Path) -> &'a mut Command {
    command
        .env("KEYWARD_PYTHON", python)
        .env("KEYWARD_REQUIRE_INTEROP", "1")
}

/// Whether `cargo nextest` is installed (`cargo nextest --version` exits with 0).
fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
