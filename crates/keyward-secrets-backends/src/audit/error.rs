//! What the audit log can fail with. No variant carries the MAC key or a secret value.

use std::fmt;
use std::path::PathBuf;

/// An audit log error. A failed append is one of these: the caller reports it (to its own log,
/// a metric, an alert) and carries on; a secret read must never wait for or fail on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A subject that is not a valid name (its length is given, never its text, which may be a
    /// value passed by mistake).
    #[error(
        "an audit subject must be a name of 1 to 256 letters, digits and / _ + = . @ - (got {length} bytes that are not)"
    )]
    InvalidSubject {
        /// The length of the text refused.
        length: usize,
    },
    /// The log file could not be opened, read or written.
    #[error("could not {action} the audit log {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The log file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The log file is refused (a symbolic link, readable by group or others, another owner's).
    #[error(transparent)]
    File(#[from] keyward_core_crypto::Error),
    /// The store holding the MAC key and the chain's head failed.
    #[error("the audit log's key store failed: {0}")]
    Store(#[source] crate::Error),
    /// The operating system's random number generator failed (a new key or chain id).
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
    /// The stored MAC key or head is not in the form this module writes.
    #[error("the audit key store entry {name} is unusable: {reason}")]
    BadKey {
        /// The store entry's name.
        name: String,
        /// What is wrong with it; never its content.
        reason: &'static str,
    },
    /// A row of the vault's audit table does not match the log entry it names (checked by
    /// `SqliteVault::verify_audit_chain`): the row or the log was edited, or the log is not
    /// the one the vault wrote to.
    #[error("vault audit row {row} does not match audit log entry {seq}: {problem}")]
    VaultRow {
        /// The row's id in the vault's `audit` table.
        row: i64,
        /// The chain sequence number the row names.
        seq: u64,
        /// What differs.
        problem: &'static str,
    },
    /// A grouped audit queue stayed full (the disk or the log's store is slower than the
    /// operations it records) for longer than the wait allowed: the operation is refused rather
    /// than done unaudited.
    #[error(
        "the audit queue held {capacity} entries not yet durable for {waited:?}; the operation is refused rather than left unaudited"
    )]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
        /// How long the operation waited for room.
        waited: std::time::Duration,
    },
    /// Several audit batches failed since the last flush; the first error is kept.
    #[error("{failures} audit batches failed since the last flush; the first: {first}")]
    BatchesFailed {
        /// How many batches failed.
        failures: u64,
        /// The first failure.
        #[source]
        first: Box<AuditError>,
    },
    /// The log does not verify: `line` (from 1) is the first line found wrong.
    #[error("the audit log {} is broken at line {line}: {problem}", path.display())]
    Broken {
        /// The log file.
        path: PathBuf,
        /// The first line found wrong (from 1; one past the last line for a missing tail).
        line: u64,
        /// What is wrong with it.
        problem: Problem,
    },
}

/// What is wrong with a line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The line is longer than the most a line may hold.
    TooLong {
        /// The cap, in bytes.
        max: usize,
    },
    /// The file ends without a newline: a torn last write, or a cut.
    Incomplete,
    /// The line is not UTF-8 JSON in the entry's form.
    NotAnEntry {
        /// The parser's reason (about the form, never the content).
        reason: String,
    },
    /// The line has no MAC field in the form the log writes.
    NoMac,
    /// The sequence number is not the one expected.
    Sequence {
        /// The number expected.
        expected: u64,
        /// The number found.
        found: u64,
    },
    /// The `prev` hash is not the SHA-256 of the line before (for line 1: not a chain id).
    ChainBroken,
    /// The MAC does not match (checked with the key only).
    MacMismatch,
    /// The log holds fewer entries than the stored head says were written (checked with the key
    /// only): its tail was cut, or the whole file replaced.
    Truncated {
        /// The last sequence number the head records.
        head_seq: u64,
        /// The number of entries found.
        entries: u64,
    },
    /// The entry at the head's sequence number is not the one the head records (checked with
    /// the key only): the log was replaced by another.
    HeadMismatch,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { max } => write!(f, "the line is longer than {max} bytes"),
            Self::Incomplete => f.write_str("the file ends inside this line (no newline)"),
            Self::NotAnEntry { reason } => write!(f, "not an audit entry ({reason})"),
            Self::NoMac => f.write_str("the line does not end with a MAC field"),
            Self::Sequence { expected, found } => {
                write!(f, "sequence number {found} where {expected} was expected")
            }
            Self::ChainBroken => f.write_str(
                "its prev hash is not the hash of the line before (a line was edited, inserted, removed or moved)",
            ),
            Self::MacMismatch => f.write_str("MAC mismatch (edited, or written without the key)"),
            Self::Truncated { head_seq, entries } => write!(
                f,
                "the log holds {entries} entries but the stored head says entry {head_seq} was written (the tail was cut)"
            ),
            Self::HeadMismatch => f.write_str(
                "this entry is not the one the stored head records (the log was replaced)",
            ),
        }
    }
}
