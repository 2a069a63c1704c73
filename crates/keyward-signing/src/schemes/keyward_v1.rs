//! `keyward-v1`: keyward's own unambiguous scheme, modelled on RFC 9421 (HTTP Message Signatures)
//! with HMAC-SHA256.
//!
//! The signature base has one line per covered component, then the signature parameters:
//!
//! ```text
//! "@method": POST
//! "@path": /v1/orders
//! "@query": ?a=1&b=%20x
//! "content-digest": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:
//! "x-request-id": r-1
//! "@signature-params": ("@method" "@path" "@query" "content-digest" "x-request-id");created=1700000000;expires=1700000300;nonce="9f…";keyid="svc-a";alg="hmac-sha256"
//! ```
//!
//! - The query is canonical: pairs percent-decoded and re-encoded with RFC 3986 (`+` is a literal
//!   plus, so it becomes `%2B`), `name` without `=` becomes `name=`, pairs sorted by name with a
//!   stable sort (repeated names keep their order, so first-wins and last-wins servers read the
//!   same values). The signed request is sent with this query, and a verifier accepts only
//!   canonical queries.
//! - The body is bound by `Content-Digest: sha-256=:base64:` (RFC 9530), always present.
//! - No value can contain a line break: methods are upper-case letters, paths and header values
//!   are checked, and the query is canonical. So no two different requests share a signature
//!   base (a property test checks it).
//! - Signed parameters: `created` and `expires` (Unix seconds; 300 s validity unless
//!   `expires` is given), `nonce` (random unless given), `keyid` (the API key) and `alg`.
//! - During key rotation, [`crate::Signer::with_additional_key`] attaches one more signature per
//!   key (`sig1`, `sig2`, ...); a server that knows any of the keys accepts the request.
//!
//! Headers added: `Content-Digest`, `Signature-Input`, `Signature`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{percent_decode_str, percent_encode};
use sha2::{Digest, Sha256};

use crate::descriptor::{Check, Descriptor, Rest, Timing, WindowRule};
use crate::error::{Error, Result};
use crate::nonce::random_hex;
use crate::options::SignOptions;
use crate::params::RFC3986;
use crate::request::Request;
use crate::scheme::Scheme;
use crate::signer::Signer;
use crate::timestamp::{TimeForm, secs};
use crate::verify::{Checked, TimeRule, Verified, Verifier, VerifyError};
use keyward_core_crypto::ct::ct_eq;

/// The `alg` parameter of this scheme.
pub const ALG: &str = "hmac-sha256";
/// How long a signature is valid when no expiry is given, in seconds.
pub const DEFAULT_VALIDITY_SECS: u64 = 300;

pub(crate) static DESCRIPTOR: Descriptor = Descriptor {
    // `created` and `expires` in whole Unix seconds, within the verifier's window; verified by
    // this module's own flow.
    rest: Some(Rest {
        sign,
        check: Check::Own(verify),
        time: Timing::new(TimeForm::Seconds, WindowRule::Configured),
    }),
    several_keys: true,
    ..Descriptor::hmac_sha256(Scheme::KeywardV1, "keyward-v1")
};

/// The signature parameters of one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    /// Covered header names, lower case, sorted, without duplicates (the derived components
    /// `@method`, `@path`, `@query` and `content-digest` are always covered first).
    pub headers: Vec<String>,
    /// Creation time, Unix seconds.
    pub created: u64,
    /// Expiry time, Unix seconds.
    pub expires: u64,
    /// The nonce.
    pub nonce: String,
    /// The key id (the API key).
    pub keyid: String,
}

impl SignatureParams {
    /// The serialised parameters, as they appear in `Signature-Input` and the signature base.
    pub fn serialize(&self) -> String {
        let mut components = String::from("\"@method\" \"@path\" \"@query\" \"content-digest\"");
        for h in &self.headers {
            components.push_str(&format!(" \"{h}\""));
        }
        format!(
            "({components});created={};expires={};nonce=\"{}\";keyid=\"{}\";alg=\"{ALG}\"",
            self.created, self.expires, self.nonce, self.keyid
        )
    }
}

