//! `cargo xtask fuzz [--time SECONDS] [--cpu-time SECONDS] [--list] [TARGET...]`: builds the
//! cargo-fuzz targets of `fuzz/` and runs each one, with its seed corpus, for a while.
//!
//! - cargo-fuzz is installed (`cargo install cargo-fuzz --locked`) when `cargo fuzz` is missing.
//! - The targets are the `[[bin]]` names of `fuzz/Cargo.toml` (all of them when none is named).
//! - Before a target runs, its seeds (generated from the repository's test vectors by
//!   `fuzz_seeds.rs`) are written into `fuzz/corpus/<target>/`, so a fresh clone with no corpus
//!   runs too; what the fuzzer finds is added to the same directory.
//! - `--time S` runs each target for `S` seconds of wall time (libFuzzer's `-max_total_time`);
//!   `--cpu-time S` runs it in segments until the fuzzer has used `S` CPU-seconds (on a loaded
//!   machine wall time is not CPU time); without either, 60 s of wall time.
//! - Each target's CPU seconds, executions, corpus size and crashes (artifact paths under
//!   `fuzz/artifacts/<target>/`) are printed and appended to `fuzz/target/report.md`
//!   (git-ignored). The command fails when any target crashed.
//!
//! The fuzzer binaries are built once (`cargo fuzz build`, release with debug assertions,
//! AddressSanitizer) and run directly, so that the CPU time counted is the fuzzer's own.

use crate::cmd::{self, cargo, project_root};
use crate::fuzz_seeds;
use anyhow::{Context, Result, bail};
use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The cargo-fuzz crate, relative to the workspace root.
const FUZZ_DIR: &str = "fuzz";
/// Where the report is appended, relative to the workspace root (git-ignored).
const REPORT: &str = "fuzz/target/report.md";
/// The wall time a target runs for when neither `--time` nor `--cpu-time` is given.
const DEFAULT_SECONDS: u64 = 60;
/// The shortest segment of a `--cpu-time` run, in seconds of wall time: each segment first
/// replays the whole corpus, so shorter ones would spend their time reloading it.
const MIN_SEGMENT: u64 = 30;
/// libFuzzer's per-input time limit: an input that takes longer is a finding (a hang).
const INPUT_TIMEOUT_SECS: u64 = 10;
/// Clock ticks per second of `/proc/<pid>/stat` times: `USER_HZ`, which Linux fixes at 100 in
/// its user-space ABI whatever the kernel's own tick rate.
const TICKS_PER_SECOND: f64 = 100.0;

/// How long each target runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Seconds of wall time (libFuzzer's `-max_total_time`).
    Wall(u64),
    /// CPU-seconds used by the fuzzer process, over as many segments as that takes.
    Cpu(u64),
}

/// What `cargo xtask fuzz` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// How long each target runs.
    pub budget: Budget,
    /// Only list the targets.
    pub list: bool,
    /// The targets to run; all when empty.
    pub targets: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            budget: Budget::Wall(DEFAULT_SECONDS),
            list: false,
            targets: Vec::new(),
        }
    }
}

/// Parses the words after `fuzz`; an error names the word that is wrong.
pub fn parse_args(words: &[&str]) -> Result<Options> {
    let mut options = Options::default();
    let mut budget = None;
    let mut words = words.iter();
    while let Some(&word) = words.next() {
        match word {
            "--time" | "--cpu-time" => {
                let value = words
                    .next()
                    .with_context(|| format!("{word} needs a number of seconds"))?;
                let seconds: u64 =
                    value.parse().ok().filter(|&s| s > 0).with_context(|| {
                        format!("{word} {value}: not a whole number of seconds")
                    })?;
                if budget.is_some() {
                    bail!("give --time or --cpu-time, once");
                }
                budget = Some(if word == "--time" {
                    Budget::Wall(seconds)
                } else {
                    Budget::Cpu(seconds)
                });
            }
            "--list" => options.list = true,
            _ if word.starts_with('-') => bail!("unknown option {word}"),
            target => options.targets.push(target.to_owned()),
        }
    }
    if let Some(budget) = budget {
        options.budget = budget;
    }
    Ok(options)
}

