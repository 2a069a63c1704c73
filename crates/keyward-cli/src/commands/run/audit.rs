//! The audit log's record of a run: one `secret_handover` entry per variable, naming the
//! program, the variable, the secret and its field, never a value and never the arguments
//! (which may hold anything).
//!
//! An entry's subject is `run/PROGRAM/VAR=NAME` for a secret stored as bytes and
//! `run/PROGRAM/VAR=NAME+FIELD` for a field, in the audit log's name alphabet (letters, digits
//! and `/ _ + = . @ -`, at most 256 characters). PROGRAM is the command's file name with any
//! other character written as `_`, cut to [`MAX_PROGRAM`] characters. The reads themselves are
//! recorded as `secret_read` entries by the audited store.

use std::ffi::OsStr;
use std::path::Path;

use anyhow::{Context, Result};
use keyward::secrets::audit::{AuditLog, Event, EventKind, Outcome};

use super::plan::Spec;

/// The longest program name written to the log.
pub const MAX_PROGRAM: usize = 64;

/// The command's file name in the log's alphabet.
pub fn program(command: &OsStr) -> String {
    let base = Path::new(command)
        .file_name()
        .unwrap_or(command)
        .to_string_lossy();
    let name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=.@-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(MAX_PROGRAM)
        .collect();
    if name.is_empty() {
        "_".to_owned()
    } else {
        name
    }
}

/// The events of handing `specs` to `program`; an error (before anything is written) when a
/// subject cannot be written in the log's alphabet.
pub fn events(program: &str, specs: &[&Spec]) -> Result<Vec<Event>> {
    specs
        .iter()
        .map(|spec| {
            let mut subject = format!("run/{program}/{}={}", spec.var, spec.name);
            if let Some(field) = &spec.field {
                subject.push('+');
                subject.push_str(field);
            }
            Event::new(EventKind::SecretHandover, &subject, Outcome::Success).with_context(|| {
                format!(
                    "{} ({}): cannot be recorded in the audit log (its record must be at most 256 letters, digits and / _ + = . @ -)",
                    spec.origin, spec.var
                )
            })
        })
        .collect()
}

/// Appends `events` to `log`, in order.
pub async fn record(log: &AuditLog, events: &[Event]) -> Result<()> {
    for event in events {
        log.append(event).await.with_context(|| {
            format!(
                "could not append to the audit log {}; the command was not started",
                log.path().display()
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::plan::Origin;
    use super::*;

    #[test]
    fn program_names_are_cleaned_and_cut() {
        assert_eq!(program(OsStr::new("/usr/bin/python3")), "python3");
        assert_eq!(program(OsStr::new("my bot!")), "my_bot_");
        assert_eq!(program(OsStr::new(&"x".repeat(100))).len(), MAX_PROGRAM);
    }

    #[test]
    fn subjects_name_var_secret_and_field() {
        let spec = Spec {
            var: "API_SECRET".into(),
            name: "testnet/binance".into(),
            field: Some("secret".into()),
            origin: Origin::Arg,
        };
        let events = events("python3", &[&spec]).unwrap();
        assert_eq!(
            events[0].subject.as_str(),
            "run/python3/API_SECRET=testnet/binance+secret"
        );
        let bad = Spec {
            field: Some("has space".into()),
            ..spec
        };
        assert!(events_err(&bad).contains("cannot be recorded"));
    }

    fn events_err(spec: &Spec) -> String {
        events("p", &[spec]).unwrap_err().to_string()
    }
}
