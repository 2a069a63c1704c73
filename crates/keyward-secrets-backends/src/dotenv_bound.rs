//! A ceiling on what a `.env` file may expand to before dotenvy parses it.
//!
//! dotenvy substitutes `$NAME` and `${NAME}` in unquoted and double-quoted values with earlier
//! values (and the process environment), and offers no way to turn that off or cap it. A value
//! that names the previous one twice doubles in size, so 30 such lines (about 2 KB, found by the
//! `dotenv` fuzz target) expand to hundreds of megabytes. dotenvy cannot be asked to stop, so the
//! file is measured first: an upper bound of every value's expanded size, computed line by line,
//! and the file refused when the bound passes [`MAX_EXPANDED`]. The bound over-counts (every `$`
//! is taken for a reference to the largest value so far, quoting is ignored, a line that does not
//! start a `NAME=` assignment is taken as the continuation of the previous value), so a refusal
//! can only come from a file that substitutes heavily; ordinary files are far below it.

/// The largest total size the values of one `.env` file may expand to: 4 MiB.
pub(crate) const MAX_EXPANDED: u64 = 4 * 1024 * 1024;

/// Checks that the values of `data` cannot expand past [`MAX_EXPANDED`] bytes in all, given that
/// no process variable is longer than `longest_env` bytes. Returns the bound when it holds.
pub(crate) fn check(data: &[u8], longest_env: u64) -> Result<u64, u64> {
    // The largest any single value so far can be (a reference expands to at most this).
    let mut largest = longest_env;
    // The bound of the value being read (a quoted value may span lines), and of all values.
    let mut current: u64 = 0;
    let mut total: u64 = 0;
    for line in data.split(|b| *b == b'\n') {
        if starts_assignment(line) {
            current = 0;
        }
        let references = line.iter().filter(|b| **b == b'$').count() as u64;
        let grown = (line.len() as u64).saturating_add(references.saturating_mul(largest));
        current = current.saturating_add(grown);
        total = total.saturating_add(grown);
        largest = largest.max(current);
        if total > MAX_EXPANDED {
            return Err(total);
        }
    }
    Ok(total)
}

/// Whether `line` starts with `NAME=` (optionally `export NAME=`), spaces allowed around.
fn starts_assignment(line: &[u8]) -> bool {
    let text = line.trim_ascii_start();
    let text = text
        .strip_prefix(b"export ")
        .unwrap_or(text)
        .trim_ascii_start();
    let name_len = text
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
        .count();
    name_len > 0 && text[name_len..].trim_ascii_start().first() == Some(&b'=')
}

#[cfg(test)]
mod tests {
    use super::{MAX_EXPANDED, check};

    #[test]
    fn ordinary_files_pass() {
        let file = b"A=1\nB=\"${A}-x\"\n# comment\nexport C=$B$A\nD='multi\nline $A'\n";
        assert!(check(file, 4096).is_ok());
    }

    #[test]
    fn doubling_values_are_refused_before_they_expand() {
        let mut file = b"T=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".to_vec();
        for _ in 0..30 {
            file.extend_from_slice(b"T=$T$T\n");
        }
        let bound = check(&file, 0).unwrap_err();
        assert!(bound > MAX_EXPANDED);
    }

    #[test]
    fn a_large_environment_counts() {
        // One reference to a 3 MiB environment variable, twice: over the ceiling.
        assert!(check(b"A=$HOME\nB=$HOME\n", 3 * 1024 * 1024).is_err());
        assert!(check(b"A=$HOME\n", 3 * 1024 * 1024).is_ok());
    }
}
