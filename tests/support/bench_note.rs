//! A line a criterion benchmark leaves for `cargo xtask bench`, which puts it under the results
//! table of docs/BENCHMARKS.md (figures criterion does not report: percentiles, memory, ratios).
//! Included with `#[path]` by the benches that write notes.
//!
//! [`metric`] leaves a number instead (bytes per entry, a median of interleaved rounds) that the
//! report's ratio table reads by name (xtask/src/bench_ratios.rs).

/// The directory under `target/criterion` that `cargo xtask bench` reads, created if missing.
fn report_dir(kind: &str) -> Option<std::path::PathBuf> {
    // target/<profile>/deps/<bench> -> target/criterion/<kind>
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))?;
    let dir = target.join("criterion").join(kind);
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// Writes the number `value` (in `unit`) as the metric `name` (one file per name; a later run
/// replaces it), for the ratio rows of docs/BENCHMARKS.md.
#[allow(dead_code)] // reason: included by several benches, not all of which write metrics
pub fn metric(name: &str, value: f64, unit: &str) {
    if let Some(dir) = report_dir("keyward-metrics") {
        let text = format!("{{\"value\": {value}, \"unit\": \"{unit}\"}}\n");
        let _ = std::fs::write(dir.join(format!("{name}.json")), text);
    }
}

/// Writes `text` as the note `name` (one note per name; a later run replaces it).
#[allow(dead_code)] // reason: included by several benches, not all of which write notes
pub fn note(name: &str, text: &str) {
    if let Some(dir) = report_dir("keyward-notes") {
        let _ = std::fs::write(dir.join(format!("{name}.md")), text);
    }
}
