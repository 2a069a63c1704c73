//! Seed corpora for the fuzz targets of keyward-core-crypto and keyward-signing, generated from
//! the test vectors kept in the repository (never copied by hand): `cargo xtask fuzz` writes them
//! into `fuzz/corpus/<target>/` before a target runs.
//!
//! Each seed is in the input format its target documents (see `fuzz/fuzz_targets/<target>.rs`
//! and fuzz/README.md). A seed's file name is a hash of its bytes, as libFuzzer names the inputs
//! it adds, so writing the seeds twice adds nothing.

use anyhow::{Context, Result};
use serde_json::Value;
use std::path::Path;

/// The Fernet specification's vectors (keyward-core-crypto).
const FERNET_VECTORS: [&str; 3] = [
    "crates/keyward-core-crypto/tests/data/generate.json",
    "crates/keyward-core-crypto/tests/data/verify.json",
    "crates/keyward-core-crypto/tests/data/invalid.json",
];
/// The venues' published signing examples (keyward-signing).
const OFFICIAL: &str = "crates/keyward-signing/tests/data/official.json";
/// The venues' published asymmetric examples (keyward-signing).
const ASYMMETRIC: &str = "crates/keyward-signing/tests/data/asymmetric_official.json";
/// Key forms from Python `cryptography` (keyward-signing).
const KEYS: &str = "crates/keyward-signing/tests/data/keys.json";

/// How many schemes the first byte of `rest_claims` and `ws_claims` inputs can pick from at
/// most (`Scheme::ALL` has 12; the targets take the byte modulo their own count, so a larger
/// range only repeats seeds, a smaller one would miss schemes).
const SCHEME_SELECTORS: u8 = 12;

/// The seeds of `target`, or `None` when this module has no generator for it.
pub fn seeds(root: &Path, target: &str) -> Result<Option<Vec<Vec<u8>>>> {
    let seeds = match target {
        "fernet" => fernet(root)?,
        "rest_claims" => rest_claims(root)?,
        "keyward_v1" => keyward_v1(root)?,
        "ws_claims" => ws_claims(root)?,
        "keys" => keys(root)?,
        // The I/O crates' targets have their own module.
        other => return Ok(crate::fuzz_seeds_io::seeds(other)),
    };
    Ok(Some(seeds))
}

/// Reads and parses a JSON file under the workspace root.
fn read(root: &Path, relative: &str) -> Result<Value> {
    let path = root.join(relative);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The elements of a JSON array, or of an object's `field` array.
fn items<'a>(value: &'a Value, field: Option<&str>) -> &'a [Value] {
    let array = match field {
        Some(field) => &value[field],
        None => value,
    };
    array.as_array().map_or(&[], Vec::as_slice)
}

/// `fernet`: every token, key and plaintext of the specification's vectors, and the keys joined
/// as a key ring.
fn fernet(root: &Path) -> Result<Vec<Vec<u8>>> {
    let mut seeds = Vec::new();
    let mut secrets = Vec::new();
    for file in FERNET_VECTORS {
        for vector in items(&read(root, file)?, None) {
            for field in ["token", "secret", "src"] {
                if let Some(text) = vector[field].as_str() {
                    seeds.push(text.as_bytes().to_vec());
                }
            }
            if let Some(secret) = vector["secret"].as_str() {
                secrets.push(secret.to_owned());
            }
        }
    }
    secrets.dedup();
    seeds.push(secrets.join(",").into_bytes());
    seeds.push(secrets.join(" , ").into_bytes());
    Ok(seeds)
}

/// A request vector's method, path, query and body, as the NUL-separated fields `rest_claims`
/// reads.
fn request_fields(request: &Value) -> Option<Vec<u8>> {
    let field = |name: &str| request[name].as_str().unwrap_or_default();
    let method = request["method"].as_str()?;
    Some(
        [method, field("path"), field("query"), field("body")]
            .join("\0")
            .into_bytes(),
    )
}

/// Every request of the venues' examples.
fn requests(root: &Path) -> Result<Vec<Vec<u8>>> {
    let mut requests = Vec::new();
    for file in [OFFICIAL, ASYMMETRIC] {
        for vector in items(&read(root, file)?, Some("vectors")) {
            if let Some(fields) = request_fields(&vector["request"]) {
                requests.push(fields);
            }
        }
    }
    Ok(requests)
}

/// `rest_claims`: every example request under every scheme selector, once without headers and
/// once with the example's API key and signature in a header.
fn rest_claims(root: &Path) -> Result<Vec<Vec<u8>>> {
    let mut seeds = Vec::new();
    for request in requests(root)? {
        for selector in 0..SCHEME_SELECTORS {
            let mut seed = vec![selector];
            seed.extend_from_slice(&request);
            seeds.push(seed.clone());
            seed.extend_from_slice(b"\0X-MBX-APIKEY\0fuzz-key\0Authorization\0Bearer a.b.c");
            seeds.push(seed);
        }
    }
    Ok(seeds)
}