/// The canonical form of a query string (see the module docs). Fails on a malformed
/// percent-escape.
pub fn canonical_query(query: &str) -> Result<String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        pairs.push((reencode(name)?, reencode(value)?));
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&"))
}

/// Percent-decodes one query component and encodes it again with RFC 3986.
fn reencode(part: &str) -> Result<String> {
    let bytes = part.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err(Error::InvalidRequest(
                "the query has a '%' that does not start a percent-escape".into(),
            ));
        }
    }
    let raw: Vec<u8> = percent_decode_str(part).collect();
    Ok(percent_encode(&raw, RFC3986).to_string())
}

/// `sha-256=:base64(SHA-256(body)):` (RFC 9530).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

fn check_method(method: &str) -> Result<()> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::InvalidRequest(
            "the method must be upper-case letters".into(),
        ));
    }
    Ok(())
}

fn check_path(path: &str) -> Result<()> {
    let ok = path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#');
    if !ok {
        return Err(Error::InvalidRequest(
            "the path must start with '/' and hold only visible ASCII, without '?' or '#'".into(),
        ));
    }
    Ok(())
}

/// Checks a value that is written inside `"..."` in the parameters.
fn check_param(what: &str, value: &str) -> Result<()> {
    if value.is_empty()
        || !value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        return Err(Error::InvalidRequest(format!(
            "the {what} must be printable ASCII without '\"' or '\\'"
        )));
    }
    Ok(())
}

/// The signature base for `request` (whose query must already be canonical and whose
/// `Content-Digest` header must be set) under `params`. Both the signer and a verifier build it
/// with this function.
pub fn signature_base(request: &Request, params: &SignatureParams) -> Result<String> {
    check_param("key id", &params.keyid)?;
    let mut base = covered_components(request, params)?;
    base.push_str(&format!("\"@signature-params\": {}", params.serialize()));
    Ok(base)
}

/// What identifies a request to the replay cache: its covered components and its `created`,
/// `expires` and `nonce`, without the key id, so that one request signed under several keys is
/// one request whichever signature verifies it.
fn request_identity(request: &Request, params: &SignatureParams) -> Result<String> {
    let mut identity = covered_components(request, params)?;
    identity.push_str(&format!(
        "created={};expires={};nonce=\"{}\"",
        params.created, params.expires, params.nonce
    ));
    Ok(identity)
}

/// The lines of the signature base before `@signature-params`, after checking that no value can
/// make the base ambiguous.
fn covered_components(request: &Request, params: &SignatureParams) -> Result<String> {
    check_method(&request.method)?;
    check_path(&request.path)?;
    if canonical_query(&request.query)? != request.query {
        return Err(Error::InvalidRequest(
            "the query is not in canonical form".into(),
        ));
    }
    check_param("nonce", &params.nonce)?;
    let digest = request
        .header("content-digest")
        .ok_or_else(|| Error::InvalidRequest("the Content-Digest header is missing".into()))?;
    let mut base = format!(
        "\"@method\": {}\n\"@path\": {}\n\"@query\": ?{}\n\"content-digest\": {}\n",
        request.method, request.path, request.query, digest
    );
    for name in &params.headers {
        let bad_name = name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if bad_name || name == "content-digest" {
            return Err(Error::InvalidRequest(format!(
                "covered header name {name:?} must be lower-case letters, digits and '-', and not content-digest"
            )));
        }
        let value = request.header(name).ok_or_else(|| {
            Error::InvalidRequest(format!("covered header {name} is not in the request"))
        })?;
        if value.bytes().any(|b| b.is_ascii_control()) {
            return Err(Error::InvalidRequest(format!(
                "covered header {name} holds a control character"
            )));
        }
        base.push_str(&format!("\"{name}\": {}\n", value.trim()));
    }
    Ok(base)
}

