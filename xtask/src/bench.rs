//! `cargo xtask bench [-- <filter>...]`: runs the criterion benchmarks and writes
//! `docs/BENCHMARKS.md` from the results criterion leaves in `target/criterion`.
//!
//! Criterion writes one directory per benchmark, `<group>/<function>/<value>/` (or
//! `<group>/<function>/` without a parameter), each with `new/benchmark.json` (the benchmark's
//! names and throughput) and `new/estimates.json` (the statistics, in nanoseconds). The whole
//! tree is walked, so the layout's depth does not matter.

use crate::bench_ratios::{self, METRICS_DIR};
use crate::cmd::{self, cargo, project_root};
use crate::python;
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

/// Where the report goes, relative to the workspace root.
const REPORT: &str = "docs/BENCHMARKS.md";

/// Slack for file systems whose timestamps are coarser than the clock.
const MTIME_SLACK: Duration = Duration::from_secs(2);

/// One benchmark's result.
#[derive(Debug, Clone, PartialEq)]
struct Measurement {
    /// `group/function/value`, without the parts criterion left out.
    name: String,
    /// The mean time of one iteration, in nanoseconds.
    mean_ns: f64,
    /// The lower bound of the mean's confidence interval, in nanoseconds.
    lower_ns: f64,
    /// The upper bound of the mean's confidence interval, in nanoseconds.
    upper_ns: f64,
    /// The confidence level of that interval (0.95 unless a benchmark changed it).
    confidence_level: f64,
    /// Criterion's `throughput` field (`{"Bytes": 4096}`, ...), `null` when not set.
    throughput: Value,
}

/// Runs the benchmarks (passing `filter` to them after `--`) and writes the report.
pub fn run(filter: &[OsString]) -> Result<()> {
    let root = project_root();
    let metadata = cmd::metadata()?;
    let target_dir = metadata["target_directory"]
        .as_str()
        .context("`cargo metadata` did not name the target directory")?;
    let criterion_dir = Path::new(target_dir).join("criterion");

    // Only results this run writes are reported: target/criterion also keeps the results of
    // benchmarks that were renamed, removed or filtered out, measured on older code.
    let started = SystemTime::now();
    let since = started.checked_sub(MTIME_SLACK).unwrap_or(started);

    let mut bench = cargo();
    bench.args(["bench", "--workspace", "--all-features"]);
    if !filter.is_empty() {
        bench.arg("--").args(filter);
    }
    eprintln!("==> xtask bench: cargo bench");
    cmd::run(&mut bench).context("xtask bench: the benchmarks failed")?;

    // What users would run instead, timed in the same sitting (Python's `cryptography` and
    // `hmac`), written as metrics beside the ones the benchmarks left.
    eprintln!("==> xtask bench: Python comparisons (xtask/bench_compare.py)");
    let interpreter = python::setup().context("xtask bench: the Python virtualenv")?;
    let python_versions = bench_ratios::run_python(&interpreter, &criterion_dir.join(METRICS_DIR))
        .context("xtask bench: the Python comparisons failed")?;

    let mut measurements = Vec::new();
    if criterion_dir.is_dir() {
        collect(&criterion_dir, since, &mut measurements)?;
    }
    if measurements.is_empty() {
        bail!(
            "no benchmark wrote results under {} during this run (does the filter match any \
             benchmark?); {REPORT} is unchanged",
            criterion_dir.display()
        );
    }
    measurements.sort_by(|a, b| a.name.cmp(&b.name));

    let filter_text = filter
        .iter()
        .map(|word| word.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let notes = notes(&criterion_dir.join(NOTES_DIR), since)?;
    let metrics = bench_ratios::read_metrics(&criterion_dir.join(METRICS_DIR), since)?;
    let means = measurements
        .iter()
        .map(|m| (m.name.clone(), m.mean_ns))
        .collect();
    let ratios = bench_ratios::render(&means, &metrics);
    let path = root.join(REPORT);
    // A filtered run measures some rows: the others are kept from the report they were
    // measured in, with that report's date, rather than dropped.
    let carried = if filter.is_empty() {
        Vec::new()
    } else {
        carried_rows(
            &fs::read_to_string(&path).unwrap_or_default(),
            &measurements,
        )
    };
    let mut facts = machine_facts();
    facts.push(("python", python_versions));
    let mut report = render(&facts, &filter_text, &ratios, &measurements, &notes);
    report.push_str(&render_carried(&carried));
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }
    fs::write(&path, report).with_context(|| format!("could not write {}", path.display()))?;
    eprintln!(
        "==> xtask bench: wrote {REPORT} ({} benchmarks)",
        measurements.len()
    );
    Ok(())
}

