//! Key files: refused when loose, linked or foreign; written with mode 0600, atomically, and
//! never over an existing key unless asked.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use keyward_core_crypto::keyfile::{load_key_file, load_key_ring, write_key_file};
use keyward_core_crypto::private_file::Overwrite;
use keyward_core_crypto::{Error, FernetKey, KeyFormatError};

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn written_with_mode_0600_and_loaded_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let key = FernetKey::generate().unwrap();
    write_key_file(&path, &key, Overwrite::No).unwrap();
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(load_key_file(&path).unwrap().id(), key.id());
    // Only the key file is left: no temporary files behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    // 0400 is stricter than 0600 and accepted.
    set_mode(&path, 0o400);
    assert!(load_key_file(&path).is_ok());
}

#[test]
fn loose_modes_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    write_key_file(&path, &FernetKey::generate().unwrap(), Overwrite::No).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660, 0o606, 0o700 | 0o020] {
        set_mode(&path, mode);
        let err = load_key_file(&path).unwrap_err();
        assert!(
            matches!(err, Error::InsecurePermissions { mode: m, .. } if m == mode),
            "{mode:o}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains(&format!("mode {mode:04o}")), "{text}");
        assert!(
            text.contains(&format!("chmod 600 {}", path.display())),
            "{text}"
        );
    }
}

#[test]
fn symlinks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.key");
    write_key_file(&target, &FernetKey::generate().unwrap(), Overwrite::No).unwrap();
    let link = dir.path().join("link.key");
    symlink(&target, &link).unwrap();
    assert!(matches!(
        load_key_file(&link),
        Err(Error::Symlink { path }) if path == link
    ));
}

#[test]
fn files_of_another_owner_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theirs.key");
    write_key_file(&path, &FernetKey::generate().unwrap(), Overwrite::No).unwrap();
    let me = rustix::process::geteuid();
    if !me.is_root() {
        // Only root can give a file away; the rule itself is unit-tested in private_file.rs
        // for any caller. Here, as a non-root caller, show that a root-owned file is accepted.
        eprintln!("not root: cannot chown; the owner rule is covered by the unit tests");
        return;
    }
    let other = rustix::process::Uid::from_raw(4242);
    rustix::fs::chown(&path, Some(other), None).unwrap();
    match load_key_file(&path).unwrap_err() {
        Error::WrongOwner {
            owner, expected, ..
        } => {
            assert_eq!(owner, 4242);
            assert_eq!(expected, 0);
        }
        other => panic!("unexpected {other:?}"),
    }
    // Root-owned files are fine for any caller, as in OpenSSH.
    rustix::fs::chown(&path, Some(rustix::process::Uid::ROOT), None).unwrap();
    assert!(load_key_file(&path).is_ok());
}

#[test]
fn directories_and_missing_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    set_mode(dir.path(), 0o700);
    assert!(matches!(
        load_key_file(dir.path()),
        Err(Error::NotAFile { .. })
    ));
    let missing = dir.path().join("nope.key");
    let err = load_key_file(&missing).unwrap_err();
    assert!(err.to_string().contains("nope.key"), "{err}");
}

#[test]
fn never_overwrites_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let first = FernetKey::generate().unwrap();
    write_key_file(&path, &first, Overwrite::No).unwrap();
    let second = FernetKey::generate().unwrap();
    assert!(matches!(
        write_key_file(&path, &second, Overwrite::No),
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(load_key_file(&path).unwrap().id(), first.id());
    write_key_file(&path, &second, Overwrite::Yes).unwrap();
    assert_eq!(load_key_file(&path).unwrap().id(), second.id());
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn garbage_content_is_refused_without_echo() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.key");
    for content in [
        &b"SECRET-CANARY-not-a-key\n"[..],
        b"",
        b"\xff\xfe\n",
        b"SECRET+CANARY/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\n",
    ] {
        fs::write(&path, content).unwrap();
        set_mode(&path, 0o600);
        let err = load_key_file(&path).unwrap_err();
        assert!(matches!(err, Error::InvalidKeyFile { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("CANARY"), "{shown}");
    }
    fs::write(&path, b"").unwrap();
    assert!(matches!(
        load_key_file(&path),
        Err(Error::InvalidKeyFile {
            reason: KeyFormatError::Empty,
            ..
        })
    ));
}

#[test]
fn key_ring_from_files_keeps_order() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        FernetKey::generate().unwrap(),
        FernetKey::generate().unwrap(),
    );
    let (pa, pb) = (dir.path().join("a.key"), dir.path().join("b.key"));
    write_key_file(&pa, &a, Overwrite::No).unwrap();
    write_key_file(&pb, &b, Overwrite::No).unwrap();
    let ring = load_key_ring([&pb, &pa]).unwrap();
    assert_eq!(ring.key_ids(), vec![b.id(), a.id()]);
    assert!(matches!(
        load_key_ring(Vec::<&Path>::new()),
        Err(Error::EmptyKeyRing)
    ));
}
