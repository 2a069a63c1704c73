//! [`RedisNonce`]: one strictly increasing nonce sequence per API key, shared by the processes
//! of a fleet through a Redis counter they lease blocks from.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::Value;
use redis::aio::ConnectionManager;
use sha2::{Digest, Sha256};

use super::call::{DEFAULT_TIMEOUT, RedisError, bounded};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::nonce::{FileNonce, NonceSource, NonceUnit};

/// The lease size [`RedisNonce::new`] starts with.
const DEFAULT_LEASE: u64 = 100;

/// The largest counter Redis keeps (`INCRBY` works on signed 64-bit integers), so the end of
/// the shared sequence.
const COUNTER_MAX: u64 = i64::MAX as u64;

/// Takes one lease, atomically: `counter = max(counter, floor) + n`, answered as `{1, counter}`.
/// `floor` comes as a decimal string without leading zeros; the comparison is on the decimal
/// strings (length first) because Lua's numbers are doubles, exact only below 2^53, while
/// nonces in microseconds are already near 2^51; the addition is Redis's own 64-bit `INCRBY`.
/// A key that another program wrote is answered `{2}` (not a string) or `{3}` (not a decimal
/// number below 2^63) and left alone; a sum past 2^63 - 1 is `{4}`.
const LEASE_SCRIPT: &str = r"
local raw = redis.pcall('GET', KEYS[1])
if type(raw) == 'table' and raw.err then return {2} end
if raw then
  if #raw == 0 or #raw > 19 or not string.match(raw, '^%d+$')
     or (#raw > 1 and string.sub(raw, 1, 1) == '0')
     or (#raw == 19 and raw > '9223372036854775807') then
    return {3}
  end
end
local floor = ARGV[1]
if (not raw) or #raw < #floor or (#raw == #floor and raw < floor) then
  redis.call('SET', KEYS[1], floor)
end
local counter = redis.pcall('INCRBY', KEYS[1], ARGV[2])
if type(counter) == 'table' and counter.err then return {4} end
return {1, counter}
";

/// Strictly increasing nonces for one API key, shared by every process of a fleet (on any
/// number of machines) through one Redis counter, never issued twice, and never going back
/// when Redis restarts empty.
///
/// **Leases.** A process draws its nonces from a *lease*, a block `[end - n, end)` of the
/// sequence, taken in one round trip by one Lua script on the counter
/// `<prefix>:{nonce:<key id>}:next` (the key id is a hash of the API key's name, never a secret):
/// `end = max(counter, floor) + n`. Leases come from one atomic counter, so no two processes
/// ever hold the same number, and each new lease of a process lies above all its earlier ones:
/// the nonces of one process strictly increase, across all its threads.
///
/// **The floor.** `floor = max(the local high-water mark, the clock in the unit, the last nonce
/// issued here + 1)`. The local high-water mark is a [`FileNonce`] state file
/// ([`with_floor_file`](Self::with_floor_file)): under its lock, the lease is taken above the
/// file's mark and its end is written to the file (atomically, `fsync`ed) before any of its
/// nonces is issued. So a Redis restarted empty (or a counter deleted) starts the sequence again
/// above every nonce any process of this machine sharing the file has issued. Processes on
/// other machines are covered by the clock: like [`MonotonicNonce`](crate::MonotonicNonce)
/// after a restart, the sequence is safe when the clock has moved on past the nonces drawn.
///
/// **Lease size** ([`with_lease`](Self::with_lease), default 100). A lease costs one round trip
/// (and with a floor file, a lock, a read, a write and two `fsync`s), shared by its `n` nonces.
/// But processes hold different leases at once, so their nonces interleave: process A, still
/// drawing from an older lease, may send 1500 after process B sent 2100. Kraken wants the nonce
/// "always increasing" per API key (<https://docs.kraken.com/api/docs/guides/spot-rest-auth>)
/// and answers a lower one with `EAPI:Invalid nonce`
/// (<https://support.kraken.com/hc/en-us/articles/360001491786-API-error-messages>), unless
/// the key's *nonce window* setting tolerates it (chosen when the key is created; the key's
/// `nonce_window` field is the "nonce amount to accept from highest nonce"; 0, the default,
/// tolerates nothing). So for Kraken: set a nonce window wider than the interleaving, or lease
/// 1 nonce at a time (one global order, one round trip per nonce; requests of different
/// processes in flight at once can still arrive out of order), or give each process its own
/// API key. Venues that only want nonces unique per key take any lease size.
///
/// **Failure semantics.**
///
/// | event | outcome |
/// | --- | --- |
/// | Redis unreachable, or no answer within the timeout | the held lease is used up; then [`reserve`](NonceSource::reserve) fails with [`Error::NonceStoreUnavailable`] and no nonce is issued until Redis answers again |
/// | Redis restarted empty, counter deleted | the next lease starts at the floor: above every nonce issued on this machine (with a floor file) and at the clock |
/// | counter holding something that is not a decimal number below 2^63 | [`Error::CorruptNonceCounter`]; the key is left alone |
/// | the sequence reaching 2^63 - 1 | [`Error::NonceExhausted`] |
/// | floor file corrupt, loose or unwritable | its [`FileNonce`] error; no lease is used |
///
/// A nonce of the process's own making would risk repeating one another process issued, so
/// none is ever made up. The timeout bounds every call to Redis (default [`DEFAULT_TIMEOUT`]).
///
/// **Sync and async.** [`next_nonce`](NonceSource::next_nonce) never waits on the network: it
/// draws from the held lease, or fails with [`Error::NonceNotReserved`] when the lease is used
/// up. [`reserve`](NonceSource::reserve), awaited before signing (the REST client does), takes
/// a new lease when needed; [`next_nonce_async`](Self::next_nonce_async) does both.
pub struct RedisNonce {
    conn: ConnectionManager,
    counter: String,
    unit: NonceUnit,
    clock: Arc<dyn Clock>,
    lease_size: u64,
    timeout: Duration,
    floor: Option<Arc<FileNonce>>,
    script: redis::Script,
    lease: Mutex<Lease>,
    /// Held while a lease is taken, so that a process takes one lease at a time.
    refill: tokio::sync::Mutex<()>,
}

/// The numbers this process may still issue: `[next, end)`. Every nonce issued so far is below
/// `next`.
#[derive(Debug, Default, Clone, Copy)]
struct Lease {
    next: u64,
    end: u64,
}

impl RedisNonce {
    /// Nonces for the API key named `key_name` (the credential's name: it is hashed into the
    /// key, so it is never stored in Redis), shared by every process of the fleet `prefix`,
    /// seeded from `clock` in `unit`, leased 100 at a time, without a floor file.
    pub fn new(
        conn: ConnectionManager,
        prefix: &str,
        key_name: &str,
        unit: NonceUnit,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            conn,
            counter: counter_key(prefix, key_name),
            unit,
            clock,
            lease_size: DEFAULT_LEASE,
            timeout: DEFAULT_TIMEOUT,
            floor: None,
            script: redis::Script::new(LEASE_SCRIPT),
            lease: Mutex::new(Lease::default()),
            refill: tokio::sync::Mutex::new(()),
        }
    }

    /// Leases `size` nonces at a time (at least 1). See the type's docs for the trade-off.
    pub fn with_lease(mut self, size: u64) -> Self {
        self.lease_size = size.clamp(1, COUNTER_MAX);
        self
    }

    /// Bounds every call to Redis by `timeout` instead of [`DEFAULT_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Keeps the local floor in the [`FileNonce`] state file at `path` (created with mode 0600
    /// when missing; the same file a [`FileNonce`] of the same unit uses, so both sources on one
    /// machine never issue the same nonce). Fails as [`FileNonce::open`] does.
    pub fn with_floor_file(mut self, path: impl AsRef<Path>) -> Result<Self> {
        let file = FileNonce::open(path, self.unit, self.clock.clone())?;
        self.floor = Some(Arc::new(file));
        Ok(self)
    }

    /// The counter's key in Redis: `<prefix>:{nonce:<key id>}:next`.
    pub fn counter_key(&self) -> &str {
        &self.counter
    }

    /// The floor file, if there is one.
    pub fn floor_file(&self) -> Option<&Path> {
        self.floor.as_deref().map(FileNonce::path)
    }

    /// How many nonces are left in the held lease (drawn without I/O).
    pub fn remaining(&self) -> u64 {
        let lease = self.lease.lock().unwrap_or_else(PoisonError::into_inner);
        lease.end - lease.next
    }

    /// The next nonce, taking a new lease first when the held one is used up: a
    /// [`reserve`](NonceSource::reserve) and a [`next_nonce`](NonceSource::next_nonce) as one
    /// call, which no other caller can come between.
    pub async fn next_nonce_async(&self) -> Result<u64> {
        loop {
            if let Some(nonce) = self.take() {
                return Ok(nonce);
            }
            self.reserve().await?;
        }
    }

    /// The next nonce of the held lease, if any is left.
    fn take(&self) -> Option<u64> {
        let mut lease = self.lease.lock().unwrap_or_else(PoisonError::into_inner);
        (lease.next < lease.end).then(|| {
            let nonce = lease.next;
            lease.next += 1;
            nonce
        })
    }

    /// Takes a lease above `above` (every nonce issued here is below it), the floor file and
    /// the clock, persisting its end in the floor file before returning it.
    async fn take_lease(&self, above: u64) -> Result<Lease> {
        // The floor file's lock is held from reading the mark to writing the new one, so the
        // processes of this machine take their leases one at a time: a lease taken from a
        // Redis restarted empty starts above every lease another of them persisted before.
        let held = match &self.floor {
            Some(file) => {
                let file = file.clone();
                let (lock, mark) = blocking(move || {
                    let lock = file.lock_high_water()?;
                    let mark = lock.read()?;
                    Ok((lock, mark))
                })
                .await?;
                Some((lock, mark))
            }
            None => None,
        };
        let mark = held.as_ref().map_or(0, |(_, mark)| *mark);
        let floor = above.max(mark).max(self.unit.now(&*self.clock));
        if floor > COUNTER_MAX - self.lease_size {
            return Err(Error::NonceExhausted);
        }
        let mut conn = self.conn.clone();
        let reply: Value = bounded(
            self.timeout,
            self.script
                .key(&self.counter)
                .arg(floor)
                .arg(self.lease_size)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(Error::NonceStoreUnavailable)?;
        let end = self.lease_end(reply)?;
        let start = end - self.lease_size;
        if start < floor {
            return Err(unexpected("a lease below the floor it was given"));
        }
        if let Some((lock, _)) = held {
            blocking(move || lock.raise(end)).await?;
        }
        Ok(Lease { next: start, end })
    }

    /// The lease's end from the script's answer.
    fn lease_end(&self, reply: Value) -> Result<u64> {
        let corrupt = |reason| Error::CorruptNonceCounter {
            key: self.counter.clone(),
            reason,
        };
        let Value::Array(items) = reply else {
            return Err(unexpected("an answer that is not a list"));
        };
        match items.as_slice() {
            [Value::Int(1), Value::Int(end)] => u64::try_from(*end)
                .ok()
                .filter(|&end| end >= self.lease_size)
                .ok_or_else(|| unexpected("a lease end below the lease size")),
            [Value::Int(2)] => Err(corrupt("it is not a string")),
            [Value::Int(3)] => Err(corrupt("it is not a decimal number below 2^63")),
            [Value::Int(4)] => Err(Error::NonceExhausted),
            _ => Err(unexpected("an answer the lease script never gives")),
        }
    }
}

#[async_trait::async_trait]
impl NonceSource for RedisNonce {
    /// The next nonce of the held lease; [`Error::NonceNotReserved`] when it is used up (await
    /// [`reserve`](NonceSource::reserve) first). Never waits on the network.
    fn next_nonce(&self) -> Result<u64> {
        self.take().ok_or(Error::NonceNotReserved)
    }

    /// Takes a new lease when the held one is used up (one round trip; with a floor file, also
    /// its lock and a write); returns at once while nonces are left. Fails with
    /// [`Error::NonceStoreUnavailable`] when Redis gives no answer within the timeout, with
    /// [`Error::CorruptNonceCounter`] when the counter holds something else, and with the floor
    /// file's error when it cannot be read or written; the held lease is unchanged then.
    async fn reserve(&self) -> Result<()> {
        if self.remaining() > 0 {
            return Ok(());
        }
        let _refill = self.refill.lock().await;
        if self.remaining() > 0 {
            // Another caller took a lease while this one waited.
            return Ok(());
        }
        let above = self
            .lease
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next;
        let lease = self.take_lease(above).await?;
        *self.lease.lock().unwrap_or_else(PoisonError::into_inner) = lease;
        Ok(())
    }
}

impl fmt::Debug for RedisNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisNonce")
            .field("counter", &self.counter)
            .field("unit", &self.unit)
            .field("lease_size", &self.lease_size)
            .field("timeout", &self.timeout)
            .field("floor_file", &self.floor_file())
            .finish_non_exhaustive()
    }
}