/// Walks `dir` for criterion's `new/` directories written at or after `since`.
fn collect(dir: &Path, since: SystemTime, out: &mut Vec<Measurement>) -> Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("could not list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("could not list {}", dir.display()))?;
        // `DirEntry::file_type` does not follow symbolic links, so the walk cannot loop.
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let path = entry.path();
        if entry.file_name() == "new" {
            let estimates = path.join("estimates.json");
            let benchmark = path.join("benchmark.json");
            if !(estimates.is_file() && benchmark.is_file()) {
                continue;
            }
            let modified = fs::metadata(&estimates).and_then(|meta| meta.modified());
            if modified.is_ok_and(|modified| modified < since) {
                continue;
            }
            let measurement = parse(&read_json(&benchmark)?, &read_json(&estimates)?)
                .with_context(|| format!("unexpected criterion output in {}", path.display()))?;
            out.push(measurement);
        } else {
            collect(&path, since, out)?;
        }
    }
    Ok(())
}

/// Reads and parses a JSON file.
fn read_json(path: &Path) -> Result<Value> {
    let text =
        fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Builds a measurement from criterion's `benchmark.json` and `estimates.json`.
fn parse(benchmark: &Value, estimates: &Value) -> Result<Measurement> {
    let name = ["group_id", "function_id", "value_str"]
        .iter()
        .filter_map(|key| benchmark[key].as_str())
        .collect::<Vec<_>>()
        .join("/");
    if name.is_empty() {
        bail!("benchmark.json has no group_id");
    }
    let mean = &estimates["mean"];
    let interval = &mean["confidence_interval"];
    let number = |value: &Value, what: &str| {
        value
            .as_f64()
            .with_context(|| format!("estimates.json has no number for {what}"))
    };
    Ok(Measurement {
        name,
        mean_ns: number(&mean["point_estimate"], "mean.point_estimate")?,
        lower_ns: number(&interval["lower_bound"], "the mean's lower bound")?,
        upper_ns: number(&interval["upper_bound"], "the mean's upper bound")?,
        confidence_level: interval["confidence_level"].as_f64().unwrap_or(0.95),
        throughput: benchmark["throughput"].clone(),
    })
}

/// A duration in nanoseconds with a unit that keeps the number readable (about four
/// significant digits).
fn format_ns(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let decimals = if value >= 100.0 {
        1
    } else if value >= 10.0 {
        2
    } else {
        3
    };
    format!("{value:.decimals$} {unit}")
}

/// A count per second with an SI prefix: `12.3 Melem/s`.
fn format_rate(per_second: f64, unit: &str) -> String {
    let (value, prefix) = if per_second >= 1e9 {
        (per_second / 1e9, "G")
    } else if per_second >= 1e6 {
        (per_second / 1e6, "M")
    } else if per_second >= 1e3 {
        (per_second / 1e3, "K")
    } else {
        (per_second, "")
    };
    format!("{value:.2} {prefix}{unit}/s")
}

/// The throughput at the mean time, if the benchmark declared one: bytes as MiB/s (decimal
/// bytes as MB/s), bits as Mbit/s, elements as elem/s.
fn format_throughput(throughput: &Value, mean_ns: f64) -> Option<String> {
    if mean_ns <= 0.0 {
        return None;
    }
    let seconds = mean_ns / 1e9;
    let per_second = |key: &str, value: &Value| value[key].as_u64().map(|n| n as f64 / seconds);
    let mib = |bytes_per_second: f64| format!("{:.1} MiB/s", bytes_per_second / 1_048_576.0);
    if let Some(rate) = per_second("Bytes", throughput) {
        Some(mib(rate))
    } else if let Some(rate) = per_second("BytesDecimal", throughput) {
        Some(format!("{:.1} MB/s", rate / 1e6))
    } else if let Some(rate) = per_second("Bits", throughput) {
        Some(format!("{:.1} Mbit/s", rate / 1e6))
    } else if let Some(rate) = per_second("Elements", throughput) {
        Some(format_rate(rate, "elem"))
    } else {
        let both = &throughput["ElementsAndBytes"];
        let elements = per_second("elements", both)?;
        let bytes = per_second("bytes", both)?;
        Some(format!("{}, {}", format_rate(elements, "elem"), mib(bytes)))
    }
}

/// Facts about the machine and toolchain for the report's header, as `(label, value)`.
fn machine_facts() -> Vec<(&'static str, String)> {
    /// A command's trimmed output, or "unknown".
    fn ask(command: &mut Command) -> String {
        cmd::output(command).map_or_else(|_| "unknown".to_owned(), |text| text.trim().to_owned())
    }
    let cpu_model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|cpuinfo| {
            cpuinfo
                .lines()
                .filter(|line| line.starts_with("model name"))
                .find_map(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    vec![
        (
            "date",
            ask(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])),
        ),
        (
            "machine",
            format!(
                "{} CPUs (nproc), {cpu_model}",
                ask(&mut Command::new("nproc"))
            ),
        ),
        ("rustc", ask(Command::new(rustc).arg("--version"))),
    ]
}

/// Escapes text for a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', r"\|")
}

