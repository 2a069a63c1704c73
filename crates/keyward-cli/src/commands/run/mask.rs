//! Masking the handed-over values in a child's output, as a stream.
//!
//! [`Masker`] finds the values with the `aho-corasick` crate (leftmost-longest, so of two values
//! where one starts the other, the longer is masked whole) and replaces each with [`MASK`]. It
//! passes output on as soon as it can: after each chunk it holds back only a tail that is still a
//! proper prefix of some value (so at most the longest value minus one byte), and releases that
//! tail at the end of the stream. A value split across reads is therefore still masked, and a
//! prompt printed before the child blocks on its input is passed on at once (unless the prompt
//! ends with the start of a value).
//!
//! Why a match is final once it starts before the held tail: a later byte could only make a
//! match start earlier, or a longer match at the same start, if the bytes from that start to the
//! end were a proper prefix of a value, and the held tail begins at the first such position.

use aho_corasick::{AhoCorasick, Input, MatchKind};
use anyhow::{Context, Result};
use zeroize::Zeroizing;

/// What replaces a value in the child's output.
pub const MASK: &[u8] = b"<concealed by keyward>";

/// The shortest line of a multi-line value that is masked on its own (shorter lines, such as a
/// lone `}` of a JSON value, would mask ordinary output). The whole value is always masked.
pub const MIN_LINE: usize = 4;

/// A streaming masker over a set of values.
pub struct Masker {
    matcher: AhoCorasick,
    patterns: Vec<Zeroizing<Vec<u8>>>,
    longest: usize,
    held: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masker")
            .field("patterns", &self.patterns.len())
            .field("held", &"[REDACTED]")
            .finish()
    }
}

