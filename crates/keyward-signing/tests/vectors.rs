//! The venues' own worked examples (tests/data/official.json, copied from shared/vectors), run
//! through the preset API from the request inputs: nothing here MACs a prehash by hand.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use keyward_signing::{
    Credentials, QueryEncoding, Request, Scheme, SignOptions, Signer, build_query,
};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = format!("{}/tests/data/official.json", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {}", v["id"]))
}

fn signer(v: &Value, scheme: Scheme, passphrase: Option<&str>) -> Signer {
    let api_key = v["api_key"].as_str().unwrap_or("vector-key");
    let mut creds = Credentials::new(api_key, text(v, "secret").into());
    if let Some(p) = passphrase {
        creds = creds.with_passphrase(p.into());
    }
    Signer::new(scheme, &creds).unwrap()
}

fn request(v: &Value) -> Request {
    let r = &v["request"];
    Request::new(text(r, "method"), text(r, "path"))
        .with_query(text(r, "query"))
        .with_body(text(r, "body"))
}

/// Binance REST: the vector's request already carries `timestamp` and `recvWindow`; the preset
/// adds only the signature, to the body when there is one, else to the query.
fn binance_rest(v: &Value) {
    let req = request(v);
    let out = signer(v, Scheme::Binance, None)
        .sign(req.clone(), &SignOptions::default())
        .unwrap();
    let suffix = format!("&signature={}", text(v, "expected"));
    if req.body.is_empty() {
        assert_eq!(out.query, format!("{}{suffix}", req.query));
    } else {
        assert_eq!(out.query, req.query);
        let body = String::from_utf8(out.body).unwrap();
        assert_eq!(
            body,
            format!("{}{suffix}", String::from_utf8(req.body).unwrap())
        );
    }
    // Where the docs give the unencoded values, the query helper produces what was sent.
    if let Some(params) = v["params_unencoded"].as_object() {
        for (name, value) in params {
            let pair = build_query(
                [(name.as_str(), value.as_str().unwrap())],
                QueryEncoding::Rfc3986,
            );
            let sent = text(&v["request"], "body");
            assert!(sent.contains(&pair), "{pair} not in {sent}");
        }
    }
}

fn binance_ws(v: &Value) {
    let out = signer(v, Scheme::Binance, None)
        .ws_auth(v["ws_params"].as_object().unwrap(), &SignOptions::default())
        .unwrap();
    assert_eq!(out["signature"], v["expected"]);
}

fn kraken(v: &Value) {
    let req = request(v);
    let opts = SignOptions {
        nonce: Some(text(v, "nonce").into()),
        ..Default::default()
    };
    let out = signer(v, Scheme::Kraken, None)
        .sign(req.clone(), &opts)
        .unwrap();
    assert_eq!(out.body, req.body, "the nonce in the body is used as it is");
    assert_eq!(out.header("API-Sign").unwrap(), text(v, "expected"));
}

fn bitmex(v: &Value) {
    let opts = SignOptions {
        expires: Some(v["expires"].as_u64().unwrap()),
        ..Default::default()
    };
    let out = signer(v, Scheme::Bitmex, None)
        .sign(request(v), &opts)
        .unwrap();
    assert_eq!(out.header("api-signature").unwrap(), text(v, "expected"));
    assert_eq!(out.header("api-key").unwrap(), text(v, "api_key"));
}

/// Bitvavo's WebSocket authentication is hmac-concat's prehash for `GET /v2/websocket`:
/// the inputs are read off the documented example (`<ms>GET<path>`).
fn bitvavo(v: &Value) {
    let prehash = text(v, "prehash");
    let digits = prehash.bytes().take_while(u8::is_ascii_digit).count();
    let (ts, rest) = prehash.split_at(digits);
    let path = rest.strip_prefix("GET").unwrap();
    let out = signer(v, Scheme::HmacConcat, None)
        .sign(Request::get(path), &SignOptions::at(ts.parse().unwrap()))
        .unwrap();
    assert_eq!(out.header("API-SIGN").unwrap(), text(v, "expected"));
}

/// BitMart's login: the inputs (timestamp and memo) are read off the documented example.
fn bitmart(v: &Value) {
    let parts: Vec<&str> = text(v, "prehash").split('#').collect();
    let msg = signer(v, Scheme::Bitmart, Some(parts[1]))
        .ws_auth(
            &Default::default(),
            &SignOptions::at(parts[0].parse().unwrap()),
        )
        .unwrap();
    assert_eq!(msg["args"][2], v["expected"]);
}

#[test]
fn every_published_vector_passes_through_its_preset() {
    let vectors = vectors();
    assert_eq!(
        vectors.len(),
        13,
        "the vector file changed: check every entry is handled"
    );
    for v in &vectors {
        let id = text(v, "id");
        match (text(v, "venue"), v.get("ws_params").is_some()) {
            ("binance", false) => binance_rest(v),
            ("binance", true) => binance_ws(v),
            ("kraken", _) => kraken(v),
            ("bitmex", _) => bitmex(v),
            ("bitvavo", _) => bitvavo(v),
            ("bitmart", _) => bitmart(v),
            (venue, _) => panic!("vector {id}: no preset handles venue {venue}; add one"),
        }
    }
}