/// Runs `cargo xtask fuzz` with `options`.
pub fn run(options: &Options) -> Result<()> {
    let root = project_root();
    let fuzz_dir = root.join(FUZZ_DIR);
    let manifest = fs::read_to_string(fuzz_dir.join("Cargo.toml"))
        .with_context(|| format!("could not read {}/Cargo.toml", fuzz_dir.display()))?;
    let all = bin_names(&manifest);
    if options.list {
        for target in &all {
            println!("{target:<16} {}", summary(&fuzz_dir, target));
        }
        return Ok(());
    }
    let targets = select(&all, &options.targets)?;

    let toolchain = Toolchain::detect();
    ensure_cargo_fuzz(&toolchain)?;
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| fuzz_dir.join("target"), PathBuf::from);
    eprintln!("==> xtask fuzz: build ({})", toolchain.describe());
    // `cargo fuzz build` builds one target, or all of them when none is named.
    let builds: Vec<Option<&String>> = if targets.len() == all.len() {
        vec![None]
    } else {
        targets.iter().map(Some).collect()
    };
    for target in builds {
        let mut build = toolchain.cargo_fuzz();
        build
            .current_dir(&fuzz_dir)
            .args(["build", "--target-dir"])
            .arg(&target_dir)
            .args(target);
        cmd::run(&mut build).context("xtask fuzz: the fuzz targets did not build")?;
    }
    let bin_dir = target_dir.join(host_triple()?).join("release");

    let mut results = Vec::new();
    for target in &targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        let written = write_seeds(&root, target, &corpus)?;
        eprintln!("==> xtask fuzz: {target} ({written} seeds from the test vectors)");
        let artifacts = fuzz_dir.join("artifacts").join(target);
        fs::create_dir_all(&artifacts)
            .with_context(|| format!("could not create {}", artifacts.display()))?;
        let result = fuzz_one(
            &bin_dir.join(target),
            target,
            &corpus,
            &artifacts,
            options.budget,
        )?;
        eprintln!("==> xtask fuzz: {}", result.line());
        results.push(result);
    }

    let report = render(&results, options.budget, &toolchain);
    print!("{report}");
    append_report(&root.join(REPORT), &report)?;
    let crashed: Vec<&str> = results
        .iter()
        .filter(|r| r.failed())
        .map(|r| r.target.as_str())
        .collect();
    if !crashed.is_empty() {
        bail!(
            "xtask fuzz: {} found a crash (see {REPORT} and fuzz/artifacts/)",
            crashed.join(", ")
        );
    }
    Ok(())
}

/// The `name`s of the `[[bin]]` tables of a cargo-fuzz manifest, in order.
///
/// Read line by line rather than with a TOML crate (xtask keeps few dependencies): the fuzz
/// manifest writes each `[[bin]]` as cargo-fuzz generates it, `name = "..."` on its own line.
fn bin_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin {
            let value = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix('='))
                .map(|rest| rest.trim().trim_matches('"'));
            if let Some(name) = value {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// The targets asked for (all when none), or an error naming an unknown one.
fn select(all: &[String], asked: &[String]) -> Result<Vec<String>> {
    if asked.is_empty() {
        if all.is_empty() {
            bail!("fuzz/Cargo.toml declares no [[bin]] target");
        }
        return Ok(all.to_vec());
    }
    for name in asked {
        if !all.contains(name) {
            bail!(
                "unknown fuzz target {name:?}; the targets are: {}",
                all.join(", ")
            );
        }
    }
    Ok(asked.to_vec())
}

/// The first line of a target's module documentation (`//! ...`), for `--list`.
fn summary(fuzz_dir: &Path, target: &str) -> String {
    let path = fuzz_dir.join("fuzz_targets").join(format!("{target}.rs"));
    fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("//! ").map(str::to_owned))
        })
        .unwrap_or_default()
}

