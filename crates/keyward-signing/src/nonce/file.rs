//! [`FileNonce`]: nonces that survive restarts and `kill -9`, shared by the processes of one
//! machine through a state file and a lock file.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use keyward_core_crypto::private_file::{
    Overwrite, open_private_file, read_private_file, write_private_file,
};
use rustix::fs::FlockOperation;

use super::{NonceSource, NonceUnit};
use crate::clock::Clock;
use crate::error::{Error, Result};

/// The block size [`FileNonce::open`] starts with.
const DEFAULT_BLOCK: u64 = 1000;

/// The longest state file read: 20 digits and a newline, with room to spare.
const MAX_STATE_LEN: u64 = 64;

/// Strictly increasing nonces persisted in a state file, safe across threads and across the
/// processes of one machine, never repeated and never lower than one issued before, even after a
/// crash or `kill -9`.
///
/// The state file holds a high-water mark: the decimal number above every nonce ever handed out,
/// and a newline (nothing secret; mode 0600, read with the same strict rules as key files, so
/// nobody else can lower it). A source draws nonces from a *lease*, a block of numbers
/// `[start, start + block)`, taken as follows:
///
/// 1. take an exclusive `flock` on `<state file>.lock` (created with mode 0600 if missing, and
///    checked like the state file: not a link, owned by the caller, not open to group or others;
///    the state file itself is replaced by a rename at every write, so it cannot carry the lock);
/// 2. read the high-water mark (a missing file is 0; a corrupt one is
///    [`Error::CorruptNonceState`], never a silent reset);
/// 3. `start = max(high-water mark, the clock in the unit, the last nonce issued here + 1)`;
/// 4. write `start + block` as the new mark, atomically and `fsync`ed, *before* any nonce of
///    the block is issued; then unlock.
///
/// A crash therefore loses at most the rest of a block (a gap, which venues accept), and can
/// never cause a reuse. Threads of one process share the lease through a mutex.
///
/// **Block size.** Each lease costs a lock, a read, a write and two `fsync`s. With a large block
/// (the default is 1000) that cost is shared by many nonces; each process's nonces strictly
/// increase and no two processes ever issue the same nonce, but processes hold different
/// blocks, so their nonces interleave: process A may send 1500 after process B sent 2100.
/// Kraken refuses a nonce lower than the last it accepted *for the same API key*, so with a
/// large block give each process its own API key (Kraken allows several keys per account).
/// With [`with_block(1)`](Self::with_block) every nonce is persisted before it is issued, which
/// gives one global order across all processes at the cost of a lock and an `fsync` per nonce
/// (a few milliseconds each on most disks).
///
/// The lock is a BSD `flock`, which holds between processes of one machine on a local file
/// system; do not share the state file over NFS. Unix only.
///
/// ```
/// use std::sync::Arc;
/// use keyward_signing::{FileNonce, NonceSource, NonceUnit, SystemClock};
///
/// let dir = tempfile::tempdir()?;
/// let state = dir.path().join("kraken.nonce");
/// let nonces = FileNonce::open(&state, NonceUnit::Millis, Arc::new(SystemClock))?.with_block(100);
/// let first = nonces.next_nonce()?;
/// assert!(nonces.next_nonce()? > first);
/// // A restart (or another process) starts above everything this source could have issued.
/// drop(nonces);
/// let again = FileNonce::open(&state, NonceUnit::Millis, Arc::new(SystemClock))?;
/// assert!(again.next_nonce()? >= first + 100);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileNonce {
    path: PathBuf,
    lock_path: PathBuf,
    /// Kept open for the source's lifetime; `flock` locks belong to this open file description,
    /// so two sources on one state file exclude each other even within one process.
    lock_file: File,
    unit: NonceUnit,
    clock: Arc<dyn Clock>,
    block: u64,
    lease: Mutex<Lease>,
}

/// The numbers this source may still issue: `[next, end)`. Every nonce issued so far is below
/// `next`.
#[derive(Debug, Default)]
struct Lease {
    next: u64,
    end: u64,
}

impl FileNonce {
    /// A source over the state file at `path`, seeded from `clock` in `unit`, leasing blocks of
    /// 1000. Creates the lock file `<path>.lock` if needed, and reads the state file once so
    /// that a corrupt, loose or foreign one is reported now rather than at the first nonce.
    pub fn open(path: impl AsRef<Path>, unit: NonceUnit, clock: Arc<dyn Clock>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let lock_path = lock_path_for(&path);
        let lock_file = open_lock_file(&lock_path)?;
        read_high_water(&path)?;
        Ok(Self {
            path,
            lock_path,
            lock_file,
            unit,
            clock,
            block: DEFAULT_BLOCK,
            lease: Mutex::new(Lease::default()),
        })
    }

