//! Query strings and form bodies: building them with a venue's encoding, and reading the
//! parameters a caller already put in them.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is percent-encoded.
pub(crate) const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How a venue wants parameters encoded in a query string or form body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryEncoding {
    /// RFC 3986: every byte outside the unreserved set is percent-encoded as UTF-8 (Binance:
    /// "non-ASCII characters must be percent-encoded"; also the canonical form of keyward-v1).
    Rfc3986,
    /// HTML form encoding (`application/x-www-form-urlencoded`, space as `+`), as Python's
    /// `urllib.parse.urlencode` and most HTTP clients produce (BitMEX, Kraken).
    Form,
}

/// Builds `name=value&...` from parameters, in the order given, with `encoding`.
///
/// ```
/// use keyward_signing::{QueryEncoding, build_query};
/// let q = build_query([("symbol", "１２３"), ("side", "BUY")], QueryEncoding::Rfc3986);
/// assert_eq!(q, "symbol=%EF%BC%91%EF%BC%92%EF%BC%93&side=BUY");
/// let q = build_query([("filter", r#"{"symbol": "XBTM15"}"#)], QueryEncoding::Form);
/// assert_eq!(q, "filter=%7B%22symbol%22%3A+%22XBTM15%22%7D");
/// ```
pub fn build_query<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    encoding: QueryEncoding,
) -> String {
    match encoding {
        QueryEncoding::Rfc3986 => {
            // One string, extended by the encoder's chunks (runs of unreserved text are
            // borrowed as they are): on the request hot path, `format!` per pair and a join
            // cost several times as much.
            // Room for a typical query (up to about 150 bytes) plus what the signers append
            // (recvWindow, timestamp, a 64-digit signature: Binance reserves 139 bytes for
            // them), so signing extends it in place (see `tests/sign_allocations.rs`).
            let mut out = String::with_capacity(320);
            for (k, v) in params {
                if !out.is_empty() {
                    out.push('&');
                }
                out.extend(utf8_percent_encode(k, RFC3986));
                out.push('=');
                out.extend(utf8_percent_encode(v, RFC3986));
            }
            out
        }
        QueryEncoding::Form => form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish(),
    }
}

/// The raw (still encoded) value of the first parameter called `name` in `a=1&b=2` text
/// (`""` for a bare `name`).
pub(crate) fn raw_param<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    pairs(text).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// Which of `names` appear as parameter names in `a=1&b=2` text, in one pass. Signing checks a
/// few names per request, so this is on the hot path: a SIMD search for the pair separators
/// (`memchr`), and a name compared only where its first byte matches (`str::split` costs about
/// three times as much). Inlined, so that the caller's constant names compare without a call.
#[inline(always)]
pub(crate) fn has_params<const N: usize>(text: &str, names: [&str; N]) -> [bool; N] {
    let bytes = text.as_bytes();
    let mut found = [false; N];
    let mut separators = memchr::memchr_iter(b'&', bytes);
    let mut start = Some(0);
    while let Some(at) = start {
        let rest = &bytes[at..];
        if let Some(first) = rest.first() {
            for (hit, name) in found.iter_mut().zip(names) {
                let name = name.as_bytes();
                *hit |= name.first() == Some(first)
                    && rest.get(..name.len()) == Some(name)
                    && matches!(rest.get(name.len()), None | Some(b'=' | b'&'));
            }
        }
        start = separators.next().map(|i| i + 1);
    }
    found
}

/// The `(name, raw value)` pairs of `a=1&b=2` text, in order, by one walk over the bytes.
fn pairs(text: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut rest = Some(text).filter(|t| !t.is_empty());
    std::iter::from_fn(move || {
        let current = rest?;
        let bytes = current.as_bytes();
        let end = bytes.iter().position(|&b| b == b'&').unwrap_or(bytes.len());
        rest = current.get(end + 1..);
        let pair = &current[..end];
        let eq = pair.as_bytes().iter().position(|&b| b == b'=');
        Some(match eq {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, ""),
        })
    })
}

/// Removes the first parameter called `name` from `a=1&b=2` text: the text without it, and its
/// raw value. None if there is no such parameter. The reference for Binance's one-pass
/// `split_signature`, which replaced it on the verify path.
#[cfg(test)]
pub(crate) fn remove_param(text: &str, name: &str) -> Option<(String, String)> {
    let mut kept = Vec::new();
    let mut value = None;
    for pair in text.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if value.is_none() && k == name {
            value = Some(v.to_owned());
        } else {
            kept.push(pair);
        }
    }
    value.map(|v| (kept.join("&"), v))
}

/// Appends `name=<number>` to `a=1&b=2` text without an intermediate string or the
/// formatting machinery (`itoa`; this is on the signing hot path).
pub(crate) fn append_number(text: &mut String, name: &str, value: u64) {
    if !text.is_empty() {
        text.push('&');
    }
    text.push_str(name);
    text.push('=');
    text.push_str(itoa::Buffer::new().format(value));
}

/// Appends `name=value` to `a=1&b=2` text.
pub(crate) fn append_param(text: &mut String, name: &str, value: &str) {
    if !text.is_empty() {
        text.push('&');
    }
    text.push_str(name);
    text.push('=');
    text.push_str(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_appends_params() {
        assert_eq!(raw_param("a=1&timestamp=5", "timestamp"), Some("5"));
        assert_eq!(raw_param("a=1&xtimestamp=5", "timestamp"), None);
        assert_eq!(raw_param("flag&b=2", "flag"), Some(""));
        assert_eq!(raw_param("a=1&b=2&flag", "flag"), Some(""));
        assert_eq!(
            raw_param("timestamps=1&timestamp=2", "timestamp"),
            Some("2")
        );
        assert_eq!(raw_param("x=timestamp=1", "timestamp"), None);
        assert_eq!(raw_param("a=1", ""), None);
        assert_eq!(raw_param("", "a"), None);
        assert_eq!(
            has_params("a=1&timestamp=2&b", ["timestamp", "signature", "b"]),
            [true, false, true]
        );
        assert_eq!(
            has_params("timestamps=1&x=timestamp&sig", ["timestamp", "signature"]),
            [false, false]
        );
        assert_eq!(has_params("", ["a"]), [false]);
        let mut s = String::new();
        append_number(&mut s, "n", 0);
        append_number(&mut s, "m", u64::MAX);
        assert_eq!(s, "n=0&m=18446744073709551615");
        let mut s = String::new();
        append_param(&mut s, "a", "1");
        append_param(&mut s, "b", "2");
        assert_eq!(s, "a=1&b=2");
    }

    #[test]
    fn removes_one_param() {
        assert_eq!(
            remove_param("a=1&signature=ab&b=2", "signature"),
            Some(("a=1&b=2".to_owned(), "ab".to_owned()))
        );
        assert_eq!(
            remove_param("signature=ab", "signature"),
            Some((String::new(), "ab".to_owned()))
        );
        assert_eq!(remove_param("a=1", "signature"), None);
    }

    #[test]
    fn rfc3986_keeps_only_unreserved() {
        let q = build_query([("a b", "x+y/z~._-")], QueryEncoding::Rfc3986);
        assert_eq!(q, "a%20b=x%2By%2Fz~._-");
    }
}
