//! Venue completeness as a test (issue 14): a venue is one module per layer, and a venue that is
//! missing one of them fails here, named with what is missing.
//!
//! For every scheme keyward-signing describes (a `Descriptor::…(Scheme::X, "name")` in
//! `crates/keyward-signing/src/presets/*.rs` or `schemes/*.rs`):
//! - the exchange client maps it to a module of its own in `rules_of`
//!   (`crates/keyward-exchange-client/src/venue/<module>.rs`, which implements `VenueRules` for
//!   the type named), never to the `Undescribed` fallback;
//! - the testnet serves it: a venue preset from a module in `crates/keyward-testnet/src/venues/`
//!   whose `Rules::scheme` names it, a service scheme from `SERVICE_SCHEMES`;
//! - the proof table of `docs/guides/sign-a-request.md` has its row, and every test that row cites
//!   (`` (`tests/sdk`: `name`, …) ``) exists as a function, every file it cites exists;
//! - a venue preset is proven by something written elsewhere: its row cites a venue's published
//!   examples or an independent client's test and does not say "not yet proven".
//!
//! Sources are read as text, the way rust-analyzer's tidy tests read theirs: xtask depends on no
//! crate of the workspace.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const SIGNING: &str = "crates/keyward-signing";
const CLIENT_VENUES: &str = "crates/keyward-exchange-client/src/venue";
const TESTNET: &str = "crates/keyward-testnet/src";
const PROOF_DOC: &str = "docs/guides/sign-a-request.md";
const PROOF_HEADING: &str = "## What proves each preset";

/// One scheme keyward-signing describes.
#[derive(Debug, Clone)]
struct Described {
    /// The `Scheme` variant.
    variant: String,
    /// Its name (`coinbase-exchange`).
    name: String,
    /// A venue preset (`presets/`) rather than a service scheme (`schemes/`).
    venue: bool,
}

/// What the tree holds, read once; [`missing`] judges it.
#[derive(Debug, Default)]
struct Facts {
    described: Vec<Described>,
    /// `Scheme` variant → (client module file exists and implements `VenueRules` for the type).
    client: BTreeMap<String, bool>,
    /// `Scheme` variants the testnet's venue modules serve.
    testnet_venues: BTreeSet<String>,
    /// Names in the testnet's `SERVICE_SCHEMES`.
    testnet_services: BTreeSet<String>,
    /// Scheme name → its proof-table row (the second cell).
    proof_rows: BTreeMap<String, String>,
    /// Every `fn` name in the workspace's Rust files.
    functions: BTreeSet<String>,
    /// Paths (relative to the root or to the signing crate) that exist, of those cited.
    existing_paths: BTreeSet<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The `.rs` files directly in `dir`, but `mod.rs`.
fn modules(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter(|p| p.file_name().is_some_and(|n| n != "mod.rs"))
        .collect();
    files.sort();
    files
}

/// Every `.rs` file under `dir`, recursively (skipping `target` and hidden directories).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The identifier at the start of `text`.
fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// `(Scheme::X, "name")` after each `Descriptor::` constructor call in `source`.
fn descriptors_in(source: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (at, _) in source.match_indices("Descriptor::") {
        let rest = &source[at + "Descriptor::".len()..];
        let Some(open) = rest.find('(') else { continue };
        if ident(rest).len() != open {
            continue;
        }
        let args = rest[open + 1..].trim_start();
        let Some(args) = args.strip_prefix("Scheme::") else {
            continue;
        };
        let variant = ident(args).to_owned();
        let after = args[variant.len()..].trim_start();
        let Some(after) = after.strip_prefix(',') else {
            continue;
        };
        let Some(quoted) = after.trim_start().strip_prefix('"') else {
            continue;
        };
        let Some(close) = quoted.find('"') else {
            continue;
        };
        found.push((variant, quoted[..close].to_owned()));
    }
    found
}

/// The arms of the client's `rules_of`: `Scheme::X => &module::Type`.
fn rules_of_arms(source: &str) -> Vec<(String, String, String)> {
    let Some(start) = source.find("fn rules_of(") else {
        return Vec::new();
    };
    let body = &source[start..];
    let body = &body[..body.find("\n}").unwrap_or(body.len())];
    body.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix("Scheme::")?;
            let variant = ident(rest).to_owned();
            let target = rest.split("=>").nth(1)?.trim().trim_start_matches('&');
            let (module, ty) = target.trim_end_matches(',').split_once("::")?;
            Some((variant, module.to_owned(), ty.to_owned()))
        })
        .collect()
}

