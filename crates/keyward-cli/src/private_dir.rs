//! Directories that hold secrets (the vault and its key): created 0700, never inside a
//! directory that someone else could rearrange.

use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::{Context as _, Result, bail};

/// Creates `dir` and its missing parents with mode 0700, and checks that neither `dir` nor
/// the nearest directory that already existed above it can be written by group or others (a
/// world-writable parent with the sticky bit, such as /tmp, is fine: nobody else can rename or
/// remove what is in it). On failure nothing was created under a refused parent.
pub fn create_private_dir_all(dir: &Path) -> Result<()> {
    let existing = dir
        .ancestors()
        .find(|a| !a.as_os_str().is_empty() && a.exists())
        .unwrap_or(Path::new("."));
    if existing != dir {
        refuse_loose(existing, true)?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
    }
    refuse_loose(dir, false)
}

/// Refuses `dir` when group or others can write it (unless `sticky_ok` and its sticky bit is
/// set).
fn refuse_loose(dir: &Path, sticky_ok: bool) -> Result<()> {
    let meta =
        std::fs::metadata(dir).with_context(|| format!("could not read {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let mode = meta.permissions().mode() & 0o7777;
    let sticky = mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !(sticky_ok && sticky) {
        bail!(
            "{} has mode {mode:04o}, so group or others can write it: a directory writable by \
             group or others lets them swap the vault or its key; run chmod go-w {} or choose \
             another directory",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_directories_are_0700_and_loose_parents_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_private_dir_all(&dir).unwrap();
        for d in [tmp.path().join("a"), dir.clone()] {
            assert_eq!(
                std::fs::metadata(&d).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o775)).unwrap();
        let err = create_private_dir_all(&open.join("x")).unwrap_err();
        assert!(err.to_string().contains("mode 0775"), "{err}");
        assert!(!open.join("x").exists());
        // Sticky and world-writable (like /tmp) may hold a new private directory.
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        create_private_dir_all(&open.join("x")).unwrap();
        // But an existing directory that others can write is refused as the vault's own.
        assert!(create_private_dir_all(&open).is_err());
    }
}
