//! `cargo xtask ci`, step `msrv`: the declared minimum Rust version (`rust-version` in the root
//! Cargo.toml) is the true one, and the workspace builds on it.
//!
//! 1. The metadata check, always: the floor is the highest `rust-version` of every package in
//!    the resolved graph (`cargo metadata --format-version 1 --all-features`) and of the
//!    language features our own code uses ([`CODE_FLOOR`]). A dependency needing more than we
//!    declare fails the step, and so does a declaration above the floor (a claim nobody checks).
//! 2. The compile: `cargo check --workspace --all-targets --all-features` on that toolchain
//!    (`rustup run VER cargo`, in its own target directory under `target/`). When rustup does
//!    not list it, `rustup toolchain install VER --profile minimal` is tried for at most
//!    [`INSTALL_WAIT`]; if that cannot be done (no rustup, no network) the step says so in one
//!    line and passes on the metadata check alone: a missing network is not a failure of the
//!    code.

use crate::cmd::{self, cargo};
use anyhow::{Context, Result, bail};
use std::cmp::Ordering;
use std::fmt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The newest language or library feature our own code uses, and the version that brought it:
/// let chains (`if let ... && let ...`), stable in edition 2024 since Rust 1.88
/// (`crates/keyward-cli/src/commands/quickstart/mod.rs`, `keyward-secrets-backends`' AWS store).
/// clippy's `incompatible_msrv` lint checks the standard library items against `rust-version`.
pub const CODE_FLOOR: (&str, &str) = ("1.88", "let chains in edition 2024");

/// The longest `rustup toolchain install` may take before the step gives up on the compile.
const INSTALL_WAIT: Duration = Duration::from_secs(300);

/// A Rust version, `MAJOR.MINOR[.PATCH]`; a missing patch is 0 (`1.88` = `1.88.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// The major, minor and patch numbers.
    parts: (u64, u64, u64),
}

impl Version {
    /// Parses `1.88` or `1.88.0`; anything else (a pre-release, words) is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut numbers = text.trim().split('.').map(|part| part.parse::<u64>().ok());
        let major = numbers.next()??;
        let minor = numbers.next()??;
        let patch = numbers.next().unwrap_or(Some(0))?;
        if numbers.next().is_some() {
            return None;
        }
        Some(Self {
            parts: (major, minor, patch),
        })
    }

    /// The toolchain name rustup installs for it: `1.95` (its latest patch) or `1.95.1`.
    fn toolchain(self) -> String {
        let (major, minor, patch) = self.parts;
        if patch == 0 {
            format!("{major}.{minor}")
        } else {
            format!("{major}.{minor}.{patch}")
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.toolchain())
    }
}

/// Who needs which Rust version: a package of the graph, or our own code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// `name version` of the package, or what our code uses.
    pub who: String,
    /// The version it needs.
    pub version: Version,
}

/// What the metadata says: the declared version and every need above nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Floor {
    /// The workspace's `rust-version` (all members inherit it).
    pub declared: Version,
    /// The highest need, and every package or feature that has it.
    pub floor: Version,
    /// Who sets the floor (sorted).
    pub set_by: Vec<String>,
    /// Packages that need more than `declared` (sorted), the violations.
    pub above: Vec<Need>,
}

