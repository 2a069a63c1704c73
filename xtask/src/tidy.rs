//! Repository rules as ordinary tests (rust-analyzer's `xtask/src/tidy.rs` style): they run with
//! the rest of the workspace's tests, so `cargo test` and `cargo xtask ci` both enforce them.
//!
//! - `layers`: internal dependencies follow the layer table of `docs/ARCHITECTURE.md`, read
//!   from the page itself (its one copy).
//! - `manifests`: every member opts into the workspace lints, and a crate's directory under
//!   `crates/` is named after its package.

use crate::cmd;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// Where the layer table lives, relative to the workspace root: the one copy, which this
/// module reads and the architecture page shows.
const LAYER_DOC: &str = "docs/ARCHITECTURE.md";
/// The heading of the section that holds the table.
const LAYER_HEADING: &str = "## Layers";

/// One row of the layer table: a workspace package and the internal (`keyward*`) packages it may
/// depend on, with any kind of dependency (normal, dev or build). Nothing else is allowed, and a
/// package missing from the table fails the `layers` test, so that adding a crate means deciding
/// its place there.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layer {
    /// The package.
    name: String,
    /// The internal packages it may depend on.
    deps: Vec<String>,
}

/// The names in backticks in a table cell, in order (`` `keyward` (the facade only) `` names
/// `keyward`); a cell without any (`none`) names nothing.
fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The cells of a markdown table row (`| a | b |`), trimmed.
fn cells(row: &str) -> Vec<&str> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

/// Parses the layer table: the first markdown table after the `## Layers` heading, whose header
/// has a `crate` and an `internal deps` column. The crate cell names one package in backticks;
/// the deps cell names the packages it may depend on in backticks (other words are comments).
fn parse_layers(markdown: &str) -> Result<Vec<Layer>, String> {
    let mut lines = markdown
        .lines()
        .skip_while(|line| line.trim() != LAYER_HEADING)
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .skip_while(|line| !line.trim_start().starts_with('|'));
    let header = lines
        .next()
        .ok_or_else(|| format!("no table under `{LAYER_HEADING}`"))?;
    let header = cells(header);
    let column = |title: &str| {
        header
            .iter()
            .position(|cell| cell.eq_ignore_ascii_case(title))
            .ok_or_else(|| format!("the layer table has no `{title}` column: {header:?}"))
    };
    let (crate_col, deps_col) = (column("crate")?, column("internal deps")?);
    let mut layers = Vec::new();
    for row in lines
        .skip(1) // the `| --- |` separator
        .take_while(|line| line.trim_start().starts_with('|'))
    {
        let row = cells(row);
        let (Some(name), Some(deps)) = (row.get(crate_col), row.get(deps_col)) else {
            return Err(format!("a layer table row has too few cells: {row:?}"));
        };
        let name = match backticked(name).as_slice() {
            [name] => name.clone(),
            _ => {
                return Err(format!(
                    "the crate cell `{name}` must name one package in backticks"
                ));
            }
        };
        layers.push(Layer {
            name,
            deps: backticked(deps),
        });
    }
    if layers.is_empty() {
        return Err(format!("the table under `{LAYER_HEADING}` has no rows"));
    }
    Ok(layers)
}

/// The layer table of docs/ARCHITECTURE.md, or a panic saying why not (a test helper).
fn layers_from_docs() -> Vec<Layer> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(LAYER_DOC);
    let markdown = fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    parse_layers(&markdown).unwrap_or_else(|error| panic!("{LAYER_DOC}: {error}"))
}

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
fn layer_violations(packages: &[String], edges: &[Edge], table: &[Layer]) -> Vec<String> {
    let allowed = |from: &str| {
        table
            .iter()
            .find(|layer| layer.name == from)
            .map(|layer| layer.deps.as_slice())
    };
    let mut problems = BTreeSet::new();
    for package in packages {
        if allowed(package).is_none() {
            problems.insert(format!(
                "package `{package}` is not in the layer table ({LAYER_DOC}, `{LAYER_HEADING}`): \
                 add a row with the internal crates it may depend on"
            ));
        }
    }
    for edge in edges {
        let deps = allowed(&edge.from).unwrap_or(&[]);
        if !deps.contains(&edge.to) {
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
    let problems = layer_violations(&packages, &edges, &layers_from_docs());
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
    let layers = layers_from_docs();
    let names: Vec<&String> = layers.iter().map(|layer| &layer.name).collect();
    for Layer { name, deps } in &layers {
        for dep in deps {
            assert!(names.contains(&dep), "{name} may depend on unknown {dep}");
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

    let layers = layers_from_docs();
    assert!(
        layer_violations(&packages[..2], std::slice::from_ref(&good), &layers).is_empty(),
        "an allowed edge must pass"
    );

    let problems = layer_violations(&packages, &[good, upward, rogue], &layers);
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

/// The parser reads the real page: every row, the exact names in backticks, comments ignored.
#[test]
fn the_layer_table_is_read_from_the_architecture_page() {
    let layers = layers_from_docs();
    let names: Vec<&str> = layers.iter().map(|layer| layer.name.as_str()).collect();
    for package in [
        "keyward-core-crypto",
        "keyward-resilience",
        "keyward-signing",
        "keyward-secrets-backends",
        "keyward-exchange-client",
        "keyward-testnet",
        "keyward",
        "keyward-cli",
        "xtask",
    ] {
        assert!(names.contains(&package), "{package} missing from {names:?}");
    }
    let deps = |name: &str| {
        layers
            .iter()
            .find(|layer| layer.name == name)
            .map(|layer| layer.deps.clone())
            .unwrap_or_default()
    };
    assert!(deps("keyward-core-crypto").is_empty());
    assert!(deps("keyward-resilience").is_empty());
    assert_eq!(deps("keyward-signing"), ["keyward-core-crypto"]);
    assert_eq!(deps("keyward-cli"), ["keyward", "keyward-testnet"]);
    assert!(!deps("keyward").contains(&"keyward-testnet".to_owned()));
}

/// A crate whose row is missing from the page fails the layer check, and a page without the
/// table (or with a crate cell that names no package) is an error, not an empty table.
#[test]
fn a_crate_missing_from_the_page_fails_the_layer_check() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(LAYER_DOC);
    let markdown = fs::read_to_string(&path).unwrap();
    let without_testnet: String = markdown
        .lines()
        .filter(|line| !line.starts_with("| `keyward-testnet` |"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(
        without_testnet.len(),
        markdown.len(),
        "the testnet row was not found"
    );
    let layers = parse_layers(&without_testnet).unwrap();
    let (packages, edges) = internal_graph(&metadata());
    let problems = layer_violations(&packages, &edges, &layers);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("package `keyward-testnet` is not in the layer table")),
        "{problems:#?}"
    );

    assert!(parse_layers("# Architecture\n\nno table\n").is_err());
    assert!(parse_layers("## Layers\n\n| crate | role |\n| --- | --- |\n| `a` | x |\n").is_err());
    assert!(
        parse_layers("## Layers\n\n| crate | internal deps |\n| --- | --- |\n| a | none |\n")
            .is_err()
    );
    assert_eq!(
        parse_layers(
            "## Layers\n\n| crate | internal deps |\n| --- | --- |\n| `a` | `b` (only), `c` |\n"
        ),
        Ok(vec![Layer {
            name: "a".to_owned(),
            deps: vec!["b".to_owned(), "c".to_owned()],
        }])
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
