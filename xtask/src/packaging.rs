//! Packaging rules as tests, beside `tidy.rs`: what crates.io and docs.rs need from each crate
//! that can be published.
//!
//! - `keywords`: at most 5, each at most 20 ASCII characters, letters, digits, `-` or `_`,
//!   starting with a letter (crates.io's rules); `categories`: at most 5, each a slug crates.io
//!   knows (`xtask/data/crates-io-categories.txt`).
//! - A publishable crate has a description, a readme, a documentation link, keywords and
//!   categories, the workspace's `MIT OR Apache-2.0` with both license files in its directory,
//!   and the docs.rs metadata (every feature, `--cfg docsrs`) that its lib.rs's
//!   `cfg_attr(docsrs, feature(doc_cfg))` needs.

use crate::cmd;
use std::fs;
use std::path::Path;

/// The license every crate declares.
const LICENSE: &str = "MIT OR Apache-2.0";

/// The license files a publishable crate carries (symbolic links to the root's files: cargo
/// packages their content).
const LICENSE_FILES: [&str; 2] = ["LICENSE-MIT", "LICENSE-APACHE"];

/// The line each library's lib.rs has, so that docs.rs shows feature-gated items' features.
const DOC_CFG: &str = "#![cfg_attr(docsrs, feature(doc_cfg))]";

/// crates.io's category slugs, from the data file (comments and blank lines skipped).
fn category_slugs() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/crates-io-categories.txt");
    fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The strings of a JSON array field of a package (empty when absent).
fn strings<'a>(package: &'a serde_json::Value, field: &str) -> Vec<&'a str> {
    package[field]
        .as_array()
        .map(|items| items.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default()
}

/// Why a keyword breaks crates.io's rules, if it does.
fn keyword_problem(keyword: &str) -> Option<&'static str> {
    if keyword.is_empty() || keyword.len() > 20 {
        return Some("must have 1 to 20 characters");
    }
    if !keyword.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some("must start with an ASCII letter");
    }
    if !keyword
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Some("may hold only ASCII letters, digits, `-` and `_`");
    }
    None
}

/// Every rule a package's keywords and categories break.
fn tag_problems(package: &serde_json::Value, slugs: &[String]) -> Vec<String> {
    let name = package["name"].as_str().unwrap_or("?");
    let mut problems = Vec::new();
    let keywords = strings(package, "keywords");
    if keywords.len() > 5 {
        problems.push(format!("{name}: {} keywords, at most 5", keywords.len()));
    }
    for keyword in keywords {
        if let Some(problem) = keyword_problem(keyword) {
            problems.push(format!("{name}: keyword `{keyword}` {problem}"));
        }
    }
    let categories = strings(package, "categories");
    if categories.len() > 5 {
        problems.push(format!(
            "{name}: {} categories, at most 5",
            categories.len()
        ));
    }
    for category in categories {
        if !slugs.iter().any(|slug| slug == category) {
            problems.push(format!(
                "{name}: category `{category}` is not a crates.io slug \
                 (xtask/data/crates-io-categories.txt)"
            ));
        }
    }
    problems
}

/// Whether cargo metadata says the package can be published (`publish` absent, not `[]`).
fn publishable(package: &serde_json::Value) -> bool {
    !package["publish"]
        .as_array()
        .is_some_and(|registries| registries.is_empty())
}

/// Every rule a publishable package breaks: metadata fields, license files, docs.rs metadata,
/// the doc_cfg line.
fn publish_problems(package: &serde_json::Value) -> Vec<String> {
    let name = package["name"].as_str().unwrap_or("?");
    let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut problems = Vec::new();
    for field in ["description", "readme", "documentation", "repository"] {
        if package[field].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{name}: no `{field}`"));
        }
    }
    for field in ["keywords", "categories"] {
        if strings(package, field).is_empty() {
            problems.push(format!("{name}: no `{field}`"));
        }
    }
    if package["license"].as_str() != Some(LICENSE) {
        problems.push(format!("{name}: license must be `{LICENSE}`"));
    }
    for file in LICENSE_FILES {
        if !dir.join(file).is_file() {
            problems.push(format!("{name}: no {file} in {}", dir.display()));
        }
    }
    let docs_rs = &package["metadata"]["docs"]["rs"];
    if docs_rs["all-features"].as_bool() != Some(true) && docs_rs["features"].as_array().is_none() {
        problems.push(format!(
            "{name}: [package.metadata.docs.rs] needs `all-features = true` or `features`"
        ));
    }
    let args = strings(docs_rs, "rustdoc-args");
    if !args.windows(2).any(|pair| pair == ["--cfg", "docsrs"]) {
        problems.push(format!(
            "{name}: [package.metadata.docs.rs] needs rustdoc-args = [\"--cfg\", \"docsrs\"]"
        ));
    }
    let has_lib = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|target| strings(target, "kind").contains(&"lib"));
    if has_lib {
        let lib = dir.join("src/lib.rs");
        let text = fs::read_to_string(&lib).unwrap_or_default();
        if !text.lines().any(|line| line.trim() == DOC_CFG) {
            problems.push(format!("{name}: {} lacks `{DOC_CFG}`", lib.display()));
        }
    }
    problems
}

