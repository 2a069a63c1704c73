//! Verification: JSON form, sequence, hash chain, and with the key the MACs and the stored head.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::entry::{Entry, split_mac};
use super::error::{AuditError, Problem};
use super::key::{AuditKey, Head};
use crate::store::SecretStore;

/// The longest line verification reads (an entry is well under 1 KiB: its only text is a name
/// of at most 256 bytes).
pub const MAX_LINE: usize = 4096;

/// What a verified log holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The number of entries.
    pub entries: u64,
    /// The chain's random id (the first entry's `prev`), if there is an entry.
    pub chain_id: Option<String>,
    /// The last entry's sequence number and hash, if there is an entry.
    pub last: Option<Head>,
    /// Whether the MACs and the stored head were checked (verification with the key).
    pub keyed: bool,
}

/// Verifies the log at `path` without the key: every line is an entry, the sequence numbers
/// run 0, 1, 2 ... and each entry's `prev` is the SHA-256 of the line before. This finds any
/// edit, insertion, reordering or removal of lines, except an edit of the last line and a cut of
/// the tail, and anyone can rebuild a valid chain from scratch: [`verify_with_key`] finds those.
pub fn verify(path: &Path) -> Result<Summary, AuditError> {
    scan(path, None, None, None)
}

/// Verifies the log at `path` as [`verify`] does (or as [`verify_with_key`] does, given a key
/// and head) and returns its entries, each with the hex SHA-256 of its line: what a record kept
/// elsewhere (the vault's audit table) is checked against.
pub fn read_entries(
    path: &Path,
    key: Option<(&AuditKey, Option<&Head>)>,
) -> Result<(Summary, Vec<(Entry, String)>), AuditError> {
    let mut entries = Vec::new();
    let (key, head) = key.map_or((None, None), |(k, h)| (Some(k), h));
    let summary = scan(path, key, head, Some(&mut entries))?;
    Ok((summary, entries))
}

/// Verifies the log at `path` as [`verify`] does, and also each entry's MAC under `key`, and
/// that the log reaches the `head` the writer stored (so a cut tail is found).
pub fn verify_with_key(
    path: &Path,
    key: &AuditKey,
    head: Option<&Head>,
) -> Result<Summary, AuditError> {
    scan(path, Some(key), head, None)
}

/// Reads the key and head stored under `key_name` in `store` and runs [`verify_with_key`].
/// A missing key is an error: a log cannot be checked against a key it was not written with.
pub async fn verify_with_store(
    path: &Path,
    store: &dyn SecretStore,
    key_name: &str,
) -> Result<Summary, AuditError> {
    let key = AuditKey::load(store, key_name)
        .await?
        .ok_or_else(|| AuditError::BadKey {
            name: key_name.to_owned(),
            reason: "there is no such key in the store",
        })?;
    let head = key.head(store).await?;
    verify_with_key(path, &key, head.as_ref())
}

/// The hex SHA-256 of a line (without its newline): the next entry's `prev`.
pub(super) fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn scan(
    path: &Path,
    key: Option<&AuditKey>,
    head: Option<&Head>,
    mut collect: Option<&mut Vec<(Entry, String)>>,
) -> Result<Summary, AuditError> {
    let broken = |line: u64, problem: Problem| AuditError::Broken {
        path: path.to_owned(),
        line,
        problem,
    };
    let file = match keyward_core_crypto::private_file::open_private_file(path) {
        Ok(file) => file,
        Err(keyward_core_crypto::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound && head.is_some() && key.is_some() =>
        {
            let head_seq = head.map_or(0, |h| h.seq);
            return Err(broken(
                1,
                Problem::Truncated {
                    head_seq,
                    entries: 0,
                },
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut reader = BufReader::new(file);
    let mut buf = Vec::with_capacity(512);
    let mut summary = Summary {
        entries: 0,
        chain_id: None,
        last: None,
        keyed: key.is_some(),
    };
    let mut head_hash_seen: Option<String> = None;
    loop {
        let line_no = summary.entries + 1;
        buf.clear();
        let read = reader
            .by_ref()
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|source| AuditError::Io {
                action: "read",
                path: path.to_owned(),
                source,
            })?;
        if read == 0 {
            break;
        }
        let Some(line) = buf.strip_suffix(b"\n") else {
            let problem = if buf.len() > MAX_LINE {
                Problem::TooLong { max: MAX_LINE }
            } else {
                Problem::Incomplete
            };
            return Err(broken(line_no, problem));
        };
        let text = std::str::from_utf8(line).map_err(|_| {
            broken(
                line_no,
                Problem::NotAnEntry {
                    reason: "not UTF-8".into(),
                },
            )
        })?;
        let entry: Entry = serde_json::from_str(text).map_err(|e| {
            broken(
                line_no,
                Problem::NotAnEntry {
                    reason: format!("{:?} error at column {}", e.classify(), e.column()),
                },
            )
        })?;
        let Some((body, mac)) = split_mac(text) else {
            return Err(broken(line_no, Problem::NoMac));
        };
        let expected = summary.entries;
        if entry.seq != expected {
            return Err(broken(
                line_no,
                Problem::Sequence {
                    expected,
                    found: entry.seq,
                },
            ));
        }
        let prev_ok = match &summary.last {
            None => is_hash(&entry.prev),
            Some(last) => entry.prev == last.hash,
        };
        if !prev_ok {
            return Err(broken(line_no, Problem::ChainBroken));
        }
        if key.is_some_and(|key| !key.verify(body.as_bytes(), mac)) {
            return Err(broken(line_no, Problem::MacMismatch));
        }
        if summary.chain_id.is_none() {
            summary.chain_id = Some(entry.prev.clone());
        }
        let hash = line_hash(line);
        if head.is_some_and(|h| h.seq == entry.seq) {
            head_hash_seen = Some(hash.clone());
        }
        let seq = entry.seq;
        if let Some(collect) = collect.as_deref_mut() {
            collect.push((entry, hash.clone()));
        }
        summary.last = Some(Head { seq, hash });
        summary.entries += 1;
    }
    if let (Some(_), Some(head)) = (key, head) {
        match head_hash_seen {
            None => {
                return Err(broken(
                    summary.entries + 1,
                    Problem::Truncated {
                        head_seq: head.seq,
                        entries: summary.entries,
                    },
                ));
            }
            Some(hash) if hash != head.hash => {
                return Err(broken(head.seq + 1, Problem::HeadMismatch));
            }
            Some(_) => {}
        }
    }
    Ok(summary)
}