/// The toolchain the fuzz targets build with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Toolchain {
    /// The nightly toolchain, installed with rustup.
    Nightly,
    /// The toolchain running xtask, with `RUSTC_BOOTSTRAP=1`.
    Bootstrapped,
}

impl Toolchain {
    /// Nightly when `rustup toolchain list` shows it.
    fn detect() -> Self {
        let listed = cmd::output(Command::new("rustup").args(["toolchain", "list"]));
        let has_nightly = listed.is_ok_and(|list| {
            list.lines()
                .any(|line| line.trim_start().starts_with("nightly"))
        });
        if has_nightly {
            Self::Nightly
        } else {
            Self::Bootstrapped
        }
    }

    /// `cargo fuzz` on this toolchain.
    fn cargo_fuzz(self) -> Command {
        match self {
            Self::Nightly => {
                // `rustup run` rather than `cargo +nightly`: under `cargo xtask` the `cargo`
                // first in PATH may be the toolchain's own binary, which takes no `+toolchain`.
                // CARGO is removed so that cargo-fuzz runs nightly's cargo, not the one that
                // runs xtask.
                let mut command = Command::new("rustup");
                command
                    .args(["run", "nightly", "cargo", "fuzz"])
                    .env_remove("CARGO")
                    .env_remove("RUSTUP_TOOLCHAIN");
                command
            }
            Self::Bootstrapped => {
                // cargo-fuzz passes unstable flags (`-Zsanitizer=address`, `-Cpasses=...`,
                // `-Zbuild-std` when asked) to rustc: a stable rustc refuses them unless
                // RUSTC_BOOTSTRAP=1 lets it act as a nightly one (checked with stable 1.95:
                // refused without it, built and ran an AddressSanitizer binary with it).
                let mut command = cargo();
                command.arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
                command
            }
        }
    }

    /// How the report names it.
    fn describe(self) -> &'static str {
        match self {
            Self::Nightly => "nightly toolchain",
            Self::Bootstrapped => "stable toolchain with RUSTC_BOOTSTRAP=1",
        }
    }
}

/// Installs cargo-fuzz when `cargo fuzz --version` fails.
fn ensure_cargo_fuzz(toolchain: &Toolchain) -> Result<()> {
    let installed = toolchain
        .cargo_fuzz()
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if installed {
        return Ok(());
    }
    eprintln!("==> xtask fuzz: installing cargo-fuzz");
    cmd::run(cargo().args(["install", "cargo-fuzz", "--locked"]))
        .context("xtask fuzz: could not install cargo-fuzz")
}

/// The host's target triple (`rustc -vV`), under which cargo-fuzz puts the binaries.
fn host_triple() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let text = cmd::output(Command::new(rustc).arg("-vV"))?;
    text.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("`rustc -vV` names no host")
}

/// Writes `target`'s seeds into `corpus` (created if missing), each under a name made from its
/// contents, and returns how many there are.
fn write_seeds(root: &Path, target: &str, corpus: &Path) -> Result<usize> {
    fs::create_dir_all(corpus).with_context(|| format!("could not create {}", corpus.display()))?;
    let seeds = fuzz_seeds::seeds(root, target)?.unwrap_or_default();
    for seed in &seeds {
        let mut hasher = DefaultHasher::new();
        seed.hash(&mut hasher);
        let path = corpus.join(format!("seed-{:016x}", hasher.finish()));
        if !path.exists() {
            fs::write(&path, seed)
                .with_context(|| format!("could not write {}", path.display()))?;
        }
    }
    Ok(seeds.len())
}