/// `<prefix>:{nonce:<key id>}:next`, the key id being the first 16 bytes of the SHA-256 of the
/// key's name, in hex: the same name gives the same key in every process, and the name itself
/// (which may be an API key) never reaches Redis.
fn counter_key(prefix: &str, key_name: &str) -> String {
    let digest = Sha256::digest(key_name.as_bytes());
    format!("{prefix}:{{nonce:{}}}:next", hex::encode(&digest[..16]))
}

fn unexpected(what: &str) -> Error {
    Error::NonceStoreUnavailable(RedisError::Unexpected(format!(
        "the nonce lease script answered {what}"
    )))
}

/// Runs blocking file work (a `flock` wait, an `fsync`) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Nonce(Box::new(e)))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_key_hashes_the_name_inside_the_hash_tag() {
        let key = counter_key("fleet", "kraken-main");
        assert!(key.starts_with("fleet:{nonce:"), "{key}");
        assert!(key.ends_with("}:next"), "{key}");
        assert!(!key.contains("kraken-main"));
        assert_eq!(key.len(), "fleet:{nonce:}:next".len() + 32);
        assert_eq!(key, counter_key("fleet", "kraken-main"));
        assert_ne!(key, counter_key("fleet", "kraken-other"));
        assert_ne!(key, counter_key("other", "kraken-main"));
    }
}
