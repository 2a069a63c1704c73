//! The summary table: one row per step and venue, printed as each step ends (text) or all at
//! once (JSON). Details never hold a secret: steps report counts, times and error kinds, and
//! keyward's errors carry no key material.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};

use crate::cli::Format;

/// What one step did.
#[derive(Debug, Clone)]
pub struct Row {
    /// The step (`rest`, `websocket`, `clock skew`, ...).
    pub step: &'static str,
    /// The venue or service scheme it ran against (`-` for none).
    pub venue: String,
    /// Whether it did what it shows.
    pub ok: bool,
    /// Counts, latencies, or what went wrong.
    pub detail: String,
    /// How long it took.
    pub took: Duration,
}

impl Row {
    /// A row from a step's result: its detail, or the error with its causes.
    pub fn from_result(
        step: &'static str,
        venue: &str,
        took: Duration,
        result: Result<String>,
    ) -> Self {
        let (ok, detail) = match result {
            Ok(detail) => (true, detail),
            Err(e) => (false, format!("{e:#}")),
        };
        Self {
            step,
            venue: venue.to_owned(),
            ok,
            detail,
            took,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "step": self.step,
            "venue": self.venue,
            "result": if self.ok { "ok" } else { "FAIL" },
            "detail": self.detail,
            "ms": millis(self.took),
        })
    }
}

/// Collects rows and prints them.
#[derive(Debug)]
pub struct Summary {
    format: Format,
    colour: bool,
    rows: Vec<Row>,
}

impl Summary {
    /// A summary printed in `format`, in colour when standard output is a terminal and
    /// `NO_COLOR` is unset.
    pub fn new(format: Format) -> Self {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Self {
            format,
            colour,
            rows: Vec::new(),
        }
    }

    /// Prints a line of context before the table (text only).
    pub fn note(&self, text: &str) -> Result<()> {
        if self.format == Format::Text {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}")?;
            out.flush()?;
        }
        Ok(())
    }

    /// Prints the table's header (text only).
    pub fn header(&self) -> Result<()> {
        self.note(&format!(
            "\n{:<16} {:<22} {:<6} DETAIL",
            "STEP", "VENUE", "RESULT"
        ))
    }

    /// Adds a row, printing it at once in text.
    pub fn push(&mut self, row: Row) -> Result<()> {
        if self.format == Format::Text {
            let result = if row.ok { "ok" } else { "FAIL" };
            let result = match (self.colour, row.ok) {
                (false, _) => format!("{result:<6}"),
                (true, true) => format!("\x1b[32m{result:<6}\x1b[0m"),
                (true, false) => format!("\x1b[31;1m{result:<6}\x1b[0m"),
            };
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<16} {:<22} {result} {}",
                row.step,
                row.venue,
                one_line(&row.detail)
            )?;
            out.flush()?;
        }
        self.rows.push(row);
        Ok(())
    }

    /// How many steps failed.
    pub fn failed(&self) -> usize {
        self.rows.iter().filter(|r| !r.ok).count()
    }

    /// How many steps ran.
    pub fn steps(&self) -> usize {
        self.rows.len()
    }

    /// Prints the totals (text) or the whole summary (JSON).
    pub fn finish(&self, elapsed: Duration, extra: Value) -> Result<()> {
        let failed = self.failed();
        let mut out = std::io::stdout().lock();
        match self.format {
            Format::Text => writeln!(
                out,
                "\n{} steps: {} ok, {failed} failed, in {:.1} s",
                self.steps(),
                self.steps() - failed,
                elapsed.as_secs_f64()
            )?,
            Format::Json => {
                let mut doc = json!({
                    "ok": failed == 0,
                    "steps": self.rows.iter().map(Row::to_json).collect::<Vec<_>>(),
                    "failed": failed,
                    "elapsed_ms": millis(elapsed),
                });
                if let (Some(doc), Value::Object(extra)) = (doc.as_object_mut(), extra) {
                    doc.extend(extra);
                }
                serde_json::to_writer_pretty(&mut out, &doc)?;
                writeln!(out)?;
            }
        }
        out.flush()?;
        Ok(())
    }
}

/// Whole milliseconds, saturating.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A detail on one line (an error's text may hold line breaks from a venue's message).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_becomes_a_failed_row_with_its_causes() {
        let err = anyhow::anyhow!("connection refused").context("balance");
        let row = Row::from_result("rest", "okx", Duration::ZERO, Err(err));
        assert!(!row.ok);
        assert_eq!(row.detail, "balance: connection refused");
        assert_eq!(row.to_json()["result"], "FAIL");
    }

    #[test]
    fn details_are_kept_on_one_line() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
    }
}