fn sign(s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
    req.query = canonical_query(&req.query)?;
    req.set_header("Content-Digest", content_digest(&req.body));
    let created = secs(s.timestamp_ms(o));
    let expires = o
        .expires
        .unwrap_or_else(|| created.saturating_add(DEFAULT_VALIDITY_SECS));
    let nonce = match &o.nonce {
        Some(n) => n.clone(),
        None => random_hex(16)?,
    };
    let mut headers: Vec<String> = o
        .signed_headers
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    headers.sort();
    headers.dedup();

    let own = s
        .key
        .hmac()
        .ok_or_else(|| Error::InvalidRequest("keyward-v1 signs with HMAC keys only".into()))?;
    let keys = std::iter::once((&s.api_key, own)).chain(s.additional.iter().map(|(k, m)| (k, m)));
    let mut inputs = Vec::new();
    let mut signatures = Vec::new();
    for (i, (keyid, mac)) in keys.enumerate() {
        let params = SignatureParams {
            headers: headers.clone(),
            created,
            expires,
            nonce: nonce.clone(),
            keyid: keyid.clone(),
        };
        let base = signature_base(&req, &params)?;
        let label = format!("sig{}", i + 1);
        inputs.push(format!("{label}={}", params.serialize()));
        signatures.push(format!("{label}=:{}:", mac.base64(&[base.as_bytes()])));
    }
    req.set_header("Signature-Input", inputs.join(", "));
    req.set_header("Signature", signatures.join(", "));
    Ok(req)
}

/// One entry of `Signature-Input`, with its signature from `Signature`.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) label: String,
    pub(crate) params: SignatureParams,
    pub(crate) alg: String,
    pub(crate) derived_ok: bool,
}

/// Parses `label=("@method" ... "h");created=1;expires=2;nonce="n";keyid="k";alg="hmac-sha256", ...`.
pub(crate) fn parse_inputs(text: &str) -> Option<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (label, after) = rest.split_once("=(")?;
        let (list, mut after) = after.split_once(')')?;
        let components: Vec<&str> = list.split(' ').filter(|c| !c.is_empty()).collect();
        let names: Option<Vec<String>> = components
            .iter()
            .map(|c| c.strip_prefix('"')?.strip_suffix('"').map(str::to_owned))
            .collect();
        let names = names?;
        let derived = ["@method", "@path", "@query", "content-digest"];
        let derived_ok = names.len() >= 4 && names[..4] == derived;
        let mut params = SignatureParams {
            headers: names.get(4..).map(<[String]>::to_vec).unwrap_or_default(),
            created: 0,
            expires: 0,
            nonce: String::new(),
            keyid: String::new(),
        };
        let mut alg = String::new();
        while let Some(p) = after.strip_prefix(';') {
            let (name, value_and_rest) = p.split_once('=')?;
            let (value, next) = if let Some(quoted) = value_and_rest.strip_prefix('"') {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = value_and_rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(value_and_rest.len());
                (&value_and_rest[..end], &value_and_rest[end..])
            };
            match name {
                "created" => params.created = value.parse().ok()?,
                "expires" => params.expires = value.parse().ok()?,
                "nonce" => params.nonce = value.to_owned(),
                "keyid" => params.keyid = value.to_owned(),
                "alg" => alg = value.to_owned(),
                _ => return None,
            }
            after = next;
        }
        entries.push(Entry {
            label: label.trim().to_owned(),
            params,
            alg,
            derived_ok,
        });
        let tail = after.trim_start();
        if tail.is_empty() {
            break;
        }
        rest = tail.strip_prefix(',')?.trim_start();
    }
    Some(entries)
}

/// The base64 signature for `label` in a `Signature` header.
pub(crate) fn signature_for<'a>(header: &'a str, label: &str) -> Option<&'a str> {
    header.split(',').find_map(|item| {
        let (l, v) = item.trim().split_once('=')?;
        (l == label).then(|| v.strip_prefix(':')?.strip_suffix(':'))?
    })
}

