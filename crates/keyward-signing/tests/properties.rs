//! Property tests: `keyward-v1` gives different signature bases to any two different requests.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use keyward_signing::schemes::keyward_v1::{
    SignatureParams, canonical_query, content_digest, signature_base,
};
use keyward_signing::{QueryEncoding, Request, build_query};
use proptest::prelude::*;

/// A request as keyward-v1 sends it: canonical query, Content-Digest set, one covered header.
#[derive(Debug, Clone)]
struct Parts {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    body: Vec<u8>,
    header: String,
}

fn build(p: &Parts) -> Request {
    let pairs: Vec<(&str, &str)> = p
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let query = canonical_query(&build_query(pairs, QueryEncoding::Rfc3986)).unwrap();
    Request::new(&p.method, p.path.clone())
        .with_query(query)
        .with_header("Content-Digest", content_digest(&p.body))
        .with_header("x-request-id", p.header.clone())
        .with_body(p.body.clone())
}

fn params() -> SignatureParams {
    SignatureParams {
        headers: vec!["x-request-id".into()],
        created: 1,
        expires: 2,
        nonce: "n".into(),
        keyid: "k".into(),
    }
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
        "/[a-zA-Z0-9/_.%~-]{0,12}",
        prop::collection::vec(("[a-z=&%+ ü]{0,4}", "[a-z0-9=&%+ \n\"ü]{0,5}"), 0..4),
        prop::collection::vec(any::<u8>(), 0..16),
        "[ -~]{0,6}",
    )
        .prop_map(|(method, path, params, body, header)| Parts {
            method: method.into(),
            path,
            params,
            body,
            header,
        })
}

/// What actually goes on the wire and is covered: two requests are "different" if any of these
/// differ (the header compared as the base sees it, trimmed).
fn wire(r: &Request) -> (String, String, String, Vec<u8>, String) {
    (
        r.method.clone(),
        r.path.clone(),
        r.query.clone(),
        r.body.clone(),
        r.header("x-request-id").unwrap().trim().to_owned(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn different_requests_have_different_bases(a in parts(), b in parts()) {
        let (ra, rb) = (build(&a), build(&b));
        let (ba, bb) = (signature_base(&ra, &params()).unwrap(), signature_base(&rb, &params()).unwrap());
        if wire(&ra) != wire(&rb) {
            prop_assert_ne!(ba, bb);
        } else {
            prop_assert_eq!(ba, bb);
        }
    }

    #[test]
    fn one_changed_component_changes_the_base(a in parts(), which in 0usize..5, other in parts()) {
        let mut b = a.clone();
        match which {
            0 => b.method = if a.method == "GET" { "POST".into() } else { "GET".into() },
            1 => b.path = format!("{}x", a.path),
            2 => b.params.push(("zz".into(), other.header.clone())),
            3 => b.body.push(1),
            _ => b.header = format!("{}y", a.header.trim()),
        }
        let (ra, rb) = (build(&a), build(&b));
        prop_assert_ne!(signature_base(&ra, &params()).unwrap(), signature_base(&rb, &params()).unwrap());
    }

    #[test]
    fn canonical_query_is_idempotent(q in "[a-zA-Z0-9=&%+ ü~._-]{0,20}") {
        if let Ok(c) = canonical_query(&q) {
            prop_assert_eq!(canonical_query(&c).unwrap(), c);
        }
    }
}
