//! Coinbase CDP API key JWTs: built per request, and taken apart by the verifier.
//!
//! Coinbase's CDP keys sign a short-lived JWT instead of a MAC
//! (<https://docs.cdp.coinbase.com/coinbase-app/authentication-authorization/api-key-authentication>):
//! a JWS in compact form whose header names `alg` (`ES256` for an EC P-256 key, `EdDSA` for an
//! Ed25519 key), `kid` (the key name, `organizations/{org}/apiKeys/{id}`), `nonce` (random, so
//! no two tokens are alike) and `typ` `JWT`, and whose claims are `iss` `cdp`, `sub` (the key
//! name), `nbf` (now, in Unix seconds), `exp` (`nbf` + 120) and, for REST only, `uri`
//! (`METHOD host/path`). A token is made fresh for each request and never reused.
//!
//! Hand-written over the crate's own keys (a few dozen lines) rather than taken from a JWT
//! crate: the JWT crates pull `rsa` into every build, and keyward only ever builds these two
//! algorithms. The verifier never lets the header's `alg` choose the algorithm: the key a
//! `kid` resolves to decides it (RFC 8725, section 3.1), so a token cannot ask to be checked
//! another way.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::key::KeyKind;
use crate::options::SignOptions;
use crate::signature::Encoding;
use crate::signer::Signer;
use crate::verify::VerifyError;

/// How long a token lives: `exp` is `nbf` plus this, in seconds.
pub(crate) const LIFETIME_SECS: u64 = 120;
/// The largest token the verifier reads, in bytes (a CDP token is well under 1 KiB).
const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Random bytes in a nonce (written as hex, as Coinbase's SDK writes `secrets.token_hex()`).
const NONCE_BYTES: usize = 32;

/// Builds a signed token for the signer's key; `uri` is the REST request's `METHOD host/path`,
/// None for WebSocket.
pub(crate) fn sign(s: &Signer, uri: Option<&str>, o: &SignOptions) -> Result<String> {
    let alg = match s.key_kind() {
        KeyKind::P256 => "ES256",
        KeyKind::Ed25519 => "EdDSA",
        kind => {
            return Err(Error::KeyNotAccepted {
                scheme: s.descriptor.name,
                kind,
                what: "CDP JWTs",
            });
        }
    };
    let nonce = match &o.nonce {
        Some(nonce) => nonce.clone(),
        None => random_nonce()?,
    };
    let nbf = s.timestamp_ms(o) / 1000;
    let header = json!({"alg": alg, "kid": s.api_key, "nonce": nonce, "typ": "JWT"});
    let mut claims = json!({
        "iss": "cdp",
        "sub": s.api_key,
        "nbf": nbf,
        "exp": nbf.saturating_add(LIFETIME_SECS),
    });
    if let (Some(uri), Some(map)) = (uri, claims.as_object_mut()) {
        map.insert("uri".into(), Value::from(uri));
    }
    let input = format!("{}.{}", part(&header), part(&claims));
    let signature = s.key.text(&[input.as_bytes()], Encoding::Base64Url)?;
    Ok(format!("{input}.{signature}"))
}

/// One part of a compact JWS: base64url of the JSON text.
fn part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn random_nonce() -> Result<String> {
    let mut bytes = [0u8; NONCE_BYTES];
    getrandom::getrandom(&mut bytes).map_err(|e| Error::Rng(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// A received token, taken apart. Its signature is not checked here: the verifier checks it
/// over [`Received::signing_input`] with the key `kid` names.
#[derive(Debug)]
pub(crate) struct Received {
    /// The key name (`kid`, equal to `sub`).
    pub(crate) key_name: String,
    /// `nbf`, in milliseconds.
    pub(crate) not_before_ms: u64,
    /// `exp`, in milliseconds.
    pub(crate) expires_ms: u64,
    /// The `uri` claim, if any.
    pub(crate) uri: Option<String>,
    /// `header.claims` exactly as received: what the signature covers.
    pub(crate) signing_input: Vec<u8>,
    /// The signature, base64url as received.
    pub(crate) signature: String,
}

/// Takes a token apart and checks its header and claims: `alg` `ES256` or `EdDSA`, no
/// `crit`, `typ` `JWT` if present, `iss` `cdp`, `sub` equal to `kid`, and `exp` after `nbf`
/// by at most [`LIFETIME_SECS`].
pub(crate) fn read(token: &str) -> Result<Received, VerifyError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(VerifyError::malformed(format!(
            "the JWT is longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::malformed(
            "the JWT is not three base64url parts joined by dots",
        ));
    };
    let header = object("header", header)?;
    let claims = object("claims", claims)?;
    match text(&header, "header", "alg")? {
        "ES256" | "EdDSA" => {}
        _ => {
            return Err(VerifyError::malformed(
                "the JWT header's alg is neither ES256 nor EdDSA",
            ));
        }
    }
    if header.contains_key("crit") {
        return Err(VerifyError::malformed("the JWT header has crit extensions"));
    }
    if header.get("typ").is_some_and(|t| t != "JWT") {
        return Err(VerifyError::malformed("the JWT header's typ is not JWT"));
    }
    let key_name = text(&header, "header", "kid")?.to_owned();
    if text(&claims, "claims", "iss")? != "cdp" {
        return Err(VerifyError::malformed("the JWT's iss is not cdp"));
    }
    if text(&claims, "claims", "sub")? != key_name {
        return Err(VerifyError::malformed("the JWT's sub is not its kid"));
    }
    let nbf = seconds(&claims, "nbf")?;
    let exp = seconds(&claims, "exp")?;
    if exp <= nbf || exp - nbf > LIFETIME_SECS {
        return Err(VerifyError::malformed(format!(
            "the JWT's exp must be after nbf, by at most {LIFETIME_SECS} s"
        )));
    }
    let uri = match claims.get("uri") {
        None => None,
        Some(Value::String(uri)) => Some(uri.clone()),
        Some(_) => return Err(VerifyError::malformed("the JWT's uri is not a string")),
    };
    let input_len = token.len() - signature.len() - 1;
    Ok(Received {
        key_name,
        not_before_ms: nbf.saturating_mul(1000),
        expires_ms: exp.saturating_mul(1000),
        uri,
        signing_input: token.as_bytes()[..input_len].to_vec(),
        signature: signature.to_owned(),
    })
}

fn object(what: &str, part: &str) -> Result<Map<String, Value>, VerifyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VerifyError::malformed(format!("the JWT {what} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(VerifyError::malformed(format!(
            "the JWT {what} is not a JSON object"
        ))),
    }
}

