//! Config integrity: the SHA-256 of each `.env` and config file a process loaded, taken at
//! load, and a check that reports a file that changed, disappeared or was replaced by a
//! symbolic link since.
//!
//! - [`IntegrityWatch`] holds the digests of the files a process loaded ([`DotenvLoader`]
//!   records the bytes it parsed; [`IntegrityWatch::track`] hashes any other file). Its
//!   [`check`](IntegrityWatch::check) runs on demand (call it from a timer for a schedule) and
//!   returns an [`IntegrityEvent`] per change, also sent to
//!   [`subscribe`](IntegrityWatch::subscribe)rs, logged with `tracing` and, with an audit log,
//!   appended as an `integrity_alert` entry. A change is reported once, not at every check.
//! - [`IntegrityRecord`] persists digests in a 0600 JSON file (by default
//!   `<project>/.keyward/integrity.json`), written atomically, so that `keyward doctor` reports
//!   a file that changed since the last recorded digest (`keyward doctor --record-integrity`
//!   records the project's `.env` files; [`IntegrityWatch::persist`] records what a process
//!   loaded).
//!
//! Files are read without following a symbolic link: a link is reported as a link, never
//! hashed through. Only digests are kept; no content is held, logged or returned.
//!
//! [`DotenvLoader`]: crate::environment::DotenvLoader

mod digest;
mod record;
mod watch;

pub use digest::{FileDigest, FileState, MAX_HASHED_LEN, probe};
pub use record::{IntegrityRecord, RECORD_DIR, RECORD_FILE};
pub use watch::{Change, IntegrityEvent, IntegrityWatch};
