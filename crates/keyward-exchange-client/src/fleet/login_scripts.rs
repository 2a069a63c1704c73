//! The fleet login's decisions in Redis: each one Lua script (one round trip, atomic over the
//! keys of one identity, which share a hash tag), and each call bounded by a timeout.

use std::sync::LazyLock;
use std::time::Duration;

use keyward_signing::redis::{ConnectionManager, RedisError, bounded};
use redis::{Script, Value};

/// The keys of one identity's login: `<prefix>:{login:<identity>}:<name>`.
#[derive(Debug, Clone)]
pub(crate) struct LoginKeys {
    /// The sealed token entry.
    pub(crate) token: String,
    /// The lock: the holder's `<fence>:<nonce>`, with a TTL.
    pub(crate) lock: String,
    /// The fencing counter (INCR, never expires).
    pub(crate) fence: String,
    /// The sealed failure marker of the last login, with a TTL.
    pub(crate) failed: String,
}

impl LoginKeys {
    /// The keys of `identity` in the fleet `prefix` (the identity escaped by
    /// [`escape_scope`]).
    pub(crate) fn new(prefix: &str, identity: &str) -> Self {
        let base = format!("{prefix}:{{login:{}}}", escape_scope(identity));
        Self {
            token: format!("{base}:token"),
            lock: format!("{base}:lock"),
            fence: format!("{base}:fence"),
            failed: format!("{base}:failed"),
        }
    }
}

/// `name` for the inside of a hash tag: ASCII letters, digits, `.`, `_`, `-` and `/` as they
/// are, any other byte as `%XX`, so that no name can close the tag or reach another's keys.
pub(crate) fn escape_scope(name: &str) -> String {
    let mut scope = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/') {
            scope.push(char::from(b));
        } else {
            scope.push_str(&format!("%{b:02X}"));
        }
    }
    scope
}

/// What the acquire script decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Acquire {
    /// A failure marker other than the one the caller already judged.
    Failed(String),
    /// A token entry other than the one the caller already judged.
    Entry(String),
    /// Another process holds the lock: its fence and the lock's remaining time.
    Held {
        /// The holder's lock value, as stored.
        fence: String,
        /// The lock's remaining time (None when the key has no TTL: another program's key).
        remaining: Option<Duration>,
    },
    /// The caller took the lock: the lock's value (`<fence>:<nonce>`), which the commit and
    /// failure scripts compare.
    Won(String),
}

/// What the commit script decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Commit {
    /// The entry was written and the lock released.
    Stored,
    /// The lock no longer holds the caller's fence: nothing was written. The current entry, if
    /// any.
    Lost(Option<String>),
}

/// KEYS: token, lock, fence, failed. ARGV: the entry the caller judged ("" for none), the
/// failure marker it judged ("" for none), the lock TTL in ms, a random nonce. The lock's value
/// is `<fence>:<nonce>`: the fence orders holders, the nonce keeps two holders apart even when
/// Redis restarted empty and the counter began again.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local failed = redis.call('GET', KEYS[4])
if failed and failed ~= ARGV[2] then return {'failed', failed} end
local entry = redis.call('GET', KEYS[1])
if entry and entry ~= ARGV[1] then return {'entry', entry} end
local holder = redis.call('GET', KEYS[2])
if holder then return {'held', holder, redis.call('PTTL', KEYS[2])} end
local fence = redis.call('INCR', KEYS[3])
local value = fence .. ':' .. ARGV[4]
redis.call('SET', KEYS[2], value, 'PX', ARGV[3])
return {'won', value}
",
    )
});

/// KEYS: token, lock, failed. ARGV: the caller's lock value, sealed entry, entry TTL in ms.
/// Writes only while the lock holds the caller's value (its fence).
static COMMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return {'lost', redis.call('GET', KEYS[1]) or ''}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[3])
redis.call('DEL', KEYS[2])
return {'stored'}
",
    )
});

/// KEYS: lock, failed. ARGV: the caller's lock value, sealed marker, marker TTL in ms.
/// Publishes the failure and releases the lock only while the lock holds the caller's value.
static FAIL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[1])
return 1
",
    )
});