fn text<'a>(map: &'a Map<String, Value>, what: &str, name: &str) -> Result<&'a str, VerifyError> {
    map.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| VerifyError::malformed(format!("the JWT {what} has no {name} string")))
}

fn seconds(claims: &Map<String, Value>, name: &str) -> Result<u64, VerifyError> {
    claims
        .get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| VerifyError::malformed(format!("the JWT's {name} is not whole seconds")))
}

/// The host of an origin (`https://api.coinbase.com` gives `api.coinbase.com`), as the `uri`
/// claim names it.
pub(crate) fn host(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &Value, claims: &Value) -> String {
        format!("{}.{}.c2ln", part(header), part(claims))
    }

    fn good() -> (Value, Value) {
        (
            json!({"alg": "ES256", "kid": "k", "nonce": "n", "typ": "JWT"}),
            json!({"iss": "cdp", "sub": "k", "nbf": 100, "exp": 220, "uri": "GET h/p"}),
        )
    }

    #[test]
    fn a_well_formed_token_is_taken_apart() {
        let (h, c) = good();
        let t = token(&h, &c);
        let r = read(&t).unwrap();
        assert_eq!(r.key_name, "k");
        assert_eq!((r.not_before_ms, r.expires_ms), (100_000, 220_000));
        assert_eq!(r.uri.as_deref(), Some("GET h/p"));
        assert_eq!(r.signature, "c2ln");
        assert_eq!(r.signing_input, t.rsplit_once('.').unwrap().0.as_bytes());
    }

    #[test]
    fn header_and_claims_are_checked() {
        let cases: [(&str, &str, Value); 8] = [
            ("h", "alg", json!("none")),
            ("h", "alg", json!("HS256")),
            ("h", "typ", json!("at+jwt")),
            ("h", "crit", json!(["b64"])),
            ("c", "iss", json!("other")),
            ("c", "sub", json!("other-key")),
            ("c", "exp", json!(221)),
            ("c", "exp", json!(100)),
        ];
        for (at, name, value) in cases {
            let (mut h, mut c) = good();
            let target = if at == "h" { &mut h } else { &mut c };
            target[name] = value.clone();
            assert!(read(&token(&h, &c)).is_err(), "{at}.{name} = {value}");
        }
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!.!.!",
            &"a".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(read(bad).is_err(), "{bad:.20}");
        }
    }

    #[test]
    fn hosts_come_from_origins() {
        assert_eq!(host("https://api.coinbase.com"), "api.coinbase.com");
        assert_eq!(host("http://127.0.0.1:8080/"), "127.0.0.1:8080");
        assert_eq!(host("api.coinbase.com"), "api.coinbase.com");
    }
}
