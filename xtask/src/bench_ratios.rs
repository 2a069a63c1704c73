//! The ratio table at the top of docs/BENCHMARKS.md: each performance target of the project as
//! a ratio of two figures measured in the same run (absolute times move by a fifth between runs
//! on a shared machine; ratios measured side by side do not), with its verdict, and what users
//! would run instead (Python's `cryptography` and `hmac`) compared in the same sitting.
//!
//! A figure is a criterion benchmark's mean (by its id) or a metric a benchmark left with
//! `tests/support/bench_note.rs::metric` (bytes per entry, medians of interleaved rounds), or one
//! of the Python timings (xtask/bench_compare.py), written as metrics too. Only figures of this
//! run are used: a ratio whose parts were not both measured says so instead of mixing runs.

use crate::cmd::{self, project_root};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

/// Where benchmarks (and the Python comparison) leave metrics, under `target/criterion`.
pub const METRICS_DIR: &str = "keyward-metrics";

/// The Python script timing what users would run instead, relative to the workspace root.
const PYTHON_SCRIPT: &str = "xtask/bench_compare.py";

/// Where one figure of a ratio comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    /// A criterion benchmark's mean time, by id (`group/function[/value]`).
    Bench(&'static str),
    /// A metric file `<name>.json` written during this run.
    Metric(&'static str),
}

/// A target a ratio must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// At most this value.
    AtMost(f64),
    /// At least this value.
    AtLeast(f64),
}

impl Target {
    fn met(self, value: f64) -> bool {
        match self {
            Target::AtMost(limit) => value <= limit,
            Target::AtLeast(limit) => value >= limit,
        }
    }

    fn text(self, unit: &str) -> String {
        match self {
            Target::AtMost(limit) => format!("≤ {limit}{unit}"),
            Target::AtLeast(limit) => format!("≥ {limit}{unit}"),
        }
    }
}

/// One row of the table: `numerator / denominator` (or the numerator alone).
#[derive(Debug, Clone, Copy)]
struct Row {
    what: &'static str,
    numerator: Source,
    denominator: Option<Source>,
    /// Appended to the value: `x` for a ratio, ` B` for bytes.
    unit: &'static str,
    target: Option<Target>,
}

/// The targets (issue 18) and the comparisons, in the order the report shows them.
const ROWS: &[Row] = &[
    Row {
        what: "verify one Binance order (warm 1,000,000-entry replay cache) / keyed HMAC-SHA256 of the same bytes",
        numerator: Source::Bench("verify_warm_1m/binance"),
        denominator: Some(Source::Bench("verify_warm_1m/keyed_hmac_sha256")),
        unit: "x",
        target: Some(Target::AtMost(2.5)),
    },
    Row {
        what: "replay cache: process memory per live entry over 1,000,000 entries (RSS growth / entries)",
        numerator: Source::Metric("replay_cache_process_bytes_per_entry"),
        denominator: None,
        unit: " B",
        target: Some(Target::AtMost(40.0)),
    },
    Row {
        what: "sign one Binance order / keyed HMAC-SHA256 of the same bytes",
        numerator: Source::Bench("binance_order/preset_sign"),
        denominator: Some(Source::Bench("binance_order/keyed_hmac_sha256")),
        unit: "x",
        target: Some(Target::AtMost(1.3)),
    },
    Row {
        what: "vault `get`: speed-up over the previous read path rebuilt on plain rusqlite (`vault/get_before`; the rebuild costs 1.36x the previous code itself by callgrind's count, against which `get` is 2.6x faster: see issue 18's note)",
        numerator: Source::Bench("vault/get_before"),
        denominator: Some(Source::Bench("vault/get")),
        unit: "x",
        target: Some(Target::AtLeast(3.0)),
    },
    Row {
        what: "vault audited `get` / plain `get`",
        numerator: Source::Bench("vault/get_audited"),
        denominator: Some(Source::Bench("vault/get")),
        unit: "x",
        target: Some(Target::AtMost(2.0)),
    },
    Row {
        what: "signed REST round trip on loopback / the same bytes pre-signed through reqwest (median of the ratios of interleaved rounds)",
        numerator: Source::Metric("rest_own_work_ratio"),
        denominator: None,
        unit: "x",
        target: Some(Target::AtMost(1.03)),
    },
    Row {
        what: "a signed Binance account read through `keyward proxy` (an unsigned request to the proxy, which signs and relays it) / the same read sent directly by `RestClient`, both against the local testnet on loopback (target: the proxy's extra loopback hop and relay cost at most the signed call itself)",
        numerator: Source::Bench("proxy_roundtrip/through_proxy"),
        denominator: Some(Source::Bench("proxy_roundtrip/direct")),
        unit: "x",
        target: Some(Target::AtMost(2.0)),
    },
    Row {
        what: "signed REST round trip / an unsigned reqwest GET of the same URL (medians of interleaved rounds)",
        numerator: Source::Metric("rest_total_ratio"),
        denominator: None,
        unit: "x",
        target: None,
    },
    Row {
        what: "verify one keyward-v1 request (warm 1,000,000-entry cache) / keyed HMAC-SHA256 of the Binance bytes",
        numerator: Source::Bench("verify_warm_1m/keyward-v1"),
        denominator: Some(Source::Bench("verify_warm_1m/keyed_hmac_sha256")),
        unit: "x",
        target: None,
    },
    Row {
        what: "Python `cryptography` Fernet encrypt, 100 B / keyward",
        numerator: Source::Metric("python/fernet_encrypt_100"),
        denominator: Some(Source::Bench("fernet/encrypt/100")),
        unit: "x",
        target: None,
    },
    Row {
        what: "Python `cryptography` Fernet decrypt, 100 B / keyward",
        numerator: Source::Metric("python/fernet_decrypt_100"),
        denominator: Some(Source::Bench("fernet/decrypt/100")),
        unit: "x",
        target: None,
    },
    Row {
        what: "Python `hmac`/`hashlib` hmac-concat pattern / keyward `hmac-concat` (same request, headers built)",
        numerator: Source::Metric("python/hmac_concat"),
        denominator: Some(Source::Bench("service_schemes/hmac_concat")),
        unit: "x",
        target: None,
    },
    Row {
        what: "Python `hmac`/`hashlib` newline pattern / keyward `hmac-newline-v0` (same request, headers built)",
        numerator: Source::Metric("python/hmac_newline_v0"),
        denominator: Some(Source::Bench("service_schemes/hmac_newline_v0")),
        unit: "x",
        target: None,
    },
];