    /// Leases `block` nonces at a time (at least 1). See the type's docs for the trade-off.
    pub fn with_block(mut self, block: u64) -> Self {
        self.block = block.max(1);
        self
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes a new lease above `floor` (the lowest number not yet issued here), persisting its
    /// end before returning it.
    fn take_lease(&self, floor: u64) -> Result<Lease> {
        let _locked = Locked::acquire(&self.lock_file, &self.lock_path)?;
        let high_water = read_high_water(&self.path)?;
        let start = high_water.max(self.unit.now(&*self.clock)).max(floor);
        let end = start.saturating_add(self.block);
        if end == start {
            return Err(Error::NonceExhausted);
        }
        write_private_file(&self.path, format!("{end}\n").as_bytes(), Overwrite::Yes)?;
        Ok(Lease { next: start, end })
    }
}

impl NonceSource for FileNonce {
    /// The next nonce of the current lease, taking (and persisting) a new lease first when it
    /// is used up. If the new lease cannot be persisted, the error is returned and no nonce is
    /// issued; a later call tries again.
    fn next_nonce(&self) -> Result<u64> {
        // Nothing panics while the mutex is held, and the lease is replaced only once the new
        // block is persisted, so even a poisoned mutex holds a consistent lease.
        let mut lease = self.lease.lock().unwrap_or_else(PoisonError::into_inner);
        if lease.next >= lease.end {
            *lease = self.take_lease(lease.next)?;
        }
        let nonce = lease.next;
        // `nonce < end <= u64::MAX`, so this cannot overflow.
        lease.next = nonce + 1;
        Ok(nonce)
    }
}

/// The state file's lock, held while another store (the shared Redis counter of
/// `RedisNonce`) takes a lease above the high-water mark: the file is
/// then the local floor of that store's sequence. The lock is on a duplicate of the source's lock
/// descriptor, so it excludes every other source on the file, and it is owned, so it can be held
/// across the store's call.
#[cfg(feature = "redis")]
pub(crate) struct HighWaterLock {
    file: File,
    path: PathBuf,
}

#[cfg(feature = "redis")]
impl FileNonce {
    /// Takes the state file's lock (waiting for other holders: a blocking call).
    pub(crate) fn lock_high_water(&self) -> Result<HighWaterLock> {
        let file = self
            .lock_file
            .try_clone()
            .map_err(|e| lock_error("lock", &self.lock_path, e))?;
        lock_exclusive(&file, &self.lock_path)?;
        Ok(HighWaterLock {
            file,
            path: self.path.clone(),
        })
    }
}

#[cfg(feature = "redis")]
impl HighWaterLock {
    /// The high-water mark (0 without a state file; a corrupt file is an error).
    pub(crate) fn read(&self) -> Result<u64> {
        read_high_water(&self.path)
    }

    /// Persists `end` as the high-water mark (atomically, `fsync`ed) unless the mark is already
    /// that high.
    pub(crate) fn raise(&self, end: u64) -> Result<()> {
        if read_high_water(&self.path)? < end {
            write_private_file(&self.path, format!("{end}\n").as_bytes(), Overwrite::Yes)?;
        }
        Ok(())
    }
}

#[cfg(feature = "redis")]
impl Drop for HighWaterLock {
    fn drop(&mut self) {
        // As in `Locked`: the lock goes with the descriptor, closed right after, in any case.
        let _ = rustix::fs::flock(&self.file, FlockOperation::Unlock);
    }
}

/// An exclusive `flock`, released when dropped (and in any case when the file is closed).
struct Locked<'a>(&'a File);

impl<'a> Locked<'a> {
    fn acquire(file: &'a File, path: &Path) -> Result<Self> {
        lock_exclusive(file, path)?;
        Ok(Self(file))
    }
}

/// Waits for an exclusive `flock` on `file` (the lock file at `path`).
fn lock_exclusive(file: &File, path: &Path) -> Result<()> {
    loop {
        match rustix::fs::flock(file, FlockOperation::LockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(lock_error("lock", path, e.into())),
        }
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // Unlocking a lock we hold on an open descriptor cannot fail in practice; if it did,
        // the lock would still go with the descriptor when the source is dropped.
        let _ = rustix::fs::flock(self.0, FlockOperation::Unlock);
    }
}