/// What one target's run came to.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    /// The target.
    target: String,
    /// CPU-seconds the fuzzer used.
    cpu_seconds: f64,
    /// Inputs executed.
    executions: u64,
    /// Files in the corpus directory after the run.
    corpus_files: usize,
    /// Their total size in bytes.
    corpus_bytes: u64,
    /// Crash, timeout and out-of-memory inputs libFuzzer wrote.
    artifacts: Vec<String>,
    /// A fuzzer exit that was neither success nor a written artifact, as text.
    abnormal_exit: Option<String>,
}

impl Outcome {
    /// Whether the target found something (or stopped abnormally).
    fn failed(&self) -> bool {
        !self.artifacts.is_empty() || self.abnormal_exit.is_some()
    }

    /// The findings, as a report cell.
    fn findings(&self) -> String {
        let mut parts = self.artifacts.clone();
        parts.extend(self.abnormal_exit.clone());
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join("; ")
        }
    }

    /// One line for the terminal.
    fn line(&self) -> String {
        format!(
            "{}: {:.0} CPU s, {} executions, corpus {} files ({} bytes), findings: {}",
            self.target,
            self.cpu_seconds,
            self.executions,
            self.corpus_files,
            self.corpus_bytes,
            self.findings()
        )
    }
}

/// What one libFuzzer process reported.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Segment {
    /// Inputs executed (`stat::number_of_executed_units`, else the last `#N` status line).
    executions: u64,
    /// Paths from `Test unit written to <path>` lines.
    artifacts: Vec<String>,
}

/// Reads libFuzzer's output for the figures and artifacts it reports.
fn scan_line(line: &str, segment: &mut Segment) {
    if let Some(rest) = line.strip_prefix("stat::number_of_executed_units:") {
        if let Ok(n) = rest.trim().parse() {
            segment.executions = n;
        }
    } else if let Some(rest) = line.strip_prefix('#') {
        // `#4096\tpulse  cov: ...`, `#12345\tDONE ...`
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<u64>() {
            segment.executions = segment.executions.max(n);
        }
    } else if let Some(rest) = line.strip_prefix("Done ") {
        // `Done 3000 runs in 1 second(s)`
        if let Some(n) = rest.split(' ').next().and_then(|n| n.parse::<u64>().ok()) {
            segment.executions = segment.executions.max(n);
        }
    }
    if let Some((_, path)) = line.split_once("Test unit written to ") {
        segment.artifacts.push(path.trim().to_owned());
    }
}

/// CPU-seconds used so far by this process's waited-for children (`cutime + cstime` of
/// `/proc/self/stat`).
fn children_cpu_seconds() -> Result<f64> {
    let stat = fs::read_to_string("/proc/self/stat").context("could not read /proc/self/stat")?;
    parse_children_cpu(&stat).context("/proc/self/stat is not in the expected form")
}

/// `cutime + cstime` (fields 16 and 17) of a `/proc/<pid>/stat` line, in seconds. The command
/// name (field 2) may hold spaces and parentheses, so fields are counted after its last `)`.
fn parse_children_cpu(stat: &str) -> Option<f64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // After the name come field 3 (state) onwards: cutime is field 16, at index 13 here.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some((cutime + cstime) as f64 / TICKS_PER_SECOND)
}

/// Runs one libFuzzer process for `seconds` of wall time, echoing its output.
fn run_segment(
    binary: &Path,
    corpus: &Path,
    artifacts: &Path,
    seconds: u64,
) -> Result<(Segment, std::process::ExitStatus)> {
    let mut command = Command::new(binary);
    command
        // The bundled SQLite (vault_rows, dotenv's crate) defines two arrays of one name in two
        // objects; ASan's ODR check stops at startup on them (cargo fuzz run sets this too).
        .env("ASAN_OPTIONS", "detect_odr_violation=0")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECS}"))
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(corpus)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    eprintln!("$ {}", cmd::display(&command));
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start {}", binary.display()))?;
    let mut segment = Segment::default();
    if let Some(stderr) = child.stderr.take() {
        let mut reader = BufReader::new(stderr);
        let mut raw = Vec::new();
        let mut echo = std::io::stderr().lock();
        loop {
            raw.clear();
            if reader.read_until(b'\n', &mut raw)? == 0 {
                break;
            }
            // The echo is best effort: a closed terminal must not stop the run.
            let _ = echo.write_all(&raw);
            scan_line(String::from_utf8_lossy(&raw).trim_end(), &mut segment);
        }
    }
    let status = child.wait()?;
    Ok((segment, status))
}

