//! `hmac-newline-v0`: byte-compatible with a widespread Python pattern for service-to-service
//! signing.
//!
//! message = `METHOD \n url \n unix-seconds`, then `\n body` if the body is not empty, then
//! `\n name:value` for each signed header, sorted by (lower-case) name;
//! signature = hex(HMAC-SHA256(secret, message)). Headers `X-Timestamp`, `X-Signature` and
//! `X-Algorithm: sha256`.
//!
//! The pattern, in Python: `message = f"{method}\n{url}\n{int(time.time())}"`, `+ "\n" + body`
//! when there is a body, then `+ f"\n{name}:{headers[name]}"` for each name in
//! `sorted(signed_headers, key=str.lower)`, and `hmac.new(secret, message, sha256).hexdigest()`.
//! So a signed header's name is written exactly as the caller lists it in
//! [`crate::SignOptions::signed_headers`] (its case kept, not the request's spelling), its value
//! as it is (not trimmed); a verifier must list the same names in the same case
//! ([`crate::verify::Verifier::with_signed_headers`]). `tests/python_interop.rs` checks the bytes
//! against an independent Python implementation (`tests/python/hmac_newline_v0.py`). The url is `path?query`, or `origin + path?query` with
//! [`crate::SignOptions::origin`]. See [`crate::schemes`] for why this scheme is weaker than
//! `keyward-v1`.

use crate::descriptor::{Context, Descriptor, Rest, Timing, WindowRule};
use crate::error::{Error, Result};
use crate::options::SignOptions;
use crate::request::Request;
use crate::scheme::Scheme;
use crate::signature::Encoding;
use crate::signer::Signer;
use crate::timestamp::TimeForm;
use crate::verify::{Claim, SignatureAt, TimeRule, VerifyError, required_header, without_header};

pub(crate) static DESCRIPTOR: Descriptor = Descriptor {
    // Whole Unix seconds, within the verifier's window.
    rest: Some(Rest::claimed(
        sign,
        claim,
        Timing::new(TimeForm::Seconds, WindowRule::Configured),
    )),
    signs_origin: true,
    ..Descriptor::hmac_sha256(Scheme::HmacNewlineV0, "hmac-newline-v0")
};

/// The message this scheme MACs, for a request that carries the signed headers.
pub(crate) fn message(
    req: &Request,
    url: &str,
    timestamp_secs: &str,
    signed_headers: &[String],
) -> Result<Vec<u8>> {
    let mut msg = format!("{}\n{url}\n{timestamp_secs}", req.method).into_bytes();
    if !req.body.is_empty() {
        msg.push(b'\n');
        msg.extend_from_slice(&req.body);
    }
    // Names as the caller gives them (the pattern keeps their case), sorted by their lower-case
    // form with a stable sort, a name given twice (in any case) signed once.
    let mut names: Vec<&str> = signed_headers.iter().map(String::as_str).collect();
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    for name in names {
        let value = req.header(name).ok_or_else(|| {
            Error::InvalidRequest(format!("signed header {name} is not in the request"))
        })?;
        msg.extend_from_slice(format!("\n{name}:{value}").as_bytes());
    }
    Ok(msg)
}

fn sign(s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
    let ts = s.rest_timestamp(o)?;
    let url = match &o.origin {
        Some(origin) => format!("{}{}", origin.trim_end_matches('/'), req.url()),
        None => req.url(),
    };
    let msg = message(&req, &url, &ts, &o.signed_headers)?;
    let sig = s.key.text(&[&msg], Encoding::Hex)?;
    req.set_header("X-Timestamp", ts);
    req.set_header("X-Signature", sig);
    req.set_header("X-Algorithm", "sha256");
    Ok(req)
}

/// The request carries no key id: the verifier tries every secret it knows. The url may have
/// been signed as `path?query` or under one of the verifier's origins (the descriptor's
/// `signs_origin`).
fn claim(req: &Request, ctx: &Context<'_>) -> Result<Claim, VerifyError> {
    let algorithm = required_header(req, "X-Algorithm")?;
    if algorithm != "sha256" {
        return Err(VerifyError::malformed("header X-Algorithm must be sha256"));
    }
    let timestamp = ctx.time("header X-Timestamp", required_header(req, "X-Timestamp")?)?;
    Ok(Claim {
        key_id: None,
        provided: required_header(req, "X-Signature")?.to_owned(),
        passphrase: None,
        time: TimeRule::at(timestamp, ctx.window),
        unsigned: without_header(req, "X-Signature"),
        options: SignOptions {
            signed_headers: ctx.signed_headers.to_vec(),
            ..SignOptions::at(timestamp)
        },
        signature_at: SignatureAt::Header("X-Signature"),
        replay_basis: None,
    })
}

#[cfg(test)]
mod tests {
    use crate::test_support::{hmac256_hex, signer};
    use crate::{Request, Scheme, SignOptions};

    const TS: u64 = 1_700_000_000_900;

    #[test]
    fn get_with_query_no_body_line() {
        let s = signer(Scheme::HmacNewlineV0, None);
        let out = s
            .sign(
                Request::get("/v1/items").with_query("q=1"),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(
            out.header("X-Signature").unwrap(),
            hmac256_hex("GET\n/v1/items?q=1\n1700000000")
        );
        assert_eq!(out.header("X-Timestamp"), Some("1700000000"));
        assert_eq!(out.header("X-Algorithm"), Some("sha256"));
    }

    #[test]
    fn post_with_body_and_sorted_signed_headers() {
        let s = signer(Scheme::HmacNewlineV0, None);
        let req = Request::post("/v1/items")
            .with_body(r#"{"name":"ü"}"#)
            .with_header("X-Request-Id", "r1")
            .with_header("Content-Type", "application/json");
        let opts = SignOptions {
            signed_headers: vec!["X-Request-Id".into(), "content-type".into()],
            ..SignOptions::at(TS)
        };
        let out = s.sign(req, &opts).unwrap();
        let msg = "POST\n/v1/items\n1700000000\n{\"name\":\"ü\"}\ncontent-type:application/json\nX-Request-Id:r1";
        assert_eq!(out.header("X-Signature").unwrap(), hmac256_hex(msg));
    }

    #[test]
    fn absolute_url_and_missing_signed_header() {
        let s = signer(Scheme::HmacNewlineV0, None);
        let opts = SignOptions {
            origin: Some("https://svc.example/".into()),
            ..SignOptions::at(TS)
        };
        let out = s.sign(Request::get("/a"), &opts).unwrap();
        assert_eq!(
            out.header("X-Signature").unwrap(),
            hmac256_hex("GET\nhttps://svc.example/a\n1700000000")
        );
        let opts = SignOptions {
            signed_headers: vec!["x-missing".into()],
            ..SignOptions::at(TS)
        };
        assert!(s.sign(Request::get("/a"), &opts).is_err());
        assert!(
            s.ws_auth(&Default::default(), &SignOptions::at(TS))
                .is_err()
        );
    }
}