/// The whole report.
/// Where benchmarks leave facts that are not timings (bytes per cache entry, ratios), one
/// markdown line per `.md` file, under `target/criterion`.
const NOTES_DIR: &str = "keyward-notes";

/// The notes written at or after `since`, sorted by file name.
fn notes(dir: &Path, since: SystemTime) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    for entry in entries {
        let path = entry
            .with_context(|| format!("could not list {}", dir.display()))?
            .path();
        let fresh = fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        if fresh && path.extension().is_some_and(|e| e == "md") {
            let text = fs::read_to_string(&path)
                .with_context(|| format!("could not read {}", path.display()))?;
            found.push((path, text.trim().to_owned()));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, text)| text).collect())
}

fn render(
    facts: &[(&str, String)],
    filter: &str,
    ratios: &str,
    measurements: &[Measurement],
    notes: &[String],
) -> String {
    let mut out = String::new();
    out.push_str("# Benchmarks\n\n");
    out.push_str(
        "<!-- Written by `cargo xtask bench` (xtask/src/bench.rs); rerun it rather than edit. -->\n\n",
    );
    out.push_str(
        "Criterion results of `cargo bench --workspace --all-features`: one run on one machine, so \
         compare rows with each other rather than with numbers from elsewhere. The interval is \
         criterion's bootstrap confidence interval of the mean; throughput is at the mean time.\n\n",
    );
    for (label, value) in facts {
        out.push_str(&format!("- {label}: {value}\n"));
    }
    if !filter.is_empty() {
        out.push_str(&format!(
            "- filter: `{filter}` (only the benchmarks it matched)\n"
        ));
    }

    out.push_str(ratios);
    if !ratios.is_empty() {
        out.push_str("\n## Every benchmark\n");
    }

    let level = measurements
        .first()
        .map_or(0.95, |first| first.confidence_level);
    let interval_header = if measurements
        .iter()
        .all(|m| (m.confidence_level - level).abs() < 1e-9)
    {
        format!("{:.0}% CI", level * 100.0)
    } else {
        "CI".to_owned()
    };
    out.push_str(&format!(
        "\n| benchmark | mean | {interval_header} | throughput |\n| --- | ---: | ---: | ---: |\n"
    ));
    for m in measurements {
        out.push_str(&format!(
            "| {} | {} | {} – {} | {} |\n",
            cell(&m.name),
            format_ns(m.mean_ns),
            format_ns(m.lower_ns),
            format_ns(m.upper_ns),
            format_throughput(&m.throughput, m.mean_ns).unwrap_or_else(|| "–".to_owned()),
        ));
    }
    if !notes.is_empty() {
        out.push_str("\nNotes written by the benchmarks:\n\n");
        for note in notes {
            out.push_str(&format!("- {note}\n"));
        }
    }
    out
}

/// A row of an earlier report, kept by a filtered run that did not measure it: its cells
/// (benchmark, mean, interval, throughput) and the date it was measured.
#[derive(Debug, Clone, PartialEq)]
struct CarriedRow {
    cells: [String; 4],
    measured: String,
}

/// The rows of `previous` (a report this module wrote) whose benchmarks `measured` does not
/// hold: the main table's with the report's date, earlier carried rows with their own.
fn carried_rows(previous: &str, measured: &[Measurement]) -> Vec<CarriedRow> {
    let date = previous
        .lines()
        .find_map(|line| line.strip_prefix("- date: "))
        .unwrap_or("unknown date")
        .to_owned();
    let mut rows = Vec::new();
    // Only the result tables (headed `| benchmark |`) hold rows: notes and the ratio table may
    // hold tables of their own, which are not benchmarks.
    let mut in_results = false;
    for line in previous.lines() {
        let Some(inner) = line.strip_prefix('|').and_then(|l| l.strip_suffix('|')) else {
            in_results = false;
            continue;
        };
        if line.starts_with("| benchmark |") {
            in_results = true;
            continue;
        }
        if !in_results {
            continue;
        }
        let cells: Vec<String> = inner.split(" | ").map(|c| c.trim().to_owned()).collect();
        let (cells, when) = match cells.as_slice() {
            [a, b, c, d] => ([a, b, c, d], date.clone()),
            [a, b, c, d, when] => ([a, b, c, d], when.clone()),
            _ => continue,
        };
        let name = cells[0];
        if name.starts_with("---") {
            continue;
        }
        if measured.iter().any(|m| cell(&m.name) == *name) {
            continue;
        }
        rows.push(CarriedRow {
            cells: cells.map(String::clone),
            measured: when,
        });
    }
    rows
}