/// Runs one target within `budget`, then measures its corpus.
fn fuzz_one(
    binary: &Path,
    target: &str,
    corpus: &Path,
    artifacts: &Path,
    budget: Budget,
) -> Result<Outcome> {
    let start = children_cpu_seconds()?;
    let mut executions = 0;
    let mut found = Vec::new();
    let mut abnormal_exit = None;
    loop {
        let used = children_cpu_seconds()? - start;
        let seconds = match budget {
            Budget::Wall(seconds) => seconds,
            Budget::Cpu(total) => {
                let left = total as f64 - used;
                if left <= 0.0 {
                    break;
                }
                (left.ceil() as u64).max(MIN_SEGMENT)
            }
        };
        let (segment, status) = run_segment(binary, corpus, artifacts, seconds)?;
        executions += segment.executions;
        let crashed = !segment.artifacts.is_empty();
        found.extend(segment.artifacts);
        if !status.success() && !crashed {
            abnormal_exit = Some(format!("the fuzzer exited with {status}"));
        }
        if crashed || abnormal_exit.is_some() || matches!(budget, Budget::Wall(_)) {
            break;
        }
    }
    let cpu_seconds = children_cpu_seconds()? - start;
    let (corpus_files, corpus_bytes) = corpus_size(corpus)?;
    Ok(Outcome {
        target: target.to_owned(),
        cpu_seconds,
        executions,
        corpus_files,
        corpus_bytes,
        artifacts: found,
        abnormal_exit,
    })
}

/// The number of files in a corpus directory and their total size.
fn corpus_size(dir: &Path) -> Result<(usize, u64)> {
    let mut files = 0;
    let mut bytes = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("could not list {}", dir.display()))? {
        let meta = entry?.metadata()?;
        if meta.is_file() {
            files += 1;
            bytes += meta.len();
        }
    }
    Ok((files, bytes))
}

/// The report of one `cargo xtask fuzz` run, as markdown.
fn render(results: &[Outcome], budget: Budget, toolchain: &Toolchain) -> String {
    let date = cmd::output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
        .map_or_else(|_| "unknown date".to_owned(), |d| d.trim().to_owned());
    let budget = match budget {
        Budget::Wall(s) => format!("--time {s}"),
        Budget::Cpu(s) => format!("--cpu-time {s}"),
    };
    let mut out = format!(
        "\n## cargo xtask fuzz {budget} ({date}, {})\n\n\
         | target | CPU s | executions | exec per CPU s | corpus files | corpus bytes | findings |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | --- |\n",
        toolchain.describe()
    );
    for r in results {
        let rate = if r.cpu_seconds > 0.0 {
            format!("{:.0}", r.executions as f64 / r.cpu_seconds)
        } else {
            "-".to_owned()
        };
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {rate} | {} | {} | {} |",
            r.target,
            r.cpu_seconds,
            r.executions,
            r.corpus_files,
            r.corpus_bytes,
            r.findings().replace('|', r"\|")
        );
    }
    out
}