/// Verifies a keyward-v1 request: any attached signature by an active key is enough.
fn verify(v: &Verifier, req: &Request) -> Result<Checked, VerifyError> {
    let inputs = crate::verify::required_header(req, "Signature-Input")?;
    let signatures = crate::verify::required_header(req, "Signature")?;
    let digest = crate::verify::required_header(req, "Content-Digest")?;
    let entries = parse_inputs(inputs)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| VerifyError::malformed("header Signature-Input is not keyward-v1"))?;
    if canonical_query(&req.query).ok().as_deref() != Some(req.query.as_str()) {
        return Err(VerifyError::malformed("the query is not in canonical form"));
    }
    // The signatures are of one request: they may differ in their key only. Otherwise a
    // replay could present each entry as a new request.
    let first = &entries[0].params;
    let same_request = |p: &SignatureParams| {
        p.headers == first.headers
            && p.created == first.created
            && p.expires == first.expires
            && p.nonce == first.nonce
    };
    if !entries.iter().all(|e| same_request(&e.params)) {
        return Err(VerifyError::malformed(
            "the signatures in Signature-Input differ in more than their keyid: they must cover the same components with the same created, expires and nonce",
        ));
    }
    let mut known_key = false;
    let mut verified = None;
    for entry in &entries {
        if entry.alg != ALG || !entry.derived_ok {
            return Err(VerifyError::malformed(format!(
                "signature {} must be alg {ALG} and cover @method, @path, @query and content-digest",
                entry.label
            )));
        }
        let provided = signature_for(signatures, &entry.label).ok_or_else(|| {
            VerifyError::malformed(format!("header Signature has no {}", entry.label))
        })?;
        let candidates = v.keys().resolve(&entry.params.keyid);
        known_key |= !candidates.is_empty();
        let base = signature_base(req, &entry.params)
            .map_err(|e| VerifyError::malformed(e.to_string()))?;
        let matched = candidates.iter().any(|creds| {
            Signer::new(Scheme::KeywardV1, creds).is_ok_and(|signer| {
                signer.key.hmac().is_some_and(|mac| {
                    let expected = mac.base64(&[base.as_bytes()]);
                    ct_eq(expected.as_bytes(), provided.as_bytes())
                })
            })
        });
        if matched {
            verified = Some(entry);
            break;
        }
    }
    let entry = match verified {
        Some(entry) => entry,
        None if known_key => return Err(VerifyError::BadSignature),
        None => return Err(VerifyError::UnknownKey),
    };
    // The signature covers the Content-Digest header; the header must also match the body.
    if !ct_eq(digest.as_bytes(), content_digest(&req.body).as_bytes()) {
        return Err(VerifyError::BadSignature);
    }
    let now = v.now_ms();
    let rule = TimeRule::Window {
        timestamp_ms: entry.params.created.saturating_mul(1000),
        window: v.window(),
        expires_ms: Some(entry.params.expires.saturating_mul(1000)),
    };
    let replay = match rule.check(now)? {
        Some(until) => {
            // The request, never the key that verified it: every entry yields the same identity.
            let identity = request_identity(req, &entry.params)
                .map_err(|e| VerifyError::malformed(e.to_string()))?;
            Some(v.replay_entry(&identity, &rule, until, now)?)
        }
        None => None,
    };
    Ok(Checked {
        verified: Verified {
            key_id: entry.params.keyid.clone(),
            scheme: Scheme::KeywardV1,
        },
        replay,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{hmac256_b64, signer};
    use crate::{Credentials, Scheme};

    fn opts() -> SignOptions {
        SignOptions {
            nonce: Some("n1".into()),
            ..SignOptions::at(1_700_000_000_000)
        }
    }

    #[test]
    fn canonical_query_sorts_stably_and_reencodes() {
        assert_eq!(canonical_query("b=2&a=1&b=1").unwrap(), "a=1&b=2&b=1");
        assert_eq!(
            canonical_query("q=a+b&x=%7e&flag").unwrap(),
            "flag=&q=a%2Bb&x=~"
        );
        assert_eq!(canonical_query("s=%EF%BC%91").unwrap(), "s=%EF%BC%91");
        assert_eq!(canonical_query("").unwrap(), "");
        assert!(canonical_query("a=%zz").is_err());
        assert!(canonical_query("a=%4").is_err());
    }

    #[test]
    fn get_with_query_is_sent_canonical_and_signed() {
        let s = signer(Scheme::KeywardV1, None);
        let out = s
            .sign(Request::get("/v1/items").with_query("z=1&a=ü"), &opts())
            .unwrap();
        assert_eq!(out.query, "a=%C3%BC&z=1");
        let input = out.header("Signature-Input").unwrap();
        assert_eq!(
            input,
            "sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=1700000000;expires=1700000300;nonce=\"n1\";keyid=\"test-key\";alg=\"hmac-sha256\""
        );
        let base = format!(
            "\"@method\": GET\n\"@path\": /v1/items\n\"@query\": ?a=%C3%BC&z=1\n\"content-digest\": {}\n\"@signature-params\": {}",
            content_digest(b""),
            &input["sig1=".len()..]
        );
        assert_eq!(
            out.header("Signature").unwrap(),
            format!("sig1=:{}:", hmac256_b64(&base))
        );
    }

    #[test]
    fn post_with_body_and_covered_header() {
        let s = signer(Scheme::KeywardV1, None);
        let req = Request::post("/v1/orders")
            .with_body("{\"q\":1}")
            .with_header("X-Request-Id", " r-1 ");
        let o = SignOptions {
            signed_headers: vec!["X-Request-Id".into()],
            ..opts()
        };
        let out = s.sign(req, &o).unwrap();
        assert_eq!(
            out.header("Content-Digest").unwrap(),
            content_digest(b"{\"q\":1}")
        );
        let input = out.header("Signature-Input").unwrap();
        assert!(input.contains("\"content-digest\" \"x-request-id\")"));
        let params = &input["sig1=".len()..];
        let base = format!(
            "\"@method\": POST\n\"@path\": /v1/orders\n\"@query\": ?\n\"content-digest\": {}\n\"x-request-id\": r-1\n\"@signature-params\": {params}",
            content_digest(b"{\"q\":1}")
        );
        assert_eq!(
            out.header("Signature").unwrap(),
            format!("sig1=:{}:", hmac256_b64(&base))
        );
    }

    #[test]
    fn several_keys_attach_several_signatures() {
        let extra = Credentials::new("old-key", "old-secret".into());
        let s = signer(Scheme::KeywardV1, None)
            .with_additional_key(&extra)
            .unwrap();
        let out = s.sign(Request::get("/x"), &opts()).unwrap();
        let sig = out.header("Signature").unwrap();
        assert!(
            sig.starts_with("sig1=:") && sig.contains(", sig2=:"),
            "{sig}"
        );
        assert!(
            out.header("Signature-Input")
                .unwrap()
                .contains("keyid=\"old-key\"")
        );
        assert!(
            signer(Scheme::Binance, None)
                .with_additional_key(&extra)
                .is_err()
        );
    }

    #[test]
    fn refuses_what_would_make_the_base_ambiguous() {
        let s = signer(Scheme::KeywardV1, None);
        assert!(s.sign(Request::get("/a\nb"), &opts()).is_err());
        assert!(s.sign(Request::get("a"), &opts()).is_err());
        let req = Request::get("/a").with_header("x-h", "a\r\nb");
        let o = SignOptions {
            signed_headers: vec!["x-h".into()],
            ..opts()
        };
        assert!(s.sign(req, &o).is_err());
        let o = SignOptions {
            nonce: Some("a\"b".into()),
            ..opts()
        };
        assert!(s.sign(Request::get("/a"), &o).is_err());
        assert!(s.ws_auth(&Default::default(), &opts()).is_err());
    }

    #[test]
    fn random_nonce_and_default_expiry() {
        let s = signer(Scheme::KeywardV1, None);
        let a = s
            .sign(Request::get("/a"), &SignOptions::at(1_700_000_000_000))
            .unwrap();
        let b = s
            .sign(Request::get("/a"), &SignOptions::at(1_700_000_000_000))
            .unwrap();
        assert_ne!(a.header("Signature"), b.header("Signature"));
        assert!(
            a.header("Signature-Input")
                .unwrap()
                .contains("expires=1700000300")
        );
    }
}
