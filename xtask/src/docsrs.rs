//! `cargo xtask ci`, step `docs.rs`: one library's documentation built as docs.rs builds it
//! (every feature, `--cfg docsrs`, so that `#![cfg_attr(docsrs, feature(doc_cfg))]` applies),
//! and a check that a feature-gated item's page says which feature it needs.
//!
//! docs.rs runs a nightly rustdoc; CI may have only stable, so the step sets
//! `RUSTC_BOOTSTRAP=1` (as `fuzz.rs` does for cargo-fuzz): checked with stable 1.95, where
//! `doc_cfg` also does what `doc_auto_cfg` did before Rust 1.92. It builds one crate with
//! `--no-deps`, in its own target directory (`target/docsrs`): cargo fingerprints
//! `RUSTC_BOOTSTRAP`, so sharing the `docs` step's directory would not reuse its dependencies
//! but rebuild them (63 crates, measured) and make the next plain build rebuild them again.

use crate::cmd::{self, cargo};
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::PathBuf;

/// The crate documented, a page of a feature-gated item (relative to the `doc/` directory), and the
/// feature that page must name.
const CHECKED: (&str, &str, &str) = (
    "keyward-secrets-backends",
    "keyward_secrets_backends/sqlite/struct.SqliteVault.html",
    "sqlite",
);

/// Builds the docs and checks the page.
pub fn run() -> Result<()> {
    let (krate, page, feature) = CHECKED;
    let target_dir = target_dir()?.join("docsrs");
    cmd::run(
        cargo()
            .args(["doc", "-p", krate, "--no-deps", "--all-features"])
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("RUSTDOCFLAGS", "--cfg docsrs -D warnings"),
    )?;
    let path = target_dir.join("doc").join(page);
    let html = fs::read_to_string(&path)
        .with_context(|| format!("cannot read {} (the item moved?)", path.display()))?;
    if !says_feature(&html, feature) {
        bail!(
            "{} does not say that the item needs feature `{feature}`: is \
             `#![cfg_attr(docsrs, feature(doc_cfg))]` still in {krate}'s lib.rs?",
            path.display()
        );
    }
    eprintln!("docs.rs: {page} says \"Available on crate feature {feature} only\"");
    Ok(())
}

/// The workspace's target directory (`CARGO_TARGET_DIR` when set), from cargo metadata.
fn target_dir() -> Result<PathBuf> {
    let metadata = cmd::metadata()?;
    let target = metadata["target_directory"]
        .as_str()
        .context("cargo metadata has no target_directory")?;
    Ok(PathBuf::from(target))
}

/// Whether rustdoc's HTML carries the portability note for `feature` on the item itself:
/// `Available on <strong>crate feature <code>NAME</code></strong> only.`
fn says_feature(html: &str, feature: &str) -> bool {
    let note = format!("Available on <strong>crate feature <code>{feature}</code></strong> only");
    html.split("class=\"stab portability\"")
        .skip(1)
        .any(|after| after.get(..400).unwrap_or(after).contains(&note))
}

#[cfg(test)]
mod tests {
    use super::says_feature;

    #[test]
    fn finds_the_portability_note_of_the_feature() {
        let page = r#"<h1>Struct SqliteVault</h1><span class="item-info"><div class="stab portability">Available on <strong>crate feature <code>sqlite</code></strong> only.</div></span>"#;
        assert!(says_feature(page, "sqlite"));
        assert!(!says_feature(page, "aws"));
        // Without doc_cfg rustdoc writes no note; the feature named in prose does not count.
        let plain = "<h1>Struct SqliteVault</h1><p>Available on <strong>crate feature \
                     <code>sqlite</code></strong> only.</p>";
        assert!(!says_feature(plain, "sqlite"));
        assert!(!says_feature("", "sqlite"));
    }
}