/// Reads the floor from `cargo metadata` JSON: the workspace members' `rust_version` (which
/// must agree) and every other package's.
pub fn floor(metadata: &serde_json::Value, code: &Need) -> Result<Floor> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .context("cargo metadata has no workspace_members")?
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata has no packages")?;
    let mut declared: Option<Version> = None;
    let mut needs = vec![code.clone()];
    for package in packages {
        let id = package["id"].as_str().unwrap_or_default();
        let name = package["name"].as_str().unwrap_or("?");
        let version = package["version"].as_str().unwrap_or("?");
        let rust_version = match package["rust_version"].as_str() {
            Some(text) => Some(Version::parse(text).with_context(|| {
                format!("{name} {version} declares rust-version {text:?}, not a version")
            })?),
            None => None,
        };
        if members.contains(&id) {
            let Some(own) = rust_version else {
                bail!("workspace member {name} declares no rust-version");
            };
            match declared {
                Some(other) if other != own => {
                    bail!("workspace members declare different rust-versions: {other} and {own}")
                }
                _ => declared = Some(own),
            }
        } else if let Some(needed) = rust_version {
            needs.push(Need {
                who: format!("{name} {version}"),
                version: needed,
            });
        }
    }
    let declared = declared.context("cargo metadata lists no workspace member")?;
    let floor = needs
        .iter()
        .map(|need| need.version)
        .max()
        .unwrap_or(code.version);
    let mut set_by: Vec<String> = needs
        .iter()
        .filter(|need| need.version == floor)
        .map(|need| need.who.clone())
        .collect();
    set_by.sort();
    let mut above: Vec<Need> = needs
        .into_iter()
        .filter(|need| need.version > declared)
        .collect();
    above.sort_by(|a, b| b.version.cmp(&a.version).then_with(|| a.who.cmp(&b.who)));
    Ok(Floor {
        declared,
        floor,
        set_by,
        above,
    })
}

/// The verdict on a floor: `Ok` with a one-line summary, or the violations.
pub fn check(floor: &Floor) -> Result<String> {
    let shown: Vec<String> = floor.set_by.iter().take(5).cloned().collect();
    let more = floor.set_by.len().saturating_sub(shown.len());
    let set_by = if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    };
    match floor.declared.cmp(&floor.floor) {
        Ordering::Less => {
            let list: Vec<String> = floor
                .above
                .iter()
                .map(|need| format!("{} needs {}", need.who, need.version))
                .collect();
            bail!(
                "rust-version {} in Cargo.toml is below what the dependencies need: {}; raise it \
                 to {} or pin older dependencies",
                floor.declared,
                list.join(", "),
                floor.floor
            )
        }
        Ordering::Greater => bail!(
            "rust-version {} in Cargo.toml is above the true minimum {} (set by {set_by}); \
             lower it so that the declaration is the one this step checks",
            floor.declared,
            floor.floor
        ),
        Ordering::Equal => Ok(format!(
            "rust-version {} is the true minimum (set by {set_by})",
            floor.declared
        )),
    }
}

