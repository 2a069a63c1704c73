//! Repository rules as ordinary tests (rust-analyzer's `xtask/src/tidy.rs` style): they run with
//! the rest of the workspace's tests, so `cargo test` and `cargo xtask ci` both enforce them.
//!
//! - `layers`: internal dependencies follow the layer table of `docs/ARCHITECTURE.md`.
//! - `manifests`: every member opts into the workspace lints, and a crate's directory under
//!   `crates/` is named after its package.

use crate::cmd;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// The layer table from docs/ARCHITECTURE.md: each workspace package and the internal
/// (`keyward*`) packages it may depend on, with any kind of dependency (normal, dev or build).
/// Nothing else is allowed, and a package missing from this table fails the `layers` test, so
/// that adding a crate means deciding its place here.
const LAYERS: &[(&str, &[&str])] = &[
    ("keyward-core-crypto", &[]),
    ("keyward-resilience", &[]),
    ("keyward-signing", &["keyward-core-crypto"]),
    ("keyward-secrets-backends", &["keyward-core-crypto"]),
    (
        "keyward-exchange-client",
        &[
            "keyward-core-crypto",
            "keyward-signing",
            "keyward-resilience",
            "keyward-secrets-backends",
        ],
    ),
    (
        "keyward-testnet",
        &["keyward-core-crypto", "keyward-signing"],
    ),
    (
        "keyward",
        &[
            "keyward-core-crypto",
            "keyward-resilience",
            "keyward-signing",
            "keyward-secrets-backends",
            "keyward-exchange-client",
        ],
    ),
    // The CLI reaches the SDK through the facade only (`keyward::crypto`, `keyward::signing`,
    // ...), as docs/ARCHITECTURE.md says; the testnet is not part of the facade.
    ("keyward-cli", &["keyward", "keyward-testnet"]),
    ("xtask", &[]),
];

/// An internal dependency: `from` depends on `to` as a `kind` dependency.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    /// The depending package.
    from: String,
    /// The internal package depended on.
    to: String,
    /// `normal`, `dev` or `build`.
    kind: String,
}

/// Every rule the packages and edges break, one sentence each; empty when all is well.
fn layer_violations(packages: &[String], edges: &[Edge], table: &[(&str, &[&str])]) -> Vec<String> {
    let allowed = |from: &str| {
        table
            .iter()
            .find(|(name, _)| *name == from)
            .map(|(_, deps)| *deps)
    };
    let mut problems = BTreeSet::new();
    for package in packages {
        if allowed(package).is_none() {
            problems.insert(format!(
                "package `{package}` is not in the layer table (LAYERS in xtask/src/tidy.rs): \
                 add it with the internal crates it may depend on (see docs/ARCHITECTURE.md)"
            ));
        }
    }
    for edge in edges {
        let deps = allowed(&edge.from).unwrap_or(&[]);
        if !deps.contains(&edge.to.as_str()) {
            let may = if deps.is_empty() {
                "no internal crate".to_owned()
            } else {
                deps.join(", ")
            };
            problems.insert(format!(
                "{} -> {} ({}) is not allowed: `{}` may depend on {may}",
                edge.from, edge.to, edge.kind, edge.from
            ));
        }
    }
    problems.into_iter().collect()
}

/// The workspace's packages (`cargo metadata --no-deps` lists only those) and their manifests.
fn workspace_packages(metadata: &serde_json::Value) -> &[serde_json::Value] {
    metadata["packages"].as_array().map_or(&[], Vec::as_slice)
}

/// The packages' names and their dependencies on `keyward*` packages.
fn internal_graph(metadata: &serde_json::Value) -> (Vec<String>, Vec<Edge>) {
    let mut names = Vec::new();
    let mut edges = BTreeSet::new();
    for package in workspace_packages(metadata) {
        let from = package["name"].as_str().unwrap_or("?").to_owned();
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            // `name` is the package name even when the manifest renames the dependency.
            let to = dependency["name"].as_str().unwrap_or_default();
            if to.starts_with("keyward") {
                edges.insert(Edge {
                    from: from.clone(),
                    to: to.to_owned(),
                    kind: dependency["kind"].as_str().unwrap_or("normal").to_owned(),
                });
            }
        }
        names.push(from);
    }
    (names, edges.into_iter().collect())
}

/// Whether a manifest has a `[lints]` table containing `workspace = true`.
fn has_workspace_lints(manifest: &str) -> bool {
    let mut in_lints = false;
    for line in manifest.lines() {
        // Good enough for manifests: no `#` inside the strings of a `[lints]` table.
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            in_lints = line.trim_start_matches('[').trim_end_matches(']').trim() == "lints";
        } else if in_lints {
            let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            if compact == "workspace=true" {
                return true;
            }
        }
    }
    false
}

/// Every rule a package's manifest breaks: `manifest_path` relative to `root`, its text.
fn manifest_problems(root: &Path, name: &str, manifest_path: &Path, manifest: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let shown = manifest_path.strip_prefix(root).unwrap_or(manifest_path);
    if !has_workspace_lints(manifest) {
        problems.push(format!(
            "{}: package `{name}` has no `[lints]` table with `workspace = true`",
            shown.display()
        ));
    }
    if shown.starts_with("crates") {
        let dir = shown
            .parent()
            .and_then(Path::file_name)
            .map(|dir| dir.to_string_lossy().into_owned())
            .unwrap_or_default();
        if dir != name {
            problems.push(format!(
                "{}: package `{name}` lives in directory `{dir}`; under crates/ the directory \
                 name must be the package name",
                shown.display()
            ));
        }
    }
    problems
}