#[test]
fn crates_are_ready_for_crates_io_and_docs_rs() {
    let metadata = cmd::metadata().unwrap_or_else(|error| panic!("{error:#}"));
    let slugs = category_slugs();
    let mut problems = Vec::new();
    let mut published = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        problems.extend(tag_problems(package, &slugs));
        if publishable(package) {
            published.push(package["name"].as_str().unwrap_or("?").to_owned());
            problems.extend(publish_problems(package));
        }
    }
    for expected in ["keyward", "keyward-core-crypto", "keyward-secrets-backends"] {
        assert!(
            published.iter().any(|name| name == expected),
            "{expected} is not publishable: {published:?}"
        );
    }
    assert!(
        !published.iter().any(|name| name == "xtask"),
        "{published:?}"
    );
    assert!(
        problems.is_empty(),
        "packaging rules broken:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_root_has_both_license_files() {
    let root = cmd::project_root();
    let mit = fs::read_to_string(root.join("LICENSE-MIT")).unwrap();
    assert!(mit.contains("Copyright (c) 2026 The keyward developers"));
    assert!(mit.contains("Permission is hereby granted, free of charge"));
    let apache = fs::read_to_string(root.join("LICENSE-APACHE")).unwrap();
    assert!(apache.contains("Apache License\n                        Version 2.0, January 2004"));
    assert!(apache.contains("END OF TERMS AND CONDITIONS"));
    assert!(apache.contains("APPENDIX: How to apply the Apache License to your work."));
}

#[test]
fn keyword_rules_are_crates_io_rules() {
    for good in ["fernet", "key-rotation", "aws_secrets", "a1"] {
        assert_eq!(keyword_problem(good), None, "{good}");
    }
    for bad in [
        "",
        "1password",
        "-dash",
        "two words",
        "émoji",
        "twenty-one-characters",
    ] {
        assert!(keyword_problem(bad).is_some(), "{bad}");
    }
}

#[test]
fn tag_check_names_each_problem() {
    let slugs = category_slugs();
    assert!(slugs.iter().any(|slug| slug == "cryptography"));
    assert!(
        slugs
            .iter()
            .any(|slug| slug == "development-tools::testing")
    );
    let package = serde_json::json!({
        "name": "x",
        "keywords": ["a", "b", "c", "d", "e", "f"],
        "categories": ["cryptography", "finance"],
    });
    let problems = tag_problems(&package, &slugs);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("6 keywords"), "{problems:#?}");
    assert!(problems[1].contains("`finance`"), "{problems:#?}");
}

#[test]
fn publish_check_names_what_is_missing() {
    let package = serde_json::json!({
        "name": "bare",
        "manifest_path": "/nonexistent/bare/Cargo.toml",
        "license": "MIT",
        "metadata": null,
        "targets": [{"kind": ["lib"]}],
    });
    assert!(publishable(&package));
    let problems = publish_problems(&package).join("\n");
    for needle in [
        "no `description`",
        "no `readme`",
        "no `documentation`",
        "no `keywords`",
        "no `categories`",
        "license must be",
        "no LICENSE-MIT",
        "no LICENSE-APACHE",
        "all-features",
        "rustdoc-args",
        "lacks `#![cfg_attr(docsrs",
    ] {
        assert!(problems.contains(needle), "{needle} not in:\n{problems}");
    }
    assert!(!publishable(&serde_json::json!({"publish": []})));
}
