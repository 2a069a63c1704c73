//! The replay memory's epoch: when the shared memory was last found empty, so that a memory
//! restarted empty is detected and requests that could have been accepted before it refused.
//!
//! The epoch key `<prefix>:{replay}:epoch` holds `v1:<R>:<id>:<flag>`: `R` the creation time in
//! milliseconds on the clock of the verifier that created it, `id` a random hex id, `flag` `0`
//! (fresh: a new fleet, nothing was lost) or `1` (restarted: a verifier had seen an earlier epoch,
//! so accepted requests were forgotten). The replay script creates it, flags it and reads it in
//! the same round trip as the decision; this module reads the script's answer.

use super::RedisError;

/// A replay memory's epoch as the script reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Epoch {
    /// The epoch's random id (hex).
    pub(crate) id: String,
    /// When it was created, on the creating verifier's clock (ms).
    pub(crate) created_ms: u64,
}

/// What the script decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Remembered: the request is new.
    Accepted,
    /// Already remembered and live.
    Replayed,
    /// The memory restarted empty after the request could first have been accepted.
    BeforeRestart,
}

/// The script's answer, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) status: Status,
    pub(crate) epoch: Epoch,
    /// This call found the restart (flagged the epoch): log it once.
    pub(crate) detected: bool,
}

/// A fresh random epoch id: 64 bits, hex.
pub(crate) fn fresh_id() -> Result<String, RedisError> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| RedisError::Failed(format!("no randomness for an epoch id: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Reads the script's answer `{status, id, created, detected}`. Anything else is
/// [`RedisError::Unexpected`]: another program wrote the epoch key, or answered in our place.
pub(crate) fn parse_reply(epoch_key: &str, reply: &[String]) -> Result<Reply, RedisError> {
    let unexpected = || {
        RedisError::Unexpected(format!(
            "the replay script answered in a form it never uses (is {epoch_key} written by another program?)"
        ))
    };
    let [status, id, created, detected] = reply else {
        return Err(unexpected());
    };
    let status = match status.as_str() {
        "ok" => Status::Accepted,
        "replayed" => Status::Replayed,
        "before_restart" => Status::BeforeRestart,
        "bad_epoch" => {
            return Err(RedisError::Unexpected(format!(
                "the epoch key {epoch_key} holds a value keyward never writes (another program wrote it); replay decisions fail closed until it is deleted"
            )));
        }
        _ => return Err(unexpected()),
    };
    let id_ok = !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let created_ms = created
        .parse::<u64>()
        .ok()
        .filter(|_| id_ok)
        .ok_or_else(unexpected)?;
    let detected = match detected.as_str() {
        "0" => false,
        "1" => true,
        _ => return Err(unexpected()),
    };
    Ok(Reply {
        status,
        epoch: Epoch {
            id: id.clone(),
            created_ms,
        },
        detected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn replies_are_read_strictly() {
        let reply = parse_reply("k", &strings(&["ok", "0a1b", "1700", "1"])).unwrap();
        assert_eq!(reply.status, Status::Accepted);
        assert_eq!(reply.epoch.created_ms, 1700);
        assert!(reply.detected);
        for bad in [
            &["ok", "0a1b", "1700"][..],
            &["maybe", "0a1b", "1700", "0"],
            &["ok", "", "1700", "0"],
            &["ok", "zz", "1700", "0"],
            &["ok", "0a", "-1", "0"],
            &["ok", "0a", "1700", "2"],
            &["bad_epoch", "", "", "0"],
        ] {
            assert!(
                matches!(
                    parse_reply("k", &strings(bad)),
                    Err(RedisError::Unexpected(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn fresh_ids_differ() {
        let a = fresh_id().unwrap();
        assert_eq!(a.len(), 16);
        assert_ne!(a, fresh_id().unwrap());
    }
}
