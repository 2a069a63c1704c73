//! A tamper-evident audit log: append-only JSON lines, hash-chained and MACed, that name what
//! happened and never hold a value.
//!
//! Each line is one [`Entry`]:
//!
//! ```text
//! {"seq":0,"prev":"<chain id>","time_ms":1700000000000,"event":"secret_read","subject":"binance/main","outcome":"success","mac":"<hex>"}
//! ```
//!
//! - `seq` counts from 0; `prev` is the hex SHA-256 of the previous line (without its newline),
//!   and for the first entry a random 32-byte chain id from the operating system's RNG;
//! - `time_ms` comes from the log's [`Clock`](crate::Clock); `event` is an [`EventKind`],
//!   `outcome` an [`Outcome`], and `subject` a [`Subject`], a name in the secret-name alphabet:
//!   the only text an entry holds, so no value, token or message can be written into it;
//! - `mac` is the HMAC-SHA256, under a 32-byte key kept in a [`SecretStore`](crate::SecretStore),
//!   of the line up to that field, so whoever can edit the file but not read the store cannot
//!   make a line that verifies.
//!
//! The writer also records the chain's head (last `seq` and line hash) in the store beside the
//! key. [`verify`] without the key finds any edited, inserted, reordered or removed line except
//! the last; [`verify_with_key`] also finds a chain rebuilt from scratch, an edited last line, and
//! a cut tail (the log no longer reaches the stored head).

mod entry;
mod error;
pub mod group;
mod key;
mod log;
mod sink;
mod verify;

pub use entry::{Entry, Event, EventKind, Outcome, Subject};
pub use error::{AuditError, Problem};
pub use group::{BatchSink, GroupCommit, GroupConfig};
pub use key::{AuditKey, Head, KEY_LEN};
pub use log::{Appended, AuditLog};
pub use sink::AuditSink;
pub use verify::{MAX_LINE, Summary, read_entries, verify, verify_with_key, verify_with_store};