/// The carried rows as a second table, or nothing.
fn render_carried(rows: &[CarriedRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "
Rows this filtered run did not measure, kept from the run that measured them:\n\n\
         | benchmark | mean | CI | throughput | measured |\n| --- | ---: | ---: | ---: | --- |\n",
    );
    for row in rows {
        let [name, mean, interval, throughput] = &row.cells;
        out.push_str(&format!(
            "| {name} | {mean} | {interval} | {throughput} | {} |\n",
            row.measured
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{
        CarriedRow, Measurement, carried_rows, collect, format_ns, format_throughput, parse,
        render, render_carried,
    };
    use serde_json::json;
    use std::fs;
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    /// Writes criterion's two files into `<dir>/new/`.
    fn write_result(dir: &Path, benchmark: &serde_json::Value, mean: f64) {
        let new = dir.join("new");
        fs::create_dir_all(&new).unwrap();
        fs::write(new.join("benchmark.json"), benchmark.to_string()).unwrap();
        let estimates = estimates(mean, mean - 1.0, mean + 1.0).to_string();
        fs::write(new.join("estimates.json"), estimates).unwrap();
    }

    /// `estimates.json` as criterion writes it, trimmed to the fields read here.
    fn estimates(mean: f64, lower: f64, upper: f64) -> serde_json::Value {
        json!({
            "mean": {
                "confidence_interval": {
                    "confidence_level": 0.95,
                    "lower_bound": lower,
                    "upper_bound": upper
                },
                "point_estimate": mean,
                "standard_error": 1.0
            },
            "median": {
                "confidence_interval": {"confidence_level": 0.95, "lower_bound": 1.0, "upper_bound": 2.0},
                "point_estimate": 1.5,
                "standard_error": 0.1
            }
        })
    }

    #[test]
    fn parses_a_parameterised_benchmark() {
        let benchmark = json!({
            "group_id": "fernet",
            "function_id": "encrypt",
            "value_str": "4096",
            "throughput": {"Bytes": 4096},
            "full_id": "fernet/encrypt/4096",
            "directory_name": "fernet/encrypt/4096",
            "title": "fernet/encrypt/4096"
        });
        let m = parse(&benchmark, &estimates(2048.0, 2000.0, 2100.0)).unwrap();
        assert_eq!(m.name, "fernet/encrypt/4096");
        assert!((m.mean_ns - 2048.0).abs() < f64::EPSILON);
        assert!((m.lower_ns - 2000.0).abs() < f64::EPSILON);
        assert!((m.upper_ns - 2100.0).abs() < f64::EPSILON);
        // 4096 bytes in 2048 ns = 2 bytes/ns = 2e9 B/s = 1907.3 MiB/s.
        assert_eq!(
            format_throughput(&m.throughput, m.mean_ns).as_deref(),
            Some("1907.3 MiB/s")
        );
    }

    #[test]
    fn parses_a_benchmark_without_function_or_value() {
        let benchmark = json!({
            "group_id": "keyring_rotate",
            "function_id": null,
            "value_str": null,
            "throughput": null
        });
        let m = parse(&benchmark, &estimates(10.0, 9.0, 11.0)).unwrap();
        assert_eq!(m.name, "keyring_rotate");
        assert_eq!(format_throughput(&m.throughput, m.mean_ns), None);
    }

    #[test]
    fn walks_every_layout_criterion_writes() {
        let root = std::env::temp_dir().join(format!("xtask-criterion-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let with_value = json!({"group_id": "fernet", "function_id": "encrypt", "value_str": "64"});
        write_result(&root.join("fernet/encrypt/64"), &with_value, 100.0);
        let without_value = json!({"group_id": "keyring", "function_id": "rotate"});
        write_result(&root.join("keyring/rotate"), &without_value, 200.0);
        // Criterion's other directories hold copies that must not become rows.
        let base = root.join("keyring/rotate/base");
        fs::create_dir_all(&base).unwrap();
        fs::write(base.join("benchmark.json"), without_value.to_string()).unwrap();
        fs::create_dir_all(root.join("report")).unwrap();

        let mut found = Vec::new();
        collect(&root, SystemTime::UNIX_EPOCH, &mut found).unwrap();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<&str> = found.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["fernet/encrypt/64", "keyring/rotate"]);

        // Results older than this run are left out.
        let mut fresh = Vec::new();
        let later = SystemTime::now() + Duration::from_secs(3600);
        collect(&root, later, &mut fresh).unwrap();
        assert!(fresh.is_empty(), "{fresh:?}");

        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn rejects_estimates_without_a_mean() {
        let benchmark = json!({"group_id": "g", "function_id": "f"});
        assert!(parse(&benchmark, &json!({"median": {}})).is_err());
    }

    #[test]
    fn formats_times_with_a_readable_unit() {
        assert_eq!(format_ns(812.34), "812.3 ns");
        assert_eq!(format_ns(5.5), "5.500 ns");
        assert_eq!(format_ns(12_345.0), "12.35 µs");
        assert_eq!(format_ns(1_234_567.0), "1.235 ms");
        assert_eq!(format_ns(2_500_000_000.0), "2.500 s");
    }

    #[test]
    fn formats_other_throughputs() {
        let one_second = 1e9;
        assert_eq!(
            format_throughput(&json!({"Elements": 2_000_000}), one_second).as_deref(),
            Some("2.00 Melem/s")
        );
        assert_eq!(
            format_throughput(&json!({"BytesDecimal": 3_000_000}), one_second).as_deref(),
            Some("3.0 MB/s")
        );
        assert_eq!(
            format_throughput(
                &json!({"ElementsAndBytes": {"elements": 1000, "bytes": 1_048_576}}),
                one_second
            )
            .as_deref(),
            Some("1.00 Kelem/s, 1.0 MiB/s")
        );
    }

    #[test]
    fn renders_a_table() {
        let measurements = vec![Measurement {
            name: "fernet/decrypt|odd".to_owned(),
            mean_ns: 1500.0,
            lower_ns: 1400.0,
            upper_ns: 1600.0,
            confidence_level: 0.95,
            throughput: json!({"Bytes": 1024}),
        }];
        let facts = vec![("rustc", "rustc 1.95.0".to_owned())];
        let report = render(&facts, "", "", &measurements, &["a note".to_owned()]);
        assert!(report.contains("- a note"));
        assert!(report.starts_with("# Benchmarks\n"));
        assert!(report.contains("- rustc: rustc 1.95.0\n"));
        assert!(report.contains("| benchmark | mean | 95% CI | throughput |"));
        assert!(
            report.contains(
                "| fernet/decrypt\\|odd | 1.500 µs | 1.400 µs – 1.600 µs | 651.0 MiB/s |"
            ),
            "{report}"
        );
        assert!(!report.contains("filter"));
    }

    #[test]
    fn a_filtered_run_keeps_the_rows_it_did_not_measure() {
        let measured = |name: &str| Measurement {
            name: name.to_owned(),
            mean_ns: 10.0,
            lower_ns: 9.0,
            upper_ns: 11.0,
            confidence_level: 0.95,
            throughput: serde_json::Value::Null,
        };
        // A note holding a table of its own, and the ratio table: neither holds benchmark rows.
        let note = "latency:\n| decision | p50 | p99 | mean |\n| --- | --- | --- | --- |\n| in-process | 1 | 2 | 3 |";
        let first = render(
            &[("date", "2026-01-01 00:00 UTC".to_owned())],
            "",
            "\n| what | value | target | verdict | from |\n| --- | ---: | ---: | --- | --- |\n| x | 1x | ≤ 2x | met | a |\n",
            &[measured("a/x"), measured("b/y")],
            &[note.to_owned()],
        );
        let kept = carried_rows(&first, &[measured("a/x")]);
        assert_eq!(
            kept,
            vec![CarriedRow {
                cells: ["b/y", "10.00 ns", "9.000 ns – 11.00 ns", "–"].map(str::to_owned),
                measured: "2026-01-01 00:00 UTC".to_owned(),
            }]
        );
        // A second filtered run keeps the carried row with its own date, and drops it once
        // measured again.
        let mut second = render(
            &[("date", "2026-02-01 00:00 UTC".to_owned())],
            "a",
            "",
            &[measured("a/x")],
            &[],
        );
        second.push_str(&render_carried(&kept));
        let again = carried_rows(&second, &[measured("c/z")]);
        assert_eq!(again.len(), 2);
        assert!(again.contains(&kept[0]));
        assert!(
            again
                .iter()
                .any(|r| r.cells[0] == "a/x" && r.measured.starts_with("2026-02"))
        );
        assert!(carried_rows(&second, &[measured("a/x"), measured("b/y")]).is_empty());
    }
}
