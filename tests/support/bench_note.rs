//! A line a criterion benchmark leaves for `cargo xtask bench`, which puts it under the results
//! table of docs/BENCHMARKS.md (figures criterion does not report: percentiles, memory, ratios).
//! Included with `#[path]` by the benches that write notes.

/// Writes `text` as the note `name` (one note per name; a later run replaces it).
pub fn note(name: &str, text: &str) {
    // target/<profile>/deps/<bench> -> target/criterion/keyward-notes/<name>.md
    let Some(target) = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
    else {
        return;
    };
    let dir = target.join("criterion").join("keyward-notes");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(format!("{name}.md")), text);
    }
}
