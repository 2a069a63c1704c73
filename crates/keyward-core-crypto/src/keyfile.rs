//! Key files: one Fernet key in its 44-character form, mode 0600, refused when loose.

use std::path::Path;

use crate::error::{Error, KeyFormatError, Result};
use crate::key::{FernetKey, decode_key};
use crate::keyring::KeyRing;
use crate::private_file::{Overwrite, read_private_file, write_private_file};

/// Key files larger than this are not key files.
const MAX_KEY_FILE_LEN: u64 = 4096;

/// Loads a key from a key file written by [`write_key_file`] (or by hand: the 44-character key,
/// surrounding whitespace ignored).
///
/// Refuses a file that group or others can access, a symbolic link, a file owned by another user
/// than the caller or root, and anything but a regular file; the error names the path, the mode
/// and the fix.
pub fn load_key_file(path: impl AsRef<Path>) -> Result<FernetKey> {
    let path = path.as_ref();
    let data = read_private_file(path, MAX_KEY_FILE_LEN)?;
    let invalid = |reason| Error::InvalidKeyFile {
        path: path.into(),
        reason,
    };
    let text = std::str::from_utf8(&data).map_err(|e| {
        invalid(KeyFormatError::BadCharacter {
            position: e.valid_up_to() + 1,
        })
    })?;
    let bytes = decode_key(text.trim()).map_err(invalid)?;
    Ok(FernetKey::from_bytes(&bytes))
}

/// Loads a key ring from key files, the first being the primary.
pub fn load_key_ring<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<KeyRing> {
    let keys = paths
        .into_iter()
        .map(load_key_file)
        .collect::<Result<Vec<_>>>()?;
    KeyRing::from_keys(keys)
}

/// Writes `key` to `path` with mode 0600, atomically (temporary file in the same directory,
/// fsync, rename, fsync of the directory). An existing file is replaced only with
/// [`Overwrite::Yes`]; otherwise the call fails with [`Error::AlreadyExists`].
pub fn write_key_file(path: impl AsRef<Path>, key: &FernetKey, overwrite: Overwrite) -> Result<()> {
    let mut text = key.expose_base64();
    text.push('\n');
    write_private_file(path.as_ref(), text.as_bytes(), overwrite)
}