/// Appends `report` to the report file, creating it (and its directory) when missing.
fn append_report(path: &Path, report: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("could not open {}", path.display()))?;
    file.write_all(report.as_bytes())
        .with_context(|| format!("could not write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{
        Budget, Options, Segment, bin_names, parse_args, parse_children_cpu, scan_line, select,
    };

    #[test]
    fn reads_the_bin_names_of_the_manifest() {
        let manifest = "[package]\nname = \"keyward-fuzz\"\n\n[[bin]]\nname = \"fernet\"\n\
                        path = \"fuzz_targets/fernet.rs\"\n\n[[bin]]\nname=\"keys\"\n\
                        [dependencies]\nname = \"not-a-bin\"\n";
        assert_eq!(bin_names(manifest), ["fernet", "keys"]);
    }

    #[test]
    fn the_repositorys_manifest_lists_the_core_targets() {
        let manifest =
            std::fs::read_to_string(crate::cmd::project_root().join("fuzz/Cargo.toml")).unwrap();
        let names = bin_names(&manifest);
        for target in ["fernet", "rest_claims", "keyward_v1", "ws_claims", "keys"] {
            assert!(names.iter().any(|n| n == target), "{target} in {names:?}");
        }
    }

    #[test]
    fn an_unknown_target_is_an_error_naming_the_known_ones() {
        let all = vec!["fernet".to_owned(), "keys".to_owned()];
        assert_eq!(select(&all, &[]).unwrap(), all);
        assert_eq!(select(&all, &["keys".to_owned()]).unwrap(), ["keys"]);
        let error = select(&all, &["fernt".to_owned()]).unwrap_err().to_string();
        assert!(
            error.contains("\"fernt\"") && error.contains("fernet, keys"),
            "{error}"
        );
    }

    #[test]
    fn parses_the_options() {
        assert_eq!(parse_args(&[]).unwrap(), Options::default());
        let options = parse_args(&["--cpu-time", "660", "fernet", "keys"]).unwrap();
        assert_eq!(options.budget, Budget::Cpu(660));
        assert_eq!(options.targets, ["fernet", "keys"]);
        assert_eq!(
            parse_args(&["--time", "10"]).unwrap().budget,
            Budget::Wall(10)
        );
        assert!(parse_args(&["--list"]).unwrap().list);
        assert!(parse_args(&["--time"]).is_err());
        assert!(parse_args(&["--time", "0"]).is_err());
        assert!(parse_args(&["--time", "ten"]).is_err());
        assert!(parse_args(&["--time", "1", "--cpu-time", "1"]).is_err());
        assert!(parse_args(&["--fast"]).is_err());
    }

    #[test]
    fn reads_libfuzzers_figures_and_artifacts() {
        let mut segment = Segment::default();
        for line in [
            "#2\tINITED cov: 10 ft: 10 corp: 1/1b exec/s: 0 rss: 30Mb",
            "#4096\tpulse  cov: 1691 ft: 2683 corp: 86/309b lim: 6 exec/s: 2048 rss: 162Mb",
            "==1234== ERROR: libFuzzer: deadly signal",
            "artifact_prefix='fuzz/artifacts/keys/'; Test unit written to fuzz/artifacts/keys/crash-3f2a",
        ] {
            scan_line(line, &mut segment);
        }
        assert_eq!(segment.executions, 4096);
        assert_eq!(segment.artifacts, ["fuzz/artifacts/keys/crash-3f2a"]);
        scan_line("Done 5000 runs in 2 second(s)", &mut segment);
        assert_eq!(segment.executions, 5000);
        scan_line("stat::number_of_executed_units: 5003", &mut segment);
        assert_eq!(segment.executions, 5003);
    }

    #[test]
    fn reads_the_childrens_cpu_time_after_the_command_name() {
        // Fields 14 to 17 are utime, stime, cutime, cstime; the name holds a space and a `)`.
        let stat = "4242 (x) task) S 1 4242 4242 0 -1 4194304 100 0 0 0 7 3 1234 566 20 0 1 0";
        assert_eq!(parse_children_cpu(stat), Some(18.0));
        assert_eq!(parse_children_cpu("garbage"), None);
        let own = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(parse_children_cpu(&own).is_some());
    }
}