/// Times the Python comparisons with the virtualenv's interpreter and writes them as metrics
/// into `metrics_dir`; returns a line naming the versions for the report's header.
pub fn run_python(python: &Path, metrics_dir: &Path) -> Result<String> {
    let script = project_root().join(PYTHON_SCRIPT);
    let output = cmd::output(Command::new(python).arg(&script))
        .with_context(|| format!("{} failed", script.display()))?;
    let parsed: Value = serde_json::from_str(output.trim())
        .with_context(|| format!("{} did not print JSON", script.display()))?;
    let timings = parsed["ns"]
        .as_object()
        .context("the Python comparison printed no `ns` object")?;
    fs::create_dir_all(metrics_dir)
        .with_context(|| format!("could not create {}", metrics_dir.display()))?;
    for (name, value) in timings {
        let Some(ns) = value.as_f64().filter(|ns| ns.is_finite() && *ns > 0.0) else {
            bail!("the Python comparison gave no time for {name}");
        };
        // `python/fernet_encrypt_100` -> keyward-metrics/python/fernet_encrypt_100.json
        let path = metrics_dir.join(format!("{name}.json"));
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
        }
        fs::write(&path, format!("{{\"value\": {ns}, \"unit\": \"ns\"}}\n"))
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    Ok(format!(
        "Python {}, cryptography {}",
        parsed["python"].as_str().unwrap_or("unknown"),
        parsed["cryptography"].as_str().unwrap_or("unknown")
    ))
}

/// The metrics written at or after `since` under `dir`, by name (`python/hmac_concat`).
pub fn read_metrics(dir: &Path, since: SystemTime) -> Result<BTreeMap<String, f64>> {
    let mut found = BTreeMap::new();
    walk(dir, dir, since, &mut found)?;
    Ok(found)
}

fn walk(root: &Path, dir: &Path, since: SystemTime, out: &mut BTreeMap<String, f64>) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("could not list {}", dir.display()))?;
        let path = entry.path();
        // `DirEntry::file_type` does not follow symbolic links, so the walk cannot loop.
        if entry.file_type()?.is_dir() {
            walk(root, &path, since, out)?;
            continue;
        }
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let fresh = fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        if !fresh {
            continue;
        }
        let text = fs::read_to_string(&path)
            .with_context(|| format!("could not read {}", path.display()))?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let number = value["value"]
            .as_f64()
            .with_context(|| format!("{} has no number `value`", path.display()))?;
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .with_extension("")
            .to_string_lossy()
            .replace('\\', "/");
        out.insert(name, number);
    }
    Ok(())
}