/// The quoted strings of `const NAME: … = [ … ];` in `source`.
fn const_strings(source: &str, name: &str) -> BTreeSet<String> {
    let Some(at) = source.find(&format!("const {name}:")) else {
        return BTreeSet::new();
    };
    let rest = &source[at..];
    let Some(open) = rest.find("= [") else {
        return BTreeSet::new();
    };
    let list = &rest[open..rest.find("];").unwrap_or(rest.len())];
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The backticked spans of `text`.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The proof table's rows: each scheme named in the first cell → the second cell.
fn proof_rows(markdown: &str) -> BTreeMap<String, String> {
    let mut rows = BTreeMap::new();
    let Some(at) = markdown.find(PROOF_HEADING) else {
        return rows;
    };
    for line in markdown[at..].lines().skip(1) {
        if line.starts_with("## ") {
            break;
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        if !line.trim_start().starts_with('|') || cells.len() < 2 {
            continue;
        }
        for name in backticked(cells[0]) {
            rows.insert(name.to_owned(), cells[1..].join("|"));
        }
    }
    rows
}

/// What a proof cell cites: files (`` `tests/vectors.rs` ``) and, after a `` `path`: ``, the
/// tests of that file (`` (`tests/sdk`: `a`, `b`) ``).
fn citations(cell: &str) -> (Vec<String>, Vec<String>) {
    let mut files = Vec::new();
    let mut tests = Vec::new();
    // Odd indices are inside backticks; the text between two spans tells a list from prose.
    let (mut prev_file, mut in_list) = (false, false);
    for (i, span) in cell.split('`').enumerate() {
        if i % 2 == 0 {
            let between = span.trim();
            in_list = (prev_file && between == ":") || (in_list && between == ",");
            continue;
        }
        let is_path = ["tests/", "src/", "crates/", "docs/"]
            .iter()
            .any(|p| span.starts_with(p))
            && !span.contains(' ');
        if is_path {
            files.push(span.to_owned());
        } else if in_list && !span.is_empty() && ident(span) == span {
            tests.push(span.to_owned());
        }
        prev_file = is_path;
    }
    (files, tests)
}

impl Facts {
    fn read(root: &Path) -> Facts {
        let mut facts = Facts::default();
        for (dir, venue) in [("src/presets", true), ("src/schemes", false)] {
            for file in modules(&root.join(SIGNING).join(dir)) {
                for (variant, name) in descriptors_in(&read(&file)) {
                    facts.described.push(Described {
                        variant,
                        name,
                        venue,
                    });
                }
            }
        }
        let client_dir = root.join(CLIENT_VENUES);
        for (variant, module, ty) in rules_of_arms(&read(&client_dir.join("mod.rs"))) {
            let file = client_dir.join(format!("{module}.rs"));
            let implements = fs::read_to_string(&file)
                .is_ok_and(|s| s.contains(&format!("impl VenueRules for {ty} ")));
            facts.client.insert(variant, implements);
        }
        for file in modules(&root.join(TESTNET).join("venues")) {
            let source = read(&file);
            for (at, _) in source.match_indices("fn scheme(&self) -> Scheme {") {
                let body = &source[at..];
                if let Some(v) = body.find("Scheme::").map(|i| ident(&body[i + 8..])) {
                    facts.testnet_venues.insert(v.to_owned());
                }
            }
        }
        facts.testnet_services =
            const_strings(&read(&root.join(TESTNET).join("lib.rs")), "SERVICE_SCHEMES");
        facts.proof_rows = proof_rows(&read(&root.join(PROOF_DOC)));
        let mut files = Vec::new();
        for dir in ["crates", "tests"] {
            rust_files(&root.join(dir), &mut files);
        }
        for file in files {
            let source = fs::read_to_string(&file).unwrap_or_default();
            for (at, _) in source.match_indices("fn ") {
                let name = ident(&source[at + 3..]);
                if !name.is_empty() {
                    facts.functions.insert(name.to_owned());
                }
            }
        }
        for cell in facts.proof_rows.values() {
            for path in citations(cell).0 {
                if root.join(&path).exists() || root.join(SIGNING).join(&path).exists() {
                    facts.existing_paths.insert(path);
                }
            }
        }
        facts
    }
}

/// One sentence per missing piece, naming the scheme and what it lacks.
fn missing(facts: &Facts) -> Vec<String> {
    let mut problems = Vec::new();
    if facts.described.is_empty() {
        problems.push(format!("no signing descriptor found under {SIGNING}/src"));
    }
    for d in &facts.described {
        let name = &d.name;
        match facts.client.get(&d.variant) {
            None => problems.push(format!(
                "{name}: no exchange-client module ({CLIENT_VENUES}/mod.rs `rules_of` has no arm \
                 for Scheme::{})",
                d.variant
            )),
            Some(false) => problems.push(format!(
                "{name}: the exchange-client module `rules_of` names does not implement VenueRules"
            )),
            Some(true) => {}
        }
        let served = if d.venue {
            facts.testnet_venues.contains(&d.variant)
        } else {
            facts.testnet_services.contains(name)
        };
        if !served {
            problems.push(format!(
                "{name}: the testnet does not serve it (a module in {TESTNET}/venues/ whose \
                 `Rules::scheme` is Scheme::{}, or SERVICE_SCHEMES)",
                d.variant
            ));
        }
        let Some(row) = facts.proof_rows.get(name) else {
            problems.push(format!(
                "{name}: no row in the proof table of {PROOF_DOC} (`{PROOF_HEADING}`)"
            ));
            continue;
        };
        let (files, tests) = citations(row);
        for test in &tests {
            if !facts.functions.contains(test) {
                problems.push(format!(
                    "{name}: {PROOF_DOC} cites test `{test}`, which does not exist"
                ));
            }
        }
        for file in &files {
            if !facts.existing_paths.contains(file) {
                problems.push(format!(
                    "{name}: {PROOF_DOC} cites `{file}`, which does not exist"
                ));
            }
        }
        if d.venue && (row.contains("not yet proven") || (tests.is_empty() && files.is_empty())) {
            problems.push(format!(
                "{name}: no published example or independent client proves it ({PROOF_DOC})"
            ));
        }
    }
    problems
}

#[test]
fn every_venue_has_a_module_per_layer_a_proof_and_a_docs_row() {
    let facts = Facts::read(&root());
    assert!(
        facts.described.len() >= 12,
        "the signing descriptors were not all found: {:?}",
        facts.described
    );
    let problems = missing(&facts);
    assert!(
        problems.is_empty(),
        "venues missing a piece:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_missing_piece_is_named() {
    let mut facts = Facts::read(&root());
    facts.testnet_venues.remove("Okx");
    facts.client.remove("Deribit");
    facts.proof_rows.remove("kraken");
    facts
        .proof_rows
        .insert("bybit".into(), "pybit (`tests/sdk`: `no_such_test`)".into());
    facts.proof_rows.insert(
        "bitmex".into(),
        "not yet proven by anything written elsewhere".into(),
    );
    let problems = missing(&facts).join("\n");
    for expected in [
        "okx: the testnet does not serve it",
        "deribit: no exchange-client module",
        "kraken: no row in the proof table",
        "bybit: docs/guides/sign-a-request.md cites test `no_such_test`",
        "bitmex: no published example or independent client proves it",
    ] {
        assert!(
            problems.contains(expected),
            "{expected:?} not in:\n{problems}"
        );
    }
}

#[test]
fn citations_are_read_from_a_proof_cell() {
    let (files, tests) = citations(
        "examples (`tests/vectors.rs`) and pybit with `client_oid` (`tests/sdk`: `pybit_v5`, `krakenex`); more",
    );
    assert_eq!(files, ["tests/vectors.rs", "tests/sdk"]);
    assert_eq!(tests, ["pybit_v5", "krakenex"]);
}