/// `<path>.lock`.
fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Opens the lock file, creating it with mode 0600 if it is missing, and checks it as key files
/// are checked (`keyward_core_crypto::private_file`): a regular file, not a symbolic link, owned
/// by the caller (or root), not open to group or others; anything else is refused with
/// [`Error::File`]. A lock file others could replace or hold would let them block or race the
/// nonce sequence. The checks run on the descriptor that is then locked.
fn open_lock_file(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;

    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path);
    match created {
        // An existing entry (a symbolic link included) is checked below.
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(lock_error("create", path, e)),
    }
    // `flock` needs no write access, so the read-only descriptor the checks ran on is the one
    // that is locked.
    Ok(open_private_file(path)?)
}

fn lock_error(action: &'static str, path: &Path, source: io::Error) -> Error {
    Error::NonceLock {
        action,
        path: path.into(),
        source,
    }
}

/// The high-water mark in the state file at `path`; 0 if there is no such file.
fn read_high_water(path: &Path) -> Result<u64> {
    match read_private_file(path, MAX_STATE_LEN) {
        Ok(bytes) => parse_state(&bytes).map_err(|reason| Error::CorruptNonceState {
            path: path.into(),
            reason,
        }),
        Err(keyward_core_crypto::Error::Io { source, .. })
            if source.kind() == io::ErrorKind::NotFound =>
        {
            Ok(0)
        }
        Err(e) => Err(e.into()),
    }
}