/// The value of `source` in this run, if it was measured.
fn figure(
    source: Source,
    means: &BTreeMap<String, f64>,
    metrics: &BTreeMap<String, f64>,
) -> Option<f64> {
    match source {
        Source::Bench(id) => means.get(id).copied(),
        Source::Metric(name) => metrics.get(name).copied(),
    }
    .filter(|v| v.is_finite() && *v > 0.0)
}

fn source_text(source: Source) -> String {
    match source {
        Source::Bench(id) => format!("`{id}`"),
        Source::Metric(name) => format!("metric `{name}`"),
    }
}

/// The ratio table, from this run's criterion means (`means`, ns by id) and metrics.
pub fn render(means: &BTreeMap<String, f64>, metrics: &BTreeMap<String, f64>) -> String {
    let mut out = String::from(
        "\n## Targets and comparisons\n\nEach row divides two figures measured in this run (a \
         criterion mean, or a metric a benchmark wrote); rows whose figures this run did not \
         measure say so rather than mix runs.\n\n| what | value | target | verdict | from |\n| --- \
         | ---: | ---: | --- | --- |\n",
    );
    for row in ROWS {
        let numerator = figure(row.numerator, means, metrics);
        let denominator = row.denominator.map(|d| figure(d, means, metrics));
        let value = match (numerator, denominator) {
            (Some(n), None) => Some(n),
            (Some(n), Some(Some(d))) => Some(n / d),
            _ => None,
        };
        let from = match row.denominator {
            Some(d) => format!("{} / {}", source_text(row.numerator), source_text(d)),
            None => source_text(row.numerator),
        };
        let target = row
            .target
            .map_or_else(|| "–".to_owned(), |t| t.text(row.unit));
        let (value_text, verdict) = match (value, row.target) {
            (None, _) => ("–".to_owned(), "not measured in this run".to_owned()),
            (Some(v), Some(t)) => (
                format!("{v:.2}{}", row.unit),
                if t.met(v) { "met" } else { "**not met**" }.to_owned(),
            ),
            (Some(v), None) => (format!("{v:.2}{}", row.unit), "comparison".to_owned()),
        };
        out.push_str(&format!(
            "| {} | {value_text} | {target} | {verdict} | {from} |\n",
            row.what
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{ROWS, read_metrics, render};
    use std::collections::BTreeMap;
    use std::fs;
    use std::time::{Duration, SystemTime};

    #[test]
    fn ratios_get_verdicts_and_missing_figures_say_so() {
        let means: BTreeMap<String, f64> = [
            ("verify_warm_1m/binance", 450.0),
            ("verify_warm_1m/keyed_hmac_sha256", 200.0),
            ("binance_order/preset_sign", 300.0),
            ("binance_order/keyed_hmac_sha256", 200.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let metrics: BTreeMap<String, f64> =
            [("replay_cache_process_bytes_per_entry".to_owned(), 33.5)].into();
        let table = render(&means, &metrics);
        assert!(
            table.contains("| 2.25x | ≤ 2.5x | met |"),
            "verify: 450 / 200\n{table}"
        );
        assert!(
            table.contains("| 1.50x | ≤ 1.3x | **not met** |"),
            "sign\n{table}"
        );
        assert!(table.contains("| 33.50 B | ≤ 40 B | met |"), "{table}");
        assert!(
            table.contains("| – | ≥ 3x | not measured in this run |"),
            "{table}"
        );
        assert_eq!(
            table.lines().filter(|l| l.starts_with("| ")).count(),
            ROWS.len() + 2,
            "a header, its rule and one line per row"
        );
    }

    #[test]
    fn reads_only_this_runs_metrics_with_nested_names() {
        let root = std::env::temp_dir().join(format!("xtask-metrics-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("python")).unwrap();
        fs::write(
            root.join("python/hmac_concat.json"),
            r#"{"value": 812.5, "unit": "ns"}"#,
        )
        .unwrap();
        fs::write(root.join("bytes.json"), r#"{"value": 31}"#).unwrap();
        fs::write(root.join("ignored.txt"), "1").unwrap();
        let found = read_metrics(&root, SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(found.get("python/hmac_concat"), Some(&812.5));
        assert_eq!(found.get("bytes"), Some(&31.0));
        assert_eq!(found.len(), 2);
        let later = SystemTime::now() + Duration::from_secs(3600);
        assert!(read_metrics(&root, later).unwrap().is_empty());
        fs::write(root.join("bad.json"), r#"{"unit": "ns"}"#).unwrap();
        assert!(read_metrics(&root, SystemTime::UNIX_EPOCH).is_err());
        fs::remove_dir_all(&root).unwrap();
    }
}
