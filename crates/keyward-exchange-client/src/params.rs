//! Where a raw call's parameters go: the query, a form body or a JSON body.

use keyward_signing::{QueryEncoding, build_query};
use serde_json::Value;

/// A raw call's parameters, placed as the venue expects them.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Params {
    /// No parameters.
    #[default]
    None,
    /// In the query string.
    Query(Vec<(String, String)>),
    /// As an `application/x-www-form-urlencoded` body (Binance writes, Kraken).
    Form(Vec<(String, String)>),
    /// As a JSON body (Bybit, OKX, Coinbase, BitMEX writes, services).
    Json(Value),
}

impl Params {
    /// Query parameters from pairs.
    pub fn query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::Query(owned(pairs))
    }

    /// Form-body parameters from pairs.
    pub fn form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::Form(owned(pairs))
    }

    /// A JSON body.
    pub fn json(value: Value) -> Self {
        Self::Json(value)
    }

    /// The query string, the body and its content type.
    pub(crate) fn encode(
        &self,
        encoding: QueryEncoding,
    ) -> (String, Vec<u8>, Option<&'static str>) {
        match self {
            Self::None => (String::new(), Vec::new(), None),
            Self::Query(pairs) => (encode_pairs(pairs, encoding), Vec::new(), None),
            Self::Form(pairs) => (
                String::new(),
                encode_pairs(pairs, encoding).into_bytes(),
                Some("application/x-www-form-urlencoded"),
            ),
            Self::Json(value) => (
                String::new(),
                value.to_string().into_bytes(),
                Some("application/json"),
            ),
        }
    }
}

fn owned<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn encode_pairs(pairs: &[(String, String)], encoding: QueryEncoding) -> String {
    build_query(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        encoding,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placement() {
        let (q, b, ct) = Params::query([("a", "1 2")]).encode(QueryEncoding::Rfc3986);
        assert_eq!((q.as_str(), b.len(), ct), ("a=1%202", 0, None));
        let (q, b, ct) = Params::form([("a", "1"), ("b", "x")]).encode(QueryEncoding::Form);
        assert_eq!((q.as_str(), b.as_slice()), ("", &b"a=1&b=x"[..]));
        assert_eq!(ct, Some("application/x-www-form-urlencoded"));
        let (_, b, ct) = Params::json(json!({"a": 1})).encode(QueryEncoding::Form);
        assert_eq!(
            (b.as_slice(), ct),
            (&br#"{"a":1}"#[..], Some("application/json"))
        );
        assert_eq!(Params::None.encode(QueryEncoding::Form).0, "");
    }
}