impl Masker {
    /// A masker for `values`: each non-empty value, and each line (without its `\r`) of at
    /// least [`MIN_LINE`] bytes of a multi-line value.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Result<Self> {
        let mut patterns: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let add = |p: &[u8], patterns: &mut Vec<Zeroizing<Vec<u8>>>| {
            if !p.is_empty() && !patterns.iter().any(|q| q.as_slice() == p) {
                patterns.push(Zeroizing::new(p.to_vec()));
            }
        };
        for value in values {
            add(value, &mut patterns);
            if value.contains(&b'\n') {
                for line in value.split(|&b| b == b'\n') {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.len() >= MIN_LINE {
                        add(line, &mut patterns);
                    }
                }
            }
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns.iter().map(|p| p.as_slice()))
            // The error would name a pattern's size limit, never a pattern.
            .context("could not build the output masker")?;
        let longest = patterns.iter().map(|p| p.len()).max().unwrap_or(0);
        Ok(Self {
            matcher,
            patterns,
            longest,
            held: Zeroizing::new(Vec::new()),
        })
    }

    /// How many bytes are held back, waiting for more input (the tests' view of the hold-back).
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Masks `chunk` (after what was held back) and returns what may be passed on now.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut data = Zeroizing::new(std::mem::take(&mut *self.held));
        data.extend_from_slice(chunk);
        let (out, rest) = self.mask(&data, false);
        self.held.extend_from_slice(&data[rest..]);
        out
    }

    /// The end of the stream: masks and returns what was held back.
    pub fn finish(&mut self) -> Vec<u8> {
        let data = Zeroizing::new(std::mem::take(&mut *self.held));
        self.mask(&data, true).0
    }

    /// Masks `data`; returns the output and where the held tail starts (`data.len()` at the end).
    fn mask(&self, data: &[u8], end: bool) -> (Vec<u8>, usize) {
        let mut out = Vec::with_capacity(data.len());
        let mut pos = 0;
        loop {
            let cut = if end {
                data.len()
            } else {
                self.tail_start(data, pos)
            };
            let found = self
                .matcher
                .find(Input::new(data).span(pos..data.len()))
                .filter(|m| m.start() < cut);
            match found {
                Some(m) => {
                    out.extend_from_slice(&data[pos..m.start()]);
                    out.extend_from_slice(MASK);
                    pos = m.end();
                }
                None => {
                    out.extend_from_slice(&data[pos..cut]);
                    return (out, cut);
                }
            }
        }
    }

    /// The first position at or after `from` whose rest of `data` is a proper prefix of a value
    /// (it could still grow into one), else `data.len()`. Hand-written: a prefix test on at most
    /// `longest - 1` positions, which the `aho-corasick` crate has no call for.
    fn tail_start(&self, data: &[u8], from: usize) -> usize {
        let first = from.max(data.len().saturating_sub(self.longest.saturating_sub(1)));
        (first..data.len())
            .find(|&i| {
                let rest = &data[i..];
                self.patterns
                    .iter()
                    .any(|p| p.len() > rest.len() && p.starts_with(rest))
            })
            .unwrap_or(data.len())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn masker(values: &[&str]) -> Masker {
        Masker::new(values.iter().map(|v| v.as_bytes())).unwrap()
    }

    fn whole(values: &[&str], text: &str) -> String {
        let mut m = masker(values);
        let mut out = m.push(text.as_bytes());
        out.extend(m.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_alone_inside_a_line_and_twice() {
        let v = ["s3cr3t-VALUE"];
        assert_eq!(whole(&v, "s3cr3t-VALUE"), "<concealed by keyward>");
        assert_eq!(
            whole(&v, "key=s3cr3t-VALUE; again s3cr3t-VALUE\n"),
            "key=<concealed by keyward>; again <concealed by keyward>\n"
        );
        assert_eq!(whole(&v, "nothing here\n"), "nothing here\n");
    }

    #[test]
    fn a_value_split_across_chunks_is_masked() {
        let mut m = masker(&["ABCDEFGH"]);
        let mut out = m.push(b"x=ABC");
        assert_eq!(out, b"x=", "only the possible start is held");
        assert_eq!(m.held(), 3);
        out.extend(m.push(b"DEFGH y"));
        out.extend(m.finish());
        assert_eq!(out, b"x=<concealed by keyward> y");
    }

    #[test]
    fn a_prompt_passes_at_once_and_a_held_prefix_is_released_at_the_end() {
        let mut m = masker(&["ABCDEFGH"]);
        assert_eq!(m.push(b"password? "), b"password? ");
        assert_eq!(m.held(), 0);
        assert_eq!(m.push(b"ABCD"), b"");
        assert_eq!(m.finish(), b"ABCD");
    }

    #[test]
    fn overlapping_values_mask_the_longest() {
        assert_eq!(
            whole(&["ABCD", "ABCDEF", "CDEFGH"], "ABCDEFGH ABCDX"),
            "<concealed by keyward>GH <concealed by keyward>X"
        );
        // Split right where the shorter value ends: the longer one still wins.
        let mut m = masker(&["ABCD", "ABCDEF"]);
        let mut out = m.push(b"ABCD");
        out.extend(m.push(b"EF!"));
        out.extend(m.finish());
        assert_eq!(out, b"<concealed by keyward>!");
    }

    #[test]
    fn lines_of_a_multi_line_value_are_masked_alone() {
        let pem = "-----BEGIN KEY-----\r\nMIIBVQIBADANBgkq\r\nab\r\n-----END KEY-----";
        assert_eq!(
            whole(&[pem], "line MIIBVQIBADANBgkq ab\n"),
            "line <concealed by keyward> ab\n"
        );
        assert_eq!(whole(&[pem], pem), "<concealed by keyward>");
    }

    #[test]
    fn debug_shows_no_value() {
        let mut m = masker(&["CANARY-VALUE"]);
        m.push(b"CANARY");
        let debug = format!("{m:?}");
        assert!(!debug.contains("CANARY"), "{debug}");
    }

    proptest! {
        /// Any split of any text gives the output of the whole text at once, holds back at most
        /// the longest value minus one byte, and never lets a value through. Values are upper
        /// case and the mask has none, so no value can be formed by the mask itself.
        #[test]
        fn streaming_equals_whole_and_never_leaks(
            values in prop::collection::vec("[QRS]{1,6}", 1..4),
            pieces in prop::collection::vec(prop_oneof!["[QRSa ]{0,5}", (0..4usize).prop_map(|i| format!("#{i}"))], 0..20),
            cuts in prop::collection::vec(0..64usize, 0..8),
        ) {
            let text: String = pieces.iter().map(|p| match p.strip_prefix('#') {
                Some(i) => values[i.parse::<usize>().unwrap() % values.len()].clone(),
                None => p.clone(),
            }).collect();
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let expected = whole(&refs, &text);
            let longest = values.iter().map(String::len).max().unwrap();
            let mut m = masker(&refs);
            let mut out = Vec::new();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(text.len())).collect();
            cuts.sort_unstable();
            let mut at = 0;
            for cut in cuts.into_iter().chain([text.len()]) {
                out.extend(m.push(&text.as_bytes()[at..cut]));
                prop_assert!(m.held() < longest);
                at = cut;
            }
            out.extend(m.finish());
            let out = String::from_utf8(out).unwrap();
            prop_assert_eq!(&out, &expected);
            for v in &values {
                prop_assert!(!out.contains(v.as_str()), "{} in {}", v, out);
            }
        }
    }
}