/// `keyward_v1`: for each example request, a `Signature-Input` line with its parameters made
/// from the example's values, a `Signature` line with its expected signature, a
/// `Content-Digest` line and its query.
fn keyward_v1(root: &Path) -> Result<Vec<Vec<u8>>> {
    let mut seeds = Vec::new();
    for file in [OFFICIAL, ASYMMETRIC] {
        for vector in items(&read(root, file)?, Some("vectors")) {
            let id = vector["id"].as_str().unwrap_or("sig");
            let key = vector["api_key"].as_str().unwrap_or(id);
            let created = vector["timestamp_ms"]
                .as_u64()
                .map_or(1_700_000_000, |ms| ms / 1000);
            let signature = vector["expected"]
                .as_str()
                .or_else(|| vector["expected_signature"].as_str())
                .unwrap_or_default();
            let query = vector["request"]["query"].as_str().unwrap_or_default();
            let input = format!(
                "sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\" \"x-request-id\");\
                 created={created};expires={};nonce=\"{id}\";keyid=\"{key}\";alg=\"hmac-sha256\"",
                created + 300
            );
            seeds.push(
                format!("{input}\nsig1=:{signature}:\nsha-256=:{signature}:\n{query}").into_bytes(),
            );
            seeds.push(format!("{input}, sig2={}", &input["sig1=".len()..]).into_bytes());
        }
    }
    Ok(seeds)
}

/// `ws_claims`: each example's WebSocket parameters (with its API key and signature), under
/// every scheme selector, bare and wrapped as a request.
fn ws_claims(root: &Path) -> Result<Vec<Vec<u8>>> {
    let mut messages = Vec::new();
    for file in [OFFICIAL, ASYMMETRIC] {
        for vector in items(&read(root, file)?, Some("vectors")) {
            let params = if vector["ws_params"].is_object() {
                &vector["ws_params"]
            } else {
                &vector["params"]
            };
            let Some(params) = params.as_object() else {
                continue;
            };
            let mut params = params.clone();
            if let Some(key) = vector["api_key"].as_str() {
                params.entry("apiKey").or_insert_with(|| key.into());
            }
            let signature = vector["expected"]
                .as_str()
                .or_else(|| vector["expected_signature"].as_str());
            if let Some(signature) = signature {
                params
                    .entry("signature")
                    .or_insert_with(|| signature.into());
            }
            let params = Value::Object(params);
            messages.push(params.to_string());
            let wrapped =
                serde_json::json!({ "id": 1, "method": "session.logon", "params": params });
            messages.push(wrapped.to_string());
        }
    }
    let mut seeds = Vec::new();
    for message in messages {
        for selector in 0..SCHEME_SELECTORS {
            let mut seed = vec![selector];
            seed.extend_from_slice(message.as_bytes());
            seeds.push(seed);
        }
    }
    Ok(seeds)
}

/// `keys`: every private and public key text of the key vectors and the published asymmetric
/// examples, and a JWT with the claims a CDP token carries.
fn keys(root: &Path) -> Result<Vec<Vec<u8>>> {
    let mut seeds = Vec::new();
    for case in items(&read(root, KEYS)?, Some("cases")) {
        for field in ["private", "public"] {
            if let Some(text) = case[field].as_str() {
                seeds.push(text.as_bytes().to_vec());
            }
        }
    }
    if let Some(keys) = read(root, ASYMMETRIC)?["keys"].as_object() {
        for key in keys.values() {
            for field in ["private_pem", "public_pem"] {
                if let Some(text) = key[field].as_str() {
                    seeds.push(text.as_bytes().to_vec());
                }
            }
        }
    }
    let name = "organizations/fuzz/apiKeys/fuzz-key";
    for alg in ["ES256", "EdDSA"] {
        let header = serde_json::json!({ "alg": alg, "kid": name, "typ": "JWT", "nonce": "00" });
        let claims = serde_json::json!({
            "iss": "cdp", "sub": name, "nbf": 1_700_000_000u64, "exp": 1_700_000_120u64,
            "uri": "GET api.coinbase.com/api/v3/brokerage/accounts",
        });
        let token = format!(
            "{}.{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(claims.to_string().as_bytes()),
            base64url(&[0; 64])
        );
        seeds.push(token.into_bytes());
    }
    Ok(seeds)
}

/// Unpadded base64url (RFC 4648 §5), for the JWT seeds. Written here rather than taken from a
/// crate: xtask keeps few dependencies, and a seed needs no speed or validation.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        for i in 0..=chunk.len() {
            let index = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{base64url, seeds};
    use crate::cmd::project_root;

    #[test]
    fn base64url_matches_rfc_4648() {
        // RFC 4648 §10's test vectors, unpadded.
        let cases = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64url(plain.as_bytes()), encoded);
        }
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn every_core_target_has_seeds_from_the_vectors() {
        let root = project_root();
        for target in ["fernet", "rest_claims", "keyward_v1", "ws_claims", "keys"] {
            let seeds = seeds(&root, target).unwrap().unwrap();
            assert!(seeds.len() >= 4, "{target}: {} seeds", seeds.len());
        }
        assert!(seeds(&root, "no_such_target").unwrap().is_none());
    }

    #[test]
    fn fernet_seeds_hold_the_specifications_tokens_and_keys() {
        let root = project_root();
        let seeds = seeds(&root, "fernet").unwrap().unwrap();
        let vectors = super::read(&root, super::FERNET_VECTORS[0]).unwrap();
        let key = vectors[0]["secret"].as_str().unwrap().as_bytes();
        assert!(seeds.iter().any(|seed| seed == key));
        assert!(seeds.iter().any(|seed| seed.starts_with(b"gAAAAA")));
    }

    #[test]
    fn rest_claims_seeds_pick_every_scheme_and_split_at_nul() {
        let seeds = seeds(&project_root(), "rest_claims").unwrap().unwrap();
        for selector in 0..super::SCHEME_SELECTORS {
            assert!(seeds.iter().any(|seed| seed[0] == selector));
        }
        let fields: Vec<&[u8]> = seeds[0][1..].split(|&b| b == 0).collect();
        assert_eq!(fields[0], b"POST");
        assert_eq!(fields[1], b"/api/v3/order");
    }
}
