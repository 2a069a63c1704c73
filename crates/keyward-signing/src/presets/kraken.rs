//! Kraken spot REST.
//!
//! <https://docs.kraken.com/api/docs/guides/spot-rest-auth>:
//! `API-Sign = base64(HMAC-SHA512(base64decode(secret), path || SHA256(nonce || postdata)))`,
//! where `postdata` is the form body as sent, including its `nonce` parameter. A nonce already
//! in the body is used as it is; otherwise `nonce=N` is put at the front of the body. Headers
//! `API-Key` and `API-Sign`. Nonces must increase for each key: share one
//! [`crate::NonceSource`] between all signers of a key, and a [`crate::FileNonce`] between the
//! processes and restarts that use it.

use sha2::{Digest, Sha256};

use crate::descriptor::{Context, Descriptor, Rest, SecretEncoding, Timing};
use crate::error::{Error, Result};
use crate::mac::Algorithm;
use crate::options::SignOptions;
use crate::params::raw_param;
use crate::request::Request;
use crate::scheme::Scheme;
use crate::signature::Encoding;
use crate::signer::Signer;
use crate::verify::{
    Claim, SignatureAt, TimeRule, VerifyError, parse_u64, required_header, without_header,
};

pub(crate) static DESCRIPTOR: Descriptor = Descriptor {
    algorithm: Algorithm::Sha512,
    secret: SecretEncoding::Base64,
    rest: Some(Rest::claimed(sign, claim, Timing::NONCE)),
    ..Descriptor::hmac_sha256(Scheme::Kraken, "kraken")
};

fn sign(s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
    let body = req.body_text()?;
    let nonce = match (raw_param(body, "nonce"), &o.nonce) {
        (Some(in_body), Some(given)) if in_body != given => {
            return Err(Error::InvalidRequest(format!(
                "the body carries nonce {in_body} but nonce {given} was given; pass one of them"
            )));
        }
        (Some(in_body), _) => in_body.to_owned(),
        (None, given) => {
            let nonce = match given {
                Some(n) => n.clone(),
                None => s.next_nonce()?.to_string(),
            };
            req.body = if body.is_empty() {
                format!("nonce={nonce}")
            } else {
                format!("nonce={nonce}&{body}")
            }
            .into_bytes();
            nonce
        }
    };
    if nonce.is_empty() || !nonce.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidRequest(
            "a Kraken nonce is a positive integer".into(),
        ));
    }
    let inner = Sha256::new()
        .chain_update(nonce.as_bytes())
        .chain_update(&req.body)
        .finalize();
    let sig = s
        .key
        .text(&[req.path.as_bytes(), &inner], Encoding::Base64)?;
    req.set_header("API-Key", s.api_key.clone());
    req.set_header("API-Sign", sig);
    Ok(req)
}

/// Kraken's acceptance rule: the body's `nonce` must exceed the last nonce accepted for the
/// key ("EAPI:Invalid nonce" otherwise); there is no timestamp.
fn claim(req: &Request, _: &Context<'_>) -> Result<Claim, VerifyError> {
    let body = std::str::from_utf8(&req.body)
        .map_err(|_| VerifyError::malformed("the body is not valid UTF-8"))?;
    let nonce = raw_param(body, "nonce")
        .ok_or_else(|| VerifyError::malformed("parameter nonce is missing"))
        .and_then(|n| parse_u64("parameter nonce", n))?;
    Ok(Claim {
        key_id: Some(required_header(req, "API-Key")?.to_owned()),
        provided: required_header(req, "API-Sign")?.to_owned(),
        passphrase: None,
        time: TimeRule::Nonce(nonce),
        unsigned: without_header(req, "API-Sign"),
        options: SignOptions::default(),
        signature_at: SignatureAt::Header("API-Sign"),
        replay_basis: None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256, Sha512};

    use crate::test_support::{SECRET, signer};
    use crate::{FixedClock, MonotonicNonce, Request, Scheme, SignOptions};

    fn expected(path: &str, nonce: &str, body: &str) -> String {
        let inner = Sha256::digest(format!("{nonce}{body}"));
        let mut mac = Hmac::<Sha512>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(path.as_bytes());
        mac.update(&inner);
        STANDARD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn nonce_is_prepended_when_missing() {
        let s = signer(Scheme::Kraken, None);
        let opts = SignOptions {
            nonce: Some("42".into()),
            ..Default::default()
        };
        let out = s
            .sign(
                Request::post("/0/private/AddOrder").with_body("pair=XBTUSD&volume=1"),
                &opts,
            )
            .unwrap();
        let body = "nonce=42&pair=XBTUSD&volume=1";
        assert_eq!(out.body, body.as_bytes());
        assert_eq!(
            out.header("API-Sign").unwrap(),
            expected("/0/private/AddOrder", "42", body)
        );
        assert_eq!(out.header("API-Key"), Some("test-key"));
    }

    #[test]
    fn empty_body_gets_a_nonce_from_the_source() {
        let clock = Arc::new(FixedClock::new(1_000));
        let s = signer(Scheme::Kraken, None).with_nonces(Arc::new(MonotonicNonce::new(clock)));
        let first = s
            .sign(Request::post("/0/private/Balance"), &SignOptions::default())
            .unwrap();
        let second = s
            .sign(Request::post("/0/private/Balance"), &SignOptions::default())
            .unwrap();
        assert_eq!(first.body, b"nonce=1000");
        assert_eq!(second.body, b"nonce=1001");
        assert_eq!(
            first.header("API-Sign").unwrap(),
            expected("/0/private/Balance", "1000", "nonce=1000")
        );
    }

    #[test]
    fn nonce_in_the_body_is_kept_and_a_disagreeing_one_refused() {
        let s = signer(Scheme::Kraken, None);
        let body = "nonce=7&asset=XBT&note=%C3%BC";
        let out = s
            .sign(
                Request::post("/0/private/Ledgers").with_body(body),
                &SignOptions::default(),
            )
            .unwrap();
        assert_eq!(out.body, body.as_bytes());
        assert_eq!(
            out.header("API-Sign").unwrap(),
            expected("/0/private/Ledgers", "7", body)
        );
        let opts = SignOptions {
            nonce: Some("8".into()),
            ..Default::default()
        };
        assert!(
            s.sign(Request::post("/0/private/Ledgers").with_body(body), &opts)
                .is_err()
        );
        let same = SignOptions {
            nonce: Some("7".into()),
            ..Default::default()
        };
        assert!(
            s.sign(Request::post("/0/private/Ledgers").with_body(body), &same)
                .is_ok()
        );
        let bad = SignOptions {
            nonce: Some("7x".into()),
            ..Default::default()
        };
        assert!(s.sign(Request::post("/0/private/Ledgers"), &bad).is_err());
    }

    #[test]
    fn has_no_ws_auth() {
        assert!(
            signer(Scheme::Kraken, None)
                .ws_auth(&Default::default(), &SignOptions::default())
                .is_err()
        );
    }
}