/// Parses the state file's content: decimal digits and one newline, nothing else.
fn parse_state(bytes: &[u8]) -> Result<u64, &'static str> {
    if bytes.is_empty() {
        return Err("it is empty");
    }
    let digits = bytes
        .strip_suffix(b"\n")
        .ok_or("it does not end with a newline")?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err("it does not hold a decimal number");
    }
    // All ASCII digits, so the only possible failure is a number too large for 64 bits.
    std::str::from_utf8(digits)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or("its number does not fit in 64 bits")
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::FixedClock;
    use crate::nonce::{assert_unique_and_increasing, draw_on_threads};

    const NOW: u64 = 1_700_000_000_000;

    fn open(path: &Path, clock: &Arc<FixedClock>, block: u64) -> FileNonce {
        FileNonce::open(path, NonceUnit::Millis, clock.clone())
            .unwrap()
            .with_block(block)
    }

    fn state(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    fn draw(source: &FileNonce, n: usize) -> Vec<u64> {
        (0..n).map(|_| source.next_nonce().unwrap()).collect()
    }

    #[test]
    fn four_threads_draw_ten_thousand_each_without_a_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(NOW));
        let source: Arc<dyn NonceSource> =
            Arc::new(FileNonce::open(dir.path().join("n"), NonceUnit::Millis, clock).unwrap());
        let runs = draw_on_threads(&source, 4, 10_000);
        assert_unique_and_increasing(&runs);
        assert_eq!(runs.concat().len(), 40_000);
        assert!(runs.concat().iter().all(|&n| n >= NOW));
    }

    #[test]
    fn the_first_lease_starts_at_the_clock_and_is_persisted_before_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        let clock = Arc::new(FixedClock::new(NOW));
        let source = open(&path, &clock, 10);
        assert!(!path.exists(), "opening issues nothing and writes nothing");
        assert_eq!(source.next_nonce().unwrap(), NOW);
        assert_eq!(state(&path), format!("{}\n", NOW + 10));
        assert_eq!(draw(&source, 9), (NOW + 1..NOW + 10).collect::<Vec<_>>());
        assert_eq!(state(&path), format!("{}\n", NOW + 10));
        assert_eq!(source.next_nonce().unwrap(), NOW + 10);
        assert_eq!(state(&path), format!("{}\n", NOW + 20));
    }

    #[test]
    fn state_and_lock_files_have_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        let source = open(&path, &Arc::new(FixedClock::new(NOW)), 10);
        source.next_nonce().unwrap();
        for file in [path.clone(), lock_path_for(&path)] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
        assert_eq!(source.path(), path);
        assert_eq!(lock_path_for(&path), dir.path().join("n.lock"));
    }

    #[test]
    fn a_restart_starts_above_every_nonce_issued_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        let clock = Arc::new(FixedClock::new(NOW));
        let first = open(&path, &clock, 1000);
        let before = draw(&first, 10);
        // Dropping writes nothing, exactly like a kill -9: the rest of the block is a gap.
        drop(first);
        let second = open(&path, &clock, 1000);
        let after = second.next_nonce().unwrap();
        assert_eq!(after, NOW + 1000);
        assert!(before.iter().all(|&n| n < after));
    }

    #[test]
    fn two_sources_on_one_file_never_issue_the_same_nonce() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        let clock = Arc::new(FixedClock::new(NOW));
        let (a, b) = (open(&path, &clock, 16), open(&path, &clock, 16));
        let mut runs = vec![Vec::new(), Vec::new()];
        for i in 0..1000 {
            let (source, run) = if i % 3 == 0 { (&a, 0) } else { (&b, 1) };
            runs[run].push(source.next_nonce().unwrap());
        }
        assert_unique_and_increasing(&runs);
    }

    #[test]
    fn a_block_of_one_orders_nonces_across_sources() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        let clock = Arc::new(FixedClock::new(NOW));
        let (a, b) = (open(&path, &clock, 1), open(&path, &clock, 1));
        let mut seen = Vec::new();
        for i in 0..50 {
            let source = if i % 2 == 0 { &a } else { &b };
            seen.push(source.next_nonce().unwrap());
            assert_eq!(state(&path), format!("{}\n", seen[i] + 1));
        }
        assert_eq!(seen, (NOW..NOW + 50).collect::<Vec<_>>());
    }

    #[test]
    fn the_clock_going_back_never_lowers_nonces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        let clock = Arc::new(FixedClock::new(NOW));
        let source = open(&path, &clock, 10);
        let mut seen = draw(&source, 25);
        clock.set(5);
        seen.extend(draw(&source, 25));
        drop(source);
        clock.set(0);
        seen.extend(draw(&open(&path, &clock, 10), 25));
        assert_unique_and_increasing(&[seen]);
    }

    #[test]
    fn the_clock_moving_on_lifts_the_next_lease() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(NOW));
        let source = open(&dir.path().join("n"), &clock, 10);
        assert_eq!(source.next_nonce().unwrap(), NOW);
        clock.advance(60_000);
        // The current lease is used up first; the next one starts at the clock.
        assert_eq!(draw(&source, 9).last(), Some(&(NOW + 9)));
        assert_eq!(source.next_nonce().unwrap(), NOW + 60_000);
    }

    #[test]
    fn microsecond_nonces_start_from_the_clock_in_microseconds() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(NOW));
        let source = FileNonce::open(dir.path().join("n"), NonceUnit::Micros, clock).unwrap();
        assert_eq!(draw(&source, 2), vec![NOW * 1000, NOW * 1000 + 1]);
    }

    #[test]
    fn a_corrupt_state_file_is_an_error_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        let clock = Arc::new(FixedClock::new(NOW));
        for bad in [
            "",
            "12345",
            "abc\n",
            "-1\n",
            "+5\n",
            " 5\n",
            "5\n6\n",
            "\n",
            "99999999999999999999999\n",
        ] {
            write_private_file(&path, bad.as_bytes(), Overwrite::Yes).unwrap();
            let err = FileNonce::open(&path, NonceUnit::Millis, clock.clone()).unwrap_err();
            assert!(
                matches!(err, Error::CorruptNonceState { .. }),
                "{bad:?}: {err}"
            );
            assert!(err.to_string().contains("not reset automatically"), "{err}");
            assert_eq!(state(&path), bad);
        }
        // Corrupted while in use: no nonce is issued until it is repaired, and then the
        // sequence goes on above the repaired mark.
        write_private_file(&path, b"10\n", Overwrite::Yes).unwrap();
        let source = open(&path, &clock, 2);
        let before = draw(&source, 2);
        write_private_file(&path, b"garbage\n", Overwrite::Yes).unwrap();
        for _ in 0..3 {
            assert!(matches!(
                source.next_nonce(),
                Err(Error::CorruptNonceState { .. })
            ));
        }
        assert_eq!(state(&path), "garbage\n");
        write_private_file(&path, format!("{}\n", NOW * 2).as_bytes(), Overwrite::Yes).unwrap();
        let after = source.next_nonce().unwrap();
        assert_eq!(after, NOW * 2);
        assert!(before.iter().all(|&n| n < after));
    }

    #[test]
    fn a_state_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        std::fs::write(&path, "10\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err =
            FileNonce::open(&path, NonceUnit::Millis, Arc::new(FixedClock::new(NOW))).unwrap_err();
        assert!(
            matches!(
                err,
                Error::File(keyward_core_crypto::Error::InsecurePermissions { .. })
            ),
            "{err}"
        );
    }

    #[test]
    fn a_linked_lock_file_or_a_missing_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(NOW));
        let missing = dir.path().join("no/such/dir/n");
        let err = FileNonce::open(&missing, NonceUnit::Millis, clock.clone()).unwrap_err();
        assert!(matches!(err, Error::NonceLock { .. }), "{err}");
        let path = dir.path().join("n");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), lock_path_for(&path)).unwrap();
        let err = FileNonce::open(&path, NonceUnit::Millis, clock).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    /// Finding 17: the lock file is checked as key files are (a regular file, not a link,
    /// owned by the caller, not open to group or others), with core-crypto's rules.
    #[test]
    fn a_lock_file_others_can_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        let lock = lock_path_for(&path);
        for mode in [0o666, 0o644, 0o620, 0o602] {
            std::fs::write(&lock, b"").unwrap();
            std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = FileNonce::open(&path, NonceUnit::Millis, Arc::new(FixedClock::new(NOW)))
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::File(keyward_core_crypto::Error::InsecurePermissions { .. })
                ),
                "mode {mode:o}: {err}"
            );
            assert!(err.to_string().contains("n.lock"), "{err}");
        }
        std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(FileNonce::open(&path, NonceUnit::Millis, Arc::new(FixedClock::new(NOW))).is_ok());
    }

    #[test]
    fn a_lock_file_linked_to_a_private_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        let target = dir.path().join("target");
        write_private_file(&target, b"", Overwrite::No).unwrap();
        std::os::unix::fs::symlink(&target, lock_path_for(&path)).unwrap();
        let err =
            FileNonce::open(&path, NonceUnit::Millis, Arc::new(FixedClock::new(NOW))).unwrap_err();
        assert!(
            matches!(err, Error::File(keyward_core_crypto::Error::Symlink { .. })),
            "{err}"
        );
    }

    #[test]
    fn a_lock_file_owned_by_someone_else_is_refused() {
        // Only root can give a file away; as another user there is no such file to test with.
        if !rustix::process::geteuid().is_root() {
            eprintln!("SKIPPED: only root can create a file owned by another user");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        let lock = lock_path_for(&path);
        write_private_file(&lock, b"", Overwrite::No).unwrap();
        std::os::unix::fs::chown(&lock, Some(65534), Some(65534)).unwrap();
        let err =
            FileNonce::open(&path, NonceUnit::Millis, Arc::new(FixedClock::new(NOW))).unwrap_err();
        assert!(
            matches!(
                err,
                Error::File(keyward_core_crypto::Error::WrongOwner { owner: 65534, .. })
            ),
            "{err}"
        );
    }

    #[test]
    fn a_linked_state_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        let target = dir.path().join("target");
        write_private_file(&target, b"10\n", Overwrite::No).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err =
            FileNonce::open(&path, NonceUnit::Millis, Arc::new(FixedClock::new(NOW))).unwrap_err();
        assert!(
            matches!(err, Error::File(keyward_core_crypto::Error::Symlink { .. })),
            "{err}"
        );
    }

    #[test]
    fn the_end_of_u64_is_an_error_not_a_repeat() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        write_private_file(
            &path,
            format!("{}\n", u64::MAX - 3).as_bytes(),
            Overwrite::Yes,
        )
        .unwrap();
        let source = open(&path, &Arc::new(FixedClock::new(NOW)), 1000);
        assert_eq!(
            draw(&source, 3),
            vec![u64::MAX - 3, u64::MAX - 2, u64::MAX - 1]
        );
        assert!(matches!(source.next_nonce(), Err(Error::NonceExhausted)));
        assert_eq!(state(&path), format!("{}\n", u64::MAX));
    }

    #[test]
    fn the_state_format_is_a_decimal_number_and_a_newline() {
        assert_eq!(parse_state(b"0\n"), Ok(0));
        assert_eq!(parse_state(b"0042\n"), Ok(42));
        assert_eq!(
            parse_state(format!("{}\n", u64::MAX).as_bytes()),
            Ok(u64::MAX)
        );
        assert_eq!(
            parse_state(b"18446744073709551616\n"),
            Err("its number does not fit in 64 bits")
        );
        assert_eq!(
            parse_state(b"1\r\n"),
            Err("it does not hold a decimal number")
        );
    }
}