/// Runs the step: the metadata check, then the compile on the declared toolchain when it can
/// be had.
pub fn run() -> Result<()> {
    let text = cmd::output(cargo().args(["metadata", "--format-version", "1", "--all-features"]))?;
    let metadata: serde_json::Value = serde_json::from_str(&text)
        .context("`cargo metadata` printed something that is not JSON")?;
    let code = Need {
        who: format!("our code ({})", CODE_FLOOR.1),
        version: Version::parse(CODE_FLOOR.0).context("CODE_FLOOR is not a version")?,
    };
    let floor = floor(&metadata, &code)?;
    eprintln!("msrv: {}", check(&floor)?);

    let toolchain = floor.declared.toolchain();
    let target_dir = target_dir(&metadata).join("msrv");
    if active_is(floor.declared) {
        // The toolchain running this step is the declared one (same major.minor): compile
        // with it, no rustup and no second toolchain needed.
        eprintln!("msrv: the active toolchain is Rust {toolchain}: compiling with it");
        let mut check = cargo();
        check
            .args(["check", "--workspace", "--all-targets", "--all-features"])
            .env("CARGO_TARGET_DIR", &target_dir)
            .current_dir(cmd::project_root());
        return cmd::run(&mut check);
    }
    if let Err(reason) = ensure_toolchain(&toolchain) {
        eprintln!(
            "msrv: the compile on Rust {toolchain} was not possible here ({reason:#}); the \
             metadata check above passed"
        );
        return Ok(());
    }
    let mut check = Command::new("rustup");
    check
        .args(["run", &toolchain, "cargo", "check"])
        .args(["--workspace", "--all-targets", "--all-features"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(cmd::project_root())
        // The cargo that runs xtask must not stand in for the toolchain's own.
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC");
    cmd::run(&mut check)
}

/// Whether the rustc cargo runs (`RUSTC`, else `rustc`) is `declared`'s major.minor.
fn active_is(declared: Version) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(text) = cmd::output(Command::new(rustc).arg("-V")) else {
        return false;
    };
    // `rustc 1.95.0 (59807616e 2026-04-14)`
    let active = text.split_whitespace().nth(1).and_then(Version::parse);
    active.is_some_and(|a| (a.parts.0, a.parts.1) == (declared.parts.0, declared.parts.1))
}

/// The workspace's target directory (`CARGO_TARGET_DIR` when set), from cargo metadata.
fn target_dir(metadata: &serde_json::Value) -> PathBuf {
    metadata["target_directory"]
        .as_str()
        .map_or_else(|| cmd::project_root().join("target"), PathBuf::from)
}

/// Whether `rustup toolchain list` shows `toolchain` (`1.95` matches `1.95.0-x86_64-...` and
/// `1.95-x86_64-...`).
fn listed(list: &str, toolchain: &str) -> bool {
    list.lines().any(|line| {
        let name = line.split_whitespace().next().unwrap_or_default();
        let version = name.split('-').next().unwrap_or_default();
        version == toolchain || version == format!("{toolchain}.0")
    })
}

/// Makes sure rustup has `toolchain`, installing it within [`INSTALL_WAIT`]; the error says why
/// it could not.
fn ensure_toolchain(toolchain: &str) -> Result<()> {
    let list = cmd::output(Command::new("rustup").args(["toolchain", "list"]))
        .context("rustup is not usable")?;
    if listed(&list, toolchain) {
        return Ok(());
    }
    let mut install = Command::new("rustup");
    install
        .args(["toolchain", "install", toolchain, "--profile", "minimal"])
        .stdin(Stdio::null());
    eprintln!("$ {}", cmd::display(&install));
    let mut child = install.spawn().context("could not start rustup")?;
    let deadline = Instant::now() + INSTALL_WAIT;
    loop {
        if let Some(status) = child.try_wait().context("could not wait for rustup")? {
            if status.success() {
                return Ok(());
            }
            bail!("`rustup toolchain install {toolchain}` failed ({status})");
        }
        if Instant::now() >= deadline {
            // The child is ours; a kill that fails means it has just exited.
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "`rustup toolchain install {toolchain}` did not finish within {} s",
                INSTALL_WAIT.as_secs()
            );
        }
        // Polling a child process: std has no wait with a timeout.
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[cfg(test)]
mod tests {
    use super::{Need, Version, check, floor, listed};
    use serde_json::json;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn code() -> Need {
        Need {
            who: "our code".to_owned(),
            version: v("1.88"),
        }
    }

    /// Metadata with two members declaring `declared` and dependencies with the given versions.
    fn metadata(declared: &str, deps: &[(&str, Option<&str>)]) -> serde_json::Value {
        let mut packages = vec![
            json!({"id": "a 0.1.0", "name": "a", "version": "0.1.0", "rust_version": declared}),
            json!({"id": "b 0.1.0", "name": "b", "version": "0.1.0", "rust_version": declared}),
        ];
        for (name, rust_version) in deps {
            packages.push(json!({
                "id": format!("{name} 1.0.0"), "name": name, "version": "1.0.0",
                "rust_version": rust_version,
            }));
        }
        json!({"workspace_members": ["a 0.1.0", "b 0.1.0"], "packages": packages})
    }

    #[test]
    fn versions_compare_as_numbers() {
        assert_eq!(v("1.88"), v("1.88.0"));
        assert!(v("1.100") > v("1.95"));
        assert!(v("1.95.1") > v("1.95"));
        assert_eq!(v("1.95").to_string(), "1.95");
        assert_eq!(v("1.95.1").to_string(), "1.95.1");
        for bad in ["", "1", "1.x", "1.88.0.1", "1.88-beta", "nightly"] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_floor_is_the_highest_need() {
        let meta = metadata(
            "1.90",
            &[
                ("old", Some("1.60")),
                ("new", Some("1.90.0")),
                ("none", None),
            ],
        );
        let floor = floor(&meta, &code()).unwrap();
        assert_eq!(floor.declared, v("1.90"));
        assert_eq!(floor.floor, v("1.90"));
        assert_eq!(floor.set_by, ["new 1.0.0"]);
        assert!(floor.above.is_empty());
        assert_eq!(
            check(&floor).unwrap(),
            "rust-version 1.90 is the true minimum (set by new 1.0.0)"
        );
    }

    #[test]
    fn our_code_can_set_the_floor() {
        let meta = metadata("1.88", &[("old", Some("1.60"))]);
        let floor = floor(&meta, &code()).unwrap();
        assert_eq!(floor.set_by, ["our code"]);
        assert!(check(&floor).is_ok());
    }

    #[test]
    fn a_dependency_above_the_declaration_fails() {
        let meta = metadata(
            "1.88",
            &[
                ("ok", Some("1.70")),
                ("greedy", Some("1.95")),
                ("eager", Some("1.90")),
            ],
        );
        let floor = floor(&meta, &code()).unwrap();
        let shown: Vec<String> = floor
            .above
            .iter()
            .map(|need| format!("{} {}", need.who, need.version))
            .collect();
        assert_eq!(shown, ["greedy 1.0.0 1.95", "eager 1.0.0 1.90"]);
        let error = check(&floor).unwrap_err().to_string();
        assert!(
            error.contains("below what the dependencies need"),
            "{error}"
        );
        assert!(error.contains("greedy 1.0.0 needs 1.95"), "{error}");
        assert!(error.contains("raise it to 1.95"), "{error}");
    }

    #[test]
    fn a_declaration_above_the_floor_fails() {
        let meta = metadata("1.95", &[("old", Some("1.70"))]);
        let floor = floor(&meta, &code()).unwrap();
        let error = check(&floor).unwrap_err().to_string();
        assert!(error.contains("above the true minimum 1.88"), "{error}");
    }

    #[test]
    fn members_must_declare_one_version() {
        let mut meta = metadata("1.88", &[]);
        meta["packages"][1]["rust_version"] = json!("1.90");
        assert!(floor(&meta, &code()).is_err());
        meta["packages"][1]["rust_version"] = json!(null);
        assert!(floor(&meta, &code()).is_err());
        let mut meta = metadata("1.88", &[("odd", Some("soon"))]);
        assert!(floor(&meta, &code()).is_err());
        meta["packages"][2]["rust_version"] = json!(null);
        assert!(floor(&meta, &code()).is_ok());
    }

    #[test]
    fn rustup_lists_toolchains_with_or_without_the_patch() {
        let list = "stable-x86_64-unknown-linux-gnu (active, default)\n\
                    nightly-x86_64-unknown-linux-gnu\n\
                    1.95.0-x86_64-unknown-linux-gnu\n\
                    1.88-x86_64-unknown-linux-gnu\n";
        assert!(listed(list, "1.95"));
        assert!(listed(list, "1.88"));
        assert!(!listed(list, "1.90"));
        assert!(!listed(list, "1.9"));
        assert!(!listed("", "1.95"));
    }

    /// The real workspace: the declaration in Cargo.toml is the floor of the real graph.
    #[test]
    fn the_workspace_declares_its_true_minimum() {
        let text = crate::cmd::output(crate::cmd::cargo().args([
            "metadata",
            "--format-version",
            "1",
            "--all-features",
        ]))
        .unwrap();
        let meta: serde_json::Value = serde_json::from_str(&text).unwrap();
        let code = Need {
            who: "our code".to_owned(),
            version: v(super::CODE_FLOOR.0),
        };
        let floor = floor(&meta, &code).unwrap();
        check(&floor).unwrap();
    }
}