/// `cargo metadata` for the workspace, or a panic saying why not (this is a test helper).
fn metadata() -> serde_json::Value {
    cmd::metadata().unwrap_or_else(|error| panic!("cargo metadata failed: {error:#}"))
}

#[test]
fn layers() {
    let (packages, edges) = internal_graph(&metadata());
    assert!(
        packages.iter().any(|name| name == "xtask"),
        "cargo metadata did not list the workspace's packages: {packages:?}"
    );
    let problems = layer_violations(&packages, &edges, LAYERS);
    assert!(
        problems.is_empty(),
        "the crate graph breaks the layer table of docs/ARCHITECTURE.md:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn manifests() {
    let metadata = metadata();
    let root = Path::new(metadata["workspace_root"].as_str().unwrap_or_default());
    let mut problems = Vec::new();
    for package in workspace_packages(&metadata) {
        let name = package["name"].as_str().unwrap_or_default();
        let manifest_path = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        let manifest = fs::read_to_string(manifest_path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", manifest_path.display()));
        problems.extend(manifest_problems(root, name, manifest_path, &manifest));
    }
    assert!(
        problems.is_empty(),
        "workspace manifests break the layout rules:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn layer_table_names_only_its_own_packages() {
    let names: Vec<&str> = LAYERS.iter().map(|(name, _)| *name).collect();
    for (name, deps) in LAYERS {
        for dep in *deps {
            assert!(names.contains(dep), "{name} may depend on unknown {dep}");
            assert_ne!(name, dep, "{name} may not depend on itself");
        }
    }
}

/// The check itself can fail: a fake graph with a forbidden edge and an unknown package.
#[test]
fn layer_check_reports_forbidden_edges() {
    let edge = |from: &str, to: &str, kind: &str| Edge {
        from: from.to_owned(),
        to: to.to_owned(),
        kind: kind.to_owned(),
    };
    let packages: Vec<String> = ["keyward-core-crypto", "keyward-signing", "keyward-rogue"]
        .map(String::from)
        .to_vec();
    let good = edge("keyward-signing", "keyward-core-crypto", "normal");
    let upward = edge("keyward-core-crypto", "keyward-signing", "dev");
    let rogue = edge("keyward-rogue", "keyward-core-crypto", "build");

    assert!(
        layer_violations(&packages[..2], std::slice::from_ref(&good), LAYERS).is_empty(),
        "an allowed edge must pass"
    );

    let problems = layer_violations(&packages, &[good, upward, rogue], LAYERS);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("keyward-core-crypto -> keyward-signing (dev) is not allowed")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("keyward-rogue -> keyward-core-crypto (build) is not allowed")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("package `keyward-rogue` is not in the layer table")),
        "{problems:#?}"
    );
}

#[test]
fn internal_graph_reads_cargo_metadata() {
    let metadata = serde_json::json!({
        "packages": [{
            "name": "keyward-signing",
            "dependencies": [
                {"name": "keyward-core-crypto", "kind": null, "rename": "crypto"},
                {"name": "keyward-core-crypto", "kind": null, "target": "cfg(unix)"},
                {"name": "keyward-testnet", "kind": "dev"},
                {"name": "sha2", "kind": null}
            ]
        }]
    });
    let (names, edges) = internal_graph(&metadata);
    assert_eq!(names, ["keyward-signing"]);
    let shown: Vec<String> = edges
        .iter()
        .map(|e| format!("{} -> {} ({})", e.from, e.to, e.kind))
        .collect();
    assert_eq!(
        shown,
        [
            "keyward-signing -> keyward-core-crypto (normal)",
            "keyward-signing -> keyward-testnet (dev)"
        ]
    );
}

#[test]
fn lints_check_needs_the_lints_table() {
    assert!(has_workspace_lints(
        "[package]\nname = \"x\"\n\n[lints]\nworkspace = true\n"
    ));
    assert!(has_workspace_lints(
        "[lints]\n# inherit\nworkspace=true # all of them\n"
    ));
    assert!(!has_workspace_lints("[package]\nname = \"x\"\n"));
    assert!(!has_workspace_lints("[lints]\nworkspace = false\n"));
    assert!(!has_workspace_lints(
        "[package]\nworkspace = true\n[lints.rust]\nunsafe_code = \"forbid\"\n"
    ));
}

#[test]
fn manifest_check_wants_directory_named_after_package() {
    let root = Path::new("/repo");
    let lints = "[lints]\nworkspace = true\n";
    let ok = Path::new("/repo/crates/keyward-signing/Cargo.toml");
    assert!(manifest_problems(root, "keyward-signing", ok, lints).is_empty());
    let xtask = Path::new("/repo/xtask/Cargo.toml");
    assert!(manifest_problems(root, "xtask", xtask, lints).is_empty());

    let misnamed = Path::new("/repo/crates/signing/Cargo.toml");
    let problems = manifest_problems(root, "keyward-signing", misnamed, "");
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("no `[lints]` table"), "{problems:#?}");
    assert!(problems[1].contains("directory `signing`"), "{problems:#?}");
}