/// A millisecond count for a TTL argument: at least 1 (Redis refuses `PX 0`).
pub(crate) fn ttl_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The acquire decision.
pub(crate) async fn acquire(
    conn: &ConnectionManager,
    timeout: Duration,
    keys: &LoginKeys,
    seen_entry: &str,
    seen_failure: &str,
    lock_ttl: Duration,
    nonce: &str,
) -> Result<Acquire, RedisError> {
    let mut conn = conn.clone();
    let mut call = ACQUIRE.prepare_invoke();
    call.key(&keys.token)
        .key(&keys.lock)
        .key(&keys.fence)
        .key(&keys.failed)
        .arg(seen_entry)
        .arg(seen_failure)
        .arg(ttl_ms(lock_ttl))
        .arg(nonce);
    let answer: Value = bounded(timeout, call.invoke_async(&mut conn)).await?;
    let items = items(answer)?;
    match (tag(&items)?.as_str(), items.get(1), items.get(2)) {
        ("failed", Some(v), _) => Ok(Acquire::Failed(text(v)?)),
        ("entry", Some(v), _) => Ok(Acquire::Entry(text(v)?)),
        ("held", Some(fence), Some(Value::Int(pttl))) => Ok(Acquire::Held {
            fence: text(fence)?,
            remaining: u64::try_from(*pttl).ok().map(Duration::from_millis),
        }),
        ("won", Some(v), _) => Ok(Acquire::Won(text(v)?)),
        _ => Err(unexpected()),
    }
}

/// The commit decision.
pub(crate) async fn commit(
    conn: &ConnectionManager,
    timeout: Duration,
    keys: &LoginKeys,
    lock_value: &str,
    sealed: &str,
    entry_ttl: Duration,
) -> Result<Commit, RedisError> {
    let mut conn = conn.clone();
    let mut call = COMMIT.prepare_invoke();
    call.key(&keys.token)
        .key(&keys.lock)
        .key(&keys.failed)
        .arg(lock_value)
        .arg(sealed)
        .arg(ttl_ms(entry_ttl));
    let answer: Value = bounded(timeout, call.invoke_async(&mut conn)).await?;
    let items = items(answer)?;
    match (tag(&items)?.as_str(), items.get(1)) {
        ("stored", None) => Ok(Commit::Stored),
        ("lost", Some(v)) => {
            let current = text(v)?;
            Ok(Commit::Lost((!current.is_empty()).then_some(current)))
        }
        _ => Err(unexpected()),
    }
}

/// The failure decision: whether the marker was published (false: the lock was lost).
pub(crate) async fn fail(
    conn: &ConnectionManager,
    timeout: Duration,
    keys: &LoginKeys,
    lock_value: &str,
    sealed: &str,
    marker_ttl: Duration,
) -> Result<bool, RedisError> {
    let mut conn = conn.clone();
    let mut call = FAIL.prepare_invoke();
    call.key(&keys.lock)
        .key(&keys.failed)
        .arg(lock_value)
        .arg(sealed)
        .arg(ttl_ms(marker_ttl));
    match bounded(timeout, call.invoke_async(&mut conn)).await? {
        Value::Int(1) => Ok(true),
        Value::Int(0) => Ok(false),
        _ => Err(unexpected()),
    }
}

/// Deletes the failure marker.
pub(crate) async fn clear_failure(
    conn: &ConnectionManager,
    timeout: Duration,
    keys: &LoginKeys,
) -> Result<(), RedisError> {
    let mut conn = conn.clone();
    let _: Value = bounded(
        timeout,
        redis::cmd("DEL").arg(&keys.failed).query_async(&mut conn),
    )
    .await?;
    Ok(())
}

fn unexpected() -> RedisError {
    RedisError::Unexpected("a fleet login script answered in an unknown shape".to_owned())
}

fn items(answer: Value) -> Result<Vec<Value>, RedisError> {
    match answer {
        Value::Array(items) => Ok(items),
        _ => Err(unexpected()),
    }
}

fn tag(items: &[Value]) -> Result<String, RedisError> {
    items.first().map_or_else(|| Err(unexpected()), text)
}

fn text(v: &Value) -> Result<String, RedisError> {
    match v {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).map_err(|_| unexpected()),
        Value::SimpleString(s) => Ok(s.clone()),
        _ => Err(unexpected()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_one_hash_tag_and_escape_the_identity() {
        let keys = LoginKeys::new("fleet", "upstox/main");
        assert_eq!(keys.token, "fleet:{login:upstox/main}:token");
        assert_eq!(keys.lock, "fleet:{login:upstox/main}:lock");
        assert_eq!(keys.fence, "fleet:{login:upstox/main}:fence");
        assert_eq!(keys.failed, "fleet:{login:upstox/main}:failed");
        let odd = LoginKeys::new("f", "a}:b{ c");
        assert_eq!(odd.token, "f:{login:a%7D%3Ab%7B%20c}:token");
    }

    #[test]
    fn ttl_is_at_least_one_millisecond() {
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::from_secs(2)), 2000);
    }
}
